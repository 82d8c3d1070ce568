// Attack (issue 7 item 2): the server substitutes a user's identity key — the
// man-in-the-middle every end-to-end system is open to at the directory. The server
// answers Alice's look-up of Bob with an identity key of its own and hands out, for
// Bob, a device whose certificate that key signed (so it passes the certificate check
// that stops the ghost devices of unsigned-device.test.ts). Parley cannot tell the
// server's key from a key Bob really changed, so what it promises is that the change
// is never silent: every conversation with Bob shows it (an event line and a warning),
// the safety number changes (comparing it with Bob's reveals the attack), and once
// Alice has verified Bob, nothing more goes to Bob — no message in any conversation
// with him, no new conversation with his devices — until she verifies the key again.
// Verified or not, the key seen first stays pinned until the user accepts or verifies
// the new one: a device certified by the server's key is not let into a group — neither
// by an external commit of its own nor by a member who took the server's word for it
// and Added it — so the server cannot read the group by joining it under a false key.
import { CredentialType, ProposalType, ProtocolVersion, createCommit, deserializeState, encode, encodeKeyPackage, generateKeyPackage, joinExternal, type KeyPackage } from '@parley/mls';
import { nodeCryptoProvider } from '@parley/mls/crypto-node';
import { GROUP_POLICY_EXTENSION_TYPE } from '@parley/protocol';
import { createDevice, generateIdentityKey } from '@parley/client';
import { nodeClientCrypto } from '@parley/client/node';
import { json } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { direct, eventOf, group, isText, isWarning, shown, startWorld, type Actor, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world.close();
});

/**
 * The server's man in the middle for `victim`: an identity key of its own, served by the
 * directory as the victim's, and a device key package certified by that key (with the
 * capabilities a Parley device has), handed out in every key-package claim for the victim.
 * Returns the attacker's device id and a function that ends the attack.
 */
interface Mitm {
  readonly deviceId: string;
  readonly identityKey: string;
  /** The server's device, as a member would see it: its key package and MLS credential. */
  readonly keyPackage: KeyPackage;
  /** An external commit (RFC 9420 §12.4.3.2) of the server's device into group `g`. */
  joinExternally: (g: string) => Promise<Uint8Array>;
  stop: () => void;
}

async function impersonate(victim: Actor): Promise<Mitm> {
  const userId = victim.client.userId;
  const serversKey = await generateIdentityKey(nodeClientCrypto);
  const ghost = await createDevice(nodeClientCrypto, { userId, identity: serversKey, now: Date.now() });
  const credential = { credentialType: CredentialType.basic, identity: ghost.identity.deviceCertificate } as const;
  const signatureKey = { publicKey: ghost.identity.deviceSignaturePublicKey, privateKey: ghost.identity.deviceSignaturePrivateKey.bytes };
  const capabilities = { versions: [ProtocolVersion.mls10], cipherSuites: [ghost.identity.cipherSuite], extensions: [GROUP_POLICY_EXTENSION_TYPE], proposals: [], credentials: [CredentialType.basic] };
  const { keyPackage } = await generateKeyPackage({ suite: nodeCryptoProvider.suite(ghost.identity.cipherSuite), credential, signatureKey, capabilities });
  const identityKey = Buffer.from(serversKey.publicKey).toString('base64');
  const offDirectory = world.hostile.onResponse((res, req) => {
    if (req.method !== 'GET' || req.url !== `/v1/users/${userId}` || res.status !== 200) return undefined;
    return json.replace(res, { ...json.parse(res), identityKey });
  });
  const offClaims = world.hostile.onResponse((res, req) => {
    if (req.method !== 'POST' || req.url !== `/v1/users/${userId}/key-packages/claim` || res.status !== 200) return undefined;
    return json.replace(res, { keyPackages: [{ deviceId: ghost.deviceId, keyPackage: Buffer.from(encode(encodeKeyPackage, keyPackage)).toString('base64'), lastResort: false }] });
  });
  return {
    deviceId: ghost.deviceId,
    identityKey,
    keyPackage,
    joinExternally: async (g) =>
      (await joinExternal({ provider: nodeCryptoProvider, groupInfo: latestGroupInfo(g), credential, signatureKey, capabilities, config: { now: () => BigInt(Math.floor(Date.now() / 1000)) } })).commitMessage,
    stop: () => {
      offDirectory();
      offClaims();
    },
  };
}

/** The newest GroupInfo of a group, as the server has it (every commit upload carries one). */
function latestGroupInfo(g: string): Uint8Array {
  const upload = world.hostile.exchanges.filter((x) => x.request.method === 'POST' && x.request.url === `/v1/groups/${encodeURIComponent(g)}/commits` && x.response.status < 300).at(-1);
  if (upload === undefined) throw new Error('no commit upload seen');
  return Buffer.from((JSON.parse(upload.request.body.toString('utf8')) as { groupInfo: string }).groupInfo, 'base64');
}

/** Writes a commit straight into a member's view of the group log, as the server can. */
async function insertCommit(to: Actor, g: string, sender: string, payload: Uint8Array): Promise<void> {
  const conn = await world.hostile.waitForConnection(to.client.deviceId);
  conn.insert({ stream: 'group', streamId: g, messageId: crypto.getRandomValues(new Uint8Array(16)), kind: 'commit', groupId: g, sender, createdAt: Date.now(), payload });
}

/** A member's view of a group: its epoch and the devices in it. */
async function viewOf(a: Actor, g: string): Promise<{ epoch: bigint | undefined; devices: string[] }> {
  const rec = await a.store.getGroupState(g);
  return { epoch: rec?.epoch, devices: (await a.client.members(g)).flatMap((m) => m.devices).sort() };
}

const refusedLines = async (a: Actor, g: string, userId: string): Promise<number> =>
  (await a.client.history(g)).filter((m) => m.body.type === 'event' && m.body.event === 'device-refused' && m.body.detail === userId).length;

const keyChangedLines = async (a: Actor, g: string, userId: string): Promise<number> =>
  (await a.client.history(g)).filter((m) => m.body.type === 'event' && m.body.event === 'identity-key-changed' && m.body.detail === userId).length;

describe('attack: the server substitutes a user’s identity key', () => {
  it('the change is shown in every conversation with the contact, and the safety numbers no longer match', async () => {
    const alice = await world.user('alice');
    const bob = await world.user('bob');
    const carol = await world.user('carol');
    const dm = await direct(alice, bob);
    const team = await group(alice, 'team', [bob, carol]);
    const withCarol = await direct(alice, carol);
    const before = await alice.client.safetyNumber(bob.client.userId);
    expect(await bob.client.safetyNumber(alice.client.userId)).toBe(before);
    expect(alice.events.some(isWarning('identity-key-changed'))).toBe(false);

    const mitm = await impersonate(bob);
    // Alice starts a new conversation with Bob: the look-up goes through the directory.
    // She never verified Bob, so trust on first use cannot tell the server's key from a
    // new key of Bob's; whether the server then gets its device in (it must also route
    // the Welcome to a device it made up) is not what this case is about — the warning is.
    await alice.client.createGroup('plans', [bob.client.userId]).catch(() => undefined);
    // Alice remembers the key she was given: her safety number with Bob changed, and no
    // longer matches the one Bob's device computes from the keys it holds.
    const contact = (await alice.client.contacts()).find((c) => c.userId === bob.client.userId);
    expect(Buffer.from(contact?.identityKey ?? []).toString('base64')).toBe(mitm.identityKey);
    const during = await alice.client.safetyNumber(bob.client.userId);
    mitm.stop();
    expect(during).not.toBe(before);
    expect(await bob.client.safetyNumber(alice.client.userId)).toBe(before);

    const warnings = alice.events.filter(isWarning('identity-key-changed'));
    expect(warnings.map((e) => (e.type === 'warning' ? e.groupId : undefined)).sort()).toEqual([dm, team].sort());
    expect(warnings.every((e) => e.type === 'warning' && e.userId === bob.client.userId)).toBe(true);
    expect(await keyChangedLines(alice, dm, bob.client.userId)).toBe(1);
    expect(await keyChangedLines(alice, team, bob.client.userId)).toBe(1);
    expect(await keyChangedLines(alice, withCarol, bob.client.userId)).toBe(0);
  });

  it('with the contact verified, nothing more goes to them until the new key is verified', async () => {
    const alice = await world.user('alice');
    const bob = await world.user('bob');
    const carol = await world.user('carol');
    const dm = await direct(alice, bob);
    const team = await group(alice, 'team', [bob, carol]);
    const withCarol = await direct(alice, carol);
    const shown = await alice.client.safetyNumber(bob.client.userId);
    expect(await bob.client.safetyNumber(alice.client.userId)).toBe(shown);
    await alice.client.markVerified(bob.client.userId, shown);
    await alice.client.sendText(dm, 'verified');
    await eventOf(bob, isText('verified'));

    const mitm = await impersonate(bob);
    const claimsBefore = world.hostile.exchanges.filter((x) => x.request.url === `/v1/users/${bob.client.userId}/key-packages/claim`).length;
    // A new conversation with Bob: refused before any of "his" devices is claimed.
    await expect(alice.client.createGroup('plans', [bob.client.userId])).rejects.toMatchObject({ code: 'contact-unverified' });
    expect(world.hostile.exchanges.filter((x) => x.request.url === `/v1/users/${bob.client.userId}/key-packages/claim`)).toHaveLength(claimsBefore);
    expect(world.hostile.exchanges.some((x) => x.request.body.toString('utf8').includes(mitm.deviceId))).toBe(false);
    // The change is shown in both conversations with Bob…
    expect(alice.events.filter(isWarning('identity-key-changed')).map((e) => (e.type === 'warning' ? e.groupId : undefined)).sort()).toEqual([dm, team].sort());
    // …and nothing is sent to a conversation Bob is in; the one with Carol alone goes on.
    await expect(alice.client.sendText(dm, 'are you there?')).rejects.toMatchObject({ code: 'contact-unverified' });
    await expect(alice.client.sendText(team, 'meeting at 5')).rejects.toMatchObject({ code: 'contact-unverified' });
    await alice.client.sendText(withCarol, 'just you');
    await eventOf(carol, isText('just you'));
    expect((await alice.client.contacts()).find((c) => c.userId === bob.client.userId)).toMatchObject({ verified: false, wasVerified: true });
    // The number Alice is shown now is the attacker's: it does not match Bob's, so she
    // does not verify it. Verifying a number shown before the key changed again fails.
    const attackers = await alice.client.safetyNumber(bob.client.userId);
    expect(attackers).not.toBe(await bob.client.safetyNumber(alice.client.userId));

    // The server gives up; the directory serves Bob's real key again. That too is a change
    // (back), and sending stays blocked until Alice compares numbers with Bob once more.
    mitm.stop();
    const again = await alice.client.safetyNumber(bob.client.userId);
    await expect(alice.client.sendText(dm, 'still blocked?')).rejects.toMatchObject({ code: 'contact-unverified' });
    await expect(alice.client.markVerified(bob.client.userId, attackers)).rejects.toMatchObject({ code: 'identity-key-changed' });
    expect(again).toBe(await bob.client.safetyNumber(alice.client.userId));
    await alice.client.markVerified(bob.client.userId, again);
    await alice.client.sendText(dm, 'verified again');
    await eventOf(bob, isText('verified again'));
    await alice.client.sendText(team, 'back to work');
    await eventOf(bob, isText('back to work'));
    expect(bob.events.some(isText('are you there?')) || bob.events.some(isText('meeting at 5')) || bob.events.some(isText('still blocked?'))).toBe(false);
  });
});

describe('attack: the server joins a group under a substituted identity key', () => {
  it('an external commit of a device certified by the substituted key is refused by every member, who stay at their epoch', async () => {
    const alice = await world.user('alice');
    const bob = await world.user('bob');
    const carol = await world.user('carol');
    const team = await group(alice, 'team', [bob, carol]);
    await alice.client.sendText(team, 'hello team');
    await eventOf(carol, isText('hello team'));
    const before = await viewOf(carol, team);
    expect(before.devices).toHaveLength(3);
    expect(await viewOf(alice, team)).toEqual(before);

    // The directory now serves the server's key for Bob; its device joins as "Bob's new
    // device" — which the group's policy allows (a new device of a user already in it).
    const mitm = await impersonate(bob);
    const seen = new Map([alice, carol].map((a) => [a, a.events.length]));
    const commit = await mitm.joinExternally(team);
    for (const member of [alice, bob, carol]) await insertCommit(member, team, mitm.deviceId, commit);
    await bob.client.sendText(team, 'still just us');
    // The commit was delivered before this message, so it has been dealt with by now.
    for (const member of [alice, carol]) await eventOf(member, isText('still just us'));

    for (const member of [alice, carol]) {
      // Not merged: the same epoch, the same three devices; the ghost is not among them.
      expect(await viewOf(member, team)).toEqual(before);
      expect(before.devices).not.toContain(mitm.deviceId);
      // Told, in the conversation and as a typed event naming Bob.
      expect(member.events.find(isWarning('identity-key-unacknowledged'))).toMatchObject({ groupId: team, userId: bob.client.userId });
      expect(await refusedLines(member, team, bob.client.userId)).toBe(1);
      expect(member.events.slice(seen.get(member)).some((e) => e.type === 'membership')).toBe(false);
    }
    // Bob's own device refuses a device his key did not certify, and is not forked out:
    // the group goes on, at the epoch everyone is in.
    expect((await viewOf(bob, team)).epoch).toBe(before.epoch);
    expect(bob.events.find(isWarning('unsigned-device'))).toMatchObject({ groupId: team });
    await carol.client.sendText(team, 'for the three of us');
    await eventOf(alice, isText('for the three of us'));
    await eventOf(bob, isText('for the three of us'));
    expect(await shown(bob, team)).toEqual(['hello team', 'still just us', 'for the three of us']);
    // Carol never verified Bob, so sending is not blocked, but the server's device has no
    // key of the epoch she sends in.
    expect((await carol.store.getGroupState(team))?.epoch).toBe(before.epoch);
    // Adding Bob's devices anew is refused with a typed error until the change is accepted.
    await expect(alice.client.addMembers(team, [bob.client.userId])).rejects.toMatchObject({ code: 'identity-key-unacknowledged' });
    mitm.stop();
  });

  it('an Add by a member who took the server’s word for the key is refused by a member who pinned the real one', async () => {
    const alice = await world.user('alice');
    const bob = await world.user('bob');
    const dave = await world.user('dave');
    await direct(alice, bob); // Alice has seen (and pinned) Bob's real key
    const g = await group(dave, 'book club', [alice]);
    await dave.client.sendText(g, 'first meeting');
    await eventOf(alice, isText('first meeting'));
    const before = await viewOf(alice, g);

    // Dave meets "Bob" for the first time through the substituting directory: trust on
    // first use pins the server's key for him, and his device Adds the server's device.
    const mitm = await impersonate(bob);
    const rec = await dave.store.getGroupState(g);
    if (rec === undefined) throw new Error('no state');
    const { commitMessage } = await createCommit(deserializeState(rec.state, nodeCryptoProvider, { now: () => BigInt(Math.floor(dave.clock.now / 1000)) }), { proposals: [{ proposalType: ProposalType.add, add: { keyPackage: mitm.keyPackage } }], proposalRefs: [] });
    await insertCommit(alice, g, dave.client.deviceId, commitMessage);
    await dave.client.sendText(g, 'marker');
    await eventOf(alice, isText('marker'));

    expect(await viewOf(alice, g)).toEqual(before);
    expect(alice.events.find(isWarning('identity-key-unacknowledged'))).toMatchObject({ groupId: g, userId: bob.client.userId });
    expect(await refusedLines(alice, g, bob.client.userId)).toBe(1);
    mitm.stop();
  });

  it('once the user accepts the new key, its devices may join', async () => {
    const alice = await world.user('alice');
    const bob = await world.user('bob');
    const carol = await world.user('carol');
    const team = await group(alice, 'team', [bob, carol]);
    await alice.client.sendText(team, 'hello team');
    await eventOf(carol, isText('hello team'));
    const epoch = (await carol.store.getGroupState(team))?.epoch;

    const mitm = await impersonate(bob);
    // Carol is shown the change and accepts the new key (she was told it is Bob's new phone).
    await expect(carol.client.acknowledgeKeyChange(bob.client.userId, 'not the number shown')).rejects.toMatchObject({ code: 'identity-key-changed' });
    const number = await carol.client.safetyNumber(bob.client.userId);
    expect((await carol.client.contacts()).find((c) => c.userId === bob.client.userId)?.pinnedIdentityKey).toBeDefined();
    await carol.client.acknowledgeKeyChange(bob.client.userId, number);
    expect((await carol.client.contacts()).find((c) => c.userId === bob.client.userId)?.pinnedIdentityKey).toBeUndefined();
    await insertCommit(carol, team, mitm.deviceId, await mitm.joinExternally(team));
    await eventOf(carol, (e) => e.type === 'membership' && e.groupId === team);
    expect((await carol.store.getGroupState(team))?.epoch).toBe((epoch ?? 0n) + 1n);
    expect((await viewOf(carol, team)).devices).toContain(mitm.deviceId);
    expect(carol.events.some(isWarning('identity-key-unacknowledged'))).toBe(false);
    mitm.stop();
  });
});
