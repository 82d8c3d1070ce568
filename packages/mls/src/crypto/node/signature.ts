// RFC 9420 §5.1.1 signature schemes on node:crypto: Ed25519 and Ed448 (RFC 8032, pure,
// no context) with raw keys, and ECDSA over P-256/384/521 with the suite's hash, its
// signature DER-encoded as in TLS 1.3, private key the big-endian scalar, public key
// the uncompressed SEC1 point.

import { generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyPair } from '../provider.js';
import type { SignatureScheme } from '../suites.js';
import { NistKeys, RawKeys } from './keys.js';

export interface SignatureOps {
  generateKeyPair(): Promise<KeyPair>;
  publicKeyOf(privateKey: Uint8Array): Promise<Uint8Array>;
  sign(privateKey: Uint8Array, message: Uint8Array): Promise<Uint8Array>;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /** node:crypto signs and verifies synchronously; the async members above wrap these. */
  signSync(privateKey: Uint8Array, message: Uint8Array): Uint8Array;
  verifySync(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

class EdwardsSignature implements SignatureOps {
  private readonly keys: RawKeys;
  private readonly curve: 'Ed25519' | 'Ed448';

  constructor(curve: 'Ed25519' | 'Ed448') {
    this.curve = curve;
    this.keys = new RawKeys(curve);
  }

  async generateKeyPair(): Promise<KeyPair> {
    const pair = this.curve === 'Ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ed448');
    return { privateKey: this.keys.exportPrivate(pair.privateKey), publicKey: this.keys.exportPublic(pair.publicKey) };
  }

  async publicKeyOf(privateKey: Uint8Array): Promise<Uint8Array> {
    return this.keys.privateKey(privateKey).publicKey;
  }

  async sign(privateKey: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
    return this.signSync(privateKey, message);
  }

  async verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    return this.verifySync(publicKey, message, signature);
  }

  signSync(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
    const s = sign(null, message, this.keys.privateKey(privateKey).key);
    return new Uint8Array(s.buffer, s.byteOffset, s.byteLength);
  }

  verifySync(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    try {
      return verify(null, message, this.keys.publicKey(publicKey), signature);
    } catch {
      return false;
    }
  }
}

class EcdsaSignature implements SignatureOps {
  private readonly keys: NistKeys;
  private readonly hash: string;

  constructor(curve: 'P-256' | 'P-384' | 'P-521', hash: string) {
    this.keys = new NistKeys(curve);
    this.hash = hash;
  }

  async generateKeyPair(): Promise<KeyPair> {
    const { privateKey, publicKey } = this.keys.generate();
    return { privateKey, publicKey };
  }

  async publicKeyOf(privateKey: Uint8Array): Promise<Uint8Array> {
    return this.keys.privateKey(privateKey).publicKey;
  }

  async sign(privateKey: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
    return this.signSync(privateKey, message);
  }

  async verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    return this.verifySync(publicKey, message, signature);
  }

  signSync(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
    const s = sign(this.hash, message, { key: this.keys.signingKey(privateKey), dsaEncoding: 'der' });
    return new Uint8Array(s.buffer, s.byteOffset, s.byteLength);
  }

  verifySync(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    try {
      return verify(this.hash, message, { key: this.keys.verifyingKey(publicKey), dsaEncoding: 'der' }, signature);
    } catch {
      return false;
    }
  }
}

export function signatureOps(scheme: SignatureScheme): SignatureOps {
  switch (scheme) {
    case 'ed25519':
      return new EdwardsSignature('Ed25519');
    case 'ed448':
      return new EdwardsSignature('Ed448');
    case 'ecdsa_secp256r1_sha256':
      return new EcdsaSignature('P-256', 'sha256');
    case 'ecdsa_secp384r1_sha384':
      return new EcdsaSignature('P-384', 'sha384');
    case 'ecdsa_secp521r1_sha512':
      return new EcdsaSignature('P-521', 'sha512');
  }
}
