// Attack (issue 7 item 2): the server presents a device for a user that the user's
// identity key did not sign — the "ghost device" of the Matrix and WhatsApp attacks.
// Each Parley device key comes with a certificate signed by its user's identity key,
// carried in the MLS leaf; the client checks it against the identity key before it adds
// a device to a group. Here the server slips a device of its own into Bob's answer to
// Alice's key-package claim (its certificate names Bob but is signed by a key of the
// server's), next to Bob's real device.
import { generateKeyPackage, CredentialType, encode, encodeKeyPackage } from '@parley/mls';
import { nodeCryptoProvider } from '@parley/mls/crypto-node';
import { createDevice, generateIdentityKey } from '@parley/client';
import { nodeClientCrypto } from '@parley/client/node';
import { json } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventOf, isText, isWarning, startWorld, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world.close();
});

/** A key package for a device "of" `userId` whose certificate the server signed itself. */
async function ghostDevice(userId: string): Promise<{ deviceId: string; keyPackage: string; lastResort: boolean }> {
  const serversKey = await generateIdentityKey(nodeClientCrypto);
  const ghost = await createDevice(nodeClientCrypto, { userId, identity: serversKey, now: Date.now() });
  const signatureKey = { publicKey: ghost.identity.deviceSignaturePublicKey, privateKey: ghost.identity.deviceSignaturePrivateKey.bytes };
  const { keyPackage } = await generateKeyPackage({ suite: nodeCryptoProvider.suite(1), credential: { credentialType: CredentialType.basic, identity: ghost.identity.deviceCertificate }, signatureKey });
  return { deviceId: ghost.deviceId, keyPackage: Buffer.from(encode(encodeKeyPackage, keyPackage)).toString('base64'), lastResort: false };
}

describe('attack: the server presents a device the user did not sign', () => {
  it('a ghost device in a key-package claim is left out, and the user is warned', async () => {
    const alice = await world.user('alice');
    const bob = await world.user('bob');
    const ghost = await ghostDevice(bob.client.userId);
    let served = 0;
    const off = world.hostile.onResponse((res, req) => {
      if (req.method !== 'POST' || req.url !== `/v1/users/${bob.client.userId}/key-packages/claim` || res.status !== 200) return undefined;
      served += 1;
      const body = json.parse(res) as { keyPackages: unknown[] };
      return json.replace(res, { keyPackages: [...body.keyPackages, ghost] });
    });
    const g = await alice.client.openDirect(bob.client.userId);
    off();
    expect(served).toBe(1);
    // Alice is told…
    expect(alice.events.find(isWarning('unsigned-device'))).toMatchObject({ type: 'warning', code: 'unsigned-device', userId: bob.client.userId });
    // …the ghost is not in the group (Bob's real device is), and no commit or Welcome names it.
    const members = await alice.client.members(g);
    expect(members.find((m) => m.userId === bob.client.userId)?.devices).toEqual([bob.client.deviceId]);
    expect(members.flatMap((m) => m.devices)).not.toContain(ghost.deviceId);
    expect(world.hostile.exchanges.some((x) => x.request.url.endsWith('/commits') && x.request.body.toString().includes(ghost.deviceId))).toBe(false);
    // The conversation with the real Bob works.
    await eventOf(bob, (e) => e.type === 'conversation' && e.conversation.groupId === g);
    await alice.client.sendText(g, 'only you');
    await eventOf(bob, isText('only you'));
  });

  it('a claim with nothing but ghost devices opens no conversation', async () => {
    const alice = await world.user('alice');
    const bob = await world.user('bob');
    const ghost = await ghostDevice(bob.client.userId);
    const off = world.hostile.onResponse((res, req) => {
      if (req.method !== 'POST' || req.url !== `/v1/users/${bob.client.userId}/key-packages/claim` || res.status !== 200) return undefined;
      return json.replace(res, { keyPackages: [ghost] });
    });
    await expect(alice.client.openDirect(bob.client.userId)).rejects.toThrow();
    off();
    expect(alice.events.some(isWarning('unsigned-device'))).toBe(true);
    expect(bob.events.some((e) => e.type === 'conversation')).toBe(false);
  });
});
