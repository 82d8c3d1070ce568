// The few primitives the client core needs beyond the MLS engine: Ed25519 for the
// identity key (RFC 8032), SHA-2 (FIPS 180-4), AES-256-GCM (NIST SP 800-38D) and
// randomness. The core takes them as a parameter and never imports node:crypto or
// WebCrypto; src/node/crypto.ts implements this on node:crypto, the web app will
// implement it on WebCrypto.

export interface Ed25519KeyPair {
  /** RFC 8032 public key, 32 bytes. */
  readonly publicKey: Uint8Array;
  /** RFC 8032 private key (the 32-byte seed). */
  readonly privateKey: Uint8Array;
}

export interface ClientCrypto {
  readonly ed25519: {
    generateKeyPair(): Promise<Ed25519KeyPair>;
    publicKeyOf(privateKey: Uint8Array): Promise<Uint8Array>;
    sign(privateKey: Uint8Array, message: Uint8Array): Promise<Uint8Array>;
    /** False (never a throw) for a bad signature or a malformed key. */
    verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  };
  digest(algorithm: 'SHA-256' | 'SHA-512', data: Uint8Array): Promise<Uint8Array>;
  /** AES-256-GCM with a 12-byte nonce and a 16-byte tag appended to the ciphertext. */
  readonly aesGcm: {
    seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
    /** Throws ClientCryptoError('aead-open-failed') when the tag does not verify. */
    open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
  };
  randomBytes(length: number): Uint8Array;
  /**
   * scrypt (RFC 7914), if the platform has it (node:crypto does, WebCrypto does not);
   * the core falls back to @noble/hashes without it.
   */
  scrypt?(password: Uint8Array, salt: Uint8Array, params: { readonly N: number; readonly r: number; readonly p: number; readonly dkLen: number }): Promise<Uint8Array>;
}
