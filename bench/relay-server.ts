// The server process of `npm run bench:relay`: a real server on 127.0.0.1 over a temp
// data directory (durable: synchronous=FULL), no rate limits. Prints "LISTENING <url>".
import { defaultConfig, EnvelopeInspector, startServer } from '@parley/server';

const dataDir = process.argv[2];
if (dataDir === undefined) throw new Error('usage: relay-server.ts <dataDir>');
const server = await startServer(
  defaultConfig({ dataDir, port: 0, registration: { policy: 'open', domains: [] }, scrypt: { N: 1024, r: 8, p: 1 }, rateLimits: null, wsMaxBufferedBytes: 32 << 20 }),
  // The bench sets its groups up with stand-in MLS bytes (it measures the relay of
  // application messages), so it runs the envelope-trusting inspector, never `parley serve`'s.
  { logLevel: 'warn', inspector: new EnvelopeInspector() },
);
process.stdout.write(`LISTENING ${server.url}\n`);
process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
