// RFC 9420 §5.1.2 signature schemes on WebCrypto: Ed25519 (RFC 8032) and ECDSA over the
// NIST curves with their suite's hash (MLS carries ECDSA signatures DER-encoded).
// Private keys arrive as raw bytes (the RFC 8032 seed, the SEC1 scalar) and are imported
// through a fixed PKCS#8 wrapping; public keys are raw (SEC1 uncompressed for ECDSA).

import type { CipherSuite, KeyPair } from '../provider.js';
import type { HashName, SignatureScheme } from '../suites.js';
import { derToP1363, p1363ToDer } from './ecdsa-der.js';
import {
  buf,
  cacheKey,
  checkPublicKey,
  type KeyCache,
  pkcs8,
  PRIVATE_KEY_LENGTH,
  rawPrivateFromJwk,
  rawPublicFromJwk,
} from './keys.js';

type WebScheme = { readonly name: 'Ed25519' } | { readonly name: 'ECDSA'; readonly curve: 'P-256' | 'P-384' | 'P-521'; readonly hash: HashName };

/** The RFC 9420 §5.1 schemes WebCrypto offers (not Ed448). */
export const WEB_SIGNATURE_SCHEMES: Readonly<Partial<Record<SignatureScheme, WebScheme>>> = {
  ed25519: { name: 'Ed25519' },
  ecdsa_secp256r1_sha256: { name: 'ECDSA', curve: 'P-256', hash: 'SHA-256' },
  ecdsa_secp384r1_sha384: { name: 'ECDSA', curve: 'P-384', hash: 'SHA-384' },
  ecdsa_secp521r1_sha512: { name: 'ECDSA', curve: 'P-521', hash: 'SHA-512' },
};

type Signature = CipherSuite['signature'];

export function webSignature(subtle: SubtleCrypto, scheme: WebScheme, keys: KeyCache): Signature {
  const curve = scheme.name === 'Ed25519' ? 'Ed25519' : scheme.curve;
  const importAlgorithm: EcKeyImportParams | Algorithm =
    scheme.name === 'Ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: scheme.curve };
  const signAlgorithm: EcdsaParams | Algorithm = scheme.name === 'Ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', hash: scheme.hash };
  const tag = `sig-${curve}`;
  const n = PRIVATE_KEY_LENGTH[curve];

  const privateKey = (raw: Uint8Array): Promise<CryptoKey> =>
    keys.get(cacheKey(tag + '-priv', raw), () => subtle.importKey('pkcs8', pkcs8(curve, raw), importAlgorithm, false, ['sign']));
  const publicKey = (raw: Uint8Array): Promise<CryptoKey> =>
    keys.get(cacheKey(tag + '-pub', raw), () => {
      checkPublicKey(curve, raw);
      return subtle.importKey('raw', buf(raw), importAlgorithm, false, ['verify']);
    });

  return {
    async generateKeyPair(): Promise<KeyPair> {
      const pair = (await subtle.generateKey(importAlgorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
      return {
        privateKey: await rawPrivateFromJwk(subtle, pair.privateKey),
        publicKey: await rawPublicFromJwk(subtle, curve, pair.privateKey),
      };
    },
    async publicKeyOf(raw) {
      // An extractable import, used once: the cached signing key stays non-extractable.
      const key = await subtle.importKey('pkcs8', pkcs8(curve, raw), importAlgorithm, true, ['sign']);
      return rawPublicFromJwk(subtle, curve, key);
    },
    async sign(raw, message) {
      const signature = new Uint8Array(await subtle.sign(signAlgorithm, await privateKey(raw), buf(message)));
      return scheme.name === 'Ed25519' ? signature : p1363ToDer(signature, n);
    },
    async verify(raw, message, signature) {
      let fixed: Uint8Array | undefined = signature;
      if (scheme.name === 'ECDSA') fixed = derToP1363(signature, n);
      else if (signature.length !== 64) fixed = undefined;
      if (fixed === undefined) return false;
      try {
        return await subtle.verify(signAlgorithm, await publicKey(raw), buf(fixed), buf(message));
      } catch {
        return false; // a malformed public key
      }
    },
  };
}
