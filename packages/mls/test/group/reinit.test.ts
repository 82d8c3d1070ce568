// RFC 9420 §11.2 / §12.1.5 ReInit: once a ReInit is committed, the group is
// re-initialising — the committer and every receiver refuse further commits, proposals,
// application messages and incoming messages with UsageError 'group-reinitialising', and
// the mark survives a save and restore. The new group (step 3, its reinit PSK and
// Welcome) is in reinit-resumption.test.ts.
import { describe, expect, it } from 'vitest';
import { nodeCryptoProvider } from '../../src/crypto/node/index.js';
import {
  createCommit,
  createGroup,
  deserializeState,
  encryptApplication,
  generateKeyPackage,
  joinFromWelcome,
  mergeCommit,
  processMessage,
  proposeUpdate,
  serializeState,
  type GroupConfig,
  type GroupState,
} from '../../src/group/index.js';
import { ProtocolVersion } from '../../src/messages/common.js';
import { CredentialType } from '../../src/messages/credential.js';
import { ProposalType, type ReInit } from '../../src/messages/proposal.js';
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

async function pair(): Promise<{ a: GroupState; b: GroupState }> {
  const alice = await member('alice');
  const bob = await member('bob');
  const a0 = await createGroup({ provider, suite: SUITE, groupId: utf8Bytes('old-group'), ...alice, config });
  const add = await createCommit(a0, { proposals: [{ proposalType: ProposalType.add, add: { keyPackage: bob.keyPackage } }] });
  const b = await joinFromWelcome({ provider, welcome: add.welcome!, keyPackage: bob.keyPackage, privateKeys: bob.privateKeys, config });
  return { a: mergeCommit(a0, add.pending), b };
}

const reinit: ReInit = { groupId: utf8Bytes('new-group'), version: ProtocolVersion.mls10, cipherSuite: SUITE, extensions: [] };
const refused = { code: 'group-reinitialising' };

describe('ReInit', () => {
  it('a committed ReInit marks both sides as re-initialising and every further use is refused', async () => {
    const { a, b } = await pair();
    expect(a.reinit).toBeUndefined();
    const commit = await createCommit(a, { proposals: [{ proposalType: ProposalType.reinit, reinit }] });
    const a2 = mergeCommit(a, commit.pending);
    const processed = await processMessage(b, commit.commitMessage);
    const b2 = processed.state;
    expect(processed.event.type).toBe('commit');
    expect(b2.groupContext.epoch).toBe(a2.groupContext.epoch);

    for (const s of [a2, b2]) {
      expect(s.reinit?.groupId).toEqual(reinit.groupId);
      expect(s.reinit?.cipherSuite).toBe(SUITE);
      await expect(createCommit(s)).rejects.toMatchObject(refused);
      await expect(proposeUpdate(s)).rejects.toMatchObject(refused);
      await expect(encryptApplication(s, utf8Bytes('hello'))).rejects.toMatchObject(refused);
    }
    // A message of the old epoch or the new one is not processed either.
    const late = await encryptApplication(a, utf8Bytes('sent before the ReInit'));
    await expect(processMessage(b2, late.message)).rejects.toMatchObject(refused);

    // The mark is part of the saved state.
    const restored = deserializeState(serializeState(a2), provider, config);
    expect(toHex(restored.reinit?.groupId ?? new Uint8Array(0))).toBe(toHex(reinit.groupId));
    await expect(createCommit(restored)).rejects.toMatchObject(refused);
  });

  it('a group without a ReInit round-trips without the mark and keeps working', async () => {
    const { a } = await pair();
    const restored = deserializeState(serializeState(a), provider, config);
    expect(restored.reinit).toBeUndefined();
    const next = await createCommit(restored);
    expect(next.pending).toBeDefined();
  });

  it('a ReInit with another proposal is refused (§12.2)', async () => {
    const { a } = await pair();
    await expect(createCommit(a, { proposals: [{ proposalType: ProposalType.reinit, reinit }, { proposalType: ProposalType.group_context_extensions, groupContextExtensions: { extensions: [] } }] })).rejects.toMatchObject({
      code: 'reinit-not-alone',
    });
  });
});
