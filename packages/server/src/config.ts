// Server configuration, with the defaults `parley serve` uses.

import type { RegistrationPolicy } from '@parley/protocol';
import type { ScryptParams } from './auth/password.js';
import { DEFAULT_SCRYPT } from './auth/password.js';
import type { RateLimit } from './ratelimit.js';

export interface RateLimits {
  readonly loginPerAddress: RateLimit;
  readonly loginPerAccount: RateLimit;
  readonly registerPerAddress: RateLimit;
  /** Per requested user name: probing or racing for one name. Optional for older configs. */
  readonly registerPerAccount?: RateLimit;
  readonly sendPerAccount: RateLimit;
  readonly sendPerAddress: RateLimit;
  /** Key-package claims per claiming account (draining another user's packages). Optional for older configs. */
  readonly claimPerAccount?: RateLimit;
  /** Directory prefix searches (`GET /v1/users?prefix=`) per searching account: enumerating the directory. Optional for older configs. */
  readonly searchPerAccount?: RateLimit;
  /** Directory prefix searches per address, counted before the session is checked. Optional for older configs. */
  readonly searchPerAddress?: RateLimit;
}

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  /** Directory of the database and the attachments. */
  readonly dataDir: string;
  readonly registration: { readonly policy: RegistrationPolicy; readonly domains: readonly string[] };
  /** How long an unacknowledged message is kept. */
  readonly retentionMs: number;
  readonly sessionTtlMs: number;
  readonly limits: {
    readonly jsonBody: number;
    readonly message: number;
    readonly attachment: number;
    readonly keyPackagesPerDevice: number;
  };
  /** Bytes of attachments one user may keep stored, over all its devices (`quota-exceeded` past it). */
  readonly attachmentQuotaBytes: number;
  readonly rateLimits: RateLimits | null;
  readonly scrypt: ScryptParams;
  /**
   * The server pings every WebSocket at this interval; a peer that has not answered (pong,
   * or any frame) since the previous ping is cut: a dead peer goes within 2 intervals.
   */
  readonly heartbeatMs: number;
  /**
   * A WebSocket whose unsent bytes (data frames and control frames alike) exceed this is
   * disconnected (it catches up on reconnect), so a stalled peer holds at most this much.
   */
  readonly wsMaxBufferedBytes: number;
  /** Open WebSockets, authenticated or not yet, beyond which upgrades get 429 `too-many-connections`. */
  readonly wsMaxConnections: number;
  /** Authenticated WebSockets per device; one more closes the device's oldest (4029). */
  readonly wsMaxConnectionsPerDevice: number;
  /** A WebSocket that has not authenticated within this is closed (4001). */
  readonly wsAuthTimeoutMs: number;
  readonly synchronous: 'full' | 'normal';
  /**
   * Where the server's SQLite runs: 'main' (default) on the event loop itself; 'worker' on a
   * thread of its own, so the event loop never executes a statement or waits on the disk.
   * 'main' is the default by measurement (bench/README.md, 2026-12-04): the worker lowered
   * the loop's delay under load but cost 10-35 % more CPU per message (each batch crosses
   * threads twice) and did not lower the end-to-end p99.
   */
  readonly storeThread: 'worker' | 'main';
  readonly pruneIntervalMs: number;
  /**
   * How often the server checks whether another process wrote to its database (`parley
   * admin deactivate-user`); when one did, every open WebSocket's session is checked again
   * and those no longer valid are closed (4003).
   */
  readonly externalWritePollMs: number;
  /** The built web app (apps/web/dist) to serve at `/`; none when undefined. */
  readonly webRoot?: string;
}

const DAY = 24 * 60 * 60 * 1000;

export function defaultConfig(overrides: Partial<ServerConfig> & Pick<ServerConfig, 'dataDir'>): ServerConfig {
  return {
    host: '127.0.0.1',
    port: 8080,
    registration: { policy: 'invite', domains: [] },
    retentionMs: 30 * DAY,
    sessionTtlMs: 90 * DAY,
    limits: { jsonBody: 1 << 20, message: 256 << 10, attachment: 100 << 20, keyPackagesPerDevice: 1000 },
    attachmentQuotaBytes: 1 << 30,
    rateLimits: {
      loginPerAddress: { rate: 1, burst: 20 },
      loginPerAccount: { rate: 0.2, burst: 10 },
      registerPerAddress: { rate: 0.1, burst: 10 },
      registerPerAccount: { rate: 0.1, burst: 5 },
      sendPerAccount: { rate: 200, burst: 2000 },
      sendPerAddress: { rate: 20_000, burst: 40_000 },
      // A group of 200 can be created at once; then about one new member every 2 s.
      claimPerAccount: { rate: 0.5, burst: 200 },
      // Search-as-you-type: a burst of 30 keystrokes, then 2 searches a second.
      searchPerAccount: { rate: 2, burst: 30 },
      searchPerAddress: { rate: 20, burst: 300 },
    },
    scrypt: DEFAULT_SCRYPT,
    heartbeatMs: 30_000,
    wsMaxBufferedBytes: 8 << 20,
    wsMaxConnections: 100_000,
    wsMaxConnectionsPerDevice: 8,
    wsAuthTimeoutMs: 10_000,
    synchronous: 'full',
    storeThread: 'main',
    pruneIntervalMs: 60_000,
    externalWritePollMs: 1000,
    ...overrides,
  };
}
