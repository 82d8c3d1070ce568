// RFC 9420 §12.4 / STYLE "State changes are values": createCommit, mergeCommit,
// processMessage (of a commit, by value and by reference), proposals and joinFromWelcome
// return a new state and leave their input exactly as it was. The input is deep-frozen
// where JavaScript allows (plain objects and arrays) and, for what cannot be frozen
// (Uint8Array contents, Maps, Sets, class instances, secrets), compared with a deep
// snapshot taken before the call, and with its serialised form.
import { describe, expect, it } from 'vitest';
import { nodeCryptoProvider } from '../../src/crypto/node/index.js';
import {
  createCommit,
  createGroup,
  generateKeyPackage,
  joinFromWelcome,
  mergeCommit,
  processMessage,
  proposeUpdate,
  serializeState,
  type GroupConfig,
  type GroupState,
} from '../../src/group/index.js';
import { CredentialType } from '../../src/messages/credential.js';
import { ProposalType } from '../../src/messages/proposal.js';
import { leafIndex } from '../../src/util/brand.js';
import { toHex, utf8Bytes } from '../../src/util/bytes.js';

const provider = nodeCryptoProvider;
const SUITE = 1;
const suite = provider.suite(SUITE);
const config: GroupConfig = { now: () => 1_800_000_000n };

async function member(name: string) {
  const signatureKey = await suite.signature.generateKeyPair();
  const credential = { credentialType: CredentialType.basic, identity: utf8Bytes(name) } as const;
  const kp = await generateKeyPackage({ suite, signatureKey, credential, lifetime: { notBefore: 1_700_000_000n, notAfter: 1_900_000_000n } });
  return { signatureKey, credential, ...kp };
}

const isPlain = (v: object): boolean => {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === Array.prototype || proto === null;
};

/** Freezes every plain object and array reachable from `v` (class instances are walked, not frozen). */
function deepFreeze(v: unknown, seen: Set<object>): void {
  if (typeof v !== 'object' || v === null || seen.has(v) || ArrayBuffer.isView(v)) return;
  seen.add(v);
  if (v instanceof Map) {
    for (const [k, x] of v) { deepFreeze(k, seen); deepFreeze(x, seen); }
    return;
  }
  if (v instanceof Set) {
    for (const x of v) deepFreeze(x, seen);
    return;
  }
  for (const key of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[key], seen);
  if (isPlain(v)) Object.freeze(v);
}

/** A deep, printable copy of everything reachable from `v`: bytes as hex, secrets by their bytes. */
function deepSnapshot(v: unknown, seen: Map<object, string>, path = '$'): unknown {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return '[function]';
  if (typeof v !== 'object' || v === null) return v;
  if (v instanceof Uint8Array) return `hex:${toHex(v)}`;
  const earlier = seen.get(v);
  if (earlier !== undefined) return `[ref ${earlier}]`;
  seen.set(v, path);
  if (v instanceof Map) return { map: [...v].map(([k, x], i) => [deepSnapshot(k, seen, `${path}<k${i}>`), deepSnapshot(x, seen, `${path}<v${i}>`)]) };
  if (v instanceof Set) return { set: [...v].map((x, i) => deepSnapshot(x, seen, `${path}{${i}}`)) };
  const out: Record<string, unknown> = {};
  // Secrets keep their bytes behind a getter; what they hold is part of the state.
  if (!isPlain(v) && 'bytes' in v) out['#bytes'] = deepSnapshot(v.bytes, seen, `${path}.bytes`);
  for (const key of Object.keys(v)) out[key] = deepSnapshot((v as Record<string, unknown>)[key], seen, `${path}.${key}`);
  return out;
}

/** Runs `op` on a frozen `state` and checks that the state is unchanged afterwards. */
async function unchangedBy<T>(state: GroupState, op: (s: GroupState) => Promise<T> | T): Promise<T> {
  await state.tree.treeHash(); // fills the tree's hash cache, which is not a change of value
  const bytes = toHex(serializeState(state));
  // The cipher suite is the shared crypto implementation (it caches imported keys), not group state.
  const walk = (): { frozen: Set<object>; seen: Map<object, string> } => ({ frozen: new Set<object>([state.suite]), seen: new Map<object, string>([[state.suite, 'suite']]) });
  deepFreeze(state, walk().frozen);
  const before = deepSnapshot(state, walk().seen);
  const result = await op(state);
  expect(deepSnapshot(state, walk().seen)).toEqual(before);
  expect(toHex(serializeState(state))).toBe(bytes);
  return result;
}

describe('group operations never mutate their input state', () => {
  it('createCommit, mergeCommit, processMessage (commit by value and by reference) and joinFromWelcome', async () => {
    const alice = await member('alice');
    const bob = await member('bob');
    const carol = await member('carol');
    const a0 = await createGroup({ provider, suite: SUITE, groupId: utf8Bytes('immutable'), ...alice, config });

    // An Add commit: create, then merge.
    const add = await unchangedBy(a0, (s) =>
      createCommit(s, { proposals: [{ proposalType: ProposalType.add, add: { keyPackage: bob.keyPackage } }, { proposalType: ProposalType.add, add: { keyPackage: carol.keyPackage } }] }),
    );
    const a1 = await unchangedBy(a0, (s) => mergeCommit(s, add.pending));
    expect(a1.groupContext.epoch).toBe(1n);

    const welcome = add.welcome;
    if (welcome === undefined) throw new Error('the Add commit has no Welcome');
    const welcomeHex = toHex(welcome);
    const b1 = await joinFromWelcome({ provider, welcome, keyPackage: bob.keyPackage, privateKeys: bob.privateKeys, config });
    const c1 = await joinFromWelcome({ provider, welcome, keyPackage: carol.keyPackage, privateKeys: carol.privateKeys, config });
    expect(toHex(welcome)).toBe(welcomeHex);

    // Bob proposes an Update; Alice and Carol cache it without changing their input.
    const upd = await unchangedBy(b1, (s) => proposeUpdate(s));
    const a1p = (await unchangedBy(a1, (s) => processMessage(s, upd.message))).state;
    const c1p = (await unchangedBy(c1, (s) => processMessage(s, upd.message))).state;
    expect(a1p.proposals.length).toBe(1);

    // Alice commits it by reference; Carol processes that commit.
    const byRef = await unchangedBy(a1p, (s) => createCommit(s));
    const a2 = await unchangedBy(a1p, (s) => mergeCommit(s, byRef.pending));
    const c2 = await unchangedBy(c1p, (s) => processMessage(s, byRef.commitMessage));
    expect(c2.event.type).toBe('commit');
    expect(c2.state.groupContext.epoch).toBe(2n);

    // Carol commits a Remove of Bob by value with a path; Alice processes it.
    const remove = await unchangedBy(c2.state, (s) => createCommit(s, { proposals: [{ proposalType: ProposalType.remove, remove: { removed: leafIndex(1) } }] }));
    const a3 = await unchangedBy(a2, (s) => processMessage(s, remove.commitMessage));
    expect(a3.state.groupContext.epoch).toBe(3n);
    expect(a3.state.tree.memberCount).toBe(2);
  });

  it('the check can fail: a mutation of a nested value is seen', async () => {
    const alice = await member('alice');
    const a0 = await createGroup({ provider, suite: SUITE, groupId: utf8Bytes('mutated'), ...alice, config });
    await expect(unchangedBy(a0, (s) => { s.groupContextBytes[0] = (s.groupContextBytes[0] ?? 0) ^ 1; })).rejects.toThrow();
  });
});
