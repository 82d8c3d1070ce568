// RFC 9420 §5.1 the suite's AEAD: AES-GCM on WebCrypto; ChaCha20-Poly1305 (RFC 8439),
// which WebCrypto does not offer, from @noble/ciphers.

import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { CryptoError, UsageError } from '../../errors.js';
import type { HpkeAead } from '../hpke/index.js';
import { AeadId } from '../suites.js';
import { buf, type SecretKeyCache } from './keys.js';

type AeadName = 'AES-128-GCM' | 'AES-256-GCM' | 'ChaCha20-Poly1305';

const NN = 12;
const TAG = 16;

function checkSizes(name: AeadName, nk: number, key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== nk) throw new UsageError('aead-key-length', `${name} takes a ${nk}-byte key`);
  if (nonce.length !== NN) throw new UsageError('aead-nonce-length', `${name} takes a ${NN}-byte nonce`);
}

function openFailed(cause?: unknown): CryptoError {
  return new CryptoError('aead-open-failed', 'AEAD ciphertext did not authenticate', { cause });
}

export function webAead(subtle: SubtleCrypto, id: AeadId, secrets: SecretKeyCache): HpkeAead {
  if (id === AeadId.CHACHA20POLY1305) return chachaAead();
  const name: AeadName = id === AeadId.AES128GCM ? 'AES-128-GCM' : 'AES-256-GCM';
  const nk = id === AeadId.AES128GCM ? 16 : 32;
  const importKey = (key: Uint8Array): Promise<CryptoKey> =>
    secrets.get(key, () => subtle.importKey('raw', buf(key), 'AES-GCM', false, ['encrypt', 'decrypt']));
  return {
    id,
    nk,
    nn: NN,
    async seal(key, nonce, aad, plaintext) {
      checkSizes(name, nk, key, nonce);
      const params = { name: 'AES-GCM', iv: buf(nonce), additionalData: buf(aad), tagLength: TAG * 8 };
      return new Uint8Array(await subtle.encrypt(params, await importKey(key), buf(plaintext)));
    },
    async open(key, nonce, aad, ciphertext) {
      checkSizes(name, nk, key, nonce);
      if (ciphertext.length < TAG) throw openFailed();
      const params = { name: 'AES-GCM', iv: buf(nonce), additionalData: buf(aad), tagLength: TAG * 8 };
      const k = await importKey(key);
      try {
        return new Uint8Array(await subtle.decrypt(params, k, buf(ciphertext)));
      } catch (error) {
        throw openFailed(error);
      }
    },
  };
}

function chachaAead(): HpkeAead {
  const name = 'ChaCha20-Poly1305';
  return {
    id: AeadId.CHACHA20POLY1305,
    nk: 32,
    nn: NN,
    async seal(key, nonce, aad, plaintext) {
      checkSizes(name, 32, key, nonce);
      return chacha20poly1305(key, nonce, aad).encrypt(plaintext);
    },
    async open(key, nonce, aad, ciphertext) {
      checkSizes(name, 32, key, nonce);
      if (ciphertext.length < TAG) throw openFailed();
      try {
        return chacha20poly1305(key, nonce, aad).decrypt(ciphertext);
      } catch (error) {
        throw openFailed(error);
      }
    },
  };
}
