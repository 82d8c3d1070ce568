// The engine's errors: one small tree, each with a stable `code` that callers and
// tests match on. Messages never carry secret bytes.

export type MlsErrorKind = 'decode' | 'validation' | 'crypto' | 'usage' | 'internal';

export abstract class MlsError extends Error {
  abstract readonly kind: MlsErrorKind;
  /** Stable, machine-readable reason, e.g. `truncated` or `invalid-signature`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bytes that do not parse as the structure they claim to be (RFC 9420 §2.1). */
export class DecodeError extends MlsError {
  readonly kind = 'decode';
}

/** A well-formed value that breaks a rule of the protocol (RFC 9420 §12–§13). */
export class ValidationError extends MlsError {
  readonly kind = 'validation';
}

/** A cryptographic operation failed: bad tag, bad key, unsupported suite. */
export class CryptoError extends MlsError {
  readonly kind = 'crypto';
}

/** The caller used the API wrongly (bad argument, wrong state). */
export class UsageError extends MlsError {
  readonly kind = 'usage';
}

/** A bug in the engine: an invariant that should hold did not. */
export class InternalError extends MlsError {
  readonly kind = 'internal';
}
