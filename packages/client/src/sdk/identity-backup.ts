// The identity-key backup a user's next device logs in with (issue 6 item 4): the
// identity private key sealed with AES-256-GCM under scrypt(passphrase, salt) (RFC 7914),
// stored opaquely by the server (PUT/GET /v1/identity-backup). The user id and the
// identity public key are bound in as associated data, so a backup cannot be moved to
// another user or paired with another public key.
//
// Bytes: "PIB" || uint8 version = 1 || uint8 log2(N) || uint8 r || uint8 p ||
//        salt[16] || nonce[12] || AES-GCM(seed[32]) (48 bytes with its tag).
//
// The passphrase must not be one the server learns: if it is the account password
// (which the server receives at login), the server can open the backup. The SDK defaults
// to the password only when no separate passphrase is given, and says so.

import { scryptAsync } from '@noble/hashes/scrypt.js';
import type { ClientCrypto } from '../crypto/client-crypto.js';
import { ClientUsageError, VerificationError } from '../errors.js';
import { bytesEqual, concat, utf8Bytes } from '../util/bytes.js';

export interface BackupKdf {
  /** log2 of scrypt's N. */
  readonly logN: number;
  readonly r: number;
  readonly p: number;
}

/** N = 2^17, r = 8, p = 1: OWASP's recommendation for scrypt. */
export const DEFAULT_BACKUP_KDF: BackupKdf = { logN: 17, r: 8, p: 1 };

const MAGIC = utf8Bytes('PIB');
const VERSION = 1;
const HEADER = MAGIC.length + 4;
const SALT = 16;
const NONCE = 12;
const SEALED = 32 + 16;
const LENGTH = HEADER + SALT + NONCE + SEALED;

function checkKdf(k: BackupKdf): void {
  // Bounds also protect a device opening a backup whose parameters the server chose.
  if (!Number.isInteger(k.logN) || k.logN < 10 || k.logN > 20 || !Number.isInteger(k.r) || k.r < 1 || k.r > 16 || !Number.isInteger(k.p) || k.p < 1 || k.p > 4) {
    throw new ClientUsageError('invalid-kdf-params', 'backup scrypt parameters out of range');
  }
}

/** scrypt through the platform when the adapter offers it, else @noble/hashes. */
async function derive(crypto: ClientCrypto, passphrase: string, salt: Uint8Array, k: BackupKdf): Promise<Uint8Array> {
  const pw = utf8Bytes(passphrase.normalize('NFKC'));
  if (crypto.scrypt !== undefined) return crypto.scrypt(pw, salt, { N: 2 ** k.logN, r: k.r, p: k.p, dkLen: 32 });
  return scryptAsync(pw, salt, { N: 2 ** k.logN, r: k.r, p: k.p, dkLen: 32, maxmem: 2 ** (k.logN + 8) * k.r });
}

function aad(userId: string, identityPublicKey: Uint8Array): Uint8Array {
  return concat(utf8Bytes('Parley identity backup v1\u0000'), utf8Bytes(userId), Uint8Array.of(0), identityPublicKey);
}

export async function sealIdentityBackup(
  crypto: ClientCrypto,
  p: { readonly userId: string; readonly identityPublicKey: Uint8Array; readonly identityPrivateKey: Uint8Array; readonly passphrase: string; readonly kdf?: BackupKdf },
): Promise<Uint8Array> {
  const k = p.kdf ?? DEFAULT_BACKUP_KDF;
  checkKdf(k);
  if (p.passphrase.length === 0) throw new ClientUsageError('invalid-argument', 'a backup passphrase must not be empty');
  const salt = crypto.randomBytes(SALT);
  const nonce = crypto.randomBytes(NONCE);
  const key = await derive(crypto, p.passphrase, salt, k);
  const sealed = await crypto.aesGcm.seal(key, nonce, aad(p.userId, p.identityPublicKey), p.identityPrivateKey);
  key.fill(0);
  return concat(MAGIC, Uint8Array.of(VERSION, k.logN, k.r, k.p), salt, nonce, sealed);
}

/**
 * Opens a backup; returns the identity private key (32-byte seed). Throws
 * VerificationError('malformed-identity-backup') or ('wrong-passphrase'), and
 * ('identity-key-mismatch') when the key inside is not the directory's public key.
 */
export async function openIdentityBackup(
  crypto: ClientCrypto,
  p: { readonly userId: string; readonly identityPublicKey: Uint8Array; readonly backup: Uint8Array; readonly passphrase: string },
): Promise<Uint8Array> {
  const b = p.backup;
  if (b.length !== LENGTH || !bytesEqual(b.subarray(0, MAGIC.length), MAGIC) || b[3] !== VERSION) {
    throw new VerificationError('malformed-identity-backup', 'the identity backup is not in a known format');
  }
  const k: BackupKdf = { logN: b[4]!, r: b[5]!, p: b[6]! };
  try {
    checkKdf(k);
  } catch (e) {
    throw new VerificationError('malformed-identity-backup', 'the identity backup has unacceptable parameters', { cause: e });
  }
  const salt = b.subarray(HEADER, HEADER + SALT);
  const nonce = b.subarray(HEADER + SALT, HEADER + SALT + NONCE);
  const key = await derive(crypto, p.passphrase, salt, k);
  let seed: Uint8Array;
  try {
    seed = await crypto.aesGcm.open(key, nonce, aad(p.userId, p.identityPublicKey), b.subarray(HEADER + SALT + NONCE));
  } catch (e) {
    throw new VerificationError('wrong-passphrase', 'the identity backup does not open with this passphrase', { cause: e });
  } finally {
    key.fill(0);
  }
  if (!bytesEqual(await crypto.ed25519.publicKeyOf(seed), p.identityPublicKey)) {
    throw new VerificationError('identity-key-mismatch', 'the backed-up key is not the identity key the directory lists');
  }
  return seed;
}
