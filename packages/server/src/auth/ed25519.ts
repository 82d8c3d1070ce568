// Ed25519 verification (RFC 8032) with node:crypto, as the protocol's SignatureVerifier:
// device certificates and identity keys are checked with it.

import { createPublicKey, verify as nodeVerify } from 'node:crypto';

/** False (never a throw) for a bad signature or a malformed key. */
export async function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' });
    return nodeVerify(null, message, key, signature);
  } catch {
    return false;
  }
}
