// The server process of `npm run bench:relay`: a real server on 127.0.0.1 over a temp
// data directory (durable: synchronous=FULL), no rate limits. Prints "LISTENING <url>".
// PARLEY_BENCH_STORE_THREAD=main|worker (default: the server's default, main) picks where
// its SQLite runs (ServerConfig.storeThread), to compare the two.
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { defaultConfig, EnvelopeInspector, startServer } from '@parley/server';

const dataDir = process.argv[2];
if (dataDir === undefined) throw new Error('usage: relay-server.ts <dataDir>');
const storeThread = process.env.PARLEY_BENCH_STORE_THREAD ?? 'main';
if (storeThread !== 'worker' && storeThread !== 'main') throw new Error('PARLEY_BENCH_STORE_THREAD must be worker or main');
// PARLEY_BENCH_SYNC=normal (default full): no fsync at all, to tell the disk's share of the
// latency tail from the server's; not durable against a power loss, so never a reported figure.
const synchronous = process.env.PARLEY_BENCH_SYNC ?? 'full';
if (synchronous !== 'full' && synchronous !== 'normal') throw new Error('PARLEY_BENCH_SYNC must be full or normal');
const server = await startServer(
  defaultConfig({ dataDir, port: 0, registration: { policy: 'open', domains: [] }, scrypt: { N: 1024, r: 8, p: 1 }, rateLimits: null, wsMaxBufferedBytes: 32 << 20, storeThread, synchronous }),
  // The bench sets its groups up with stand-in MLS bytes (it measures the relay of
  // application messages), so it runs the envelope-trusting inspector, never `parley serve`'s.
  { logLevel: 'warn', inspector: new EnvelopeInspector() },
);
process.stdout.write(`LISTENING ${server.url}\n`);

// Where the latency tail comes from: the event loop's delay and the GC pauses since the
// last SIGUSR2, printed as one "LOOP {json}" line on each (the bench asks around a step).
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
let gcMaxMs = 0;
let gcTotalMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcTotalMs += e.duration;
    gcMaxMs = Math.max(gcMaxMs, e.duration);
  }
}).observe({ entryTypes: ['gc'] });
process.on('SIGUSR2', () => {
  process.stdout.write(`LOOP ${JSON.stringify({ p99Ms: loop.percentile(99) / 1e6, maxMs: loop.max / 1e6, gcMaxMs, gcTotalMs })}\n`);
  loop.reset();
  gcMaxMs = 0;
  gcTotalMs = 0;
});
process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
