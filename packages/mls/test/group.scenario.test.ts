// The group API as an application uses it: create a group, add two members by
// Welcome, exchange application messages, update, remove; everyone agrees on the
// epoch authenticator and exporter, and the removed member is locked out.
import { describe, expect, it } from 'vitest';
import { decode } from '../src/codec/index.js';
import { nodeCryptoProvider } from '../src/crypto/node/index.js';
import { MlsError, ValidationError } from '../src/errors.js';
import {
  createCommit,
  createGroup,
  encryptApplication,
  epochAuthenticator,
  exportSecret,
  generateKeyPackage,
  joinFromWelcome,
  mergeCommit,
  processMessage,
  proposeUpdate,
  type GroupConfig,
  type GroupState,
} from '../src/group/index.js';
import { CredentialType } from '../src/messages/credential.js';
import { decodeMLSMessage } from '../src/messages/mls-message.js';
import { leafIndex } from '../src/util/brand.js';
import { toHex, utf8Bytes } from '../src/util/bytes.js';

const provider = nodeCryptoProvider;
const SUITE = 1;
const suite = provider.suite(SUITE);
const config: GroupConfig = { now: () => 1_800_000_000n };
const text = (s: string): Uint8Array => utf8Bytes(s);

async function identity(name: string) {
  const signatureKey = await suite.signature.generateKeyPair();
  return { signatureKey, credential: { credentialType: CredentialType.basic, identity: utf8Bytes(name) } as const };
}

async function newMember(name: string) {
  const id = await identity(name);
  const kp = await generateKeyPackage({ suite, ...id, lifetime: { notBefore: 1_700_000_000n, notAfter: 1_900_000_000n } });
  return { ...id, ...kp };
}

/** A fingerprint of everything a state value holds that an operation could change. */
async function snapshot(s: GroupState): Promise<string> {
  return [
    s.groupContext.epoch,
    toHex(s.groupContextBytes),
    toHex(await s.tree.treeHash()),
    toHex(s.interimTranscriptHash),
    s.proposals.length,
    s.privateKeys.size,
    toHex(s.keys.epochAuthenticator.bytes),
  ].join('|');
}

async function agree(states: GroupState[]): Promise<void> {
  const auths = states.map((s) => toHex(epochAuthenticator(s)));
  const exports = await Promise.all(states.map(async (s) => toHex(await exportSecret(s, 'parley test', text('ctx'), 32))));
  expect(new Set(auths).size).toBe(1);
  expect(new Set(exports).size).toBe(1);
  expect(new Set(states.map((s) => s.groupContext.epoch)).size).toBe(1);
}

describe('a group of three, by Welcome', () => {
  it('creates, adds, talks, updates and removes, with inputs never changed', async () => {
    const alice = await identity('alice');
    let a = await createGroup({ provider, suite: SUITE, groupId: text('group-1'), ...alice, config });
    expect(a.groupContext.epoch).toBe(0n);

    const bob = await newMember('bob');
    const carol = await newMember('carol');
    const before = await snapshot(a);
    Object.freeze(a);
    const add = await createCommit(a, {
      proposals: [
        { proposalType: 1, add: { keyPackage: bob.keyPackage } },
        { proposalType: 1, add: { keyPackage: carol.keyPackage } },
      ],
    });
    expect(await snapshot(a)).toBe(before);
    expect(add.welcome).toBeDefined();
    a = mergeCommit(a, add.pending);
    expect(a.groupContext.epoch).toBe(1n);
    expect(a.tree.memberCount).toBe(3);

    let b = await joinFromWelcome({ provider, welcome: add.welcome!, keyPackage: bob.keyPackage, privateKeys: bob.privateKeys, config });
    let c = await joinFromWelcome({ provider, welcome: add.welcome!, keyPackage: carol.keyPackage, privateKeys: carol.privateKeys, config });
    await agree([a, b, c]);

    // Application messages in every direction.
    const m1 = await encryptApplication(a, text('hello from alice'));
    const rb = await processMessage(b, m1.message);
    const rc = await processMessage(c, m1.message);
    expect(rb.event).toMatchObject({ type: 'application', sender: 0 });
    expect(rb.event.type === 'application' && new TextDecoder().decode(rb.event.data)).toBe('hello from alice');
    expect(rc.event.type === 'application' && new TextDecoder().decode(rc.event.data)).toBe('hello from alice');
    // Each operation returns the state to continue from (the used keys are not in it).
    a = m1.state;
    b = rb.state;
    c = rc.state;
    const m2 = await encryptApplication(c, text('hi, carol here'));
    c = m2.state;
    const ra = await processMessage(a, m2.message);
    expect(ra.event.type === 'application' && ra.event.sender).toBe(2);
    a = ra.state;

    // Replaying a message is refused (its key is not in the state after first use).
    await expect(processMessage(b, m1.message)).rejects.toMatchObject({ code: 'generation-reused' });

    // Bob proposes an Update; Alice commits it (by reference) with a path.
    const snapB = await snapshot(b);
    const upd = await proposeUpdate(b);
    expect(await snapshot(b)).toBe(snapB);
    b = upd.state;
    a = (await processMessage(a, upd.message)).state;
    c = (await processMessage(c, upd.message)).state;
    const commit2 = await createCommit(a);
    a = mergeCommit(a, commit2.pending);
    const snapC = await snapshot(c);
    const pb = await processMessage(b, commit2.commitMessage);
    const pc = await processMessage(c, commit2.commitMessage);
    expect(await snapshot(c)).toBe(snapC);
    b = pb.state;
    c = pc.state;
    expect(pc.event.type).toBe('commit');
    await agree([a, b, c]);
    expect(a.groupContext.epoch).toBe(2n);

    // Carol updates her own keys with an empty commit (path forced).
    const commit3 = await createCommit(c);
    c = mergeCommit(c, commit3.pending);
    a = (await processMessage(a, commit3.commitMessage)).state;
    b = (await processMessage(b, commit3.commitMessage)).state;
    await agree([a, b, c]);

    // Alice removes Bob; Bob learns he was removed and cannot read epoch N+1.
    const oldBob = b;
    const commit4 = await createCommit(a, { proposals: [{ proposalType: 3, remove: { removed: leafIndex(1) } }] });
    a = mergeCommit(a, commit4.pending);
    const gone = await processMessage(b, commit4.commitMessage);
    expect(gone.event.type).toBe('removed');
    c = (await processMessage(c, commit4.commitMessage)).state;
    await agree([a, c]);
    expect(a.tree.memberCount).toBe(2);
    const secret = await encryptApplication(a, text('bob must not read this'));
    expect((await processMessage(c, secret.message)).event).toMatchObject({ type: 'application' });
    await expect(processMessage(oldBob, secret.message)).rejects.toBeInstanceOf(ValidationError);
    await expect(processMessage(gone.state, secret.message)).rejects.toMatchObject({ code: 'wrong-epoch' });
  });

  it('joins without the ratchet tree in the Welcome when the tree is given', async () => {
    const alice = await identity('alice');
    const a0 = await createGroup({ provider, suite: SUITE, groupId: text('group-2'), ...alice, config });
    const bob = await newMember('bob');
    const add = await createCommit(a0, { proposals: [{ proposalType: 1, add: { keyPackage: bob.keyPackage } }], ratchetTreeInWelcome: false });
    const a = mergeCommit(a0, add.pending);
    await expect(joinFromWelcome({ provider, welcome: add.welcome!, keyPackage: bob.keyPackage, privateKeys: bob.privateKeys, config })).rejects.toMatchObject({
      code: 'missing-ratchet-tree',
    });
    const b = await joinFromWelcome({ provider, welcome: add.welcome!, keyPackage: bob.keyPackage, privateKeys: bob.privateKeys, ratchetTree: a.tree.toNodes(), config });
    await agree([a, b]);
  });

  it('refuses an expired key package unless lifetimes are switched off', async () => {
    const alice = await identity('alice');
    const a = await createGroup({ provider, suite: SUITE, groupId: text('group-3'), ...alice, config });
    const old = await identity('old');
    const kp = await generateKeyPackage({ suite, ...old, lifetime: { notBefore: 1n, notAfter: 2n } });
    await expect(createCommit(a, { proposals: [{ proposalType: 1, add: { keyPackage: kp.keyPackage } }] })).rejects.toMatchObject({ code: 'lifetime-expired' });
    const ok = await createCommit({ ...a, config: { checkLifetimes: false } }, { proposals: [{ proposalType: 1, add: { keyPackage: kp.keyPackage } }] });
    expect(ok.welcome).toBeDefined();
  });

  it('lets the application reject a credential', async () => {
    const alice = await identity('alice');
    const a = await createGroup({
      provider,
      suite: SUITE,
      groupId: text('group-4'),
      ...alice,
      config: { ...config, validateCredential: (cred) => cred.credentialType === CredentialType.basic && new TextDecoder().decode(cred.identity) !== 'mallory' },
    });
    const mallory = await newMember('mallory');
    const err = await createCommit(a, { proposals: [{ proposalType: 1, add: { keyPackage: mallory.keyPackage } }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlsError);
    expect(err).toMatchObject({ code: 'credential-rejected' });
  });

  it('refuses a tampered commit and a commit for another epoch', async () => {
    const alice = await identity('alice');
    let a = await createGroup({ provider, suite: SUITE, groupId: text('group-5'), ...alice, config });
    const bob = await newMember('bob');
    const add = await createCommit(a, { proposals: [{ proposalType: 1, add: { keyPackage: bob.keyPackage } }] });
    a = mergeCommit(a, add.pending);
    const b = await joinFromWelcome({ provider, welcome: add.welcome!, keyPackage: bob.keyPackage, privateKeys: bob.privateKeys, config });
    const next = await createCommit(a);
    const tampered = next.commitMessage.slice();
    tampered[tampered.length - 5] = tampered[tampered.length - 5]! ^ 1;
    await expect(processMessage(b, tampered)).rejects.toBeInstanceOf(ValidationError);
    const b2 = (await processMessage(b, next.commitMessage)).state;
    await expect(processMessage(b2, next.commitMessage)).rejects.toMatchObject({ code: 'wrong-epoch' });
    expect(decode(decodeMLSMessage, next.groupInfo).wireFormat).toBe(4);
  });
});
