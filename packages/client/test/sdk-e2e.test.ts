// Issue 6 item 7, first slice: two ParleyClients over a real Parley server on loopback
// (real SQLite, real WebSockets, real MLS): a 1:1 conversation both ways, a client
// restarted from its encrypted SQLite profile that still reads its history and keeps
// chatting, and a server database that holds none of the plaintexts.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { nodeCryptoProvider } from '@parley/mls/crypto-node';
import { startTestServer, startUncheckedTestServer, type TestServer } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeClientCrypto } from '../src/node/crypto.js';
import { openSqliteStore, type KdfParams } from '../src/node/sqlite-store.js';
import { nodeWebSocketFactory } from '../src/node-transport/ws.js';
import { next } from './helpers.js';
import { generateIdentityKey, issueDeviceCertificate, decodeDeviceCertificate } from '../src/identity/identity.js';
import { ParleyClient } from '../src/sdk/client.js';
import type { ParleyEvent } from '../src/sdk/events.js';
import type { ClientStore, WriteBatch } from '../src/store/client-store.js';
import { createMemoryStore } from '../src/store/memory-store.js';
import type { FetchLike } from '../src/transport/http.js';

const kdf: KdfParams = { N: 1 << 10, r: 8, p: 1 };
const passphrase = 'profile passphrase for the test';
const run = `${String(process.pid)}x${String(Date.now() % 100000)}`;

let server: TestServer;
const dirs: string[] = [];
/** Every line the server logged (at debug level) during these tests. */
const serverLog: string[] = [];

function profileDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'parley-sdk-'));
  dirs.push(d);
  return d;
}

async function openClient(dir: string): Promise<{ store: ClientStore; options: Parameters<typeof ParleyClient.register>[0] }> {
  const store = await openSqliteStore({ directory: dir, passphrase, kdf });
  return { store, options: { serverUrl: server.url, store, crypto: nodeClientCrypto, provider: nodeCryptoProvider, webSocket: nodeWebSocketFactory, keyPackages: 3 } };
}

const textOf = (e: ParleyEvent): string | undefined => (e.type === 'message' && e.message.body.type === 'text' ? e.message.body.text : undefined);

/** Every byte of every file under `dir` (database, WAL, journal…). */
function allBytes(dir: string): Buffer {
  const parts: Buffer[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else parts.push(readFileSync(p));
    }
  };
  walk(dir);
  return Buffer.concat(parts);
}

beforeAll(async () => {
  const logDestination = {
    write(line: string): void {
      serverLog.push(line);
    },
  };
  server = await startTestServer({}, { logLevel: 'debug', logDestination });
});

afterAll(async () => {
  await server.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  rmSync(server.dataDir, { recursive: true, force: true });
});

describe('two users chat through a real server', () => {
  it('1:1 both ways, survives a restart from the profile, and neither the server database nor its logs hold a plaintext', async () => {
    const aliceDir = profileDir();
    const bobDir = profileDir();
    const a = await openClient(aliceDir);
    const b = await openClient(bobDir);
    const alice = await ParleyClient.register(a.options, `alice${run}`, 'alice password 1', undefined, 'alice password 1 (backup)');
    let bob = await ParleyClient.register(b.options, `bob${run}`, 'bob password 1', undefined, 'bob password 1 (backup)');
    await alice.connect();
    await bob.connect();

    const bobJoins = next(bob, (e) => e.type === 'conversation');
    const conv = await alice.openDirect(bob.userId);
    const joined = await bobJoins;
    expect(joined.type === 'conversation' && joined.conversation.groupId).toBe(conv);

    const secrets = [`hello bob ${run}`, `hi alice, bob here ${run}`, `second from alice ${run}`, `after my restart ${run}`, `welcome back bob ${run}`];

    // Alice -> Bob.
    const got1 = next(bob, (e) => e.type === 'message');
    const sent1 = await alice.sendText(conv, secrets[0]!);
    expect(sent1.status).toBe('sent');
    expect(sent1.senderSeq).toBe(1);
    const e1 = await got1;
    expect(textOf(e1)).toBe(secrets[0]);
    expect(e1.type === 'message' && e1.message.sender).toEqual({ userId: alice.userId, deviceId: alice.deviceId });
    expect(e1.type === 'message' && [e1.gap, e1.replay]).toEqual([false, false]);

    // Bob -> Alice, through the async iterator this time.
    const it = alice.events();
    await bob.sendText(conv, secrets[1]!);
    let e2: ParleyEvent | undefined;
    for (;;) {
      const r = await it.next();
      if (r.done === true) break;
      if (r.value.type === 'message') {
        e2 = r.value;
        break;
      }
    }
    await it.return?.();
    expect(e2 && textOf(e2)).toBe(secrets[1]);
    expect(e2?.type === 'message' && e2.message.sender.userId).toBe(bob.userId);

    // A second message from Alice carries the next sequence number.
    const got3 = next(bob, (e) => e.type === 'message');
    await alice.sendText(conv, secrets[2]!);
    const e3 = await got3;
    expect(e3.type === 'message' && e3.message.senderSeq).toBe(2);

    // Bob's process stops; Alice keeps talking while he is away.
    await bob.close();
    await b.store.close();
    const whileAway = `sent while bob was away ${run}`;
    secrets.push(whileAway);
    await alice.sendText(conv, whileAway);

    // Bob restarts from his profile directory: history is there, the backlog arrives, chat goes on.
    const b2 = await openClient(bobDir);
    bob = await ParleyClient.open(b2.options, 'bob password 1');
    const history = await bob.history(conv);
    expect(history.map((m) => (m.body.type === 'text' ? m.body.text : ''))).toEqual([secrets[0], secrets[1], secrets[2]]);
    expect(history.map((m) => m.sender.userId)).toEqual([alice.userId, bob.userId, alice.userId]);
    await bob.sync();
    const after = await bob.history(conv);
    expect(after.at(-1)?.body).toEqual({ type: 'text', text: whileAway });
    expect(after.at(-1)?.senderSeq).toBe(3);
    await bob.connect();

    const got4 = next(alice, (e) => e.type === 'message');
    const sent4 = await bob.sendText(conv, secrets[3]!);
    expect(sent4.senderSeq).toBe(2); // Bob's counter survived the restart
    expect(textOf(await got4)).toBe(secrets[3]);
    const got5 = next(bob, (e) => e.type === 'message');
    await alice.sendText(conv, secrets[4]!);
    expect(textOf(await got5)).toBe(secrets[4]);

    // A new conversation after Bob's restart: the server hands out his OLDEST key package,
    // uploaded before the restart, so its private keys must have come back from the profile.
    const bobJoinsAgain = next(bob, (e) => e.type === 'conversation');
    const conv2 = await alice.openDirect(bob.userId);
    const joined2 = await bobJoinsAgain;
    expect(joined2.type === 'conversation' && joined2.conversation.groupId).toBe(conv2);
    expect(conv2).not.toBe(conv);
    const got6 = next(bob, (e) => e.type === 'message' && e.message.groupId === conv2);
    const inSecond = `in the second conversation ${run}`;
    secrets.push(inSecond);
    const sent6 = await alice.sendText(conv2, inSecond);
    expect(sent6.senderSeq).toBe(1); // sequence numbers are per conversation
    expect(textOf(await got6)).toBe(inSecond);
    expect((await bob.conversations()).map((c) => c.groupId).sort()).toEqual([conv, conv2].sort());

    const aliceHistory = await alice.history(conv);
    expect(aliceHistory.map((m) => (m.body.type === 'text' ? m.body.text : ''))).toEqual([secrets[0], secrets[1], secrets[2], whileAway, secrets[3], secrets[4]]);

    await alice.close();
    await bob.close();
    await a.store.close();
    await b2.store.close();

    // The server's files (database, WAL) and both profiles hold no plaintext. The check
    // itself is checked: the scanned server files do hold this conversation's id.
    const serverBytes = allBytes(server.dataDir);
    expect(serverBytes.length).toBeGreaterThan(0);
    for (const dir of [server.dataDir, aliceDir, bobDir]) {
      const bytes = dir === server.dataDir ? serverBytes : allBytes(dir);
      for (const s of secrets) expect(bytes.includes(Buffer.from(s, 'utf8'))).toBe(false);
    }
    expect(serverBytes.includes(Buffer.from(conv, 'utf8'))).toBe(true);
    // Nor do the server's logs, which did record this conversation's traffic.
    const log = serverLog.join('');
    expect(log).toContain(conv);
    for (const s of secrets) expect(log).not.toContain(s);
  }, 60_000);
});

describe('what the server does wrong is visible', () => {
  function memoryOptions(fetchImpl?: FetchLike, url = server.url): Parameters<typeof ParleyClient.register>[0] {
    return {
      serverUrl: url,
      store: createMemoryStore(),
      crypto: nodeClientCrypto,
      provider: nodeCryptoProvider,
      webSocket: nodeWebSocketFactory,
      keyPackages: 2,
      ...(fetchImpl !== undefined ? { fetch: fetchImpl } : {}),
    };
  }

  it('a message the server withholds shows up as a gap in the sender sequence', async () => {
    let withhold = false;
    // Alice's HTTP goes through a "server" that can silently swallow an application message.
    const lossy: FetchLike = (input, init) => {
      if (withhold && init.method === 'POST' && input.endsWith('/messages')) {
        withhold = false;
        return Promise.resolve({ status: 201, text: () => Promise.resolve('{"seq":1,"duplicate":false}') });
      }
      return fetch(input, init);
    };
    const alice = await ParleyClient.register(memoryOptions(lossy), `carla${run}`, 'carla password', undefined, 'carla password (backup)');
    const bob = await ParleyClient.register(memoryOptions(), `dave${run}`, 'dave password', undefined, 'dave password (backup)');
    await bob.connect();
    const joined = next(bob, (e) => e.type === 'conversation');
    const conv = await alice.openDirect(bob.userId);
    await joined;

    const first = next(bob, (e) => e.type === 'message');
    await alice.sendText(conv, 'one');
    const e1 = await first;
    expect(e1.type === 'message' && [e1.message.senderSeq, e1.gap]).toEqual([1, false]);

    withhold = true;
    await alice.sendText(conv, 'two (withheld)');
    const third = next(bob, (e) => e.type === 'message');
    await alice.sendText(conv, 'three');
    const e3 = await third;
    expect(e3.type === 'message' && [e3.message.senderSeq, e3.gap, e3.replay, textOf(e3)]).toEqual([3, true, false, 'three']);
    expect((await bob.history(conv)).map((m) => m.senderSeq)).toEqual([1, 3]);
    await alice.close();
    await bob.close();
  });

  it('server refusals arrive as typed errors with the server code; misuse as usage errors', async () => {
    const eOptions = memoryOptions();
    const erin = await ParleyClient.register(eOptions, `erin${run}`, 'erin password', undefined, 'erin password (backup)');
    await expect(ParleyClient.register(memoryOptions(), `erin${run}`, 'another password', undefined, 'another password (backup)')).rejects.toMatchObject({ name: 'ServerError', code: 'username-taken', status: 409 });
    await expect(erin.openDirect(`nobody${run}`)).rejects.toMatchObject({ code: 'unknown-user' });
    await expect(erin.openDirect(erin.userId)).rejects.toMatchObject({ code: 'self-conversation' });
    await expect(erin.sendText('no-such-conversation', 'x')).rejects.toMatchObject({ code: 'unknown-conversation' });
    // Printing a client shows who it is and no key material.
    const identity = await eOptions.store.getIdentity();
    if (identity === undefined) throw new Error('no identity');
    const secretHex = Buffer.from(identity.deviceSignaturePrivateKey.bytes).toString('hex');
    expect(inspect(erin, { depth: 10, showHidden: true })).toBe(`ParleyClient(${erin.userId}/${erin.deviceId})`);
    expect(JSON.parse(JSON.stringify(erin))).toEqual({ userId: erin.userId, deviceId: erin.deviceId });
    expect(inspect(erin) + JSON.stringify(erin)).not.toContain(secretHex);
    await erin.close();
  });


  it('a Welcome from a member whose device certificate its identity key did not sign is refused (by the server, and by the client when the server does not check)', async () => {
    // The real server refuses the forged device's key packages; a server that does not
    // check stands for a malicious one, and then the client must refuse.
    for (const checked of [true, false]) {
    const target = checked ? server : await startUncheckedTestServer();
    const mOptions = memoryOptions(undefined, target.url);
    const tag = checked ? 'c' : 'u';
    const mallory = await ParleyClient.register(mOptions, `mallory${tag}${run}`, 'mallory password', undefined, 'mallory password (backup)');
    // Mallory swaps her device certificate for one signed by a key that is not her identity key.
    const identity = await mOptions.store.getIdentity();
    if (identity === undefined) throw new Error('no identity');
    const cert = decodeDeviceCertificate(identity.deviceCertificate);
    const forged = await issueDeviceCertificate(nodeClientCrypto, await generateIdentityKey(nodeClientCrypto), {
      userId: cert.userId,
      deviceId: cert.deviceId,
      signatureKey: cert.signatureKey,
      cipherSuite: cert.cipherSuite,
      createdAt: cert.createdAt,
    });
    await mOptions.store.commit({ identity: { ...identity, deviceCertificate: forged } });
    await mallory.close();
    const forger = await ParleyClient.open(mOptions, 'mallory password');
    if (checked) {
      const peer = await ParleyClient.register(memoryOptions(undefined, target.url), `frank${tag}${run}`, 'frank password', undefined, 'frank password (backup)');
      await expect(forger.openDirect(peer.userId)).rejects.toMatchObject({ name: 'ServerError', code: 'invalid-group-info' });
      await forger.close();
      await peer.close();
      continue;
    }

    const bob = await ParleyClient.register(memoryOptions(undefined, target.url), `frank${tag}${run}`, 'frank password', undefined, 'frank password (backup)');
    await bob.connect();
    const refused = next(bob, (e) => e.type === 'warning' || e.type === 'conversation');
    await forger.openDirect(bob.userId);
    const e = await refused;
    expect(e).toMatchObject({ type: 'warning', code: 'unsigned-device', userId: forger.userId });
    expect(await bob.conversations()).toEqual([]);
    await forger.close();
    await bob.close();
    await target.close();
    rmSync(target.dataDir, { recursive: true, force: true });
    }
  });

  it('a message whose local write fails is not acknowledged: after a restart it is redelivered and stored once', async () => {
    const inner = createMemoryStore();
    let failMessageWrites = false;
    // A store whose writes carrying a received message fail (disk full…) until "restarted".
    const flaky = new Proxy(inner, {
      get(target, prop, receiver) {
        if (prop === 'commit') {
          return (b: WriteBatch): Promise<void> => {
            if (failMessageWrites && (b.messages?.length ?? 0) > 0) {
              return Promise.reject(new Error('simulated write failure'));
            }
            return target.commit(b);
          };
        }
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const alice = await ParleyClient.register(memoryOptions(), `gina${run}`, 'gina password', undefined, 'gina password (backup)');
    const hOptions = { ...memoryOptions(), store: flaky };
    let bob = await ParleyClient.register(hOptions, `hank${run}`, 'hank password', undefined, 'hank password (backup)');
    await bob.connect();
    const joined = next(bob, (e) => e.type === 'conversation');
    const conv = await alice.openDirect(bob.userId);
    await joined;

    failMessageWrites = true;
    const failed = next(bob, (e) => e.type === 'error' || e.type === 'message');
    await alice.sendText(conv, 'must not be lost');
    expect(await failed).toMatchObject({ type: 'error', groupId: conv });
    await bob.close(); // whatever was still queued (a redelivery) failed the same way
    expect(await bob.history(conv)).toEqual([]);
    failMessageWrites = false;

    bob = await ParleyClient.open(hOptions, 'hank password');
    await bob.sync();
    const history = await bob.history(conv);
    expect(history.map((m) => [m.senderSeq, m.body])).toEqual([[1, { type: 'text', text: 'must not be lost' }]]);
    await bob.sync(); // nothing new, nothing twice
    expect(await bob.history(conv)).toHaveLength(1);
    await alice.close();
    await bob.close();
  });

  it('concurrent sends over the WebSocket arrive in order, numbered 1..n without gaps', async () => {
    const alice = await ParleyClient.register(memoryOptions(), `ivy${run}`, 'ivy password', undefined, 'ivy password (backup)');
    const bob = await ParleyClient.register(memoryOptions(), `jack${run}`, 'jack password', undefined, 'jack password (backup)');
    await alice.connect();
    await bob.connect();
    const joined = next(bob, (e) => e.type === 'conversation');
    const conv = await alice.openDirect(bob.userId);
    await joined;
    const n = 60;
    const received: ParleyEvent[] = [];
    const all = new Promise<void>((resolve) => {
      bob.on((e) => {
        if (e.type === 'message') received.push(e);
        if (received.length === n) resolve();
      });
    });
    const sent = await Promise.all(Array.from({ length: n }, (_, i) => alice.sendText(conv, `burst ${String(i)}`)));
    expect(sent.map((m) => m.status)).toEqual(Array.from({ length: n }, () => 'sent'));
    await all;
    expect(received.map((e) => e.type === 'message' && [e.message.senderSeq, textOf(e), e.gap, e.replay])).toEqual(
      Array.from({ length: n }, (_, i) => [i + 1, `burst ${String(i)}`, false, false]),
    );
    await alice.close();
    await bob.close();
  });
});
