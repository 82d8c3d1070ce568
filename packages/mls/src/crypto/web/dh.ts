// The Diffie-Hellman groups under RFC 9180 DHKEM, on WebCrypto, as the DhGroup that the
// shared HPKE (../hpke) is generic over: X25519 (RFC 7748) and ECDH over the NIST curves
// (SEC1; the shared secret is the x-coordinate, RFC 9180 §7.1.1). The all-zero X25519
// output is refused here as well as by DhKem (WebCrypto already throws on it).

import { CryptoError } from '../../errors.js';
import { isAllZero } from '../../util/bytes.js';
import type { DhGroup } from '../hpke/index.js';
import type { KeyPair } from '../provider.js';
import {
  type BoundedCache,
  buf,
  cacheKey,
  checkPublicKey,
  type KeyCache,
  type KeyCurve,
  pkcs8,
  PRIVATE_KEY_LENGTH,
  rawPrivateFromJwk,
  rawPublicFromJwk,
} from './keys.js';

export type WebDhCurve = Extract<KeyCurve, 'X25519' | 'P-256' | 'P-384' | 'P-521'>;

export function webDh(subtle: SubtleCrypto, curve: WebDhCurve, keys: KeyCache, publics: BoundedCache<Uint8Array>): DhGroup {
  const algorithm: EcKeyImportParams | Algorithm = curve === 'X25519' ? { name: 'X25519' } : { name: 'ECDH', namedCurve: curve };
  const bits = 8 * PRIVATE_KEY_LENGTH[curve];
  const tag = `dh-${curve}`;

  // Extractable, so that the public key can be read back from the same cached import.
  const privateKey = (raw: Uint8Array): Promise<CryptoKey> =>
    keys.get(cacheKey(tag + '-priv', raw), async () => {
      try {
        return await subtle.importKey('pkcs8', pkcs8(curve, raw), algorithm, true, ['deriveBits']);
      } catch (error) {
        if (error instanceof CryptoError) throw error;
        throw new CryptoError('invalid-private-key', `not a valid ${curve} private key`, { cause: error });
      }
    });

  const publicKey = (raw: Uint8Array): Promise<CryptoKey> =>
    keys.get(cacheKey(tag + '-pub', raw), async () => {
      checkPublicKey(curve, raw);
      try {
        return await subtle.importKey('raw', buf(raw), algorithm, false, []);
      } catch (error) {
        throw new CryptoError('invalid-public-key', `not a valid ${curve} public key`, { cause: error });
      }
    });

  const derive = async (sk: CryptoKey, pk: CryptoKey): Promise<Uint8Array> => {
    let shared: Uint8Array;
    try {
      shared = new Uint8Array(await subtle.deriveBits({ name: algorithm.name, public: pk }, sk, bits));
    } catch (error) {
      // With both keys imported, X25519 fails only on the all-zero result (WebCrypto
      // "Secure Curves" §X25519 deriveBits); ECDH on valid points does not fail.
      if (curve === 'X25519') throw new CryptoError('dh-all-zero', 'X25519 produced the all-zero value (low-order public key)', { cause: error });
      throw new CryptoError('key-agreement-failed', `${curve} key agreement failed`, { cause: error });
    }
    if (isAllZero(shared)) throw new CryptoError('dh-all-zero', `${curve} produced the all-zero value (low-order public key)`);
    return shared;
  };

  return {
    curve,
    async dh(skRaw, pkRaw) {
      const [sk, pk] = await Promise.all([privateKey(skRaw), publicKey(pkRaw)]);
      return derive(sk, pk);
    },
    async ephemeralDh(pkRaw) {
      // The ephemeral private key never leaves WebCrypto.
      const [pair, pk] = await Promise.all([subtle.generateKey(algorithm, false, ['deriveBits']) as Promise<CryptoKeyPair>, publicKey(pkRaw)]);
      const [publicKeyBytes, shared] = await Promise.all([subtle.exportKey('raw', pair.publicKey), derive(pair.privateKey, pk)]);
      return { publicKey: new Uint8Array(publicKeyBytes), shared };
    },
    async generateKeyPair(): Promise<KeyPair> {
      const pair = (await subtle.generateKey(algorithm, true, ['deriveBits'])) as CryptoKeyPair;
      return {
        privateKey: await rawPrivateFromJwk(subtle, pair.privateKey),
        publicKey: await rawPublicFromJwk(subtle, curve, pair.privateKey),
      };
    },
    publicKeyOf(raw) {
      return publics.get(cacheKey(tag, raw), async () => rawPublicFromJwk(subtle, curve, await privateKey(raw)));
    },
  };
}
