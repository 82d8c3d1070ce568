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
import { CredentialType, ProtocolVersion, encode, encodeKeyPackage, generateKeyPackage } from '@parley/mls';
import { nodeCryptoProvider } from '@parley/mls/crypto-node';
import { GROUP_POLICY_EXTENSION_TYPE } from '@parley/protocol';
import { createDevice, generateIdentityKey } from '@parley/client';
import { nodeClientCrypto } from '@parley/client/node';
import { json } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { direct, eventOf, group, isText, isWarning, startWorld, type Actor, type World } from './helpers.js';

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
async function impersonate(victim: Actor): Promise<{ deviceId: string; identityKey: string; stop: () => void }> {
  const userId = victim.client.userId;
  const serversKey = await generateIdentityKey(nodeClientCrypto);
  const ghost = await createDevice(nodeClientCrypto, { userId, identity: serversKey, now: Date.now() });
  const { keyPackage } = await generateKeyPackage({
    suite: nodeCryptoProvider.suite(ghost.identity.cipherSuite),
    credential: { credentialType: CredentialType.basic, identity: ghost.identity.deviceCertificate },
    signatureKey: { publicKey: ghost.identity.deviceSignaturePublicKey, privateKey: ghost.identity.deviceSignaturePrivateKey.bytes },
    capabilities: { versions: [ProtocolVersion.mls10], cipherSuites: [ghost.identity.cipherSuite], extensions: [GROUP_POLICY_EXTENSION_TYPE], proposals: [], credentials: [CredentialType.basic] },
  });
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
    stop: () => {
      offDirectory();
      offClaims();
    },
  };
}

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
