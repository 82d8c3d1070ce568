// RFC 9420 §12.2 proposal list validation: the rules no other test fed a violating list
// for. Each is checked where the committer builds the commit (createCommit) and where a
// member processes one (a commit forged with the committer's real keys, so that only the
// rule under test is broken), and expects the typed ValidationError.
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/errors.js';
import { createCommit, joinFromWelcome, mergeCommit, processMessage, proposeUpdate } from '../../src/group/index.js';
import { ProtocolVersion } from '../../src/messages/common.js';
import { ProposalType, PSKType, ResumptionPSKUsage, type Proposal, type ReInit } from '../../src/messages/proposal.js';
import { utf8Bytes } from '../../src/util/bytes.js';
import { add, byRef, byValue, config, expectCode, forgeCommit, group, keyPackage, provider, remove, suite, SUITE } from './helpers.js';

const reinit = (version: number = ProtocolVersion.mls10): Proposal => ({
  proposalType: ProposalType.reinit,
  reinit: { groupId: utf8Bytes('next'), version: version as ReInit['version'], cipherSuite: SUITE, extensions: [] },
});

const applicationPsk = (groupId: Uint8Array, epoch: bigint): Proposal => ({
  proposalType: ProposalType.psk,
  psk: { psk: { psktype: PSKType.resumption, usage: ResumptionPSKUsage.application, pskGroupId: groupId, pskEpoch: epoch, pskNonce: suite.randomBytes(suite.kdf.nh) } },
});

describe('§12.2 an Add of a client already in the group', () => {
  it('is refused when the credential is a member’s, though the key package is fresh (duplicate-member)', async () => {
    const [a, , c] = await group(['alice', 'bob', 'carol']);
    const bobAgain = (await keyPackage('bob')).keyPackage;
    await expectCode(createCommit(a!, { proposals: [add(bobAgain)] }), 'duplicate-member');
    await expectCode(processMessage(c!, await forgeCommit(a!, [byValue(add(bobAgain))])), 'duplicate-member');
  });

  it('is accepted when the same commit removes that member (the client comes back with a new leaf)', async () => {
    const [a, b, c] = await group(['alice', 'bob', 'carol']);
    const bobAgain = await keyPackage('bob');
    const made = await createCommit(a!, { proposals: [remove(b!.ownLeaf), add(bobAgain.keyPackage)] });
    const c2 = (await processMessage(c!, made.commitMessage)).state;
    const bob = await joinFromWelcome({ provider, welcome: made.welcome!, keyPackage: bobAgain.keyPackage, privateKeys: bobAgain.privateKeys, config });
    expect(bob.groupContext.epoch).toBe(c2.groupContext.epoch);
    expect(mergeCommit(a!, made.pending).tree.leaf(bob.ownLeaf)).toBeDefined();
  });

  it('is refused when two Adds name the same client (duplicate-member)', async () => {
    const [a, b] = await group(['alice', 'bob']);
    const one = (await keyPackage('erin')).keyPackage;
    const two = (await keyPackage('erin')).keyPackage;
    await expectCode(createCommit(a!, { proposals: [add(one), add(two)] }), 'duplicate-member');
    await expectCode(processMessage(b!, await forgeCommit(a!, [byValue(add(one)), byValue(add(two))])), 'duplicate-member');
  });
});

describe('§12.2 a ReInit with any other proposal', () => {
  it('is refused by a receiver, by value or by reference (reinit-not-alone)', async () => {
    const [a, b, c] = await group(['alice', 'bob', 'carol']);
    const kd = (await keyPackage('dave')).keyPackage;
    await expectCode(processMessage(b!, await forgeCommit(a!, [byValue(reinit()), byValue(add(kd))])), 'reinit-not-alone');
    // Bob's Update, cached by carol, committed by alice together with an inline ReInit.
    const upd = await proposeUpdate(b!);
    const c1 = (await processMessage(c!, upd.message)).state;
    await expectCode(processMessage(c1, await forgeCommit(a!, [byRef(upd.ref), byValue(reinit())])), 'reinit-not-alone');
    // Alone, it is accepted.
    const alone = await createCommit(a!, { proposals: [reinit()] });
    expect((await processMessage(c!, alone.commitMessage)).state.reinit).toBeDefined();
  });

  it('is refused by its committer when a proposal is cached (reinit-not-alone)', async () => {
    const [a, b] = await group(['alice', 'bob']);
    const upd = await proposeUpdate(b!);
    const a1 = (await processMessage(a!, upd.message)).state;
    await expectCode(createCommit(a1, { proposals: [reinit()] }), 'reinit-not-alone');
    expect((await createCommit(a1, { proposals: [reinit()], proposalRefs: [] })).pending.state.reinit).toBeDefined();
  });
});

describe('§12.1.5 a ReInit that lowers the version', () => {
  it('is refused in memory (invalid-reinit-version) and cannot be decoded from the wire (DecodeError)', async () => {
    const [a, b] = await group(['alice', 'bob']);
    await expectCode(createCommit(a!, { proposals: [reinit(0)] }), 'invalid-reinit-version');
    const error = await processMessage(b!, await forgeCommit(a!, [byValue(reinit(0))])).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DecodeError);
  });
});

describe('§12.2 Update and Remove of the same leaf', () => {
  it('is refused by the committer and by a receiver (duplicate-leaf-change)', async () => {
    const [a, b, c] = await group(['alice', 'bob', 'carol']);
    const upd = await proposeUpdate(b!);
    const a1 = (await processMessage(a!, upd.message)).state;
    const c1 = (await processMessage(c!, upd.message)).state;
    await expectCode(createCommit(a1, { proposals: [remove(b!.ownLeaf)] }), 'duplicate-leaf-change');
    await expectCode(processMessage(c1, await forgeCommit(a1, [byRef(upd.ref), byValue(remove(b!.ownLeaf))])), 'duplicate-leaf-change');
  });
});

describe('§12.2 two PreSharedKey proposals for the same PSK', () => {
  it('is refused for a resumption PSK named twice with different nonces (duplicate-psk)', async () => {
    const [a, b] = await group(['alice', 'bob']);
    const id = a!.groupContext.groupId;
    await expectCode(createCommit(a!, { proposals: [applicationPsk(id, 1n), applicationPsk(id, 1n)] }), 'duplicate-psk');
    await expectCode(processMessage(b!, await forgeCommit(a!, [byValue(applicationPsk(id, 1n)), byValue(applicationPsk(id, 1n))])), 'duplicate-psk');
    // The same group at two epochs is two PSKs.
    const tick = await createCommit(a!, { withPath: true });
    const a2 = mergeCommit(a!, tick.pending);
    const b2 = (await processMessage(b!, tick.commitMessage)).state;
    const both = await createCommit(a2, { proposals: [applicationPsk(id, 1n), applicationPsk(id, 2n)] });
    expect((await processMessage(b2, both.commitMessage)).state.groupContext.epoch).toBe(3n);
  });
});
