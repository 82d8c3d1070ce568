// The hostile-server harness itself (packages/testing/src/hostile-server.ts): clients
// talking through it to the real server work as usual when it passes everything, and
// each of its powers (rewrite an HTTP answer, drop, duplicate and inject WebSocket
// frames) really reaches the client — so an attack test that sees a client refuse
// something knows the attack was carried out.
import { nodeCryptoProvider } from '@parley/mls/crypto-node';
import { ParleyClient, createMemoryStore, type ParleyEvent } from '@parley/client';
import { nodeClientCrypto, nodeWebSocketFactory } from '@parley/client/node';
import { json, startHostileServer, startTestServer, type HostileServer, type TestServer } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let server: TestServer;
let hostile: HostileServer;
const clients: ParleyClient[] = [];

beforeAll(async () => {
  server = await startTestServer();
  hostile = await startHostileServer({ upstream: server.url });
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await hostile.close();
  await server.close();
});

async function register(name: string): Promise<ParleyClient> {
  const options = { serverUrl: hostile.url, store: createMemoryStore(), crypto: nodeClientCrypto, provider: nodeCryptoProvider, webSocket: nodeWebSocketFactory, keyPackages: 2 };
  const c = await ParleyClient.register(options, name, `password of ${name}`, undefined, `backup passphrase of ${name}`);
  clients.push(c);
  return c;
}

function next(client: ParleyClient, pred: (e: ParleyEvent) => boolean): Promise<ParleyEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error('timed out waiting for an event'));
    }, 10_000);
    const off = client.on((e) => {
      if (pred(e)) {
        clearTimeout(timer);
        off();
        resolve(e);
      }
    });
  });
}

const text = (e: ParleyEvent): string | undefined => (e.type === 'message' && e.message.body.type === 'text' ? e.message.body.text : undefined);

describe('hostile-server harness', () => {
  it('relays HTTP and WebSockets unchanged, records what it saw, and its hooks reach the client', async () => {
    const run = String(process.pid);
    const alice = await register(`alice${run}`);
    const bob = await register(`bob${run}`);
    await alice.connect();
    await bob.connect();
    const bobConn = await hostile.waitForConnection(bob.deviceId);
    expect(bobConn.userId).toBe(bob.userId);

    // Passing everything: a 1:1 conversation works through the proxy.
    const joined = next(bob, (e) => e.type === 'conversation');
    const conv = await alice.openDirect(bob.userId);
    await joined;
    const first = next(bob, (e) => text(e) === 'one');
    await alice.sendText(conv, 'one');
    await first;
    expect(bobConn.delivered.some((f) => f.kind === 'application' && f.groupId === conv)).toBe(true);
    expect(hostile.exchanges.some((x) => x.request.url === `/v1/users/${bob.userId}`)).toBe(true);

    // Dropping: the next application frame for bob never reaches him.
    let dropped = 0;
    const offDrop = hostile.onDeliver((f, c) => {
      if (c.deviceId === bob.deviceId && f.kind === 'application' && dropped === 0) {
        dropped += 1;
        return 'drop';
      }
      return 'pass';
    });
    await alice.sendText(conv, 'two');
    offDrop();
    const third = next(bob, (e) => text(e) === 'three');
    await alice.sendText(conv, 'three');
    const e3 = await third;
    expect(dropped).toBe(1);
    // The client already numbers each sender's messages: the hole is visible.
    expect(e3.type === 'message' && e3.message.senderSeq).toBe(3);
    expect(e3.type === 'message' && e3.gap).toBe(true);

    // Injecting: a frame the server never sent reaches the client (here, a copy of the
    // last application message under a new seq and id — a replay).
    const last = bobConn.delivered.filter((f) => f.kind === 'application').at(-1);
    if (last === undefined) throw new Error('no application frame recorded');
    const refused = next(bob, (e) => e.type === 'error' || (e.type === 'message' && e.replay));
    bobConn.inject({ ...last, seq: last.seq + 1000, messageId: new Uint8Array(16).fill(7) });
    const seen = await refused;
    expect(seen.type === 'error' || (seen.type === 'message' && seen.replay)).toBe(true);

    // Rewriting HTTP: the directory answer is the attacker's.
    const offHttp = hostile.onResponse((res, req) => (req.url === `/v1/users/${bob.userId}` ? json.replace(res, { ...json.parse(res), identityKey: Buffer.alloc(32, 1).toString('base64') }) : undefined));
    const answer = await fetch(`${hostile.url}/v1/users/${bob.userId}`);
    const body = (await answer.json()) as { identityKey: string };
    offHttp();
    expect(body.identityKey).toBe(Buffer.alloc(32, 1).toString('base64'));
  });
});
