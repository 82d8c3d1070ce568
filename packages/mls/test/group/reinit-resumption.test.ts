// RFC 9420 §11.2 Reinitialization, step 3: after a ReInit commit, a member creates the
// new group the ReInit describes with a first commit that adds the others and carries a
// PSK of psktype resumption, usage reinit, naming the old group at its ReInit epoch
// (reinitGroup); the others join from its Welcome with their old state (resumeFrom).
// The PSK is required and binds the two groups: without the old state, with another
// group's, with a PSK value the old group never derived, or with a new group that is not
// the one the ReInit named, the Welcome is refused with a typed error.
import { describe, expect, it } from 'vitest';
import { createCommit, createGroup, encryptApplication, epochAuthenticator, generateKeyPackage, joinFromWelcome, mergeCommit, processMessage, reinitGroup, type GroupState } from '../../src/group/index.js';
import { ProtocolVersion } from '../../src/messages/common.js';
import { CredentialType } from '../../src/messages/credential.js';
import { ExtensionType } from '../../src/messages/extension.js';
import { ProposalType, type ReInit } from '../../src/messages/proposal.js';
import { asSecret } from '../../src/schedule/secrets.js';
import { toHex, utf8Bytes } from '../../src/util/bytes.js';
import { add, config, expectCode, group, identity, keyPackage, provider, SUITE } from './helpers.js';

const reinitTo = (groupId: string): ReInit => ({
  groupId: utf8Bytes(groupId),
  version: ProtocolVersion.mls10,
  cipherSuite: SUITE,
  extensions: [{ extensionType: ExtensionType.application_id, extensionData: utf8Bytes('v2') }],
});

/** alice, bob and carol; alice commits a ReInit to `groupId` and all three process it. */
async function reinitialised(groupId = 'new-group', oldId = 'old-group'): Promise<GroupState[]> {
  const [a, b, c] = await group(['alice', 'bob', 'carol'], { groupId: oldId });
  const commit = await createCommit(a!, { proposals: [{ proposalType: ProposalType.reinit, reinit: reinitTo(groupId) }] });
  const out = [mergeCommit(a!, commit.pending), (await processMessage(b!, commit.commitMessage)).state, (await processMessage(c!, commit.commitMessage)).state];
  for (const s of out) expect(s.reinit).toBeDefined();
  return out;
}

describe('§11.2 the new group of a ReInit, bound by a reinit resumption PSK', () => {
  it('a member (not the ReInit committer) creates it; the others join with their old state and all agree', async () => {
    const [a, b, c] = await reinitialised();
    const ka = await keyPackage('alice');
    const kc = await keyPackage('carol');
    const { state: bob0, created } = await reinitGroup(b!, { provider, keyPackages: [ka.keyPackage, kc.keyPackage] });
    expect(bob0.groupContext.epoch).toBe(0n);
    const bob = mergeCommit(bob0, created.pending);
    const alice = await joinFromWelcome({ provider, welcome: created.welcome!, keyPackage: ka.keyPackage, privateKeys: ka.privateKeys, config, resumeFrom: a! });
    const carol = await joinFromWelcome({ provider, welcome: created.welcome!, keyPackage: kc.keyPackage, privateKeys: kc.privateKeys, config, resumeFrom: c! });
    for (const s of [alice, bob, carol]) {
      expect(s.groupContext.epoch).toBe(1n);
      expect(toHex(s.groupContext.groupId)).toBe(toHex(utf8Bytes('new-group')));
      expect(s.groupContext.extensions).toEqual(reinitTo('new-group').extensions);
      expect(s.reinit).toBeUndefined();
      expect([...s.tree.leaves()].map(([, l]) => new TextDecoder().decode((l.credential as { identity: Uint8Array }).identity)).sort()).toEqual(['alice', 'bob', 'carol']);
    }
    expect(new Set([alice, bob, carol].map((s) => toHex(epochAuthenticator(s)))).size).toBe(1);
    const hello = await encryptApplication(carol, utf8Bytes('in the new group'));
    const got = await processMessage(alice, hello.message);
    expect(got.event.type === 'application' && new TextDecoder().decode(got.event.data)).toBe('in the new group');
    // The old group stays closed.
    await expectCode(createCommit(a!), 'group-reinitialising', 'usage');
  });

  it('moves the group to another cipher suite (1 → 3): new signature keys, the old suite’s resumption PSK', async () => {
    const [a, b] = await group(['alice', 'bob'], { groupId: 'suite-one' });
    const to3: ReInit = { groupId: utf8Bytes('suite-three'), version: ProtocolVersion.mls10, cipherSuite: 3, extensions: [] };
    const commit = await createCommit(a!, { proposals: [{ proposalType: ProposalType.reinit, reinit: to3 }] });
    const a1 = mergeCommit(a!, commit.pending);
    const b1 = (await processMessage(b!, commit.commitMessage)).state;
    const suite3 = provider.suite(3);
    await expectCode(reinitGroup(a1, { provider, keyPackages: [] }), 'signature-key-required', 'usage');
    const bobSig = await suite3.signature.generateKeyPair();
    const kb = await generateKeyPackage({ suite: suite3, signatureKey: bobSig, credential: { credentialType: CredentialType.basic, identity: utf8Bytes('bob') } });
    const aliceSig = await suite3.signature.generateKeyPair();
    const r = await reinitGroup(a1, { provider, signatureKey: aliceSig, keyPackages: [kb.keyPackage] });
    const alice = mergeCommit(r.state, r.created.pending);
    const bob = await joinFromWelcome({ provider, welcome: r.created.welcome!, keyPackage: kb.keyPackage, privateKeys: kb.privateKeys, config, resumeFrom: b1 });
    for (const s of [alice, bob]) expect(s.suite.id).toBe(3);
    expect(toHex(epochAuthenticator(bob))).toBe(toHex(epochAuthenticator(alice)));
    const hi = await encryptApplication(bob, utf8Bytes('on suite 3'));
    const got = await processMessage(alice, hi.message);
    expect(got.event.type === 'application' && new TextDecoder().decode(got.event.data)).toBe('on suite 3');
  });

  it('requires the flow: joining without the old state is invalid-psk-usage (a reinit PSK outside a re-initialisation, §8.4)', async () => {
    const [a, b] = await reinitialised();
    const kb = await keyPackage('bob');
    const kc = await keyPackage('carol');
    const { created } = await reinitGroup(a!, { provider, keyPackages: [kb.keyPackage, kc.keyPackage] });
    await expectCode(joinFromWelcome({ provider, welcome: created.welcome!, keyPackage: kb.keyPackage, privateKeys: kb.privateKeys, config }), 'invalid-psk-usage');
    // Nor does handing the old state over as an ordinary PSK source make it one.
    await expectCode(joinFromWelcome({ provider, welcome: created.welcome!, keyPackage: kb.keyPackage, privateKeys: kb.privateKeys, config, pskSources: [b!] }), 'invalid-psk-usage');
    // With it, the same Welcome opens.
    expect((await joinFromWelcome({ provider, welcome: created.welcome!, keyPackage: kb.keyPackage, privateKeys: kb.privateKeys, config, resumeFrom: b! })).groupContext.epoch).toBe(1n);
  });

  it('binds the groups: another group’s state, a PSK value the old group never derived, or a different new group is refused', async () => {
    const [a, b] = await reinitialised();
    const kb = await keyPackage('bob');
    const carol = (await keyPackage('carol')).keyPackage;
    const join = (welcome: Uint8Array, resumeFrom: GroupState) => joinFromWelcome({ provider, welcome, keyPackage: kb.keyPackage, privateKeys: kb.privateKeys, config, resumeFrom });

    // Another old group, also re-initialising (to the same new group id): its PSK is not the one named.
    const [, otherB] = await reinitialised('new-group', 'another-old-group');
    const genuine = await reinitGroup(a!, { provider, keyPackages: [kb.keyPackage, carol] });
    await expectCode(join(genuine.created.welcome!, otherB!), 'reinit-psk-mismatch');

    // A creator who names the right PSK but does not hold its value (here: alice's state
    // with a random resumption_psk) cannot make a Welcome that opens.
    const forged: GroupState = { ...a!, keys: { ...a!.keys, resumptionPsk: asSecret(new Uint8Array(32).fill(7)) } };
    const fake = await reinitGroup(forged, { provider, keyPackages: [kb.keyPackage, carol] });
    await expectCode(join(fake.created.welcome!, b!), 'group-info-decrypt-failed');

    // A new group other than the one the ReInit named (alice's state claiming another ReInit).
    const elsewhere: GroupState = { ...a!, reinit: reinitTo('somewhere-else') };
    const wrongGroup = await reinitGroup(elsewhere, { provider, keyPackages: [kb.keyPackage, carol] });
    await expectCode(join(wrongGroup.created.welcome!, b!), 'reinit-mismatch');

    // An ordinary Welcome into a group of the right id but without the reinit PSK.
    const plain = await createGroup({ provider, suite: SUITE, groupId: utf8Bytes('new-group'), extensions: reinitTo('new-group').extensions, ...(await identity('alice')), config });
    const plainAdd = await createCommit(plain, { proposals: [add(kb.keyPackage)] });
    await expectCode(join(plainAdd.welcome!, b!), 'missing-reinit-psk');

    // resumeFrom must be re-initialising.
    const [, notReinit] = await group(['alice', 'bob'], { groupId: 'old-group' });
    await expectCode(join(genuine.created.welcome!, notReinit!), 'group-not-reinitialising', 'usage');
    // And the genuine Welcome still opens with bob's real old state.
    expect((await join(genuine.created.welcome!, b!)).groupContext.epoch).toBe(1n);
  });

  it('reinitGroup and createCommit refuse to start a new group from a group without a committed ReInit, or a group the ReInit did not name', async () => {
    const [a] = await group(['alice', 'bob']);
    await expectCode(reinitGroup(a!, { provider, keyPackages: [] }), 'group-not-reinitialising', 'usage');
    const [r] = await reinitialised();
    const other = await createGroup({ provider, suite: SUITE, groupId: utf8Bytes('not-the-new-group'), ...(await identity('alice')), config });
    await expectCode(createCommit(other, { resumeFrom: r! }), 'not-a-reinit', 'usage');
  });
});
