// Shared by the SDK's end-to-end tests: clients over a real server on loopback, with
// in-memory stores unless a test needs the SQLite profile, and waiting for events.
import { nodeCryptoProvider } from '@parley/mls/crypto-node';
import type { TestServer } from '@parley/testing';
import { nodeClientCrypto } from '../src/node/crypto.js';
import { nodeWebSocketFactory } from '../src/node-transport/ws.js';
import { ParleyClient, type ParleyClientOptions } from '../src/sdk/client.js';
import type { ParleyEvent } from '../src/sdk/events.js';
import { createMemoryStore } from '../src/store/memory-store.js';
import type { ClientStore } from '../src/store/client-store.js';
import { HttpApi, type FetchLike } from '../src/transport/http.js';

export const run = `${String(process.pid)}x${String(Date.now() % 100000)}`;

/** scrypt for identity backups, cheap enough for tests (the default is N = 2^17). */
export const testBackupKdf = { logN: 10, r: 8, p: 1 } as const;

export function clientOptions(server: TestServer, extra: { store?: ClientStore; fetch?: FetchLike; keyPackages?: number } = {}): ParleyClientOptions {
  return {
    serverUrl: server.url,
    store: extra.store ?? createMemoryStore(),
    crypto: nodeClientCrypto,
    provider: nodeCryptoProvider,
    webSocket: nodeWebSocketFactory,
    keyPackages: extra.keyPackages ?? 3,
    backupKdf: testBackupKdf,
    ...(extra.fetch !== undefined ? { fetch: extra.fetch } : {}),
  };
}

/** Registers `name` (made unique per run) with password `${name} password` and backup passphrase `${name} passphrase`. */
export async function registerUser(
  server: TestServer,
  name: string,
  extra: Parameters<typeof clientOptions>[1] = {},
): Promise<{ client: ParleyClient; options: ParleyClientOptions; password: string; passphrase: string }> {
  const options = clientOptions(server, extra);
  const password = `${name} password`;
  const passphrase = `${name} passphrase`;
  const client = await ParleyClient.register(options, `${name.toLowerCase()}${run}`, password, undefined, passphrase);
  return { client, options, password, passphrase };
}

/** Waits for the next event matching `pred` (events already emitted are not replayed). */
export function next(client: ParleyClient, pred: (e: ParleyEvent) => boolean, timeoutMs = 15_000): Promise<ParleyEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error('timed out waiting for an event'));
    }, timeoutMs);
    const off = client.on((e) => {
      if (pred(e)) {
        clearTimeout(timer);
        off();
        resolve(e);
      }
    });
  });
}

/** Every event of `client` from now on. */
export function record(client: ParleyClient): ParleyEvent[] {
  const seen: ParleyEvent[] = [];
  client.on((e) => seen.push(e));
  return seen;
}

export const textOf = (e: ParleyEvent): string | undefined => (e.type === 'message' && e.message.body.type === 'text' ? e.message.body.text : undefined);

export async function texts(client: ParleyClient, groupId: string): Promise<string[]> {
  return (await client.history(groupId)).flatMap((m) => (m.body.type === 'text' ? [m.body.text] : []));
}

/** An HTTP session of an existing device, as a test (or a hostile insider) would drive it. */
export async function deviceApi(server: TestServer, userId: string, password: string, deviceId: string): Promise<HttpApi> {
  const api = new HttpApi(server.url);
  const s = await api.login(userId, password, deviceId);
  api.setToken(s.token);
  return api;
}
