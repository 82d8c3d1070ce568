// Password hashing: scrypt (RFC 7914) from node:crypto, a random 16-byte salt per user,
// and the parameters stored beside the hash so they can be raised later.

import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { PasswordRecord } from '../store/store.js';

export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** N = 2^15, r = 8, p = 1: ~32 MiB and tens of milliseconds per hash on this class of machine. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 1 << 15, r: 8, p: 1 };
const KEYLEN = 32;

function run(password: string, salt: Uint8Array, params: ScryptParams & { keylen: number }): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, params.keylen, options, (err, key) => {
      if (err === null) resolve(key);
      else reject(err);
    });
  });
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<PasswordRecord> {
  const salt = new Uint8Array(randomBytes(16));
  const full = { ...params, keylen: KEYLEN };
  return { hash: new Uint8Array(await run(password, salt, full)), salt, params: full };
}

export async function verifyPassword(password: string, record: PasswordRecord): Promise<boolean> {
  const key = await run(password, record.salt, record.params);
  return key.length === record.hash.length && timingSafeEqual(key, record.hash);
}

let dummy: Promise<PasswordRecord> | undefined;

/** Spends the time of a real check, so an unknown user name cannot be told from a wrong password. */
export async function burnPasswordCheck(password: string, params: ScryptParams): Promise<void> {
  dummy ??= hashPassword('parley-dummy-password', params);
  await verifyPassword(password, await dummy);
}
