// ClientCrypto on node:crypto (OpenSSL): the Node adapter of src/crypto/client-crypto.ts.
// Ed25519 raw keys are wrapped in their fixed DER prefixes (RFC 8410) to import them.

import { createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, randomBytes, scrypt, sign, verify, type KeyObject } from 'node:crypto';
import type { ClientCrypto, Ed25519KeyPair } from '../crypto/client-crypto.js';
import { ClientCryptoError, ClientUsageError } from '../errors.js';


// RFC 8410 §7 / §10.3: PKCS#8 and SPKI encodings of Ed25519 keys are a fixed prefix + raw key.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function privateKeyObject(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new ClientUsageError('invalid-key', 'an Ed25519 private key is 32 bytes');
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function publicKeyObject(pub: Uint8Array): KeyObject | undefined {
  if (pub.length !== 32) return undefined;
  try {
    return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

function rawPublic(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length));
}

function checkAes(key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== 32) throw new ClientUsageError('invalid-key', 'an AES-256-GCM key is 32 bytes');
  if (nonce.length !== 12) throw new ClientUsageError('invalid-nonce', 'an AES-GCM nonce is 12 bytes');
}

export const nodeClientCrypto: ClientCrypto = {
  ed25519: {
    async generateKeyPair(): Promise<Ed25519KeyPair> {
      // A random seed (RFC 8032 §5.1.5), not generateKeyPair: on Node 20 exporting a key
      // that generateKeyPair made can deadlock with the GC of its KeyGenJob (see
      // packages/mls/src/crypto/node/keys.ts, RawKeys.generate).
      const seed = new Uint8Array(randomBytes(32));
      return { privateKey: seed, publicKey: rawPublic(createPublicKey(privateKeyObject(seed))) };
    },
    async publicKeyOf(privateKey) {
      return rawPublic(createPublicKey(privateKeyObject(privateKey)));
    },
    async sign(privateKey, message) {
      return new Uint8Array(sign(null, message, privateKeyObject(privateKey)));
    },
    async verify(publicKey, message, signature) {
      const key = publicKeyObject(publicKey);
      if (key === undefined || signature.length !== 64) return false;
      try {
        return verify(null, message, key, signature);
      } catch {
        return false;
      }
    },
  },
  async digest(algorithm, data) {
    return new Uint8Array(createHash(algorithm === 'SHA-256' ? 'sha256' : 'sha512').update(data).digest());
  },
  aesGcm: {
    async seal(key, nonce, aad, plaintext) {
      checkAes(key, nonce);
      const c = createCipheriv('aes-256-gcm', key, nonce);
      c.setAAD(aad);
      const head = c.update(plaintext);
      const tail = c.final();
      return new Uint8Array(Buffer.concat([head, tail, c.getAuthTag()]));
    },
    async open(key, nonce, aad, ciphertext) {
      checkAes(key, nonce);
      if (ciphertext.length < 16) throw new ClientCryptoError('aead-open-failed', 'ciphertext too short');
      const d = createDecipheriv('aes-256-gcm', key, nonce);
      d.setAAD(aad);
      d.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
      try {
        const head = d.update(ciphertext.subarray(0, ciphertext.length - 16));
        return new Uint8Array(Buffer.concat([head, d.final()]));
      } catch {
        throw new ClientCryptoError('aead-open-failed', 'AES-GCM tag did not verify');
      }
    },
  },
  randomBytes(length) {
    return new Uint8Array(randomBytes(length));
  },
  scrypt(password, salt, params) {
    return new Promise((resolve, reject) => {
      scrypt(password, salt, params.dkLen, { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r }, (err, key) => {
        if (err !== null) reject(new ClientCryptoError('kdf-failed', 'scrypt failed', { cause: err }));
        else resolve(new Uint8Array(key));
      });
    });
  },
};
