// Safety numbers (issue 6 item 5): one number per PAIR of users, from both users'
// identity keys and user ids only, so adding or removing a device does not change it.
// Both sides compute the same 60 digits, shown as 12 groups of 5.
//
// Per side: h = SHA-512(uint16 version || opaque identity_key<V> || opaque user_id<V>),
// then ITERATIONS more times h = SHA-512(h || identity_key) (stretching makes finding a
// second key with the same digits expensive). The first 30 bytes of h, as six 5-byte
// big-endian integers each taken mod 100000, give 30 digits. The two sides' 30-digit
// strings are sorted and concatenated, so the result does not depend on who computes
// it. (The structure follows the idea of Signal's numeric fingerprints; the encoding,
// with length prefixes so that key and id cannot run into each other, is ours.)

import type { ClientCrypto } from '../crypto/client-crypto.js';
import { ClientUsageError } from '../errors.js';
import { concat, utf8Bytes } from '../util/bytes.js';

export const SAFETY_NUMBER_VERSION = 1;
export const SAFETY_NUMBER_ITERATIONS = 5200;

export interface SafetyNumberParty {
  readonly userId: string;
  readonly identityKey: Uint8Array;
}

/** RFC 9420 §2.1.2 variable-length vector (lengths here are always < 2^14). */
function vector(b: Uint8Array): Uint8Array {
  if (b.length >= 0x4000) throw new ClientUsageError('invalid-argument', 'identity key or user id too long');
  const head = b.length < 0x40 ? Uint8Array.of(b.length) : Uint8Array.of(0x40 | (b.length >>> 8), b.length & 0xff);
  return concat(head, b);
}

/** The 30 digits one party contributes. */
export async function safetyNumberHalf(crypto: ClientCrypto, party: SafetyNumberParty): Promise<string> {
  if (party.identityKey.length === 0 || party.userId.length === 0) throw new ClientUsageError('invalid-argument', 'identity key and user id must not be empty');
  const version = Uint8Array.of(SAFETY_NUMBER_VERSION >>> 8, SAFETY_NUMBER_VERSION & 0xff);
  let h = await crypto.digest('SHA-512', concat(version, vector(party.identityKey), vector(utf8Bytes(party.userId))));
  const buf = new Uint8Array(h.length + party.identityKey.length);
  buf.set(party.identityKey, h.length);
  for (let i = 0; i < SAFETY_NUMBER_ITERATIONS; i++) {
    buf.set(h, 0);
    h = await crypto.digest('SHA-512', buf);
  }
  let digits = '';
  for (let chunk = 0; chunk < 6; chunk++) {
    let n = 0;
    for (let j = 0; j < 5; j++) n = n * 256 + h[chunk * 5 + j]!;
    digits += String(n % 100000).padStart(5, '0');
  }
  return digits;
}

/** The pair's safety number: 60 digits, the same whichever side computes it. */
export async function safetyNumber(crypto: ClientCrypto, a: SafetyNumberParty, b: SafetyNumberParty): Promise<string> {
  const [x, y] = await Promise.all([safetyNumberHalf(crypto, a), safetyNumberHalf(crypto, b)]);
  return x <= y ? x + y : y + x;
}

/** "12345 67890 …": 12 groups of 5 digits. */
export function formatSafetyNumber(digits: string): string {
  if (!/^[0-9]{60}$/.test(digits)) throw new ClientUsageError('invalid-argument', 'a safety number is 60 digits');
  return digits.match(/[0-9]{5}/g)!.join(' ');
}

/**
 * The safety number between this user and a contact, from this device's stored identity
 * and the contact's stored identity key: device keys play no part, so it is the same on
 * every device of either user.
 */
export async function safetyNumberWith(
  crypto: ClientCrypto,
  own: { readonly userId: string; readonly identityPublicKey: Uint8Array },
  contact: { readonly userId: string; readonly identityKey: Uint8Array },
): Promise<string> {
  return safetyNumber(crypto, { userId: own.userId, identityKey: own.identityPublicKey }, { userId: contact.userId, identityKey: contact.identityKey });
}
