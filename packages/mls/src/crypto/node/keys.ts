// Importing and exporting keys in their RFC encodings on node:crypto.
// - Edwards and Montgomery keys (RFC 8032, RFC 7748) are raw bytes, imported and
//   exported as JWK "OKP" keys (RFC 8037), which reach OpenSSL's raw-key functions.
// - P-curve keys are a big-endian scalar and an uncompressed SEC1 point; the ECDH
//   class takes both raw, and signing keys go through JWK.
// Imported keys are cached (bounded LRU) so hot paths do not re-import.

import { createECDH, createPrivateKey, createPublicKey, type ECDH, type KeyObject } from 'node:crypto';
import { CryptoError } from '../../errors.js';
import { fromHex } from '../../util/bytes.js';
import { LruCache, random, u8 } from './bytes.js';

export type RawCurve = 'X25519' | 'X448' | 'Ed25519' | 'Ed448';
export type NistCurve = 'P-256' | 'P-384' | 'P-521';

interface RawFormat {
  readonly length: number;
  readonly pkcs8: Buffer;
}

// RFC 8410 §7: the PKCS#8 DER before the raw private key bytes (the fallback import path).
const RAW: Readonly<Record<RawCurve, RawFormat>> = {
  X25519: { length: 32, pkcs8: hexBuf('302e020100300506032b656e04220420') },
  X448: { length: 56, pkcs8: hexBuf('3046020100300506032b656f043a0438') },
  Ed25519: { length: 32, pkcs8: hexBuf('302e020100300506032b657004220420') },
  Ed448: { length: 57, pkcs8: hexBuf('3047020100300506032b6571043b0439') },
};

function hexBuf(hex: string): Buffer {
  const b = fromHex(hex);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

const PRIVATE_CACHE = 512;
const PUBLIC_CACHE = 4096;

/** A private key imported once, with its public key serialised. */
export interface RawPrivate {
  readonly key: KeyObject;
  readonly publicKey: Uint8Array;
}

export class RawKeys {
  readonly curve: RawCurve;
  readonly length: number;
  private readonly format: RawFormat;
  private readonly privates = new LruCache<RawPrivate>(PRIVATE_CACHE);
  private readonly publics = new LruCache<KeyObject>(PUBLIC_CACHE);

  constructor(curve: RawCurve) {
    this.curve = curve;
    this.format = RAW[curve];
    this.length = this.format.length;
  }

  privateKey(raw: Uint8Array): RawPrivate {
    if (raw.length !== this.length) throw new CryptoError('invalid-private-key', `a ${this.curve} private key has ${this.length} bytes`);
    return this.privates.getOrCreate(raw, () => {
      const key = this.importPrivate(raw);
      return { key, publicKey: this.exportPublic(createPublicKey(key)) };
    });
  }

  /**
   * A fresh key pair, not cached: the private key is `length` random bytes (every such
   * string is a valid X25519/X448 scalar, RFC 7748 §5, or Ed25519/Ed448 seed, RFC 8032
   * §5.1.5), imported like any other key.
   *
   * Not generateKeyPairSync: on Node 20 the KeyGenJob it leaves for the garbage collector
   * shares the new key's mutex and locks it in its destructor, so a GC that runs while
   * that key is exported (`export()` holds the mutex and allocates) deadlocks the thread
   * for good. Seen here as test runs and benches stuck at 0 % CPU; a loop of
   * generateKeyPairSync + export hangs within 6,000–34,000 keys.
   * test/crypto-node-keygen.test.ts keeps the engine off that path.
   */
  generate(): RawPrivate & { readonly raw: Uint8Array } {
    const raw = random(this.length);
    const key = this.importPrivate(raw);
    return { raw, key, publicKey: this.exportPublic(createPublicKey(key)) };
  }

  /** Throws CryptoError('invalid-public-key') for bytes OpenSSL does not accept. */
  publicKey(raw: Uint8Array): KeyObject {
    if (raw.length !== this.length) throw new CryptoError('invalid-public-key', `a ${this.curve} public key has ${this.length} bytes`);
    return this.publics.getOrCreate(raw, () => {
      try {
        return createPublicKey({ key: { kty: 'OKP', crv: this.curve, x: b64u(raw) }, format: 'jwk' });
      } catch (error) {
        throw new CryptoError('invalid-public-key', `not a ${this.curve} public key`, { cause: error });
      }
    });
  }

  // JWK rather than DER in both directions: on OpenSSL 3 the DER encoders and decoders
  // cost about ten times more than the raw-key path that JWK takes (measured: 6.5k vs
  // 57k public imports/s, 8k vs 260k exports/s).

  exportPublic(key: KeyObject): Uint8Array {
    const x = key.export({ format: 'jwk' }).x;
    if (x === undefined) throw new CryptoError('key-export-failed', `no ${this.curve} public key to export`);
    const raw = Buffer.from(x, 'base64url');
    if (raw.length !== this.length) throw new CryptoError('key-export-failed', `${this.curve} public key has the wrong length`);
    return u8(raw);
  }

  exportPrivate(key: KeyObject): Uint8Array {
    const d = key.export({ format: 'jwk' }).d;
    if (d === undefined) throw new CryptoError('key-export-failed', `no ${this.curve} private key to export`);
    return u8(Buffer.from(d, 'base64url'));
  }

  private importPrivate(raw: Uint8Array): KeyObject {
    // Node derives the public half from `d` and only checks that `x` is a string, so
    // the fast JWK path needs no public key; should a Node version insist on a
    // matching `x`, the import throws and the PKCS#8 path (RFC 8410) takes over.
    try {
      return createPrivateKey({ key: { kty: 'OKP', crv: this.curve, d: b64u(raw), x: '' }, format: 'jwk' });
    } catch {
      try {
        return createPrivateKey({ key: Buffer.concat([this.format.pkcs8, raw]), format: 'der', type: 'pkcs8' });
      } catch (error) {
        throw new CryptoError('invalid-private-key', `not a ${this.curve} private key`, { cause: error });
      }
    }
  }
}

const OPENSSL_CURVE: Readonly<Record<NistCurve, string>> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' };
const SCALAR_LENGTH: Readonly<Record<NistCurve, number>> = { 'P-256': 32, 'P-384': 48, 'P-521': 66 };

/** A P-curve private key: an ECDH context holding the scalar, and its signing KeyObject on demand. */
export interface NistPrivate {
  readonly ecdh: ECDH;
  /** Uncompressed SEC1 point. */
  readonly publicKey: Uint8Array;
  signingKey: KeyObject | undefined;
}

export class NistKeys {
  readonly curve: NistCurve;
  readonly scalarLength: number;
  readonly pointLength: number;
  readonly opensslCurve: string;
  private readonly privates = new LruCache<NistPrivate>(PRIVATE_CACHE);
  private readonly publics = new LruCache<KeyObject>(PUBLIC_CACHE);

  constructor(curve: NistCurve) {
    this.curve = curve;
    this.scalarLength = SCALAR_LENGTH[curve];
    this.pointLength = 1 + 2 * this.scalarLength;
    this.opensslCurve = OPENSSL_CURVE[curve];
  }

  privateKey(scalar: Uint8Array): NistPrivate {
    if (scalar.length !== this.scalarLength) throw new CryptoError('invalid-private-key', `a ${this.curve} private key has ${this.scalarLength} bytes`);
    return this.privates.getOrCreate(scalar, () => {
      const ecdh = createECDH(this.opensslCurve);
      try {
        ecdh.setPrivateKey(scalar);
      } catch (error) {
        throw new CryptoError('invalid-private-key', `not a ${this.curve} private key`, { cause: error });
      }
      return { ecdh, publicKey: u8(ecdh.getPublicKey()), signingKey: undefined };
    });
  }

  /** A fresh key pair, as an ECDH context (for an ephemeral DH) and its serialisation. */
  generate(): { ecdh: ECDH; privateKey: Uint8Array; publicKey: Uint8Array } {
    const ecdh = createECDH(this.opensslCurve);
    const publicKey = u8(ecdh.generateKeys());
    return { ecdh, privateKey: this.padScalar(ecdh.getPrivateKey()), publicKey };
  }

  signingKey(scalar: Uint8Array): KeyObject {
    const entry = this.privateKey(scalar);
    if (entry.signingKey === undefined) {
      const [x, y] = this.coordinates(entry.publicKey);
      entry.signingKey = createPrivateKey({ key: { kty: 'EC', crv: this.curve, d: b64u(scalar), x, y }, format: 'jwk' });
    }
    return entry.signingKey;
  }

  /** Throws CryptoError('invalid-public-key') unless an uncompressed point on the curve. */
  verifyingKey(point: Uint8Array): KeyObject {
    if (point.length !== this.pointLength || point[0] !== 0x04) throw new CryptoError('invalid-public-key', `a ${this.curve} public key is an uncompressed point`);
    return this.publics.getOrCreate(point, () => {
      const [x, y] = this.coordinates(point);
      try {
        return createPublicKey({ key: { kty: 'EC', crv: this.curve, x, y }, format: 'jwk' });
      } catch (error) {
        throw new CryptoError('invalid-public-key', `not a point on ${this.curve}`, { cause: error });
      }
    });
  }

  /** Node drops leading zero bytes of a scalar; the RFC 9180 encoding is fixed-length. */
  padScalar(b: Buffer): Uint8Array {
    if (b.length === this.scalarLength) return u8(b);
    const out = new Uint8Array(this.scalarLength);
    out.set(b, this.scalarLength - b.length);
    return out;
  }

  private coordinates(point: Uint8Array): [string, string] {
    const n = this.scalarLength;
    return [b64u(point.subarray(1, 1 + n)), b64u(point.subarray(1 + n))];
  }
}

function b64u(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}
