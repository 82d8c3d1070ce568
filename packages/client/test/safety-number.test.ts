// Safety numbers: one per pair of users, symmetric, from identity keys only.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDevice, generateIdentityKey } from '../src/identity/identity.js';
import { nodeClientCrypto as crypto } from '../src/node/crypto.js';
import { formatSafetyNumber, safetyNumber, safetyNumberHalf, safetyNumberWith, SAFETY_NUMBER_ITERATIONS } from '../src/verify/safety-number.js';

const key = (seed: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => (seed + i * 13) & 0xff);
const alice = { userId: 'alice@ministry.example', identityKey: key(1) };
const bob = { userId: 'bob@ministry.example', identityKey: key(2) };

/** The documented algorithm written out again on node:crypto, independently of the code under test. */
function referenceHalf(userId: string, identityKey: Uint8Array): string {
  const uid = Buffer.from(userId, 'utf8');
  // Both fit a one-byte varint length (< 64 bytes) here.
  let h = createHash('sha512').update(Buffer.from([0, 1, identityKey.length])).update(identityKey).update(Buffer.from([uid.length])).update(uid).digest();
  for (let i = 0; i < SAFETY_NUMBER_ITERATIONS; i++) h = createHash('sha512').update(h).update(identityKey).digest();
  let out = '';
  for (let c = 0; c < 6; c++) out += String(h.readUIntBE(c * 5, 5) % 100000).padStart(5, '0');
  return out;
}

describe('safety numbers', () => {
  it('are the same whichever side computes them', async () => {
    const ab = await safetyNumber(crypto, alice, bob);
    const ba = await safetyNumber(crypto, bob, alice);
    expect(ab).toBe(ba);
    expect(ab).toMatch(/^[0-9]{60}$/);
  });

  it('follow the documented construction (independent re-implementation)', async () => {
    expect(await safetyNumberHalf(crypto, alice)).toBe(referenceHalf(alice.userId, alice.identityKey));
    const halves = [referenceHalf(alice.userId, alice.identityKey), referenceHalf(bob.userId, bob.identityKey)].sort();
    expect(await safetyNumber(crypto, alice, bob)).toBe(halves.join(''));
  });

  it('match a fixed test value', async () => {
    // Pinned so that any change to the construction is noticed (it would break every user's verification).
    expect(formatSafetyNumber(await safetyNumber(crypto, alice, bob))).toBe(PINNED);
  });

  it('change when either identity key changes', async () => {
    const base = await safetyNumber(crypto, alice, bob);
    expect(await safetyNumber(crypto, { ...alice, identityKey: key(3) }, bob)).not.toBe(base);
    expect(await safetyNumber(crypto, alice, { ...bob, identityKey: key(4) })).not.toBe(base);
    const flipped = key(2);
    flipped[31]! ^= 1;
    expect(await safetyNumber(crypto, alice, { ...bob, identityKey: flipped })).not.toBe(base);
  });

  it('bind the user id', async () => {
    expect(await safetyNumber(crypto, alice, { ...bob, userId: 'mallory@ministry.example' })).not.toBe(await safetyNumber(crypto, alice, bob));
  });

  it('do not change when either user adds a device', async () => {
    const aliceId = await generateIdentityKey(crypto);
    const bobId = await generateIdentityKey(crypto);
    const laptop = await createDevice(crypto, { userId: 'alice', identity: aliceId, now: 1 });
    const phone = await createDevice(crypto, { userId: 'alice', identity: aliceId, now: 2 });
    expect(phone.identity.deviceSignaturePublicKey).not.toEqual(laptop.identity.deviceSignaturePublicKey);
    const bobContact = { userId: 'bob', identityKey: bobId.publicKey };
    const fromLaptop = await safetyNumberWith(crypto, { userId: 'alice', ...laptop.identity }, bobContact);
    const fromPhone = await safetyNumberWith(crypto, { userId: 'alice', ...phone.identity }, bobContact);
    expect(fromPhone).toBe(fromLaptop);
    const bobsView = await safetyNumberWith(crypto, { userId: 'bob', identityPublicKey: bobId.publicKey }, { userId: 'alice', identityKey: aliceId.publicKey });
    expect(bobsView).toBe(fromLaptop);
  });

  it('are shown as 12 groups of 5 digits', () => {
    const digits = '0123456789'.repeat(6);
    expect(formatSafetyNumber(digits)).toBe('01234 56789 '.repeat(6).trim());
    expect(() => formatSafetyNumber('123')).toThrow();
  });
});

const PINNED = '30726 36865 90174 29502 29710 39994 35962 18028 88573 08300 59293 54316';
