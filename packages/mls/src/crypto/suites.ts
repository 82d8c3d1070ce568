// RFC 9420 §5.1 / §17.1 Cipher suites: what each of the seven registered suites is made
// of, as plain data that every backend (crypto/node, crypto/web) reads, so that the
// composition of a suite is written down once. The RFC 9180 identifiers are those of
// RFC 9180 §7 (KEM, KDF and AEAD registries).

import { CipherSuiteId } from './provider.js';

/** RFC 9180 §7.1 KEM identifiers (DHKEM only; MLS registers no other KEM). */
export const KemId = {
  DHKEM_P256_HKDF_SHA256: 0x0010,
  DHKEM_P384_HKDF_SHA384: 0x0011,
  DHKEM_P521_HKDF_SHA512: 0x0012,
  DHKEM_X25519_HKDF_SHA256: 0x0020,
  DHKEM_X448_HKDF_SHA512: 0x0021,
} as const;
export type KemId = (typeof KemId)[keyof typeof KemId];

/** RFC 9180 §7.2 KDF identifiers. */
export const KdfId = { HKDF_SHA256: 0x0001, HKDF_SHA384: 0x0002, HKDF_SHA512: 0x0003 } as const;
export type KdfId = (typeof KdfId)[keyof typeof KdfId];

/** RFC 9180 §7.3 AEAD identifiers. */
export const AeadId = { AES128GCM: 0x0001, AES256GCM: 0x0002, CHACHA20POLY1305: 0x0003 } as const;
export type AeadId = (typeof AeadId)[keyof typeof AeadId];

export type HashName = 'SHA-256' | 'SHA-384' | 'SHA-512';
export type DhCurve = 'X25519' | 'X448' | 'P-256' | 'P-384' | 'P-521';
/** RFC 9420 §5.1 SignatureScheme of each suite (TLS 1.3 names). */
export type SignatureScheme = 'ed25519' | 'ed448' | 'ecdsa_secp256r1_sha256' | 'ecdsa_secp384r1_sha384' | 'ecdsa_secp521r1_sha512';

export interface KemDescriptor {
  readonly id: KemId;
  readonly curve: DhCurve;
  /** The KDF the DHKEM uses internally (RFC 9180 §7.1 table). */
  readonly kdf: KdfId;
  readonly nSecret: number;
  readonly nEnc: number;
  readonly nPk: number;
  readonly nSk: number;
}

export const KEMS: Readonly<Record<KemId, KemDescriptor>> = {
  [KemId.DHKEM_P256_HKDF_SHA256]: { id: KemId.DHKEM_P256_HKDF_SHA256, curve: 'P-256', kdf: KdfId.HKDF_SHA256, nSecret: 32, nEnc: 65, nPk: 65, nSk: 32 },
  [KemId.DHKEM_P384_HKDF_SHA384]: { id: KemId.DHKEM_P384_HKDF_SHA384, curve: 'P-384', kdf: KdfId.HKDF_SHA384, nSecret: 48, nEnc: 97, nPk: 97, nSk: 48 },
  [KemId.DHKEM_P521_HKDF_SHA512]: { id: KemId.DHKEM_P521_HKDF_SHA512, curve: 'P-521', kdf: KdfId.HKDF_SHA512, nSecret: 64, nEnc: 133, nPk: 133, nSk: 66 },
  [KemId.DHKEM_X25519_HKDF_SHA256]: { id: KemId.DHKEM_X25519_HKDF_SHA256, curve: 'X25519', kdf: KdfId.HKDF_SHA256, nSecret: 32, nEnc: 32, nPk: 32, nSk: 32 },
  [KemId.DHKEM_X448_HKDF_SHA512]: { id: KemId.DHKEM_X448_HKDF_SHA512, curve: 'X448', kdf: KdfId.HKDF_SHA512, nSecret: 64, nEnc: 56, nPk: 56, nSk: 56 },
};

export const KDF_HASH: Readonly<Record<KdfId, HashName>> = {
  [KdfId.HKDF_SHA256]: 'SHA-256',
  [KdfId.HKDF_SHA384]: 'SHA-384',
  [KdfId.HKDF_SHA512]: 'SHA-512',
};

export const HASH_LENGTH: Readonly<Record<HashName, number>> = { 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 };

export interface AeadDescriptor {
  readonly id: AeadId;
  readonly nk: number;
  readonly nn: number;
  readonly nt: number;
}

export const AEADS: Readonly<Record<AeadId, AeadDescriptor>> = {
  [AeadId.AES128GCM]: { id: AeadId.AES128GCM, nk: 16, nn: 12, nt: 16 },
  [AeadId.AES256GCM]: { id: AeadId.AES256GCM, nk: 32, nn: 12, nt: 16 },
  [AeadId.CHACHA20POLY1305]: { id: AeadId.CHACHA20POLY1305, nk: 32, nn: 12, nt: 16 },
};

export interface SuiteDescriptor {
  readonly id: CipherSuiteId;
  readonly name: string;
  readonly kem: KemId;
  readonly kdf: KdfId;
  readonly aead: AeadId;
  /** The suite's hash (for RefHash, transcript hashes, and HMAC). */
  readonly hash: HashName;
  readonly signature: SignatureScheme;
}

const S = CipherSuiteId;
export const SUITES: Readonly<Record<CipherSuiteId, SuiteDescriptor>> = {
  [S.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519]: {
    id: 1, name: 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519',
    kem: KemId.DHKEM_X25519_HKDF_SHA256, kdf: KdfId.HKDF_SHA256, aead: AeadId.AES128GCM, hash: 'SHA-256', signature: 'ed25519',
  },
  [S.MLS_128_DHKEMP256_AES128GCM_SHA256_P256]: {
    id: 2, name: 'MLS_128_DHKEMP256_AES128GCM_SHA256_P256',
    kem: KemId.DHKEM_P256_HKDF_SHA256, kdf: KdfId.HKDF_SHA256, aead: AeadId.AES128GCM, hash: 'SHA-256', signature: 'ecdsa_secp256r1_sha256',
  },
  [S.MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519]: {
    id: 3, name: 'MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519',
    kem: KemId.DHKEM_X25519_HKDF_SHA256, kdf: KdfId.HKDF_SHA256, aead: AeadId.CHACHA20POLY1305, hash: 'SHA-256', signature: 'ed25519',
  },
  [S.MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448]: {
    id: 4, name: 'MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448',
    kem: KemId.DHKEM_X448_HKDF_SHA512, kdf: KdfId.HKDF_SHA512, aead: AeadId.AES256GCM, hash: 'SHA-512', signature: 'ed448',
  },
  [S.MLS_256_DHKEMP521_AES256GCM_SHA512_P521]: {
    id: 5, name: 'MLS_256_DHKEMP521_AES256GCM_SHA512_P521',
    kem: KemId.DHKEM_P521_HKDF_SHA512, kdf: KdfId.HKDF_SHA512, aead: AeadId.AES256GCM, hash: 'SHA-512', signature: 'ecdsa_secp521r1_sha512',
  },
  [S.MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448]: {
    id: 6, name: 'MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448',
    kem: KemId.DHKEM_X448_HKDF_SHA512, kdf: KdfId.HKDF_SHA512, aead: AeadId.CHACHA20POLY1305, hash: 'SHA-512', signature: 'ed448',
  },
  [S.MLS_256_DHKEMP384_AES256GCM_SHA384_P384]: {
    id: 7, name: 'MLS_256_DHKEMP384_AES256GCM_SHA384_P384',
    kem: KemId.DHKEM_P384_HKDF_SHA384, kdf: KdfId.HKDF_SHA384, aead: AeadId.AES256GCM, hash: 'SHA-384', signature: 'ecdsa_secp384r1_sha384',
  },
};

export const ALL_SUITE_IDS: readonly CipherSuiteId[] = [1, 2, 3, 4, 5, 6, 7];

export function isCipherSuiteId(id: number): id is CipherSuiteId {
  return Number.isInteger(id) && id >= 1 && id <= 7;
}
