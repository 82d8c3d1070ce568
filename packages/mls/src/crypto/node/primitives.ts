// RFC 9420 §5.1 hash, HMAC, HKDF (RFC 5869) and AEAD (AES-GCM, ChaCha20-Poly1305) on
// node:crypto. HKDF is split into Extract and Expand as MLS and HPKE need them; both
// are HMAC calls, OpenSSL computing every primitive.

import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hash as oneShotHash,
  type CipherChaCha20Poly1305,
  type CipherGCM,
  type DecipherChaCha20Poly1305,
  type DecipherGCM,
} from 'node:crypto';
import { CryptoError, UsageError } from '../../errors.js';
import type { HpkeAead, HpkeKdf } from '../hpke/primitives.js';
import { AEADS, HASH_LENGTH, type AeadId, type HashName, type KdfId } from '../suites.js';
import { u8 } from './bytes.js';

const NODE_HASH: Readonly<Record<HashName, string>> = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

export function nodeHashName(h: HashName): string {
  return NODE_HASH[h];
}

export function digest(h: HashName, data: Uint8Array): Uint8Array {
  return u8(oneShotHash(NODE_HASH[h], data, 'buffer'));
}

export function hmac(h: HashName, key: Uint8Array, data: Uint8Array): Uint8Array {
  return u8(createHmac(NODE_HASH[h], key).update(data).digest());
}

export class NodeKdf implements HpkeKdf {
  readonly id: KdfId;
  readonly nh: number;
  private readonly hashName: string;

  constructor(id: KdfId, h: HashName) {
    this.id = id;
    this.nh = HASH_LENGTH[h];
    this.hashName = NODE_HASH[h];
  }

  /** HKDF-Extract(salt, IKM) = HMAC-Hash(salt, IKM); an empty salt acts as Nh zero bytes. */
  async extract(salt: Uint8Array, ikm: Uint8Array): Promise<Uint8Array> {
    return u8(createHmac(this.hashName, salt).update(ikm).digest());
  }

  async expand(prk: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array> {
    return this.expandSync(prk, info, length);
  }

  /** HKDF-Expand(PRK, info, L): T(i) = HMAC(PRK, T(i-1) || info || i). */
  expandSync(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
    if (!Number.isInteger(length) || length < 0 || length > 255 * this.nh) throw new UsageError('bad-length', 'HKDF-Expand length out of range');
    if (length <= this.nh) {
      // One block (every key, nonce and secret MLS derives): T(1) = HMAC(PRK, info || 0x01), one update.
      const input = new Uint8Array(info.length + 1);
      input.set(info);
      input[info.length] = 1;
      const t = createHmac(this.hashName, prk).update(input).digest();
      return u8(length === this.nh ? t : t.subarray(0, length));
    }
    const counter = new Uint8Array(1);
    const out = new Uint8Array(length);
    let previous: Buffer | undefined;
    for (let i = 1, at = 0; at < length; i++) {
      counter[0] = i;
      const h = createHmac(this.hashName, prk);
      if (previous !== undefined) h.update(previous);
      previous = h.update(info).update(counter).digest();
      out.set(previous.subarray(0, Math.min(previous.length, length - at)), at);
      at += previous.length;
    }
    return out;
  }
}

const NODE_AEAD: Readonly<Record<AeadId, 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305'>> = {
  1: 'aes-128-gcm',
  2: 'aes-256-gcm',
  3: 'chacha20-poly1305',
};

const TAG = 16;
type AeadAlgorithm = (typeof NODE_AEAD)[AeadId];

const TAG_OPTION = { authTagLength: TAG } as const;

function encryptor(algorithm: AeadAlgorithm, key: Uint8Array, nonce: Uint8Array): CipherGCM | CipherChaCha20Poly1305 {
  return algorithm === 'chacha20-poly1305' ? createCipheriv(algorithm, key, nonce, TAG_OPTION) : createCipheriv(algorithm, key, nonce, TAG_OPTION);
}

function decryptor(algorithm: AeadAlgorithm, key: Uint8Array, nonce: Uint8Array): DecipherGCM | DecipherChaCha20Poly1305 {
  return algorithm === 'chacha20-poly1305' ? createDecipheriv(algorithm, key, nonce, TAG_OPTION) : createDecipheriv(algorithm, key, nonce, TAG_OPTION);
}

export class NodeAead implements HpkeAead {
  readonly id: AeadId;
  readonly nk: number;
  readonly nn: number;
  private readonly algorithm: AeadAlgorithm;

  constructor(id: AeadId) {
    this.id = id;
    this.nk = AEADS[id].nk;
    this.nn = AEADS[id].nn;
    this.algorithm = NODE_AEAD[id];
  }

  async seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
    return this.sealSync(key, nonce, aad, plaintext);
  }

  async open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array> {
    return this.openSync(key, nonce, aad, ciphertext);
  }

  sealSync(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    this.check(key, nonce);
    const cipher = encryptor(this.algorithm, key, nonce);
    if (aad.length > 0) cipher.setAAD(aad, { plaintextLength: plaintext.length });
    const body = cipher.update(plaintext);
    const tail = cipher.final();
    // A fresh buffer of its own (never a slice of Node's shared pool, whose ArrayBuffer holds other data).
    const out = new Uint8Array(body.length + tail.length + TAG);
    out.set(body);
    out.set(tail, body.length);
    out.set(cipher.getAuthTag(), body.length + tail.length);
    return out;
  }

  openSync(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    this.check(key, nonce);
    if (ciphertext.length < TAG) throw new CryptoError('aead-open-failed', 'AEAD ciphertext is shorter than its tag');
    const bodyLength = ciphertext.length - TAG;
    const decipher = decryptor(this.algorithm, key, nonce);
    decipher.setAuthTag(ciphertext.subarray(bodyLength));
    if (aad.length > 0) decipher.setAAD(aad, { plaintextLength: bodyLength });
    const body = decipher.update(ciphertext.subarray(0, bodyLength));
    try {
      const tail = decipher.final();
      if (tail.length === 0) return u8(body);
      const out = new Uint8Array(body.length + tail.length);
      out.set(body);
      out.set(tail, body.length);
      return out;
    } catch (error) {
      body.fill(0);
      throw new CryptoError('aead-open-failed', 'AEAD tag does not verify', { cause: error });
    }
  }

  private check(key: Uint8Array, nonce: Uint8Array): void {
    if (key.length !== this.nk) throw new CryptoError('invalid-key-length', `AEAD key must have ${this.nk} bytes`);
    if (nonce.length !== this.nn) throw new CryptoError('invalid-nonce-length', `AEAD nonce must have ${this.nn} bytes`);
  }
}
