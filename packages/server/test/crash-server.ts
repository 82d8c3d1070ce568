// Child process for the crash-safety test: a server on 127.0.0.1 (port 0) over the
// given data directory, as `parley serve` runs it. Prints "LISTENING <url>" when ready.
import { defaultConfig, startServer } from '../src/index.js';

const dataDir = process.argv[2];
if (dataDir === undefined) throw new Error('usage: crash-server.ts <dataDir>');
const server = await startServer(
  defaultConfig({ dataDir, port: 0, registration: { policy: 'open', domains: [] }, scrypt: { N: 1024, r: 8, p: 1 }, rateLimits: null }),
  { logLevel: 'silent' },
);
process.stdout.write(`LISTENING ${server.url}\n`);
