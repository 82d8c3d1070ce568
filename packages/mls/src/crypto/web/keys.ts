// Importing keys into WebCrypto, once: imports are asynchronous and cost more than many
// of the operations that use them, so imported CryptoKeys are cached. Asymmetric keys
// (long-lived, often re-decoded from the wire) are cached by content in a bounded LRU
// map; symmetric secrets (short-lived, passed around as the same buffer) by buffer
// identity, with a byte check so that a buffer changed in place is never served a stale key.

import { CryptoError } from '../../errors.js';
import { bytesEqual, concat, fromHex, toHex } from '../../util/bytes.js';

/** WebCrypto wants ArrayBuffer-backed views; the engine's bytes always are. */
export function buf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}

/** A bounded map from a string key to an (in-flight or settled) import, least recently used out first. */
export class BoundedCache<V> {
  readonly #entries = new Map<string, Promise<V>>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      // Refresh its place in the LRU order.
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit;
    }
    const loading = load();
    this.#entries.set(key, loading);
    // A failed import is not remembered: the next call tries again (and fails again).
    loading.catch(() => {
      if (this.#entries.get(key) === loading) this.#entries.delete(key);
    });
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    return loading;
  }
}

export type KeyCache = BoundedCache<CryptoKey>;

interface SecretEntry {
  readonly copy: Uint8Array;
  readonly key: Promise<CryptoKey>;
}

/** Imported symmetric keys, remembered for as long as the caller keeps the secret's buffer. */
export class SecretKeyCache {
  readonly #entries = new WeakMap<Uint8Array, SecretEntry>();

  get(secret: Uint8Array, load: () => Promise<CryptoKey>): Promise<CryptoKey> {
    const hit = this.#entries.get(secret);
    if (hit !== undefined && bytesEqual(hit.copy, secret)) return hit.key;
    const key = load();
    const entry = { copy: new Uint8Array(secret), key }; // a copy even of a Buffer (whose slice() is a view)
    this.#entries.set(secret, entry);
    key.catch(() => {
      if (this.#entries.get(secret) === entry) this.#entries.delete(secret);
    });
    return key;
  }
}

// PKCS#8 (RFC 5208) wrappings of raw private keys. These are fixed DER prefixes, the same
// for every key of a given algorithm; only the trailing key bytes vary.
//   Ed25519 / X25519: RFC 8410 §7, PrivateKeyInfo { version 0, AlgorithmIdentifier { OID }, OCTET STRING { OCTET STRING (32) } }
//   NIST curves: RFC 5915 ECPrivateKey { version 1, privateKey OCTET STRING } without the
//   optional public key, which WebCrypto recomputes on import.
const PKCS8_PREFIX = {
  Ed25519: fromHex('302e020100300506032b657004220420'),
  X25519: fromHex('302e020100300506032b656e04220420'),
  'P-256': fromHex('3041020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420'),
  'P-384': fromHex('304e020100301006072a8648ce3d020106052b81040022043730350201010430'),
  'P-521': fromHex('3060020100301006072a8648ce3d020106052b810400230449304702010104' + '42'),
} as const;

export type KeyCurve = keyof typeof PKCS8_PREFIX;

/** Length of a raw private key (RFC 9180 Nsk) per curve. */
export const PRIVATE_KEY_LENGTH: Record<KeyCurve, number> = { Ed25519: 32, X25519: 32, 'P-256': 32, 'P-384': 48, 'P-521': 66 };
/** Length of a raw (uncompressed, for NIST curves) public key per curve. */
export const PUBLIC_KEY_LENGTH: Record<KeyCurve, number> = { Ed25519: 32, X25519: 32, 'P-256': 65, 'P-384': 97, 'P-521': 133 };

export function pkcs8(curve: KeyCurve, privateKey: Uint8Array): Uint8Array<ArrayBuffer> {
  if (privateKey.length !== PRIVATE_KEY_LENGTH[curve]) {
    throw new CryptoError('invalid-private-key', `a ${curve} private key has ${PRIVATE_KEY_LENGTH[curve]} bytes, got ${privateKey.length}`);
  }
  return buf(concat(PKCS8_PREFIX[curve], privateKey));
}

/** Checks the length (and, for NIST curves, the uncompressed-point tag) of a raw public key. */
export function checkPublicKey(curve: KeyCurve, publicKey: Uint8Array): void {
  const ok = publicKey.length === PUBLIC_KEY_LENGTH[curve] && (curve === 'Ed25519' || curve === 'X25519' || publicKey[0] === 0x04);
  if (!ok) throw new CryptoError('invalid-public-key', `not a raw ${curve} public key`);
}

function base64UrlDecode(s: string): Uint8Array {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function jwkField(jwk: JsonWebKey, field: 'x' | 'y' | 'd'): Uint8Array {
  const v = jwk[field];
  if (v === undefined) throw new CryptoError('invalid-private-key', `exported key has no '${field}'`);
  return base64UrlDecode(v);
}

/** The raw public key of an extractable key, read from its JWK export (RFC 8037 / RFC 7518). */
export async function rawPublicFromJwk(subtle: SubtleCrypto, curve: KeyCurve, key: CryptoKey): Promise<Uint8Array> {
  const jwk = await subtle.exportKey('jwk', key);
  if (curve === 'Ed25519' || curve === 'X25519') return jwkField(jwk, 'x');
  return concat(Uint8Array.of(0x04), jwkField(jwk, 'x'), jwkField(jwk, 'y'));
}

/** The raw private key of an extractable private key. */
export async function rawPrivateFromJwk(subtle: SubtleCrypto, key: CryptoKey): Promise<Uint8Array> {
  return jwkField(await subtle.exportKey('jwk', key), 'd');
}

/** Cache key for key bytes: the algorithm, then the bytes in hex. */
export function cacheKey(tag: string, bytes: Uint8Array): string {
  return tag + ':' + toHex(bytes);
}
