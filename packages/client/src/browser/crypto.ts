// ClientCrypto on WebCrypto (the browser adapter of src/crypto/client-crypto.ts):
// Ed25519 (RFC 8032, in Chromium, Firefox and Safari's crypto.subtle), SHA-2, AES-256-GCM
// and crypto.getRandomValues. Raw Ed25519 seeds are imported through their fixed PKCS#8
// prefix (RFC 8410 §7), as src/node/crypto.ts does.

import type { ClientCrypto, Ed25519KeyPair } from '../crypto/client-crypto.js';
import { ClientCryptoError, ClientUsageError } from '../errors.js';
import { fromBase64 } from '../util/bytes.js';

const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const ED25519 = { name: 'Ed25519' } as const;
/** getRandomValues fills at most this many bytes per call. */
const MAX_RANDOM_CHUNK = 65536;

/** A copy in a fresh ArrayBuffer: what WebCrypto's BufferSource typing wants. */
export function buf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

function pkcs8(seed: Uint8Array): Uint8Array<ArrayBuffer> {
  if (seed.length !== 32) throw new ClientUsageError('invalid-key', 'an Ed25519 private key is 32 bytes');
  const out = new Uint8Array(PKCS8_PREFIX.length + 32);
  out.set(PKCS8_PREFIX);
  out.set(seed, PKCS8_PREFIX.length);
  return out;
}

function fromBase64Url(s: string): Uint8Array {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/');
  return fromBase64(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
}

/** The raw seed and public key of an extractable Ed25519 private key (its JWK `d` and `x`). */
async function rawPair(subtle: SubtleCrypto, key: CryptoKey): Promise<Ed25519KeyPair> {
  const jwk = await subtle.exportKey('jwk', key);
  if (typeof jwk.d !== 'string' || typeof jwk.x !== 'string') throw new ClientCryptoError('key-export-failed', 'the browser did not export the Ed25519 key');
  return { privateKey: fromBase64Url(jwk.d), publicKey: fromBase64Url(jwk.x) };
}

function checkAes(key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== 32) throw new ClientUsageError('invalid-key', 'an AES-256-GCM key is 32 bytes');
  if (nonce.length !== 12) throw new ClientUsageError('invalid-nonce', 'an AES-GCM nonce is 12 bytes');
}

export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let at = 0; at < length; at += MAX_RANDOM_CHUNK) globalThis.crypto.getRandomValues(out.subarray(at, Math.min(length, at + MAX_RANDOM_CHUNK)));
  return out;
}

/** ClientCrypto on `subtle` (default: the page's crypto.subtle; needs a secure context). */
export function webClientCrypto(subtle: SubtleCrypto = globalThis.crypto.subtle): ClientCrypto {
  const aesKey = (key: Uint8Array, usage: KeyUsage): Promise<CryptoKey> => subtle.importKey('raw', buf(key), 'AES-GCM', false, [usage]);
  return {
    ed25519: {
      async generateKeyPair() {
        const pair = (await subtle.generateKey(ED25519, true, ['sign', 'verify']));
        return rawPair(subtle, pair.privateKey);
      },
      async publicKeyOf(privateKey) {
        const key = await subtle.importKey('pkcs8', pkcs8(privateKey), ED25519, true, ['sign']);
        return (await rawPair(subtle, key)).publicKey;
      },
      async sign(privateKey, message) {
        const key = await subtle.importKey('pkcs8', pkcs8(privateKey), ED25519, false, ['sign']);
        return new Uint8Array(await subtle.sign(ED25519, key, buf(message)));
      },
      async verify(publicKey, message, signature) {
        if (publicKey.length !== 32 || signature.length !== 64) return false;
        try {
          const key = await subtle.importKey('raw', buf(publicKey), ED25519, false, ['verify']);
          return await subtle.verify(ED25519, key, buf(signature), buf(message));
        } catch {
          return false;
        }
      },
    },
    async digest(algorithm, data) {
      return new Uint8Array(await subtle.digest(algorithm, buf(data)));
    },
    aesGcm: {
      async seal(key, nonce, aad, plaintext) {
        checkAes(key, nonce);
        const k = await aesKey(key, 'encrypt');
        return new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: buf(nonce), additionalData: buf(aad) }, k, buf(plaintext)));
      },
      async open(key, nonce, aad, ciphertext) {
        checkAes(key, nonce);
        if (ciphertext.length < 16) throw new ClientCryptoError('aead-open-failed', 'ciphertext too short');
        const k = await aesKey(key, 'decrypt');
        try {
          return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: buf(nonce), additionalData: buf(aad) }, k, buf(ciphertext)));
        } catch {
          throw new ClientCryptoError('aead-open-failed', 'AES-GCM tag did not verify');
        }
      },
    },
    randomBytes,
  };
}
