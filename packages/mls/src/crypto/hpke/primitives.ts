// RFC 9180 §4: the three building blocks HPKE is generic over, as a small interface a
// backend implements with its platform primitives (node:crypto, WebCrypto). Everything
// above these — DHKEM, the key schedule, the labelled KDF, the exporter — is written
// once, in this folder.

import type { KeyPair } from '../provider.js';
import type { AeadId, DhCurve, KdfId } from '../suites.js';

/** RFC 9180 §4 KDF: HKDF-Extract / HKDF-Expand (RFC 5869) with one hash. */
export interface HpkeKdf {
  readonly id: KdfId;
  readonly nh: number;
  extract(salt: Uint8Array, ikm: Uint8Array): Promise<Uint8Array>;
  expand(prk: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array>;
}

/** RFC 9180 §4 AEAD. `open` throws CryptoError('aead-open-failed') on a bad tag. */
export interface HpkeAead {
  readonly id: AeadId;
  readonly nk: number;
  readonly nn: number;
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
}

/**
 * RFC 9180 §4.1 the Diffie-Hellman group under a DHKEM. Keys are in their serialised
 * forms: SerializePublicKey (raw X25519/X448, uncompressed SEC1 for the P-curves) and
 * SerializePrivateKey (raw X25519/X448 bytes, unclamped; a big-endian scalar of Nsk
 * bytes for the P-curves). A backend rejects a malformed or off-curve key with
 * CryptoError('invalid-public-key' / 'invalid-private-key').
 */
export interface DhGroup {
  readonly curve: DhCurve;
  /** DH(skX, pkY): the raw shared secret (x-coordinate for the P-curves). */
  dh(privateKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array>;
  /**
   * GenerateKeyPair() then DH(skE, pkR) in one step, so the ephemeral secret never
   * needs to be serialised and re-imported: the hot path of Encap().
   */
  ephemeralDh(publicKey: Uint8Array): Promise<{ publicKey: Uint8Array; shared: Uint8Array }>;
  generateKeyPair(): Promise<KeyPair>;
  /** pk(skX), serialised. Also proves that a private key is usable. */
  publicKeyOf(privateKey: Uint8Array): Promise<Uint8Array>;
}
