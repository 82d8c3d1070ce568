// Attack (issue 7 item 2): the server adds a member by a commit no authorised member
// made. The hostile server writes the commit into Bob's view of the group log itself
// (bypassing the real server's own checks, which would refuse it too: defence in depth),
// so what is proven here is that Bob's CLIENT refuses it:
// - a commit "from Alice" adding Mallory, whose signature the server made up;
// - a commit adding Mallory signed by Mallory, a non-member, in Alice's leaf's name;
// - a commit adding Mallory by Bob, a member but not an administrator, under a policy
//   where only administrators add (Bob's signature is real: a member colluding with the
//   server, or the server holding Bob's key).
// The conversation is a group Alice administers, so that a commit "from Alice" adding
// Mallory is one the policy would allow: only the signature check can refuse it.
// To build commits whose only flaw is the one under test, the test starts from a copy
// of Alice's group state — more than a server holds (the membership key, the epoch's
// secrets); a real server could not even get this far.
import { nodeCryptoProvider } from '@parley/mls/crypto-node';
import {
  createCommit,
  decode,
  decodeMLSMessage,
  deserializeState,
  encode,
  encodeMLSMessage,
  generateKeyPackage,
  CredentialType,
  Secret,
  WireFormat,
  type GroupState,
  type KeyPackage,
} from '@parley/mls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP_POLICY_EXTENSION_TYPE } from '@parley/protocol';
import { eventOf, group, isText, isWarning, shown, startWorld, type Actor, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world.close();
});

const suite = nodeCryptoProvider.suite(1);

async function stateOf(a: Actor, g: string): Promise<GroupState> {
  const rec = await a.store.getGroupState(g);
  if (rec === undefined) throw new Error('no state');
  return deserializeState(rec.state, nodeCryptoProvider, { now: () => BigInt(Math.floor(Date.now() / 1000)) });
}

/** A key package for a device of Mallory's, with her real device certificate. */
async function mallorysKeyPackage(mallory: Actor): Promise<{ keyPackage: KeyPackage; signaturePrivateKey: Uint8Array }> {
  const id = await mallory.store.getIdentity();
  if (id === undefined) throw new Error('no identity');
  const signatureKey = { publicKey: id.deviceSignaturePublicKey, privateKey: id.deviceSignaturePrivateKey.bytes };
  const capabilities = { versions: [1], cipherSuites: [1], extensions: [GROUP_POLICY_EXTENSION_TYPE], proposals: [], credentials: [CredentialType.basic] };
  const { keyPackage } = await generateKeyPackage({ suite, credential: { credentialType: CredentialType.basic, identity: id.deviceCertificate }, signatureKey, capabilities });
  return { keyPackage, signaturePrivateKey: signatureKey.privateKey };
}

/** Writes `commit` into `to`'s log as if the server had sequenced it, and waits until it was processed. */
async function serveTo(to: Actor, alice: Actor, g: string, commit: Uint8Array, marker: string): Promise<void> {
  const conn = await world.hostile.waitForConnection(to.client.deviceId);
  conn.insert({ stream: 'group', streamId: g, messageId: crypto.getRandomValues(new Uint8Array(16)), kind: 'commit', groupId: g, sender: alice.client.deviceId, createdAt: Date.now(), payload: commit });
  // Bob handles one message at a time: once a later real message is shown, the forged commit was handled.
  await alice.client.sendText(g, marker);
  await eventOf(to, isText(marker));
}

async function expectUnchanged(bob: Actor, g: string, epoch: bigint): Promise<void> {
  const s = await stateOf(bob, g);
  expect(s.groupContext.epoch).toBe(epoch);
  expect([...s.tree.leaves()]).toHaveLength(2);
}

describe('attack: the server adds a member by a commit no authorised member made', () => {
  it('a commit with a signature the server made up is refused', async () => {
    const [alice, bob, mallory] = [await world.user('alice'), await world.user('bob'), await world.user('mallory', { connect: false })];
    const g = await group(alice, 'team', [bob]);
    await alice.client.sendText(g, 'hello');
    await eventOf(bob, isText('hello'));
    const epoch = (await stateOf(bob, g)).groupContext.epoch;
    const memberships = bob.events.filter((e) => e.type === 'membership').length;

    const { keyPackage } = await mallorysKeyPackage(mallory);
    const made = await createCommit(await stateOf(alice, g), { proposals: [{ proposalType: 1, add: { keyPackage } }] });
    const m = decode(decodeMLSMessage, made.commitMessage);
    if (m.wireFormat !== WireFormat.mls_public_message) throw new Error('a commit is a PublicMessage');
    const forged = encode(encodeMLSMessage, { ...m, publicMessage: { ...m.publicMessage, auth: { ...m.publicMessage.auth, signature: crypto.getRandomValues(new Uint8Array(64)) } } });

    const refused = eventOf(bob, (e) => e.type === 'error' && e.groupId === g);
    await serveTo(bob, alice, g, forged, 'still just us');
    // Refused at the first check it fails: the membership tag (RFC 9420 §6.2), a MAC
    // over content and signature under the epoch's membership key, which the server
    // does not hold either; the signature would be refused next.
    expect(await refused).toMatchObject({ type: 'error', groupId: g, code: 'invalid-membership-tag' });
    await expectUnchanged(bob, g, epoch);
    expect(bob.events.filter((e) => e.type === 'membership')).toHaveLength(memberships);
    expect(await shown(bob, g)).toEqual(['hello', 'still just us']);
  });

  it('a commit signed by a non-member in a member’s name is refused', async () => {
    const [alice, bob, mallory] = [await world.user('alice'), await world.user('bob'), await world.user('mallory', { connect: false })];
    const g = await group(alice, 'team', [bob]);
    await alice.client.sendText(g, 'hello');
    await eventOf(bob, isText('hello'));
    const epoch = (await stateOf(bob, g)).groupContext.epoch;
    const memberships = bob.events.filter((e) => e.type === 'membership').length;

    // Mallory signs with her own device key, claiming Alice's leaf.
    const { keyPackage, signaturePrivateKey } = await mallorysKeyPackage(mallory);
    const asMallory: GroupState = { ...(await stateOf(alice, g)), signaturePrivateKey: new Secret<'signature-private-key'>(signaturePrivateKey) };
    const made = await createCommit(asMallory, { proposals: [{ proposalType: 1, add: { keyPackage } }] });

    const refused = eventOf(bob, (e) => e.type === 'error' && e.groupId === g);
    await serveTo(bob, alice, g, made.commitMessage, 'nobody new');
    // The membership tag is right (the copy holds the key); the signature is not Alice's.
    expect(await refused).toMatchObject({ type: 'error', groupId: g, code: 'invalid-signature' });
    await expectUnchanged(bob, g, epoch);
    expect(bob.events.filter((e) => e.type === 'membership')).toHaveLength(memberships);
  });

  it('a commit by a member who is not an administrator, under an admins-only policy, is refused', async () => {
    const [alice, bob, carol, mallory] = [await world.user('alice'), await world.user('bob'), await world.user('carol'), await world.user('mallory', { connect: false })];
    const g = await group(alice, 'team', [bob, carol]);
    await alice.client.sendText(g, 'hello');
    await eventOf(carol, isText('hello'));
    const epoch = (await stateOf(carol, g)).groupContext.epoch;
    const leaves = [...(await stateOf(carol, g)).tree.leaves()].length;

    // Bob's own, validly signed commit adding Mallory; Bob's client would not make it.
    const { keyPackage } = await mallorysKeyPackage(mallory);
    const made = await createCommit(await stateOf(bob, g), { proposals: [{ proposalType: 1, add: { keyPackage } }] });
    await serveTo(carol, alice, g, made.commitMessage, 'admins decide');
    await serveTo(alice, bob, g, made.commitMessage, 'still the same three');

    for (const member of [alice, carol]) {
      const w = member.events.find(isWarning('policy-violation'));
      expect(w).toMatchObject({ type: 'warning', groupId: g, userId: bob.client.userId, code: 'policy-violation' });
      const s = await stateOf(member, g);
      expect(s.groupContext.epoch).toBe(epoch);
      expect([...s.tree.leaves()]).toHaveLength(leaves);
      expect((await member.client.members(g)).map((m) => m.userId)).not.toContain(mallory.client.userId);
    }
  });
});
