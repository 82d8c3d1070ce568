// RFC 9420 §5.1 Cipher suites: the primitives the engine needs, behind an interface so
// that the engine never imports node:crypto or WebCrypto itself. A backend (crypto/node,
// crypto/web) implements it. Keys travel as bytes in their RFC encodings: HPKE keys as
// RFC 9180 SerializePublicKey/SerializePrivateKey, signature keys as the raw
// RFC 8032 / SEC1 encodings the test vectors use; a backend may cache imported keys.

/** RFC 9420 §17.1 MLS Cipher Suites registry values. */
export const CipherSuiteId = {
  MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519: 1,
  MLS_128_DHKEMP256_AES128GCM_SHA256_P256: 2,
  MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519: 3,
  MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448: 4,
  MLS_256_DHKEMP521_AES256GCM_SHA512_P521: 5,
  MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448: 6,
  MLS_256_DHKEMP384_AES256GCM_SHA384_P384: 7,
} as const;
export type CipherSuiteId = (typeof CipherSuiteId)[keyof typeof CipherSuiteId];

export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/** RFC 9180 single-shot base mode, plus the exporter that external commits use (RFC 9420 §8.3). */
export interface Hpke {
  /** Length of an encapsulated key (Nenc) and of a serialised public key (Npk). */
  readonly nEnc: number;
  readonly nPk: number;
  readonly nSk: number;
  seal(publicKey: Uint8Array, info: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<{ kemOutput: Uint8Array; ciphertext: Uint8Array }>;
  /**
   * `seal` to each recipient under one `info` and `aad`, results in recipient order.
   * Optional: a backend that has it hashes `info` once for all recipients (a Welcome's
   * info holds the whole encrypted GroupInfo, hundreds of kilobytes in a large group).
   */
  sealMany?(
    info: Uint8Array,
    aad: Uint8Array,
    recipients: readonly { readonly publicKey: Uint8Array; readonly plaintext: Uint8Array }[],
  ): Promise<{ kemOutput: Uint8Array; ciphertext: Uint8Array }[]>;
  /** Throws CryptoError('hpke-open-failed') when the ciphertext does not open. */
  open(kemOutput: Uint8Array, privateKey: Uint8Array, info: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
  /** SetupBaseS(pk, info) then context.Export(exporterContext, length). */
  exportSender(publicKey: Uint8Array, info: Uint8Array, exporterContext: Uint8Array, length: number): Promise<{ kemOutput: Uint8Array; secret: Uint8Array }>;
  /** SetupBaseR(enc, sk, info) then context.Export(exporterContext, length). */
  exportReceiver(kemOutput: Uint8Array, privateKey: Uint8Array, info: Uint8Array, exporterContext: Uint8Array, length: number): Promise<Uint8Array>;
  /** RFC 9180 §7.1.3 DeriveKeyPair(ikm). */
  deriveKeyPair(ikm: Uint8Array): Promise<KeyPair>;
  generateKeyPair(): Promise<KeyPair>;
  /** Checks that a private key and a public key belong together. */
  publicKeyOf(privateKey: Uint8Array): Promise<Uint8Array>;
}

/**
 * Synchronous forms of the primitives every PrivateMessage uses (HKDF-Expand, the AEAD,
 * signing), for a backend whose primitives are synchronous underneath (node:crypto).
 * The engine's message path takes them when a suite offers them, saving a promise per
 * call; they give the same results, and fail the same way, as the async members.
 */
export interface SyncPrimitives {
  expand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** Throws CryptoError('aead-open-failed') when the tag does not verify. */
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array;
  sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array;
  /** False (never a throw) for a bad signature or a malformed key. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

/** One signature to check: `verify(publicKey, message, signature)`. */
export interface SignatureCheck {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

export interface CipherSuite {
  readonly id: CipherSuiteId;
  readonly name: string;
  /** Hash (and HMAC with it). `nh` is the output length in bytes (KDF.Nh). */
  readonly hash: {
    readonly nh: number;
    digest(data: Uint8Array): Promise<Uint8Array>;
    mac(key: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  };
  /** HKDF with the suite's hash. */
  readonly kdf: {
    readonly nh: number;
    extract(salt: Uint8Array, ikm: Uint8Array): Promise<Uint8Array>;
    expand(prk: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array>;
  };
  readonly aead: {
    readonly nk: number;
    readonly nn: number;
    seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
    /** Throws CryptoError('aead-open-failed') when the tag does not verify. */
    open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
  };
  readonly hpke: Hpke;
  readonly signature: {
    generateKeyPair(): Promise<KeyPair>;
    /** The public key for a private key (used to check that they match). */
    publicKeyOf(privateKey: Uint8Array): Promise<Uint8Array>;
    sign(privateKey: Uint8Array, message: Uint8Array): Promise<Uint8Array>;
    /** False (never a throw) for a bad signature or a malformed key. */
    verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
    /**
     * `verify` for each item, results in item order (false, never a throw, as `verify`).
     * Optional: a backend that has it may check the signatures in parallel (node:crypto
     * on libuv's threadpool), which a commit adding many members or a Welcome's whole
     * ratchet tree uses; the engine falls back to `verify` per item without it.
     */
    verifyMany?(items: readonly SignatureCheck[]): Promise<boolean[]>;
  };
  randomBytes(length: number): Uint8Array;
  /** Present when the backend can run the per-message primitives synchronously (see SyncPrimitives). */
  readonly sync?: SyncPrimitives;
}

export interface CryptoProvider {
  readonly name: string;
  /** The suites this backend offers. */
  readonly supportedSuites: readonly CipherSuiteId[];
  /** Throws CryptoError('unsupported-cipher-suite') for a suite it does not offer. */
  suite(id: number): CipherSuite;
}
