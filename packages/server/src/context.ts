// What every route and the WebSocket gateway share: the store, the bus, the
// configuration, the MLS inspector, the rate limiters, the metrics, and the
// authentication helpers.

import type { Logger } from 'pino';
import { TOKEN_PATTERN } from '@parley/protocol';
import type { Bus } from './bus.js';
import type { ServerConfig } from './config.js';
import type { Delivery } from './delivery.js';
import { ApiError } from './errors.js';
import type { Metrics } from './metrics.js';
import type { MlsInspector } from './mls/inspector.js';
import { RateLimiter } from './ratelimit.js';
import { tokenHash } from './auth/tokens.js';
import type { SessionRecord, Store, UserRecord } from './store/store.js';

export interface Limiters {
  readonly loginPerAddress: RateLimiter;
  readonly loginPerAccount: RateLimiter;
  readonly registerPerAddress: RateLimiter;
  readonly registerPerAccount: RateLimiter | undefined;
  readonly sendPerAccount: RateLimiter;
  readonly sendPerAddress: RateLimiter;
  readonly claimPerAccount: RateLimiter | undefined;
  readonly searchPerAccount: RateLimiter | undefined;
  readonly searchPerAddress: RateLimiter | undefined;
}

export interface Ctx {
  readonly config: ServerConfig;
  readonly store: Store;
  readonly bus: Bus;
  readonly delivery: Delivery;
  readonly inspector: MlsInspector;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly limiters: Limiters | null;
  readonly now: () => number;
  readonly attachmentsDir: string;
}

export function makeLimiters(config: ServerConfig, now: () => number): Limiters | null {
  const r = config.rateLimits;
  if (r === null) return null;
  return {
    loginPerAddress: new RateLimiter(r.loginPerAddress, now),
    loginPerAccount: new RateLimiter(r.loginPerAccount, now),
    registerPerAddress: new RateLimiter(r.registerPerAddress, now),
    registerPerAccount: r.registerPerAccount === undefined ? undefined : new RateLimiter(r.registerPerAccount, now),
    sendPerAccount: new RateLimiter(r.sendPerAccount, now),
    sendPerAddress: new RateLimiter(r.sendPerAddress, now),
    claimPerAccount: r.claimPerAccount === undefined ? undefined : new RateLimiter(r.claimPerAccount, now),
    searchPerAccount: r.searchPerAccount === undefined ? undefined : new RateLimiter(r.searchPerAccount, now),
    searchPerAddress: r.searchPerAddress === undefined ? undefined : new RateLimiter(r.searchPerAddress, now),
  };
}

/** Throws `rate-limited` if the bucket of `key` is empty. */
export function limit(limiter: RateLimiter | undefined, key: string): void {
  if (limiter === undefined) return;
  const wait = limiter.take(key);
  if (wait > 0) throw new ApiError('rate-limited', 'too many requests; retry later', { retryAfter: wait });
}

export interface Authenticated {
  readonly session: SessionRecord;
  readonly user: UserRecord;
}

export interface AuthenticatedDevice extends Authenticated {
  readonly deviceId: string;
}

const tokenRe = new RegExp(TOKEN_PATTERN);

/** Resolves a bearer token to its live session and active user, or throws `unauthenticated`. */
export async function authenticate(ctx: Ctx, token: string | undefined): Promise<Authenticated> {
  if (token === undefined || !tokenRe.test(token)) throw new ApiError('unauthenticated', 'a valid session token is required');
  const session = await ctx.store.getSession(tokenHash(token));
  if (session === null || session.expiresAt <= ctx.now()) throw new ApiError('unauthenticated', 'a valid session token is required');
  const user = await ctx.store.getUser(session.userId);
  if (user === null || !user.active) throw new ApiError('unauthenticated', 'a valid session token is required');
  return { session, user };
}

/** Whether a session (already authenticated once) still holds: not revoked, not expired, its user active. */
export async function sessionStillValid(ctx: Ctx, session: SessionRecord): Promise<'ok' | 'revoked' | 'deactivated'> {
  const now = await ctx.store.getSession(session.tokenHash);
  if (now === null || now.expiresAt <= ctx.now()) return 'revoked';
  const user = await ctx.store.getUser(now.userId);
  return user?.active === true ? 'ok' : 'deactivated';
}

export function bearer(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const m = /^Bearer ([A-Za-z0-9_-]{1,100})$/.exec(header);
  return m?.[1];
}

export async function authenticateDevice(ctx: Ctx, token: string | undefined): Promise<AuthenticatedDevice> {
  const a = await authenticate(ctx, token);
  if (a.session.deviceId === null) throw new ApiError('device-required', 'register a device with this session first');
  return { ...a, deviceId: a.session.deviceId };
}
