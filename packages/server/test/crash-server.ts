// Child process for the crash-safety test: a server on 127.0.0.1 (port 0) over the
// given data directory, as `parley serve` runs it, with the durability given as the
// second argument (full | normal, default full). Prints "LISTENING <url>" when ready.
import { defaultConfig, startServer } from '../src/index.js';

const dataDir = process.argv[2];
if (dataDir === undefined) throw new Error('usage: crash-server.ts <dataDir> [full|normal]');
const durability = process.argv[3] ?? 'full';
if (durability !== 'full' && durability !== 'normal') throw new Error('durability must be full or normal');
const server = await startServer(
  defaultConfig({ dataDir, port: 0, registration: { policy: 'open', domains: [] }, scrypt: { N: 1024, r: 8, p: 1 }, rateLimits: null, synchronous: durability }),
  { logLevel: 'silent' },
);
process.stdout.write(`LISTENING ${server.url}\n`);
