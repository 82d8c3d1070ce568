// RFC 9420 §5.3.1 credential validation on the receiving side: the application's
// callback (GroupConfig.validateCredential) is consulted for every credential a member,
// a joiner or the delivery service's view is asked to accept — the committer's new leaf
// in an UpdatePath, an Update proposal's leaf, an Add's key package, an external
// joiner's leaf, every member of a Welcome's (or a GroupInfo's) tree, and a key package
// checked by validatePublicKeyPackage — and a refusal is ValidationError
// 'credential-rejected'. The callback is a "gate": it records what it was shown and
// refuses the names in `refused`, which a test fills after the gated member has joined,
// so each case refuses exactly one credential in exactly one place.
import { describe, expect, it } from 'vitest';
import { encode } from '../../src/codec/index.js';
import { ValidationError } from '../../src/errors.js';
import {
  createCommit,
  createGroup,
  groupInfoOf,
  joinExternal,
  joinFromWelcome,
  mergeCommit,
  processMessage,
  proposeUpdate,
  type CredentialValidator,
  type GroupConfig,
  type GroupState,
} from '../../src/group/index.js';
import { CredentialType, type Credential } from '../../src/messages/credential.js';
import { encodeKeyPackage } from '../../src/messages/key-package.js';
import { processPublicMessage, publicGroupFromGroupInfo, validatePublicKeyPackage } from '../../src/public.js';
import { toHex, utf8Bytes } from '../../src/util/bytes.js';
import { add, config, expectCode, identity, keyPackage, provider, SUITE } from './helpers.js';

const nameOf = (c: Credential): string => (c.credentialType === CredentialType.basic ? new TextDecoder().decode(c.identity) : `type-${c.credentialType}`);

interface Gate {
  readonly refused: Set<string>;
  /** Every (name, signature key) the callback was shown, in order. */
  readonly seen: { name: string; key: string }[];
  readonly config: GroupConfig;
}

function gate(): Gate {
  const refused = new Set<string>();
  const seen: { name: string; key: string }[] = [];
  // Asynchronous on purpose: the engine awaits the verdict.
  const validateCredential: CredentialValidator = async (credential, signatureKey) => {
    const name = nameOf(credential);
    seen.push({ name, key: toHex(signatureKey) });
    return Promise.resolve(!refused.has(name));
  };
  return { refused, seen, config: { ...config, validateCredential } };
}

/** alice (accepts all) creates the group; bob joins with a gate, carol without one. Epoch 1. */
async function trio() {
  const bobGate = gate();
  const aliceId = await identity('alice');
  const a0 = await createGroup({ provider, suite: SUITE, groupId: utf8Bytes('cred-gate'), ...aliceId, config });
  const kb = await keyPackage('bob');
  const kc = await keyPackage('carol');
  const c = await createCommit(a0, { proposals: [add(kb.keyPackage), add(kc.keyPackage)] });
  const bob = await joinFromWelcome({ provider, welcome: c.welcome!, keyPackage: kb.keyPackage, privateKeys: kb.privateKeys, config: bobGate.config });
  const carol = await joinFromWelcome({ provider, welcome: c.welcome!, keyPackage: kc.keyPackage, privateKeys: kc.privateKeys, config });
  const alice = mergeCommit(a0, c.pending);
  // The delivery service's view of the same epoch, behind its own gate.
  const serverGate = gate();
  const server = await publicGroupFromGroupInfo({ provider, groupInfo: c.groupInfo, config: serverGate.config });
  return { alice, bob, carol, bobGate, server, serverGate, aliceKey: toHex(aliceId.signatureKey.publicKey) };
}

/** Runs `p`, expecting credential-rejected, and returns the error for further checks. */
async function rejected(p: Promise<unknown>): Promise<ValidationError> {
  await expectCode(p, 'credential-rejected');
  return p.then(
    () => {
      throw new Error('unreachable');
    },
    (e: unknown) => e as ValidationError,
  );
}

const accepts = async (s: GroupState, bytes: Uint8Array) => (await processMessage(s, bytes)).state;

describe('§5.3.1 the receiver consults the credential callback', () => {
  it('for the committer’s new leaf in an UpdatePath', async () => {
    const t = await trio();
    const commit = await createCommit(t.alice, { withPath: true });
    t.bobGate.refused.add('alice');
    t.serverGate.refused.add('alice');
    t.bobGate.seen.length = 0;
    const err = await rejected(processMessage(t.bob, commit.commitMessage));
    expect(err).toBeInstanceOf(ValidationError);
    // The callback was shown the path leaf: alice's credential and signature key.
    expect(t.bobGate.seen).toContainEqual({ name: 'alice', key: t.aliceKey });
    await rejected(processPublicMessage(t.server, commit.commitMessage));
    // Without the refusal the same commit is accepted: the rule, not the message, failed.
    t.bobGate.refused.clear();
    expect((await accepts(t.bob, commit.commitMessage)).groupContext.epoch).toBe(2n);
    expect((await accepts(t.carol, commit.commitMessage)).groupContext.epoch).toBe(2n);
  });

  it('for an Update proposal’s leaf, when the proposal is committed', async () => {
    const t = await trio();
    const update = await proposeUpdate(t.alice);
    const carol = await accepts(t.carol, update.message);
    const commit = await createCommit(carol);
    const bob = await accepts(t.bob, update.message);
    t.bobGate.refused.add('alice');
    t.bobGate.seen.length = 0;
    await rejected(processMessage(bob, commit.commitMessage));
    expect(t.bobGate.seen.map((s) => s.name)).toContain('alice');
    t.bobGate.refused.clear();
    expect((await accepts(bob, commit.commitMessage)).groupContext.epoch).toBe(2n);
  });

  it('for an Add’s key package', async () => {
    const t = await trio();
    const dave = await keyPackage('dave');
    const commit = await createCommit(t.alice, { proposals: [add(dave.keyPackage)] });
    t.bobGate.refused.add('dave');
    t.serverGate.refused.add('dave');
    await rejected(processMessage(t.bob, commit.commitMessage));
    expect(t.bobGate.seen).toContainEqual({ name: 'dave', key: toHex(dave.signatureKey.publicKey) });
    await rejected(processPublicMessage(t.server, commit.commitMessage));
    expect((await accepts(t.carol, commit.commitMessage)).tree.leafCount).toBe(4);
  });

  it('for an external joiner’s leaf (external commit)', async () => {
    const t = await trio();
    const dave = await identity('dave');
    const joined = await joinExternal({ provider, groupInfo: await groupInfoOf(t.alice), ...dave, config });
    t.bobGate.refused.add('dave');
    t.serverGate.refused.add('dave');
    await rejected(processMessage(t.bob, joined.commitMessage));
    expect(t.bobGate.seen).toContainEqual({ name: 'dave', key: toHex(dave.signatureKey.publicKey) });
    await rejected(processPublicMessage(t.server, joined.commitMessage));
    expect((await accepts(t.carol, joined.commitMessage)).groupContext.epoch).toBe(2n);
    // The joiner's own gate sees every member of the GroupInfo's tree and can refuse one.
    const eveGate = gate();
    eveGate.refused.add('carol');
    await rejected(joinExternal({ provider, groupInfo: await groupInfoOf(t.alice), ...(await identity('eve')), config: eveGate.config }));
    expect(eveGate.seen.map((s) => s.name)).toContain('carol');
  });

  it('for every member of a Welcome’s tree', async () => {
    const t = await trio();
    const dave = await keyPackage('dave');
    const commit = await createCommit(t.alice, { proposals: [add(dave.keyPackage)] });
    const join = (g: Gate) => joinFromWelcome({ provider, welcome: commit.welcome!, keyPackage: dave.keyPackage, privateKeys: dave.privateKeys, config: g.config });
    // Accepting all: the callback saw each member once, the joiner included.
    const open = gate();
    await join(open);
    expect(open.seen.map((s) => s.name).sort()).toEqual(['alice', 'bob', 'carol', 'dave']);
    // Refusing any one member, not only the committer, refuses the Welcome.
    for (const name of ['alice', 'bob', 'carol']) {
      const g = gate();
      g.refused.add(name);
      const err = await rejected(join(g));
      expect(err.message).toMatch(/member \d/);
    }
  });
});

describe('validatePublicKeyPackage takes the credential callback too', () => {
  it('refuses a key package whose credential the callback refuses, and accepts otherwise', async () => {
    const bob = await keyPackage('bob');
    const bytes = encode(encodeKeyPackage, bob.keyPackage);
    const g = gate();
    const checked = await validatePublicKeyPackage(provider, bytes, config.now, g.config.validateCredential);
    expect(nameOf(checked.credential)).toBe('bob');
    expect(g.seen).toEqual([{ name: 'bob', key: toHex(bob.signatureKey.publicKey) }]);
    g.refused.add('bob');
    await rejected(validatePublicKeyPackage(provider, bytes, config.now, g.config.validateCredential));
    await rejected(validatePublicKeyPackage(provider, bytes, undefined, g.config.validateCredential));
    // Without a callback the credential is not judged.
    expect((await validatePublicKeyPackage(provider, bytes)).signatureKey).toEqual(bob.signatureKey.publicKey);
  });
});
