// Starting and stopping a Parley server: open (and migrate) the store, build the HTTP
// app and the WebSocket gateway, listen, prune on a timer; on close, stop accepting,
// let in-flight requests finish, close the sockets, flush pending writes, close the DB.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DestinationStream, Logger } from 'pino';
import { InProcessBus, type Bus } from './bus.js';
import type { ServerConfig } from './config.js';
import { makeLimiters, type Ctx } from './context.js';
import { Delivery } from './delivery.js';
import { buildApp } from './http/app.js';
import { pruneAttachments } from './http/attachments.js';
import { createLogger } from './logger.js';
import { Metrics } from './metrics.js';
import { nodeCryptoProvider } from '@parley/mls/crypto-node';
import type { MlsInspector } from './mls/inspector.js';
import { PublicInspector } from './mls/public-inspector.js';
import { SqliteStore, UNSYNCED_MAX } from './store/sqlite.js';
import type { Store } from './store/store.js';
import { WorkerStore } from './store/worker-store.js';
import { Gateway } from './ws/gateway.js';

export interface StartOptions {
  readonly store?: Store;
  readonly bus?: Bus;
  /** Default: PublicInspector (the engine's public group view). EnvelopeInspector only for tests and benchmarks with stand-in bytes. */
  readonly inspector?: MlsInspector;
  readonly logger?: Logger;
  readonly logLevel?: string;
  readonly logDestination?: DestinationStream;
  readonly now?: () => number;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly ctx: Ctx;
  readonly gateway: Gateway;
  close(): Promise<void>;
}

/** The server's own store over `<dataDir>/parley.db`, on the thread `config.storeThread` names. */
async function openOwnStore(config: ServerConfig): Promise<SqliteStore | WorkerStore> {
  const file = join(config.dataDir, 'parley.db');
  const options = { synchronous: config.synchronous, backgroundCheckpoint: true, deferredSync: true } as const;
  switch (config.storeThread) {
    case 'worker':
      return WorkerStore.open(file, options);
    case 'main':
      return new SqliteStore(file, options);
    default:
      throw new Error(`storeThread must be 'worker' or 'main', not ${JSON.stringify(config.storeThread)}`);
  }
}

export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  mkdirSync(config.dataDir, { recursive: true });
  const attachmentsDir = join(config.dataDir, 'attachments');
  mkdirSync(attachmentsDir, { recursive: true });
  const log = options.logger ?? createLogger(options.logLevel ?? 'info', options.logDestination);
  const own = options.store === undefined ? await openOwnStore(config) : undefined;
  const store = options.store ?? own!;
  if (own !== undefined && own.uncleanStartGroups > 0) {
    log.warn({ groups: own.uncleanStartGroups, by: UNSYNCED_MAX }, 'unclean start (crash, kill or power loss): every group log skips ahead so that no seq a recipient may have seen is reused');
  }
  const bus = options.bus ?? new InProcessBus();
  const metrics = new Metrics();
  const now = options.now ?? Date.now;
  const ctx: Ctx = {
    config,
    store,
    bus,
    delivery: new Delivery(store, bus, metrics),
    inspector: options.inspector ?? new PublicInspector({ provider: nodeCryptoProvider, store, now }),
    metrics,
    log,
    limiters: makeLimiters(config, now),
    now,
    attachmentsDir,
  };
  const app = await buildApp(ctx);
  const gateway = new Gateway(ctx);
  app.server.on('upgrade', (req, socket, head) => {
    gateway.handleUpgrade(req, socket, head);
  });
  await app.listen({ host: config.host, port: config.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;

  const prune = setInterval(() => {
    // Attachments go with the retention of the messages that point at them.
    pruneAttachments(ctx, now() - config.retentionMs).catch((e: unknown) => {
      log.warn({ err: e }, 'attachment prune failed');
    });
    store.prune(now() - config.retentionMs).then(
      (n) => {
        metrics.pruned.inc(n);
      },
      (e: unknown) => {
        log.warn({ err: e }, 'prune failed');
      },
    );
  }, config.pruneIntervalMs);
  prune.unref();

  // `parley admin` writes to the database directly (no server needs to run); when it has,
  // the open WebSockets are checked again, so a user it deactivated is cut within one poll.
  // A per-frame session check would cost a read on the hot path and miss idle sockets.
  let version = await store.externalVersion();
  let revalidating = false;
  const watch = setInterval(() => {
    if (revalidating) return;
    revalidating = true;
    store
      .externalVersion()
      .then(async (v) => {
        if (v === version) return;
        version = v;
        await gateway.revalidate();
      })
      .catch((e: unknown) => {
        log.warn({ err: e }, 'external write check failed');
      })
      .finally(() => {
        revalidating = false;
      });
  }, config.externalWritePollMs);
  watch.unref();

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      clearInterval(prune);
      clearInterval(watch);
      await gateway.close();
      await app.close();
      await ctx.delivery.drain();
      await bus.close();
      await store.close();
      log.info('server stopped');
    })());

  log.info({ url: `http://${host}:${port}` }, 'server listening');
  return { url: `http://${host}:${port}`, port, ctx, gateway, close };
}
