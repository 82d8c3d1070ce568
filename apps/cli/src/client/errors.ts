// What a failed client command says: one line, from the failure's stable code (an SDK
// or server error code, or the CLI's own), never a stack trace, a key, a password or a
// message text. The SDK's and the server's own messages are written to be safe to show
// (see packages/client/src/errors.ts and packages/protocol/src/errors.ts); an error of
// any other kind shows only its code or class, since its text is not ours to vouch for.

/** A failure the CLI itself detected (bad usage, missing profile…), with a stable code. */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** 2 for wrong usage (bad arguments), 1 for everything else. */
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Wrong usage: what is wrong and, on the same line, how the command is used. */
export function usageError(problem: string, usage?: string): CliError {
  return new CliError('usage', usage === undefined ? problem : `${problem}; usage: ${usage}`, 2);
}

/** What each stable code means to the person at the terminal. */
const MESSAGES: Readonly<Record<string, string>> = {
  // reaching the server, sessions
  network: 'cannot reach the server',
  unauthenticated: 'the server did not accept this session; log in again',
  forbidden: 'the server refused: not allowed',
  'rate-limited': 'too many attempts; try again later',
  'shutting-down': 'the server is shutting down; try again shortly',
  internal: 'the server failed on this request',
  'bad-request': 'the server refused the request as malformed',
  // accounts
  'invalid-credentials': 'wrong user name or password',
  'account-deactivated': 'this account is deactivated',
  'registration-closed': 'this server does not accept new accounts',
  'invalid-invite': 'the invite code is unknown, used up or expired',
  'email-required': 'this server needs an e-mail address to register',
  'email-domain-not-allowed': 'this server does not accept that e-mail domain',
  'username-taken': 'this user name is taken',
  'device-required': 'this session has no device yet',
  'no-identity-backup': 'this user has no identity key backup on the server (log in from a device that has one, or register)',
  // directory, groups
  'unknown-user': 'no such user',
  'unknown-device': 'this device is no longer registered on the server',
  'unknown-group': 'the server does not know this conversation',
  'not-a-member': 'you are not a member of this conversation',
  'stale-epoch': 'the conversation changed meanwhile; run the command again',
  // local profile
  'wrong-passphrase': 'wrong passphrase for this profile',
  'corrupt-record': 'the profile is damaged (a record failed to authenticate)',
  'unsupported-format': 'this profile was written by another version of Parley',
  'profile-in-use': 'this profile already holds an account',
  'no-account': 'this profile holds no account; run parley register or parley login',
  // SDK usage
  'unknown-conversation': 'no such conversation',
  'self-conversation': 'a direct conversation needs another user',
  'no-key-packages': 'this user has no device that can be reached right now',
  'no-identity-key': 'this user has not finished setting up an account',
  'identity-key-changed': 'this user’s identity key changed; compare safety numbers again (parley verify)',
  'contact-unverified': 'this contact’s identity key changed since you verified it; run parley verify first',
  'backup-passphrase-required': 'a profile passphrase is needed: it also seals the identity backup',
  'backup-passphrase-is-password': 'choose a profile passphrase other than the account password (the server sees the password)',
  'identity-key-unacknowledged': 'this contact’s identity key changed; compare safety numbers, then confirm them (parley verify <user> --confirm), or accept the new key unverified (parley contacts accept <user>)',
  'unknown-contact': 'no identity key is known for this user yet',
  'not-admin': 'only an administrator of this conversation may do that',
  'policy-violation': 'the conversation’s rules do not allow that',
};

interface Coded {
  readonly code: string;
  readonly message: string;
  readonly name: string;
}

function coded(e: unknown): Coded | undefined {
  if (e instanceof Error && typeof (e as { code?: unknown }).code === 'string') return e as Error & { code: string };
  return undefined;
}

/** Errors from our own packages, whose messages are written to be shown. */
const OWN_ERRORS = new Set(['CliError', 'ServerError', 'StoreError', 'ClientUsageError', 'VerificationError', 'ClientCryptoError']);

/** The one line a failure prints (without the `parley: ` prefix and newline). */
export function describeError(e: unknown, context: { readonly server?: string } = {}): string {
  const c = coded(e);
  const sys = e as { syscall?: unknown; path?: unknown };
  if (c !== undefined && typeof sys.syscall === 'string' && typeof sys.path === 'string') return `cannot ${sys.syscall} ${sys.path} (${c.code})`;
  if (c === undefined) return `unexpected failure (${e instanceof Error ? e.name : typeof e})`;
  if (c.name === 'CliError') return c.message;
  const known = MESSAGES[c.code];
  if (c.code === 'network') return `${known ?? c.message}${context.server !== undefined ? ` at ${context.server}` : ''} (network)`;
  if (known !== undefined) return `${known} (${c.code})`;
  if (OWN_ERRORS.has(c.name)) return `${c.message} (${c.code})`;
  return `unexpected failure (${c.code})`;
}

export function exitCodeOf(e: unknown): number {
  return e instanceof CliError ? e.exitCode : 1;
}
