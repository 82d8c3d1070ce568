// RFC 9420 §12.2 proposal list validation: the rules no other test fed a violating list
// for. Each is checked where the committer builds the commit (createCommit) and where a
// member processes one (a commit forged with the committer's real keys, so that only the
// rule under test is broken), and expects the typed ValidationError.
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/errors.js';
import { createCommit, joinExternal, joinFromWelcome, mergeCommit, processMessage, proposeUpdate, type GroupConfig } from '../../src/group/index.js';
import type { Credential } from '../../src/messages/credential.js';
import { processPublicMessage, publicGroupFromGroupInfo } from '../../src/public.js';
import { ProtocolVersion } from '../../src/messages/common.js';
import { ProposalType, PSKType, ResumptionPSKUsage, type Proposal, type ReInit } from '../../src/messages/proposal.js';
import { utf8Bytes } from '../../src/util/bytes.js';
import { add, byRef, byValue, config, expectCode, forgeCommit, group, identity, keyPackage, provider, remove, resignExternal, suite, SUITE } from './helpers.js';

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

describe('§12.2 an Add of a client already in the group, according to the application', () => {
  const person = (c: Credential) => new TextDecoder().decode((c as { identity: Uint8Array }).identity).split('#')[0];
  const cfg: GroupConfig = { ...config, isSameClient: (p, n) => person(p) === person(n) };

  it('asks config.isSameClient: another credential of a member, or two Adds of one client, is duplicate-member', async () => {
    const [a, b] = await group(['alice', 'bob'], { config: cfg });
    const bob2 = (await keyPackage('bob#2')).keyPackage;
    await expectCode(createCommit(a!, { proposals: [add(bob2)] }), 'duplicate-member');
    const e1 = (await keyPackage('erin#1')).keyPackage;
    const e2 = (await keyPackage('erin#2')).keyPackage;
    await expectCode(processMessage(b!, await forgeCommit(a!, [byValue(add(e1)), byValue(add(e2))])), 'duplicate-member');
    // Without that policy the credentials differ and both Adds are fine.
    expect((await createCommit({ ...a!, config }, { proposals: [add(bob2), add(e1)] })).welcome).toBeDefined();
  });

  it('the server view applies the rule too', async () => {
    const [a] = await group(['alice', 'bob']);
    const tick = await createCommit(a!, { withPath: true });
    const a1 = mergeCommit(a!, tick.pending);
    const view = await publicGroupFromGroupInfo({ provider, groupInfo: tick.groupInfo, config });
    await expectCode(processPublicMessage(view, await forgeCommit(a1, [byValue(add((await keyPackage('bob')).keyPackage))])), 'duplicate-member');
  });
});

describe('§8.4 an external commit with a reinit or branch PSK', () => {
  it('is refused by the members and the server view (invalid-psk-usage)', async () => {
    const [a, b] = await group(['alice', 'bob']);
    const tick = await createCommit(a!, { withPath: true });
    const a1 = mergeCommit(a!, tick.pending);
    const b1 = (await processMessage(b!, tick.commitMessage)).state;
    const view = await publicGroupFromGroupInfo({ provider, groupInfo: tick.groupInfo, config });
    const joiner = await identity('dave');
    const joined = await joinExternal({ provider, groupInfo: tick.groupInfo, ...joiner, config });
    for (const usage of [ResumptionPSKUsage.reinit, ResumptionPSKUsage.branch]) {
      const psk: Proposal = {
        proposalType: ProposalType.psk,
        psk: { psk: { psktype: PSKType.resumption, usage, pskGroupId: a1.groupContext.groupId, pskEpoch: 1n, pskNonce: suite.randomBytes(suite.kdf.nh) } },
      };
      const forged = await resignExternal(joined.commitMessage, b1, joiner.signatureKey.privateKey, (ps) => [...ps, byValue(psk)]);
      await expectCode(processMessage(b1, forged), 'invalid-psk-usage');
      await expectCode(processPublicMessage(view, forged), 'invalid-psk-usage');
    }
    // Control: the unforged external commit is accepted.
    expect((await processMessage(b1, joined.commitMessage)).event.type).toBe('commit');
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
  it('is refused by a receiver (duplicate-leaf-change); the committer leaves the Update out instead', async () => {
    const [a, b, c] = await group(['alice', 'bob', 'carol']);
    const upd = await proposeUpdate(b!);
    const a1 = (await processMessage(a!, upd.message)).state;
    const c1 = (await processMessage(c!, upd.message)).state;
    await expectCode(processMessage(c1, await forgeCommit(a1, [byRef(upd.ref), byValue(remove(b!.ownLeaf))])), 'duplicate-leaf-change');
    const made = await createCommit(a1, { proposals: [remove(b!.ownLeaf)] });
    expect(made.omitted).toEqual([{ ref: upd.ref, reason: 'leaf-removed' }]);
    const event = (await processMessage(c1, made.commitMessage)).event;
    expect(event.type === 'commit' && event.removed).toEqual([b!.ownLeaf]);
  });
});

describe('§12.2 two Updates of the same leaf', () => {
  it('is refused by a receiver (duplicate-leaf-change); the committer keeps the most recent one', async () => {
    const [a, b, c] = await group(['alice', 'bob', 'carol']);
    const u1 = await proposeUpdate(b!);
    const u2 = await proposeUpdate(u1.state);
    let a1 = a!;
    let c1 = c!;
    for (const m of [u1.message, u2.message]) {
      a1 = (await processMessage(a1, m)).state;
      c1 = (await processMessage(c1, m)).state;
    }
    await expectCode(processMessage(c1, await forgeCommit(a1, [byRef(u1.ref), byRef(u2.ref)])), 'duplicate-leaf-change');
    // Asked for in either order, the commit carries the Update received last.
    for (const proposalRefs of [undefined, [u2.ref, u1.ref]]) {
      const made = await createCommit(a1, proposalRefs === undefined ? {} : { proposalRefs });
      expect(made.omitted).toEqual([{ ref: u1.ref, reason: 'superseded-update' }]);
      const c2 = (await processMessage(c1, made.commitMessage)).state;
      expect(c2.tree.leaf(b!.ownLeaf)!.encryptionKey).toEqual((u2.state.proposals.at(-1)!.proposal as { update: { leafNode: { encryptionKey: Uint8Array } } }).update.leafNode.encryptionKey);
    }
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
