// RFC 9420 §5.1.1 signature schemes on node:crypto: Ed25519 and Ed448 (RFC 8032, pure,
// no context) with raw keys, and ECDSA over P-256/384/521 with the suite's hash, its
// signature DER-encoded as in TLS 1.3, private key the big-endian scalar, public key
// the uncompressed SEC1 point.

import { sign, verify, type KeyObject, type VerifyKeyObjectInput } from 'node:crypto';
import type { KeyPair, SignatureCheck } from '../provider.js';
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
  /** `verify` for each item, on libuv's threadpool (see verifyOnThreadpool). */
  verifyMany(items: readonly SignatureCheck[]): Promise<boolean[]>;
}

/** Below this many signatures a batch is checked on the calling thread: a threadpool round trip costs more than it saves. */
const THREADPOOL_MIN_BATCH = 8;

/**
 * node:crypto's callback form of `verify` runs the check on libuv's threadpool, so a
 * batch uses every core: the main thread only imports keys (cached KeyObjects) and
 * collects results. Same verdicts as the synchronous form: false for a bad signature,
 * a key that does not import (`key` returns undefined) or an OpenSSL error.
 *
 * The whole batch is queued at once, so that the checks go on while the calling thread
 * does other work (a commit's seals, see applyProposalsUnconfirmed); a batch fed a few
 * at a time from completion callbacks stalls whenever that thread is busy. The cost:
 * file-system and DNS work queued behind a batch waits for it, about N × 0.1 ms / cores
 * for N Ed25519 checks (a 1,000-member add: 2,000 checks, some 100 ms on two cores).
 */
function verifyOnThreadpool(
  algorithm: string | null,
  key: (publicKey: Uint8Array) => KeyObject | VerifyKeyObjectInput | undefined,
  items: readonly SignatureCheck[],
  verifySync: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean,
): Promise<boolean[]> {
  const results = new Array<boolean>(items.length).fill(false);
  if (items.length < THREADPOOL_MIN_BATCH) {
    for (let i = 0; i < items.length; i++) results[i] = verifySync(items[i]!.publicKey, items[i]!.message, items[i]!.signature);
    return Promise.resolve(results);
  }
  return new Promise((resolve) => {
    let pending = items.length;
    const settle = (): void => {
      if (--pending === 0) resolve(results);
    };
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      const k = key(item.publicKey);
      if (k === undefined) {
        settle(); // results[i] stays false
        continue;
      }
      try {
        verify(algorithm, item.message, k, item.signature, (error, ok) => {
          results[i] = error === null && ok;
          settle();
        });
      } catch {
        settle(); // results[i] stays false
      }
    }
  });
}

class EdwardsSignature implements SignatureOps {
  private readonly keys: RawKeys;
  private readonly curve: 'Ed25519' | 'Ed448';

  constructor(curve: 'Ed25519' | 'Ed448') {
    this.curve = curve;
    this.keys = new RawKeys(curve);
  }

  async generateKeyPair(): Promise<KeyPair> {
    const pair = this.keys.generate();
    return { privateKey: pair.raw, publicKey: pair.publicKey };
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

  verifyMany(items: readonly SignatureCheck[]): Promise<boolean[]> {
    return verifyOnThreadpool(null, (raw) => this.importOrUndefined(raw), items, (k, m, sig) => this.verifySync(k, m, sig));
  }

  private importOrUndefined(raw: Uint8Array): KeyObject | undefined {
    try {
      return this.keys.publicKey(raw);
    } catch {
      return undefined;
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

  verifyMany(items: readonly SignatureCheck[]): Promise<boolean[]> {
    const key = (raw: Uint8Array): VerifyKeyObjectInput | undefined => {
      try {
        return { key: this.keys.verifyingKey(raw), dsaEncoding: 'der' };
      } catch {
        return undefined;
      }
    };
    return verifyOnThreadpool(this.hash, key, items, (k, m, sig) => this.verifySync(k, m, sig));
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
