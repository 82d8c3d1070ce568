// Bad input and abuse: malformed, oversized and hostile inputs to every route (taken
// from the OpenAPI document, so a new route is covered automatically) and every frame
// type. Each answer must be a 4xx with a stable code and no stack trace, and nothing
// stored may change.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ERROR_CODES, FRAME_SEND, encodeSendFrame } from '@parley/protocol';
import { http, MlsDevice, newUser, startTestServer, WsClient, type TestDevice, type TestServer } from '@parley/testing';

let srv: TestServer;
let dev: TestDevice;
let group: string;

beforeAll(async () => {
  srv = await startTestServer({ limits: { jsonBody: 64 * 1024, message: 4096, attachment: 4096, keyPackagesPerDevice: 10 } });
  const u = await newUser(srv.url);
  const mls = await MlsDevice.register(srv.url, u);
  dev = mls.device;
  group = `grp-${randomBytes(6).toString('hex')}`;
  expect((await mls.createGroup(srv.url, group)).status).toBe(201);
  const ws = await WsClient.connect(srv.wsUrl, dev.token);
  expect(await ws.send(group, new Uint8Array(16))).toMatchObject({ type: 'sent' });
  await ws.close();
  await srv.server.ctx.delivery.drain();
});
afterAll(async () => {
  await srv.close();
});

function snapshot(): string {
  const db = new Database(join(srv.dataDir, 'parley.db'), { readonly: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    return JSON.stringify(tables.map((t) => [t, db.prepare(`SELECT * FROM "${t}"`).all()]), (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : v));
  } finally {
    db.close();
  }
}

const codes: ReadonlySet<string> = new Set(ERROR_CODES);

function checkError(where: string, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  expect(status, `${where}: ${text}`).toBeGreaterThanOrEqual(400);
  expect(status, `${where}: ${text}`).toBeLessThan(500);
  const code = (body as { error?: { code?: string } }).error?.code;
  expect(codes.has(code ?? ''), `${where}: ${text}`).toBe(true);
  expect(text).not.toMatch(/\bat .*\.(ts|js):\d+|stack/);
}

const hostileStrings = ['', 'a'.repeat(70_000), '../../../etc/passwd', '\u0000', '%00', '{"$ne":null}', '<script>', '\ud800', '1e309', '-1'];

it('answers every route with a stable error for malformed, oversized and hostile input, and stores nothing', async () => {
  const before = snapshot();
  const doc = await http<{ paths: Record<string, Record<string, { requestBody?: unknown }>> }>(srv.url, 'GET', '/openapi.json');
  const routes = Object.entries(doc.body.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), hasBody: op.requestBody !== undefined })));
  expect(routes.length).toBeGreaterThan(20);
  let checked = 0;
  for (const r of routes) {
    if (r.method === 'GET' && !r.path.includes('{')) continue; // nothing to malform but auth: below
    const paths = [
      r.path.replace(/\{[^}]+\}/g, 'x'),
      r.path.replace(/\{[^}]+\}/g, encodeURIComponent('../../../../etc/passwd')),
      r.path.replace(/\{[^}]+\}/g, 'A'.repeat(3000)),
      r.path.replace(/\{[^}]+\}/g, '%E0%A4%A'),
    ];
    const bodies: (string | Uint8Array | undefined)[] = r.hasBody
      ? [
          '{',
          'null',
          '[]',
          '"x"',
          JSON.stringify({ unexpected: 1 }),
          JSON.stringify({ username: 7, password: ['x'], groupId: {}, epoch: -1, keyPackages: 'x', certificate: '!!!', messageId: 'x', message: 'ä' }),
          JSON.stringify({ __proto__: { admin: true }, constructor: { prototype: { admin: true } } }),
          JSON.stringify({ big: 'x'.repeat(70 * 1024) }),
          ...hostileStrings.map((s) => JSON.stringify({ username: s, password: s, groupId: s, identityKey: s, certificate: s, epoch: s, commit: s, groupInfo: s })),
          new Uint8Array(randomBytes(512)),
        ]
      : [undefined];
    for (const path of paths) {
      for (const body of bodies) {
        // A DELETE without parameters on a valid session (logout) is not hostile input: it works.
        const tokens = r.method === 'DELETE' && !r.path.includes('{') ? [undefined, 'not-a-token'] : [undefined, 'not-a-token', dev.token];
        for (const token of tokens) {
          const res = await http(srv.url, r.method, path, body, token);
          if (res.status < 400 && r.method === 'GET') continue; // a GET on a valid-looking path may succeed
          checkError(`${r.method} ${path.slice(0, 80)}`, res.status, res.body);
          checked++;
        }
      }
    }
    // Valid path, no or bad credentials.
    const real = r.path.replace('{groupId}', group).replace(/\{[^}]+\}/g, 'abcdefgh12345678');
    if (!['/healthz', '/metrics', '/openapi.json', '/v1/server', '/v1/accounts', '/v1/sessions'].includes(r.path)) {
      const res = await http(srv.url, r.method, real, r.hasBody ? {} : undefined, 'A'.repeat(43));
      checkError(`${r.method} ${real} (bad token)`, res.status, res.body);
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(500);
  expect(snapshot()).toBe(before);
});

it('answers every WebSocket frame type with a stable error for hostile input, and stores nothing', async () => {
  const before = snapshot();
  // Unauthenticated: garbage first frames close the socket with an error code.
  for (const first of ['{', JSON.stringify({ type: 'auth', token: 'x', version: 1 }), JSON.stringify({ type: 'auth', token: 'A'.repeat(43), version: 1 }), JSON.stringify({ type: 'ack' }), JSON.stringify({ type: 'auth', token: dev.token, version: 99 })]) {
    const ws = new WebSocket(srv.wsUrl);
    const got: string[] = [];
    ws.on('message', (d) => got.push((d as Buffer).toString('utf8')));
    await new Promise((r) => ws.once('open', r));
    ws.send(first);
    const code = await new Promise<number>((r) => ws.once('close', r));
    expect(code).toBeGreaterThanOrEqual(4000);
    checkError(`first frame ${first.slice(0, 40)}`, 400, { error: JSON.parse(got[0] ?? '{}') as unknown });
  }
  // Binary before auth.
  {
    const ws = new WebSocket(srv.wsUrl);
    await new Promise((r) => ws.once('open', r));
    ws.send(new Uint8Array([1, 2, 3]));
    expect(await new Promise<number>((r) => ws.once('close', r))).toBe(4000);
  }
  // Authenticated: every bad frame gets an error frame, the connection survives.
  const c = await WsClient.connect(srv.wsUrl, dev.token);
  const hostile: (string | Uint8Array)[] = [
    '{',
    'null',
    '[]',
    JSON.stringify({ type: 'nope' }),
    JSON.stringify({ type: 'auth', token: dev.token, version: 1 }),
    JSON.stringify({ type: 'ack', groups: 'x' }),
    JSON.stringify({ type: 'ack', groups: [{ groupId: '../x', seq: 1 }] }),
    JSON.stringify({ type: 'ack', groups: [{ groupId: group, seq: -1 }] }),
    JSON.stringify({ type: 'ack', inbox: 1.5 }),
    JSON.stringify({ type: 'sync', groups: [{ groupId: group, seq: 1e300 }] }),
    JSON.stringify({ type: 'ping', extra: true }),
    new Uint8Array([]),
    new Uint8Array([FRAME_SEND]),
    new Uint8Array([9, 0, 0, 0, 0]),
    new Uint8Array(randomBytes(300)).fill(FRAME_SEND, 0, 1),
    encodeSendFrame({ ref: 1, groupId: group, messageId: new Uint8Array(16), payload: new Uint8Array(5000) }).subarray(0, 100),
    new Uint8Array([...encodeSendFrame({ ref: 1, groupId: group, messageId: new Uint8Array(16), payload: new Uint8Array(10) }), 0]),
  ];
  for (const f of hostile) {
    const n = c.controls.length;
    c.ws.send(f);
    await c.until(() => c.controls.length > n).catch(() => {
      throw new Error(`no answer to frame ${typeof f === "string" ? f.slice(0, 60) : `binary ${f.length}`}`);
    });
    const reply = c.controls[n]!;
    expect(reply.type, JSON.stringify(reply)).toBe('error');
    checkError('frame', 400, { error: reply });
  }
  // Payload over the limit: rejected by the frame codec (or the socket's maxPayload).
  const n = c.controls.length;
  c.ws.send(encodeSendFrame({ ref: 2, groupId: group, messageId: new Uint8Array(16), payload: new Uint8Array(4097) }));
  await c.until(() => c.controls.length > n || c.closeCode !== undefined);
  if (c.closeCode === undefined) expect(c.controls[n]).toMatchObject({ type: 'error', code: 'bad-request' });
  // An oversized frame closes the connection (1009) rather than being buffered.
  const c2 = await WsClient.connect(srv.wsUrl, dev.token);
  c2.ws.send(new Uint8Array(64 * 1024));
  await c2.until(() => c2.closeCode !== undefined);
  expect(c2.closeCode).toBe(1009);
  await c.close();
  expect(snapshot()).toBe(before);
});
