// RFC 9420 resumption PSKs by usage and the membership rules of the groups they link:
// §11.2 (a ReInit's new group has the same members, checked by its creator and by every
// member joining from its Welcome), §11.3 (a branched subgroup: new group id, the old
// version and suite, epoch 1, members a subset), §8.4/§12.4.3.1 (reinit and branch PSKs
// only in those flows; usage application accepted and resolved from retained epochs).
// Each refusal is a typed error with a stable code.
import { describe, expect, it } from 'vitest';
import {
  branchGroup,
  createCommit,
  createGroup,
  deserializeState,
  encryptApplication,
  epochAuthenticator,
  joinFromWelcome,
  mergeCommit,
  processMessage,
  reinitGroup,
  serializeState,
  type GroupConfig,
  type GroupState,
} from '../../src/group/index.js';
import { checkResumedGroup, checkWelcomePsks } from '../../src/group/resumption.js';
import { ProtocolVersion } from '../../src/messages/common.js';
import type { Credential } from '../../src/messages/credential.js';
import { ProposalType, PSKType, ResumptionPSKUsage, type PreSharedKeyID, type Proposal, type ReInit } from '../../src/messages/proposal.js';
import { toHex, utf8Bytes } from '../../src/util/bytes.js';
import { add, byValue, config, expectCode, forgeCommit, group, keyPackage, provider, remove, suite, SUITE } from './helpers.js';

const names = (s: GroupState): string[] => [...s.tree.leaves()].map(([, l]) => new TextDecoder().decode((l.credential as { identity: Uint8Array }).identity)).sort();

const reinitTo = (groupId: string): ReInit => ({ groupId: utf8Bytes(groupId), version: ProtocolVersion.mls10, cipherSuite: SUITE, extensions: [] });

/** `members` at epoch 1; the first commits a ReInit to `new-group`; everyone processes it. */
async function reinitialised(members: string[], cfg: GroupConfig = config): Promise<GroupState[]> {
  const states = await group(members, { groupId: 'old-group', config: cfg });
  const commit = await createCommit(states[0]!, { proposals: [{ proposalType: ProposalType.reinit, reinit: reinitTo('new-group') }] });
  return Promise.all(states.map(async (s, i) => (i === 0 ? mergeCommit(s, commit.pending) : (await processMessage(s, commit.commitMessage)).state)));
}

const resumptionPsk = (usage: ResumptionPSKUsage, groupId: Uint8Array, epoch: bigint): Proposal => ({
  proposalType: ProposalType.psk,
  psk: { psk: { psktype: PSKType.resumption, usage, pskGroupId: groupId, pskEpoch: epoch, pskNonce: suite.randomBytes(suite.kdf.nh) } },
});

describe('§11.2 a ReInit’s new group has the same members', () => {
  it('the creator refuses key packages that leave a member out, bring an outsider in, or swap one for an outsider (reinit-membership-mismatch)', async () => {
    const [a] = await reinitialised(['alice', 'bob', 'carol']);
    const kb = (await keyPackage('bob')).keyPackage;
    const kc = (await keyPackage('carol')).keyPackage;
    const kd = (await keyPackage('dave')).keyPackage;
    await expectCode(reinitGroup(a!, { provider, keyPackages: [kb] }), 'reinit-membership-mismatch');
    await expectCode(reinitGroup(a!, { provider, keyPackages: [kb, kc, kd] }), 'reinit-membership-mismatch');
    await expectCode(reinitGroup(a!, { provider, keyPackages: [kb, kd] }), 'reinit-membership-mismatch');
    // Control: exactly the old members.
    const ok = await reinitGroup(a!, { provider, keyPackages: [kb, kc] });
    expect(names(mergeCommit(ok.state, ok.created.pending))).toEqual(['alice', 'bob', 'carol']);
  });

  it('a member joining refuses a Welcome whose group lacks a member or has an extra one, though PSK and parameters are right (reinit-membership-mismatch)', async () => {
    const [a, b] = await reinitialised(['alice', 'bob', 'carol']);
    const kb = await keyPackage('bob');
    const join = (welcome: Uint8Array) => joinFromWelcome({ provider, welcome, keyPackage: kb.keyPackage, privateKeys: kb.privateKeys, config, resumeFrom: b! });
    // A creator that skips the check: its view of the old tree is another group's
    // (alice and bob only; alice, bob, carol and dave), its PSK the genuine one.
    const lying = async (members: string[], keyPackages: Awaited<ReturnType<typeof keyPackage>>['keyPackage'][]) => {
      const [view] = await group(members);
      const signatureKey = await suite.signature.generateKeyPair();
      return reinitGroup({ ...a!, tree: view!.tree, ownLeaf: view!.ownLeaf }, { provider, keyPackages, signatureKey });
    };
    const fewer = await lying(['alice', 'bob'], [kb.keyPackage]);
    await expectCode(join(fewer.created.welcome!), 'reinit-membership-mismatch');
    const more = await lying(['alice', 'bob', 'carol', 'dave'], [kb.keyPackage, (await keyPackage('carol')).keyPackage, (await keyPackage('dave')).keyPackage]);
    await expectCode(join(more.created.welcome!), 'reinit-membership-mismatch');
    const swapped = await lying(['alice', 'bob', 'mallory'], [kb.keyPackage, (await keyPackage('mallory')).keyPackage]);
    await expectCode(join(swapped.created.welcome!), 'reinit-membership-mismatch');
    // Control: the honest new group opens for bob.
    const honest = await reinitGroup(a!, { provider, keyPackages: [kb.keyPackage, (await keyPackage('carol')).keyPackage] });
    expect(names(await join(honest.created.welcome!))).toEqual(['alice', 'bob', 'carol']);
  });

  it('"the same member" is the application’s call (config.isSameClient): a new credential of the same person is accepted', async () => {
    const person = (c: Credential) => new TextDecoder().decode((c as { identity: Uint8Array }).identity).split('#')[0];
    const cfg: GroupConfig = { ...config, isSameClient: (p, n) => person(p) === person(n) };
    const [a, b] = await reinitialised(['alice', 'bob'], cfg);
    const kb = await keyPackage('bob#2');
    const r = await reinitGroup(a!, { provider, keyPackages: [kb.keyPackage], credential: { credentialType: 1, identity: utf8Bytes('alice#2') } });
    const bob = await joinFromWelcome({ provider, welcome: r.created.welcome!, keyPackage: kb.keyPackage, privateKeys: kb.privateKeys, config: cfg, resumeFrom: b! });
    expect(names(bob)).toEqual(['alice#2', 'bob#2']);
    // Without that policy the credentials differ and the membership does not match.
    await expectCode(joinFromWelcome({ provider, welcome: r.created.welcome!, keyPackage: kb.keyPackage, privateKeys: kb.privateKeys, config, resumeFrom: { ...b!, config } }), 'reinit-membership-mismatch');
  });

  it('refuses a new group at another epoch than 1 or with other parameters than the ReInit’s (reinit-mismatch)', async () => {
    const [a, b] = await reinitialised(['alice', 'bob']);
    const r = await reinitGroup(a!, { provider, keyPackages: [(await keyPackage('bob')).keyPackage] });
    const s = mergeCommit(r.state, r.created.pending);
    const gc = s.groupContext;
    await expect(checkResumedGroup('reinit', { resumeFrom: b! }, config, gc, s.tree)).resolves.toBeUndefined();
    for (const wrong of [{ ...gc, epoch: 2n }, { ...gc, cipherSuite: 3 }, { ...gc, groupId: utf8Bytes('other') }, { ...gc, extensions: [{ extensionType: 0xff00, extensionData: new Uint8Array(0) }] }]) {
      await expectCode(checkResumedGroup('reinit', { resumeFrom: b! }, config, wrong, s.tree), 'reinit-mismatch');
    }
  });

  it('a hand-made first commit of the new group must carry the reinit PSK (missing-reinit-psk)', async () => {
    const [a] = await reinitialised(['alice', 'bob']);
    const fresh = await createGroup({ provider, suite: SUITE, groupId: utf8Bytes('new-group'), signatureKey: await suite.signature.generateKeyPair(), credential: a!.tree.leaf(a!.ownLeaf)!.credential, config });
    await expectCode(createCommit(fresh, { proposals: [add((await keyPackage('bob')).keyPackage)], resumeFrom: a! }), 'missing-reinit-psk');
  });
});

describe('§11.3 subgroup branching', () => {
  it('branchGroup makes a subgroup of some members with a branch PSK; they join with branchFrom and agree', async () => {
    const [a, b] = await group(['alice', 'bob', 'carol'], { groupId: 'parent' });
    const kb = await keyPackage('bob');
    const r = await branchGroup(a!, { provider, groupId: utf8Bytes('side-chat'), keyPackages: [kb.keyPackage] });
    const alice = mergeCommit(r.state, r.created.pending);
    const bob = await joinFromWelcome({ provider, welcome: r.created.welcome!, keyPackage: kb.keyPackage, privateKeys: kb.privateKeys, config, branchFrom: b! });
    for (const s of [alice, bob]) {
      expect(s.groupContext.epoch).toBe(1n);
      expect(toHex(s.groupContext.groupId)).toBe(toHex(utf8Bytes('side-chat')));
      expect(s.groupContext.cipherSuite).toBe(a!.groupContext.cipherSuite);
      expect(names(s)).toEqual(['alice', 'bob']);
    }
    expect(toHex(epochAuthenticator(bob))).toBe(toHex(epochAuthenticator(alice)));
    const hi = await encryptApplication(bob, utf8Bytes('just us'));
    const got = await processMessage(alice, hi.message);
    expect(got.event.type === 'application' && new TextDecoder().decode(got.event.data)).toBe('just us');
    // The parent group carries on.
    expect((await createCommit(a!)).pending).toBeDefined();
  });

  it('the creator refuses an outsider (branch-membership-mismatch) and the parent’s own group id (not-a-branch)', async () => {
    const [a] = await group(['alice', 'bob', 'carol'], { groupId: 'parent' });
    await expectCode(branchGroup(a!, { provider, groupId: utf8Bytes('side'), keyPackages: [(await keyPackage('mallory')).keyPackage] }), 'branch-membership-mismatch');
    await expectCode(branchGroup(a!, { provider, groupId: utf8Bytes('parent'), keyPackages: [(await keyPackage('bob')).keyPackage] }), 'not-a-branch', 'usage');
  });

  it('a member joining refuses a subgroup holding a non-member (branch-membership-mismatch), one without the branch PSK, another parent’s PSK, or no branchFrom', async () => {
    const [a, b] = await group(['alice', 'bob', 'carol'], { groupId: 'parent' });
    const kb = await keyPackage('bob');
    const join = (welcome: Uint8Array, branchFrom?: GroupState) =>
      joinFromWelcome({ provider, welcome, keyPackage: kb.keyPackage, privateKeys: kb.privateKeys, config, ...(branchFrom === undefined ? {} : { branchFrom }) });
    // A creator whose view of the parent tree includes mallory (its PSK the genuine one).
    const [view] = await group(['alice', 'bob', 'mallory']);
    const forged = await branchGroup({ ...a!, tree: view!.tree, signaturePrivateKey: view!.signaturePrivateKey }, { provider, groupId: utf8Bytes('side'), keyPackages: [kb.keyPackage, (await keyPackage('mallory')).keyPackage] });
    await expectCode(join(forged.created.welcome!, b), 'branch-membership-mismatch');

    const genuine = await branchGroup(a!, { provider, groupId: utf8Bytes('side'), keyPackages: [kb.keyPackage] });
    // A branch PSK outside a branch: the joiner did not ask for one.
    await expectCode(join(genuine.created.welcome!), 'invalid-psk-usage');
    // Another parent group's state.
    const [, otherB] = await group(['alice', 'bob', 'carol'], { groupId: 'another-parent' });
    await expectCode(join(genuine.created.welcome!, otherB), 'branch-psk-mismatch');
    // An ordinary Welcome (no branch PSK) processed as a branch.
    const [x] = await group(['xavier']);
    const plainAdd = await createCommit(x!, { proposals: [add(kb.keyPackage)] });
    await expectCode(join(plainAdd.welcome!, b), 'missing-branch-psk');
    // Control.
    expect(names(await join(genuine.created.welcome!, b))).toEqual(['alice', 'bob']);
  });

  it('refuses a branched group at another epoch, of another suite, or with the parent’s group id (branch-mismatch)', async () => {
    const [a, b] = await group(['alice', 'bob'], { groupId: 'parent' });
    const kb = await keyPackage('bob');
    const r = await branchGroup(a!, { provider, groupId: utf8Bytes('side'), keyPackages: [kb.keyPackage] });
    const s = mergeCommit(r.state, r.created.pending);
    const gc = s.groupContext;
    await expect(checkResumedGroup('branch', { branchFrom: b! }, config, gc, s.tree)).resolves.toBeUndefined();
    await expectCode(checkResumedGroup('branch', { branchFrom: b! }, config, { ...gc, epoch: 2n }, s.tree), 'branch-mismatch');
    await expectCode(checkResumedGroup('branch', { branchFrom: b! }, config, { ...gc, cipherSuite: 3 }, s.tree), 'branch-mismatch');
    await expectCode(checkResumedGroup('branch', { branchFrom: b! }, config, { ...gc, groupId: b!.groupContext.groupId }, s.tree), 'branch-mismatch');
  });
});

describe('§8.4 PSK usages in commits and Welcomes', () => {
  it('a commit with a branch PSK outside a branch is refused, by its creator and by a receiver (invalid-psk-usage)', async () => {
    const [a, b] = await group(['alice', 'bob']);
    const branch = resumptionPsk(ResumptionPSKUsage.branch, a!.groupContext.groupId, 1n);
    await expectCode(createCommit(a!, { proposals: [branch] }), 'invalid-psk-usage');
    await expectCode(processMessage(b!, await forgeCommit(a!, [byValue(branch)])), 'invalid-psk-usage');
    const reinit = resumptionPsk(ResumptionPSKUsage.reinit, a!.groupContext.groupId, 1n);
    await expectCode(createCommit(a!, { proposals: [reinit] }), 'invalid-psk-usage');
  });

  it('a branch PSK is not accepted in the first commit of a re-initialised group, nor a reinit PSK in a branch', async () => {
    const [a] = await reinitialised(['alice', 'bob']);
    const fresh = await createGroup({ provider, suite: SUITE, groupId: utf8Bytes('new-group'), signatureKey: await suite.signature.generateKeyPair(), credential: a!.tree.leaf(a!.ownLeaf)!.credential, config });
    const branch = resumptionPsk(ResumptionPSKUsage.branch, a!.groupContext.groupId, a!.groupContext.epoch);
    await expectCode(createCommit(fresh, { proposals: [add((await keyPackage('bob')).keyPackage), branch], resumeFrom: a! }), 'invalid-psk-usage');
    const [p] = await group(['alice', 'bob'], { groupId: 'parent' });
    const side = await createGroup({ provider, suite: SUITE, groupId: utf8Bytes('side'), signatureKey: await suite.signature.generateKeyPair(), credential: p!.tree.leaf(p!.ownLeaf)!.credential, config });
    const reinit = resumptionPsk(ResumptionPSKUsage.reinit, p!.groupContext.groupId, p!.groupContext.epoch);
    await expectCode(createCommit(side, { proposals: [add((await keyPackage('bob')).keyPackage), reinit], branchFrom: p! }), 'invalid-psk-usage');
  });

  it('usage application: a commit may name a retained epoch; one no longer retained or of another group is missing-psk', async () => {
    let states = await group(['alice', 'bob']);
    for (let i = 0; i < 9; i++) {
      const c = await createCommit(states[0]!, { withPath: true });
      states = [mergeCommit(states[0]!, c.pending), (await processMessage(states[1]!, c.commitMessage)).state];
    }
    const [a, b] = states as [GroupState, GroupState];
    expect(a.groupContext.epoch).toBe(10n);
    const ok = await createCommit(a, { proposals: [resumptionPsk(ResumptionPSKUsage.application, a.groupContext.groupId, 3n)] });
    const b2 = (await processMessage(b, ok.commitMessage)).state;
    expect(toHex(epochAuthenticator(b2))).toBe(toHex(epochAuthenticator(mergeCommit(a, ok.pending))));
    await expectCode(processMessage(b, await forgeCommit(a, [byValue(resumptionPsk(ResumptionPSKUsage.application, a.groupContext.groupId, 1n))])), 'missing-psk');
    await expectCode(processMessage(b, await forgeCommit(a, [byValue(resumptionPsk(ResumptionPSKUsage.application, utf8Bytes('elsewhere'), 3n))])), 'missing-psk');
  });

  it('usage application in a Welcome: a former member re-added joins with its old state as pskSources (retained epoch); without it, missing-psk', async () => {
    let [a, b, d] = await group(['alice', 'bob', 'dave'], { groupId: 'psk-welcome' });
    const tick = await createCommit(a!, { withPath: true });
    [a, b, d] = [mergeCommit(a!, tick.pending), (await processMessage(b!, tick.commitMessage)).state, (await processMessage(d!, tick.commitMessage)).state];
    const daveOld = d; // epoch 2; epoch 1 is a retained resumption PSK
    const out = await createCommit(a, { proposals: [remove(d.ownLeaf)] });
    a = mergeCommit(a, out.pending);
    b = (await processMessage(b, out.commitMessage)).state;
    const kd = await keyPackage('dave');
    const back = await createCommit(a, { proposals: [add(kd.keyPackage), resumptionPsk(ResumptionPSKUsage.application, a.groupContext.groupId, 1n)] });
    const a4 = mergeCommit(a, back.pending);
    const b4 = (await processMessage(b, back.commitMessage)).state;
    const join = (pskSources?: GroupState[]) =>
      joinFromWelcome({ provider, welcome: back.welcome!, keyPackage: kd.keyPackage, privateKeys: kd.privateKeys, config, ...(pskSources === undefined ? {} : { pskSources }) });
    await expectCode(join(), 'missing-psk');
    // The old state works as a source after a save and restore too.
    const dave = await join([deserializeState(serializeState(daveOld), provider, config)]);
    expect(toHex(epochAuthenticator(dave))).toBe(toHex(epochAuthenticator(a4)));
    expect(toHex(epochAuthenticator(b4))).toBe(toHex(epochAuthenticator(a4)));
  });

  it('§12.4.3.1: a Welcome naming two reinit/branch PSKs, or a reinit and a branch, is refused (invalid-psk-usage)', () => {
    const id = (usage: ResumptionPSKUsage): PreSharedKeyID => ({ psktype: PSKType.resumption, usage, pskGroupId: utf8Bytes('g'), pskEpoch: 1n, pskNonce: new Uint8Array(32) });
    for (const list of [
      [id(ResumptionPSKUsage.reinit), id(ResumptionPSKUsage.branch)],
      [id(ResumptionPSKUsage.branch), id(ResumptionPSKUsage.branch)],
    ]) {
      expect(() => checkWelcomePsks(list, {})).toThrow(expect.objectContaining({ code: 'invalid-psk-usage', kind: 'validation' }) as Error);
    }
    expect(checkWelcomePsks([id(ResumptionPSKUsage.application), id(ResumptionPSKUsage.application)], {})).toBeUndefined();
  });
});
