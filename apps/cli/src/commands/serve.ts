// `parley serve`: runs the server until SIGINT/SIGTERM, then stops it cleanly.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultConfig, startServer } from '@parley/server';
import type { Io } from '../io.js';

/** The web app's build (apps/web/dist), the same relative path from src/ and dist/. */
const WEB_DIST = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

const HELP = `usage: parley serve [--port 8080] [--host 127.0.0.1] [--data ./data]
                    [--registration open|invite|domains] [--allowed-domains a.gouv.fr,b.gouv.fr]
                    [--retention-days 30] [--log-level info] [--durability full|normal]
                    [--store-thread worker|main] [--web apps/web/dist]
`;

export async function serve(argv: readonly string[], io: Io): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string', default: '8080' },
        host: { type: 'string', default: '127.0.0.1' },
        data: { type: 'string', default: './data' },
        registration: { type: 'string', default: 'invite' },
        'allowed-domains': { type: 'string', default: '' },
        'retention-days': { type: 'string', default: '30' },
        'log-level': { type: 'string', default: 'info' },
        durability: { type: 'string', default: 'full' },
        'store-thread': { type: 'string', default: 'main' },
        web: { type: 'string', default: WEB_DIST },
        'no-rate-limits': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (e) {
    io.err(`parley serve: ${(e as Error).message}\n${HELP}`);
    return 2;
  }
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const port = Number(values.port);
  const retentionDays = Number(values['retention-days']);
  const policy = values.registration;
  if (!Number.isInteger(port) || port < 0 || port > 65535) return usage(io, 'port must be 0..65535');
  if (!(retentionDays > 0)) return usage(io, 'retention-days must be positive');
  if (policy !== 'open' && policy !== 'invite' && policy !== 'domains') return usage(io, 'registration must be open, invite or domains');
  if (values.durability !== 'full' && values.durability !== 'normal') return usage(io, 'durability must be full or normal');
  const storeThread = values['store-thread'];
  if (storeThread !== 'worker' && storeThread !== 'main') return usage(io, 'store-thread must be worker or main');
  const domains = values['allowed-domains'].split(',').map((d) => d.trim().toLowerCase()).filter((d) => d !== '');
  if (policy === 'domains' && domains.length === 0) return usage(io, '--registration domains needs --allowed-domains');

  const base = defaultConfig({ dataDir: values.data });
  const config = defaultConfig({
    dataDir: values.data,
    host: values.host,
    port,
    registration: { policy, domains },
    retentionMs: retentionDays * 86_400_000,
    synchronous: values.durability,
    storeThread,
    rateLimits: values['no-rate-limits'] ? null : base.rateLimits,
    ...(existsSync(join(values.web, 'index.html')) ? { webRoot: values.web } : {}),
  });
  const server = await startServer(config, { logLevel: values['log-level'] });
  io.out(`parley: listening on ${server.url} (data in ${values.data}, registration ${policy})\n`);
  io.out(config.webRoot === undefined ? `parley: no web app in ${values.web} (npm run build makes it)\n` : `parley: web app at ${server.url}/\n`);
  return new Promise((resolve) => {
    const stop = (signal: string): void => {
      io.out(`parley: ${signal}, stopping\n`);
      server.close().then(
        () => {
          resolve(0);
        },
        () => {
          resolve(1);
        },
      );
    };
    process.once('SIGINT', () => {
      stop('SIGINT');
    });
    process.once('SIGTERM', () => {
      stop('SIGTERM');
    });
  });
}

function usage(io: Io, why: string): number {
  io.err(`parley serve: ${why}\n${HELP}`);
  return 2;
}
