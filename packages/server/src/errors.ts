// The server's one error type: a stable protocol code (packages/protocol/src/errors.ts)
// and a message safe to show. Handlers throw it; the error handler turns it into the
// ErrorBody with the code's HTTP status. Anything else is a bug and becomes `internal`.

import type { ErrorCode } from '@parley/protocol';

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: { readonly currentEpoch?: number; readonly retryAfter?: number } = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}
