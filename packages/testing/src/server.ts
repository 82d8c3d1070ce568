// A real Parley server on loopback for tests: port 0, a fresh temp data directory,
// real SQLite, real WebSockets; fast scrypt parameters and no rate limits unless asked.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, EnvelopeInspector, startServer, type RunningServer, type ServerConfig, type StartOptions } from '@parley/server';

export interface TestServer {
  readonly url: string;
  readonly wsUrl: string;
  readonly dataDir: string;
  readonly server: RunningServer;
  close(): Promise<void>;
}

export async function startTestServer(overrides: Partial<ServerConfig> = {}, options: StartOptions = {}): Promise<TestServer> {
  const dataDir = overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'parley-server-'));
  const config = defaultConfig({
    port: 0,
    registration: { policy: 'open', domains: [] },
    scrypt: { N: 1024, r: 8, p: 1 },
    rateLimits: null,
    synchronous: 'normal',
    ...overrides,
    dataDir,
  });
  const server = await startServer(config, { logLevel: 'silent', ...options });
  const close = async (): Promise<void> => {
    // An error answer with a code its route does not declare (the OpenAPI document's list) is a bug: it fails the test that caused it.
    // So is an error frame whose code its frame type does not declare (FRAME_ERROR_CODES).
    const undeclared = (await server.ctx.metrics.undeclaredErrors.get()).values.filter((v) => v.value > 0);
    const undeclaredWs = (await server.ctx.metrics.wsUndeclaredErrors.get()).values.filter((v) => v.value > 0);
    await server.close();
    if (undeclared.length > 0) throw new Error(`error codes not declared by their routes: ${undeclared.map((v) => `${String(v.labels.method)} ${String(v.labels.route)} ${String(v.labels.code)} (${v.value})`).join(', ')}`);
    if (undeclaredWs.length > 0) throw new Error(`error codes not declared for their frames: ${undeclaredWs.map((v) => `${String(v.labels.frame)} ${String(v.labels.code)} (${v.value})`).join(', ')}`);
  };
  return { url: server.url, wsUrl: server.url.replace(/^http/, 'ws') + '/v1/ws', dataDir, server, close };
}

/**
 * A server that does NOT check MLS (it trusts the envelope's epoch and added/removed
 * devices): it stands for a malicious or broken server in client tests that must show the
 * clients refuse what a real server would already have refused (forged commits, unsigned
 * device certificates). Never a model of `parley serve`.
 */
export function startUncheckedTestServer(overrides: Partial<ServerConfig> = {}, options: StartOptions = {}): Promise<TestServer> {
  return startTestServer(overrides, { ...options, inspector: new EnvelopeInspector() });
}
