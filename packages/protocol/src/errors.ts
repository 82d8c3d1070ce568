// Stable error codes of the client–server protocol. Every error the server answers,
// over HTTP or WebSocket, carries one of these codes; clients match on the code, never
// on the message. Adding a code is compatible; renaming or removing one is not.

export const ERROR_CODES = [
  // input
  'bad-request', // the body, query, params or frame do not match the schema
  'body-too-large', // the input exceeds its size limit
  'unsupported-media-type',
  'unsupported-protocol-version',
  // authentication and accounts
  'unauthenticated', // no, unknown, revoked or expired session token
  'forbidden', // authenticated, but not allowed (not admin, not member, not own device)
  'invalid-credentials',
  'account-deactivated',
  'registration-closed',
  'invalid-invite',
  'email-required',
  'email-domain-not-allowed',
  'username-taken',
  'rate-limited', // carries retryAfter (seconds); HTTP answers also send Retry-After
  'too-many-connections', // a WebSocket cap (per device or server-wide) was reached
  'unknown-session', // no such session of the caller (list them at GET /v1/sessions)
  'unknown-invite', // no such invite code id (admin)
  // identity and devices
  'identity-key-already-set',
  'identity-key-missing',
  'invalid-identity-key',
  'invalid-device-certificate',
  'device-exists',
  'device-required', // the session has no device yet; register one first
  'no-identity-backup', // the user has not stored an identity-key backup
  // directory
  'not-found',
  'unknown-user',
  'unknown-device',
  'unknown-group',
  'unknown-attachment',
  'quota-exceeded', // the user's attachment storage quota would be exceeded
  // key packages
  'invalid-key-package',
  'too-many-key-packages',
  // groups
  'group-exists',
  'not-a-member',
  'stale-epoch', // a commit for an epoch that is not the group's current one: carries currentEpoch
  'invalid-commit',
  'invalid-group-info',
  'policy-violation', // the commit breaks the group's Parley policy (packages/protocol/src/group-policy.ts)
  'external-join-refused', // an external commit from a device that is not a new device of a current member
  // server
  'shutting-down',
  'database-unavailable', // /healthz: the database did not answer
  'internal', // a bug; the message says nothing more
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const codeSet: ReadonlySet<string> = new Set(ERROR_CODES);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && codeSet.has(value);
}

/** The body of every HTTP error answer, and the `error` control frame's payload. */
export interface ErrorBody {
  readonly error: {
    readonly code: ErrorCode;
    /** Human-readable; never contains input bytes, secrets or a stack trace. */
    readonly message: string;
    /** For `stale-epoch`: the group's current epoch. */
    readonly currentEpoch?: number;
    /** For `rate-limited`: seconds after which a retry may succeed. */
    readonly retryAfter?: number;
  };
}

/** HTTP status for each code, so every route answers the same code the same way. */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = {
  'bad-request': 400,
  'body-too-large': 413,
  'unsupported-media-type': 415,
  'unsupported-protocol-version': 400,
  unauthenticated: 401,
  forbidden: 403,
  'invalid-credentials': 401,
  'account-deactivated': 403,
  'registration-closed': 403,
  'invalid-invite': 403,
  'email-required': 400,
  'email-domain-not-allowed': 403,
  'username-taken': 409,
  'rate-limited': 429,
  'too-many-connections': 429,
  'unknown-session': 404,
  'unknown-invite': 404,
  'identity-key-already-set': 409,
  'identity-key-missing': 409,
  'invalid-identity-key': 400,
  'invalid-device-certificate': 400,
  'device-exists': 409,
  'device-required': 403,
  'no-identity-backup': 404,
  'not-found': 404,
  'unknown-user': 404,
  'unknown-device': 404,
  'unknown-group': 404,
  'unknown-attachment': 404,
  'quota-exceeded': 403,
  'invalid-key-package': 400,
  'too-many-key-packages': 409,
  'group-exists': 409,
  'not-a-member': 403,
  'stale-epoch': 409,
  'invalid-commit': 400,
  'invalid-group-info': 400,
  'policy-violation': 403,
  'external-join-refused': 403,
  'shutting-down': 503,
  'database-unavailable': 503,
  internal: 500,
};
