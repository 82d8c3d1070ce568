// The client library's errors: one small tree, each with a stable `code` that callers,
// the CLI and tests match on. Messages never carry keys, passphrases or message text.

export type ClientErrorKind = 'store' | 'verification' | 'crypto' | 'usage';

export abstract class ClientError extends Error {
  abstract readonly kind: ClientErrorKind;
  /** Stable, machine-readable reason, e.g. `wrong-passphrase`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * Local state could not be read or written. Codes: `wrong-passphrase`, `store-closed`,
 * `not-found` (a batch updates a record that does not exist), `corrupt-record` (a record
 * fails authentication: tampering or a swapped row), `unsupported-format`.
 */
export class StoreError extends ClientError {
  readonly kind = 'store';
}

/** A certificate, signature or identity key did not check out. */
export class VerificationError extends ClientError {
  readonly kind = 'verification';
}

/** A cryptographic operation failed (bad tag, unsupported suite). */
export class ClientCryptoError extends ClientError {
  readonly kind = 'crypto';
}

/** The caller used the API wrongly (bad argument, wrong state). */
export class ClientUsageError extends ClientError {
  readonly kind = 'usage';
}
