// The WebSocket gateway under stress and failure: heartbeats that cut a dead peer,
// backpressure on control frames (a peer that stops reading cannot grow the server's
// memory), connection caps, error frames that name the frame they answer, and resumption
// from the durable cursor after a reconnect. Real server on loopback, real sockets.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { PROTOCOL_VERSION, encodeSendFrame, type ServerControlFrame } from '@parley/protocol';
import { MlsDevice, mlsGroup, newUser, startTestServer, WsClient, type TestServer } from '@parley/testing';

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

function pauseReading(c: WsClient): void {
  (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
}

async function waitFor(pred: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('heartbeat', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ heartbeatMs: 50 });
  });
  afterAll(async () => {
    await srv.close();
  });

  it('pings every connection; a live peer stays, a dead one (no pong) is dropped within two intervals', async () => {
    const d1 = await MlsDevice.register(srv.url, await newUser(srv.url));
    const d2 = await MlsDevice.register(srv.url, await newUser(srv.url));
    const live = await WsClient.connect(srv.wsUrl, d1.token);
    const dead = await WsClient.connect(srv.wsUrl, d2.token);
    let pings = 0;
    live.ws.on('ping', () => pings++);
    expect(srv.server.gateway.connections).toBe(2);
    // The dead peer stops reading: it never sees a ping, so it never answers one.
    pauseReading(dead);
    await waitFor(() => srv.server.gateway.connections === 1);
    // The live peer answered every ping (ws answers them) and is still there after many.
    await waitFor(() => pings >= 6);
    expect(srv.server.gateway.connections).toBe(1);
    expect(live.ws.readyState).toBe(WebSocket.OPEN);
    // A protocol-level ping is answered with a pong, carrying the ref it was given.
    live.control({ type: 'ping', ref: 41 });
    await live.until(() => live.controls.some((f) => f.type === 'pong'));
    expect(live.controls.find((f) => f.type === 'pong')).toEqual({ type: 'pong', ref: 41 });
    dead.ws.terminate();
    await live.close();
  });
});

describe('backpressure on control frames', () => {
  // A peer whose socket is full: a 12 MB backlog is pushed to it while it reads nothing.
  // The kernel's socket buffers take a few MB; then the server's own buffer holds one
  // more frame and the catch-up waits for it to drain (catch-up paces itself, it does not
  // cut). From there, any answer the server queues for it is over the bound.
  async function stalledPeer(srv: TestServer): Promise<{ c: WsClient; d: MlsDevice; buffered: () => number }> {
    const a = await MlsDevice.register(srv.url, await newUser(srv.url));
    const d = await MlsDevice.register(srv.url, await newUser(srv.url));
    const g = await mlsGroup(srv.url, a, [d]);
    const sender = await WsClient.connect(srv.wsUrl, a.token);
    for (let i = 0; i < 48; i++) expect(await sender.send(g, rnd(250_000))).toMatchObject({ type: 'sent' });
    await sender.close();
    const c = await WsClient.connect(srv.wsUrl, d.token);
    pauseReading(c);
    const conn = [...(srv.server.gateway as unknown as { all: Set<{ deviceId: string; ws: WebSocket }> }).all].find((x) => x.deviceId === d.deviceId)!;
    const buffered = (): number => conn.ws.bufferedAmount;
    await waitFor(() => buffered() > 64 * 1024);
    return { c, d, buffered };
  }

  const bound = 64 * 1024;
  const limits = { jsonBody: 1 << 20, message: 256 << 10, attachment: 1 << 20, keyPackagesPerDevice: 10 };

  it('cuts a peer that stops reading when a control frame (pong, error) would go past the bound', async () => {
    const srv = await startTestServer({ wsMaxBufferedBytes: bound, limits });
    try {
      const { c, d } = await stalledPeer(srv);
      const slow = async (): Promise<number> => (await srv.server.ctx.metrics.wsSlowDisconnects.get()).values[0]?.value ?? 0;
      const before = await slow();
      expect(srv.server.gateway.connections).toBe(1);
      c.control({ type: 'ping', ref: 1 });
      await waitFor(() => srv.server.gateway.connections === 0);
      expect(await slow()).toBe(before + 1);
      c.ws.terminate();
      // It catches up later: a new connection of the same device gets the whole backlog.
      const back = await WsClient.connect(srv.wsUrl, d.token);
      await back.until(() => back.delivered.filter((f) => f.kind === 'application').length === 48, 30_000);
      await back.close();
    } finally {
      await srv.close();
    }
  });

  it('cuts a stalled peer whose malformed frames earn error frames, and one that sends WebSocket pings', async () => {
    const srv = await startTestServer({ wsMaxBufferedBytes: bound, limits });
    try {
      const one = await stalledPeer(srv);
      one.c.ws.send('{');
      await waitFor(() => srv.server.gateway.connections === 0);
      one.c.ws.terminate();
      // `ws` answers a WebSocket ping by itself; the gateway checks the bound then too.
      const two = await stalledPeer(srv);
      two.c.ws.ping(rnd(16));
      await waitFor(() => srv.server.gateway.connections === 0);
      two.c.ws.terminate();
    } finally {
      await srv.close();
    }
  });
});

describe('connection caps', () => {
  it('closes the oldest connection of a device past its cap, and refuses upgrades past the server-wide cap', async () => {
    const srv = await startTestServer({ wsMaxConnectionsPerDevice: 2, wsMaxConnections: 3 });
    try {
      const a = await MlsDevice.register(srv.url, await newUser(srv.url));
      const b = await MlsDevice.register(srv.url, await newUser(srv.url));
      const a1 = await WsClient.connect(srv.wsUrl, a.token);
      const a2 = await WsClient.connect(srv.wsUrl, a.token);
      const a3 = await WsClient.connect(srv.wsUrl, a.token);
      await a1.until(() => a1.closeCode !== undefined);
      expect(a1.closeCode).toBe(4029);
      expect(a1.controls.at(-1)).toMatchObject({ type: 'error', code: 'too-many-connections' });
      expect(a2.closeCode).toBeUndefined();
      expect(a3.controls[0]?.type).toBe('ready');
      await waitFor(() => srv.server.gateway.openSockets === 2);
      const b1 = await WsClient.connect(srv.wsUrl, b.token);
      expect(b1.controls[0]?.type).toBe('ready');
      expect(srv.server.gateway.openSockets).toBe(3);
      // Server-wide: the 4th socket is refused at the upgrade, before any authentication.
      const refused = await new Promise<{ status: number; retryAfter: string | undefined; body: string }>((resolve, reject) => {
        const ws = new WebSocket(srv.wsUrl);
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString('utf8')));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body });
          });
        });
        ws.on('open', () => {
          reject(new Error('opened past the cap'));
        });
        ws.on('error', () => undefined);
      });
      expect(refused.status).toBe(429);
      expect(Number(refused.retryAfter)).toBeGreaterThan(0);
      expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'too-many-connections' } });
      // Unauthenticated sockets count too: they hold memory as well.
      await b1.close();
      await waitFor(() => srv.server.gateway.openSockets === 2);
      const anon = new WebSocket(srv.wsUrl);
      await new Promise((r) => anon.once('open', r));
      await waitFor(() => srv.server.gateway.openSockets === 3);
      const late = new WebSocket(srv.wsUrl);
      const status = await new Promise<number>((resolve) => {
        late.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
        });
        late.on('error', () => undefined);
      });
      expect(status).toBe(429);
      anon.terminate();
      await a2.close();
      await a3.close();
    } finally {
      await srv.close();
    }
  });

  it('closes a socket that does not authenticate in time', async () => {
    const srv = await startTestServer({ wsAuthTimeoutMs: 100 });
    try {
      const ws = new WebSocket(srv.wsUrl);
      const got: string[] = [];
      ws.on('message', (d) => got.push((d as Buffer).toString('utf8')));
      const code = await new Promise<number>((r) => ws.once('close', r));
      expect(code).toBe(4001);
      expect(JSON.parse(got[0] ?? '{}')).toMatchObject({ type: 'error', code: 'unauthenticated' });
      await waitFor(() => srv.server.gateway.openSockets === 0);
    } finally {
      await srv.close();
    }
  });
});

describe('error frames carry the ref of the frame they answer', () => {
  it('for control frames, malformed frames, send frames and rate-limited sends', async () => {
    const srv = await startTestServer({
      rateLimits: {
        loginPerAddress: { rate: 100, burst: 100 },
        loginPerAccount: { rate: 100, burst: 100 },
        registerPerAddress: { rate: 100, burst: 100 },
        sendPerAccount: { rate: 0.01, burst: 3 },
        sendPerAddress: { rate: 100, burst: 100 },
      },
    });
    try {
      const a = await MlsDevice.register(srv.url, await newUser(srv.url));
      const b = await MlsDevice.register(srv.url, await newUser(srv.url));
      const g = await mlsGroup(srv.url, a, [b]);
      const c = await WsClient.connect(srv.wsUrl, a.token);
      const answer = async (frame: string | Uint8Array): Promise<ServerControlFrame> => {
        const n = c.controls.length;
        c.ws.send(frame);
        await c.until(() => c.controls.length > n);
        return c.controls[n]!;
      };
      expect(await answer(JSON.stringify({ type: 'ack', ref: 7, groups: 'x' }))).toMatchObject({ type: 'error', code: 'bad-request', ref: 7 });
      expect(await answer(JSON.stringify({ type: 'nope', ref: 8 }))).toMatchObject({ type: 'error', code: 'bad-request', ref: 8 });
      expect(await answer(JSON.stringify({ type: 'auth', ref: 9, token: a.token, version: PROTOCOL_VERSION }))).toMatchObject({ type: 'error', code: 'bad-request', ref: 9 });
      expect(await answer(JSON.stringify({ type: 'ping', ref: -1 }))).toMatchObject({ type: 'error', code: 'bad-request' });
      // Binary: the ref is read from the frame's header even when the rest does not parse.
      const truncated = encodeSendFrame({ ref: 10, groupId: g, messageId: rnd(16), payload: rnd(50) }).subarray(0, 30);
      expect(await answer(truncated)).toMatchObject({ type: 'error', code: 'bad-request', ref: 10 });
      expect(await answer(encodeSendFrame({ ref: 11, groupId: 'no-such-group-here', messageId: rnd(16), payload: rnd(5) }))).toMatchObject({ type: 'error', code: 'unknown-group', ref: 11 });
      // Rate limits: a burst of 3 (the unknown-group send above took one), then refused with its ref and retryAfter.
      expect(await c.send(g, rnd(5))).toMatchObject({ type: 'sent' });
      expect(await c.send(g, rnd(5))).toMatchObject({ type: 'sent' });
      const limited = await answer(encodeSendFrame({ ref: 12, groupId: g, messageId: rnd(16), payload: rnd(5) }));
      expect(limited).toMatchObject({ type: 'error', code: 'rate-limited', ref: 12 });
      expect((limited as { retryAfter?: number }).retryAfter).toBeGreaterThan(0);
      // Before authentication too.
      const raw = new WebSocket(srv.wsUrl);
      const got: string[] = [];
      raw.on('message', (d) => got.push((d as Buffer).toString('utf8')));
      await new Promise((r) => raw.once('open', r));
      raw.send(JSON.stringify({ type: 'auth', ref: 13, token: 'A'.repeat(43), version: PROTOCOL_VERSION }));
      await new Promise((r) => raw.once('close', r));
      expect(JSON.parse(got[0]!)).toMatchObject({ type: 'error', code: 'unauthenticated', ref: 13 });
      await c.close();
    } finally {
      await srv.close();
    }
  });
});

describe('resumption', () => {
  it('a reconnecting device gets exactly what follows its acknowledged cursor, in order; sync resends from its own cursor', async () => {
    const srv = await startTestServer();
    try {
      const a = await MlsDevice.register(srv.url, await newUser(srv.url));
      const b = await MlsDevice.register(srv.url, await newUser(srv.url));
      const g = await mlsGroup(srv.url, a, [b]);
      const sender = await WsClient.connect(srv.wsUrl, a.token);
      let rb = await WsClient.connect(srv.wsUrl, b.token);
      const apps = (c: WsClient): number[] => c.delivered.filter((f) => f.kind === 'application').map((f) => f.seq);
      const seqs: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await sender.send(g, rnd(20));
        if (r.type !== 'sent') throw new Error(JSON.stringify(r));
        seqs.push(r.seq);
      }
      await rb.until(() => apps(rb).length === 5);
      expect(apps(rb)).toEqual(seqs);
      // Acknowledge the first three, durably, then go away.
      rb.control({ type: 'ack', groups: [{ groupId: g, seq: seqs[2]! }] });
      const cursorOf = async (): Promise<number> => (await srv.server.ctx.store.listMembers(g)).find((m) => m.deviceId === b.deviceId)!.cursor;
      const deadline = Date.now() + 5000;
      while ((await cursorOf()) !== seqs[2] && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(await cursorOf()).toBe(seqs[2]);
      await rb.close();
      // Offline: three more.
      for (let i = 0; i < 3; i++) {
        const r = await sender.send(g, rnd(20));
        if (r.type !== 'sent') throw new Error(JSON.stringify(r));
        seqs.push(r.seq);
      }
      rb = await WsClient.connect(srv.wsUrl, b.token);
      await rb.until(() => apps(rb).length === 5);
      await new Promise((r) => setTimeout(r, 50));
      expect(apps(rb)).toEqual(seqs.slice(3));
      // The client's own cursor (it stored up to seqs[4]): sync resends what follows it.
      rb.control({ type: 'sync', groups: [{ groupId: g, seq: seqs[4]! }] });
      await rb.until(() => apps(rb).length === 8);
      expect(apps(rb).slice(5)).toEqual(seqs.slice(5));
      await rb.close();
      await sender.close();
    } finally {
      await srv.close();
    }
  });
});
