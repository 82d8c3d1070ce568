// serializeState / deserializeState: a restored member carries on in the group; keys
// deleted before saving stay deleted after restoring; the state of a member of a
// 1,000-member group stays small.
import { describe, expect, it } from 'vitest';
import { nodeCryptoProvider } from '../src/crypto/node/index.js';
import {
  createCommit,
  createGroup,
  deserializeState,
  encryptApplication,
  epochAuthenticator,
  generateKeyPackage,
  joinFromWelcome,
  mergeCommit,
  processMessage,
  serializeState,
  type GroupConfig,
} from '../src/group/index.js';
import { CredentialType } from '../src/messages/credential.js';
import { ProposalType, type Proposal } from '../src/messages/proposal.js';
import { toHex, utf8Bytes } from '../src/util/bytes.js';

const provider = nodeCryptoProvider;
const suite = provider.suite(1);
const config: GroupConfig = { now: () => 1_800_000_000n };

async function identity(name: string) {
  return { signatureKey: await suite.signature.generateKeyPair(), credential: { credentialType: CredentialType.basic, identity: utf8Bytes(name) } as const };
}
async function member(name: string) {
  const id = await identity(name);
  return generateKeyPackage({ suite, ...id });
}

async function pair() {
  let a = await createGroup({ provider, suite: 1, groupId: utf8Bytes('persist'), ...(await identity('alice')), config });
  const bob = await member('bob');
  const add = await createCommit(a, { proposals: [{ proposalType: ProposalType.add, add: { keyPackage: bob.keyPackage } }] });
  a = mergeCommit(a, add.pending);
  const b = await joinFromWelcome({ provider, welcome: add.welcome!, keyPackage: bob.keyPackage, privateKeys: bob.privateKeys, config });
  return { a, b };
}

describe('group state persistence', () => {
  it('round-trips and carries on: messages, then a commit', async () => {
    const { a, b } = await pair();
    const restoredA = deserializeState(serializeState(a), provider, config);
    expect(serializeState(restoredA)).toEqual(serializeState(a));
    const m = await encryptApplication(restoredA, utf8Bytes('after restore'));
    const got = await processMessage(b, m.message);
    expect(got.event.type === 'application' && new TextDecoder().decode(got.event.data)).toBe('after restore');
    const c = await createCommit(restoredA);
    const a2 = mergeCommit(restoredA, c.pending);
    const b2 = (await processMessage(deserializeState(serializeState(b), provider, config), c.commitMessage)).state;
    expect(toHex(epochAuthenticator(a2))).toBe(toHex(epochAuthenticator(b2)));
  });

  it('keeps deleted keys deleted, and skipped keys usable once', async () => {
    const { a, b } = await pair();
    const m0 = await encryptApplication(a, utf8Bytes('zero'));
    const m1 = await encryptApplication(m0.state, utf8Bytes('one'));
    const m2 = await encryptApplication(m1.state, utf8Bytes('two'));
    const b1 = (await processMessage(b, m0.message)).state;
    const b2 = (await processMessage(b1, m2.message)).state; // generation 1 skipped and kept
    const restored = deserializeState(serializeState(b2), provider, config);
    await expect(processMessage(restored, m0.message)).rejects.toMatchObject({ code: 'generation-reused' });
    await expect(processMessage(restored, m2.message)).rejects.toMatchObject({ code: 'generation-reused' });
    const late = await processMessage(restored, m1.message);
    expect(late.event.type === 'application' && new TextDecoder().decode(late.event.data)).toBe('one');
    const again = deserializeState(serializeState(late.state), provider, config);
    await expect(processMessage(again, m1.message)).rejects.toMatchObject({ code: 'generation-reused' });
  });

  it('refuses bytes that are not a state', () => {
    expect(() => deserializeState(new Uint8Array([9, 9, 9]), provider, config)).toThrow(expect.objectContaining({ kind: 'decode' }) as Error);
  });

  it('stays under 300 KB for a member of a 1,000-member group, with past epochs retained', async () => {
    let a = await createGroup({ provider, suite: 1, groupId: utf8Bytes('big'), ...(await identity('alice')), config });
    const joiners = await Promise.all(Array.from({ length: 999 }, (_, i) => member(`m${i}`)));
    const proposals: Proposal[] = joiners.map((j) => ({ proposalType: ProposalType.add, add: { keyPackage: j.keyPackage } }));
    const add = await createCommit(a, { proposals });
    a = mergeCommit(a, add.pending);
    let b = await joinFromWelcome({ provider, welcome: add.welcome!, keyPackage: joiners[500]!.keyPackage, privateKeys: joiners[500]!.privateKeys, config });
    for (let i = 0; i < 2; i++) {
      const c = await createCommit(a, { withPath: true });
      a = mergeCommit(a, c.pending);
      b = (await processMessage(b, c.commitMessage)).state;
    }
    expect(b.tree.memberCount).toBe(1000);
    expect(b.retained.length).toBe(2);
    const bytes = serializeState(b);
    expect(bytes.length).toBeLessThan(300_000);
    expect(toHex(epochAuthenticator(deserializeState(bytes, provider, config)))).toBe(toHex(epochAuthenticator(a)));
  });
});
