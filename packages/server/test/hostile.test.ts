// Bad input and abuse: malformed, oversized and hostile inputs to every route (taken
// from the OpenAPI document, so a new route is covered automatically) and every frame
// type. Each answer must be a 4xx with a stable code and no stack trace, and nothing
// stored may change. Field by field, the hostile values come from each route's own
// schema in the document (wrong types, extra and missing fields, huge strings, bad and
// non-canonical base64, negative, fractional and huge numbers, unicode tricks); each
// route with a body needs a valid baseline below, or the test fails.
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createUser } from '@parley/server';
import { CLIENT_CONTROL_FRAME_SCHEMAS, ERROR_CODES, FRAME_SEND, FrameError, encodeSendFrame, parseClientControlFrame, type ClientControlFrame } from '@parley/protocol';
import { b64, http, MlsDevice, newUser, startTestServer, WsClient, type TestDevice, type TestServer } from '@parley/testing';

let srv: TestServer;
let dev: TestDevice;
let group: string;
let epoch: number;
let adminToken: string;
let deviceless: string;
let userId: string;

beforeAll(async () => {
  srv = await startTestServer({ limits: { jsonBody: 64 * 1024, message: 4096, attachment: 4096, keyPackagesPerDevice: 10 } });
  const u = await newUser(srv.url);
  const mls = await MlsDevice.register(srv.url, u);
  dev = mls.device;
  userId = u.userId;
  deviceless = u.token;
  group = `grp-${randomBytes(6).toString('hex')}`;
  expect((await mls.createGroup(srv.url, group)).status).toBe(201);
  epoch = Number(mls.state(group).groupContext.epoch);
  await createUser(srv.server.ctx.store, { N: 1024, r: 8, p: 1 }, Date.now(), { username: 'root', password: 'root-password', admin: true });
  adminToken = (await http<{ token: string }>(srv.url, 'POST', '/v1/sessions', { username: 'root', password: 'root-password' })).body.token;
  const ws = await WsClient.connect(srv.wsUrl, dev.token);
  expect(await ws.send(group, new Uint8Array(16))).toMatchObject({ type: 'sent' });
  await ws.close();
  await srv.server.ctx.delivery.drain();
  type ErrorAnswer = { content?: Record<string, { schema?: { properties?: { error?: { properties?: { code?: { enum?: string[] } } } } } }> };
  const doc = await http<{ paths: Record<string, Record<string, { responses: Record<string, ErrorAnswer> }>> }>(srv.url, 'GET', '/openapi.json');
  declaredCodes = (route, status) => {
    const [method, path] = route.split(' ') as [string, string];
    const op = doc.body.paths[path]?.[method.toLowerCase()];
    expect(op, route).toBeDefined();
    return op!.responses[String(status)]?.content?.['application/json']?.schema?.properties?.error?.properties?.code?.enum ?? [];
  };
});
afterAll(async () => {
  await srv.close();
});

/** Every row of every table, and the attachment files (a half-written upload would show). */
function snapshot(): string {
  const db = new Database(join(srv.dataDir, 'parley.db'), { readonly: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    const files = readdirSync(join(srv.dataDir, 'attachments')).sort();
    return JSON.stringify([files, tables.map((t) => [t, db.prepare(`SELECT * FROM "${t}"`).all()])], (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : v));
  } finally {
    db.close();
  }
}

const codes: ReadonlySet<string> = new Set(ERROR_CODES);

/** The error codes the OpenAPI document lists for one operation (`METHOD /path`) and status. */
let declaredCodes: (route: string, status: number) => readonly string[] = () => [];

/** A 4xx with a stable code, no stack trace, nothing echoed; with `route`, a code that route lists for that status. */
function checkError(where: string, status: number, body: unknown, route?: string): void {
  const text = JSON.stringify(body);
  expect(status, `${where}: ${text}`).toBeGreaterThanOrEqual(400);
  expect(status, `${where}: ${text}`).toBeLessThan(500);
  const code = (body as { error?: { code?: string } }).error?.code;
  expect(codes.has(code ?? ''), `${where}: ${text}`).toBe(true);
  if (route !== undefined) expect(declaredCodes(route, status), `${where}: ${code} is not among the codes ${route} lists for ${status}`).toContain(code);
  expect(text).not.toMatch(/\bat .*\.(ts|js):\d+|stack/);
  // Nothing of the hostile input is echoed back.
  expect(text).not.toMatch(/<script>|jndi|\u202e|x{200}/);
}

const hostileStrings = ['', 'a'.repeat(70_000), '../../../etc/passwd', '\u0000', '%00', '{"$ne":null}', '<script>', '\ud800', '1e309', '-1'];

it('answers every route with a stable error for malformed, oversized and hostile input, and stores nothing', async () => {
  const before = snapshot();
  const doc = await http<{ paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> } }>> }>(srv.url, 'GET', '/openapi.json');
  const routes = Object.entries(doc.body.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), hasBody: op.requestBody !== undefined, json: op.requestBody?.content['application/json'] !== undefined })),
  );
  expect(routes.length).toBeGreaterThan(20);
  let checked = 0;
  for (const r of routes) {
    if (r.method === 'GET' && !r.path.includes('{')) continue; // nothing to malform but auth: below
    const paths = [...new Set(['x', encodeURIComponent('../../../../etc/passwd'), 'A'.repeat(3000), '%E0%A4%A'].map((p) => r.path.replace(/\{[^}]+\}/g, p)))];
    // Unicode tricks in path parameters (one body each): right-to-left override, an overlong '/', a Cyrillic homoglyph of the real group id, NUL, an astral character.
    if (r.path.includes('{')) {
      for (const p of ['grp-%E2%80%AEabcdefgh', '%C0%AFabcdefgh', encodeURIComponent(`${group.slice(0, 2)}\u0440${group.slice(3)}`), 'abcdefgh%00', encodeURIComponent('abcdefgh\u{1F4A9}')]) {
        const path = r.path.replace(/\{[^}]+\}/g, p);
        const res = await http(srv.url, r.method, path, r.hasBody ? (r.json ? '{}' : new Uint8Array(1)) : undefined, dev.token);
        checkError(`${r.method} ${path.slice(0, 80)}`, res.status, res.body, `${r.method} ${r.path}`);
        expect([res.status, (res.body as { error: { code: string } }).error.code], path).toEqual([400, 'bad-request']);
        checked++;
      }
    }
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
          checkError(`${r.method} ${path.slice(0, 80)}`, res.status, res.body, `${r.method} ${r.path}`);
          checked++;
        }
      }
    }
    // Valid path, no or bad credentials.
    const real = r.path.replace('{groupId}', group).replace(/\{[^}]+\}/g, 'abcdefgh12345678');
    if (!['/healthz', '/metrics', '/openapi.json', '/v1/server', '/v1/accounts', '/v1/sessions'].includes(r.path)) {
      const res = await http(srv.url, r.method, real, r.hasBody ? {} : undefined, 'A'.repeat(43));
      checkError(`${r.method} ${real} (bad token)`, res.status, res.body, `${r.method} ${r.path}`);
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

// ---- field by field, from each route's schema ---------------------------------------

type Schema = { const?: unknown; type?: string | string[]; properties?: Record<string, Schema>; required?: string[]; items?: Schema; pattern?: string; minLength?: number; maxLength?: number; minimum?: number; maximum?: number; maxItems?: number; uniqueItems?: boolean; contentEncoding?: string; enum?: unknown[] };
interface Op {
  parameters: { name: string; in: string; schema: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}

// Fastify's own Ajv, with Fastify's options here (no coercion): it tells which variants the schema must refuse.
const fastifyRequire = createRequire(createRequire(import.meta.url).resolve('@fastify/ajv-compiler'));
const Ajv = (fastifyRequire('ajv') as { default: new (o: object) => { compile(s: object): (d: unknown) => boolean } }).default;
const ajv = new Ajv({ allErrors: false, strict: false, coerceTypes: false });
// For the frame schemas (plain JSON Schema, no Fastify keywords): strict, so NaN and Infinity (1e309) are not numbers.
const frameAjv = new Ajv({ allErrors: false, strict: true, coerceTypes: false });

const RAW = '\u0000raw:'; // a string value replaced by the raw JSON token that follows (numbers JSON.stringify cannot write)
const toText = (v: unknown): string => JSON.stringify(v).replace(/"\\u0000raw:([^"]*)"/g, '$1');

const unicodeTricks = ['\u202egnp.exe', 'dev\u200b-abcdefgh', '\u0430dmin-abcdefgh', 'e\u0301abcdefgh', '\ud800abcdefgh', 'abc\u0000defgh', '\ufeffabcdefgh', 'ＡＢＣＤＥＦＧＨ'];
const injections = ['../../../etc/passwd', '<script>alert(1)</script>', '${jndi:ldap://x/a}', "' OR 1=1 --", '%00abcdefgh', '{"$ne":null}'];

/** Values that must not pass where `schema` is expected (most refused by the schema, some only after it). */
function hostileValues(schema: Schema, sample: unknown): { value: unknown; afterSchema: boolean }[] {
  const out: { value: unknown; afterSchema: boolean }[] = [];
  const schemaOnly = (...vs: unknown[]): void => {
    for (const value of vs) out.push({ value, afterSchema: false });
  };
  schemaOnly(null, true, {}, [], 'a-string', 7, -1, 1.5, `${RAW}1e309`, `${RAW}-1e400`, 2 ** 53, 2 ** 64, -(2 ** 63));
  if (schema.type === 'string' || typeof schema.const === 'string' || (Array.isArray(schema.type) && schema.type.includes('string'))) {
    schemaOnly('', 'x'.repeat((schema.maxLength ?? 1024) + 1), 'x'.repeat(70_000), ...unicodeTricks, ...injections, String(sample) + '\n', ` ${String(sample)}`);
    if (schema.contentEncoding === 'base64') {
      schemaOnly('!!!!', 'QQ==QQ==', 'QQ===', 'QQ ==', '-_-_', 'QQ==\n');
      // Passes the pattern, refused when decoded: not a multiple of 4, and non-canonical padding bits.
      const min = schema.minLength ?? 4;
      const max = schema.maxLength ?? 1 << 20;
      const len = Math.max(4, Math.ceil(min / 4) * 4);
      if (len + 1 <= max) out.push({ value: 'A'.repeat(len + 1), afterSchema: true });
      if (len <= max) {
        out.push({ value: `${'A'.repeat(len - 2)}B=`, afterSchema: true });
        out.push({ value: `${'A'.repeat(len - 3)}B==`, afterSchema: true });
      }
    }
  }
  if (schema.type === 'integer') schemaOnly(-1, -(2 ** 31), (schema.maximum ?? Number.MAX_SAFE_INTEGER) + 1, 0.5, '1', `${RAW}1e309`, `${RAW}1.0e400`);
  if (schema.type === 'array' && schema.items !== undefined) {
    const item = Array.isArray(sample) ? (sample as unknown[])[0] : undefined;
    for (const v of hostileValues(schema.items, item)) out.push({ value: [v.value], afterSchema: v.afterSchema });
    if (schema.maxItems !== undefined && item !== undefined && schema.maxItems <= 1000) schemaOnly(Array.from({ length: schema.maxItems + 1 }, () => item));
    if (schema.uniqueItems === true && item !== undefined) schemaOnly([item, item]);
  }
  if (schema.type === 'object' && schema.properties !== undefined && typeof sample === 'object' && sample !== null) {
    const o = sample as Record<string, unknown>;
    schemaOnly({ ...o, unexpected: 1 }, { ...o, '\u202eadmin': true });
    for (const k of schema.required ?? []) {
      const { [k]: _gone, ...rest } = o;
      schemaOnly(rest);
    }
    for (const [k, sub] of Object.entries(schema.properties)) {
      if (!(k in o)) continue;
      for (const v of hostileValues(sub, o[k])) out.push({ value: { ...o, [k]: v.value }, afterSchema: v.afterSchema });
    }
  }
  return out;
}

const mid = (n: number): string => Buffer.alloc(16, n).toString('base64url');
const bytes = (n: number): string => b64(new Uint8Array(n).fill(0x41));

/** A schema-valid body for every route that takes JSON: the hostile variants change one thing at a time. */
function baselines(): Record<string, { body: unknown; token: string | undefined }> {
  return {
    'POST /v1/accounts': { body: { username: 'fresh-user', password: 'a-password', email: 'a@example.org', invite: 'A'.repeat(43) }, token: undefined },
    'POST /v1/sessions': { body: { username: userId, password: 'a-password', deviceId: 'dev-abcdefgh' }, token: undefined },
    'PUT /v1/users/me/identity-key': { body: { identityKey: bytes(32) }, token: dev.token },
    'PUT /v1/identity-backup': { body: { backup: bytes(16) }, token: dev.token },
    'POST /v1/admin/users': { body: { username: 'made-by-admin', password: 'a-password', admin: false, email: 'b@example.org' }, token: adminToken },
    'POST /v1/admin/invites': { body: { maxUses: 1, expiresInHours: 1 }, token: adminToken },
    'POST /v1/devices': { body: { certificate: bytes(100) }, token: deviceless },
    'POST /v1/devices/me/key-packages': { body: { keyPackages: [bytes(10)], lastResort: bytes(10) }, token: dev.token },
    'POST /v1/groups': { body: { groupId: 'grp-not-created', epoch: 1, groupInfo: bytes(10), ratchetTree: bytes(10) }, token: dev.token },
    'POST /v1/groups/{groupId}/commits': {
      body: { epoch, commit: bytes(10), groupInfo: bytes(10), ratchetTree: bytes(10), welcome: bytes(10), addedDevices: ['dev-abcdefgh'], removedDevices: ['dev-bcdefghi'] },
      token: dev.token,
    },
    'POST /v1/groups/{groupId}/messages': { body: { messageId: mid(9), message: bytes(10) }, token: dev.token },
    'POST /v1/acks': { body: { groups: [{ groupId: group, seq: 1 }], inbox: 0 }, token: dev.token },
  };
}

async function docOps(): Promise<{ key: string; method: string; path: string; op: Op }[]> {
  const doc = await http<{ paths: Record<string, Record<string, Op>> }>(srv.url, 'GET', '/openapi.json');
  return Object.entries(doc.body.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, op })));
}

const realPath = (path: string): string => path.replace('{groupId}', group).replace('{userId}', userId).replace(/\{[^}]+\}/g, 'abcdefgh12345678');

it('refuses every hostile value of every field of every JSON body with bad-request (or body-too-large), and stores nothing', async () => {
  const ops = (await docOps()).filter((o) => o.op.requestBody?.content['application/json'] !== undefined);
  const base = baselines();
  // A route with a JSON body but no baseline fails here: add one above.
  expect(ops.map((o) => o.key).filter((k) => !(k in base))).toEqual([]);
  const before = snapshot();
  let sent = 0;
  let decodedOnly = 0; // variants the schema admits, refused only when decoded
  for (const { key, method, path, op } of ops) {
    const schema = op.requestBody!.content['application/json']!.schema;
    const validate = ajv.compile(schema);
    const { body: sample, token } = base[key]!;
    expect(validate(sample), `${key}: the baseline must be schema-valid`).toBe(true);
    const variants = hostileValues(schema, sample);
    // Whole-body tricks: not JSON, not an object, prototype pollution, deep nesting, invalid UTF-8.
    const raw: (string | Uint8Array)[] = [
      '{',
      'null',
      '[]',
      '"x"',
      '1e309',
      `{"__proto__":{"admin":true},${toText(sample).slice(1)}`,
      `{"constructor":{"prototype":{"admin":true}},${toText(sample).slice(1)}`,
      '['.repeat(20_000),
      new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
    ];
    for (const r of raw) {
      const payload = typeof r === 'string' ? r : Buffer.from(r).toString('latin1');
      const res = await http(srv.url, method, realPath(path), typeof r === 'string' ? r : new Uint8Array(r), token, { 'content-type': 'application/json' });
      checkError(`${key} raw ${payload.slice(0, 40)}`, res.status, res.body, key);
      sent++;
    }
    for (const v of variants) {
      const text = toText(v.value);
      const parsed: unknown = JSON.parse(text);
      // A value the schema admits is only sent when the server must refuse it after the schema (base64 decoding).
      if (validate(parsed) !== v.afterSchema) continue;
      const res = await http(srv.url, method, realPath(path), text, token);
      const where = `${key} ${text.slice(0, 120)}`;
      checkError(where, res.status, res.body, key);
      const code = (res.body as { error: { code: string } }).error.code;
      if (Buffer.byteLength(text) > 64 * 1024) expect([res.status, code], where).toEqual([413, 'body-too-large']);
      else expect([res.status, code], where).toEqual([400, 'bad-request']);
      sent++;
      if (v.afterSchema) decodedOnly++;
    }
  }
  expect(sent).toBeGreaterThan(1000);
  expect(decodedOnly).toBeGreaterThan(20);
  expect(snapshot()).toBe(before);
});

it('refuses every hostile value of every query parameter with bad-request', async () => {
  const ops = (await docOps()).filter((o) => o.op.parameters.some((p) => p.in === 'query'));
  expect(ops.length).toBeGreaterThanOrEqual(2);
  const before = snapshot();
  for (const { key, method, path, op } of ops) {
    const query = op.parameters.filter((p) => p.in === 'query');
    const validate = ajv.compile({ type: 'object', additionalProperties: false, properties: Object.fromEntries(query.map((p) => [p.name, p.schema])) });
    for (const p of query) {
      const values = ['', '-1', '1.5', '1e309', 'abc', '0x10', '9'.repeat(16), '0', '1000', '１', '\u202e1', '1\u0000', '<script>', 'x'.repeat(5000)];
      const queries = [...values.map((v) => `${p.name}=${encodeURIComponent(v)}`), `${p.name}=1&${p.name}=2`, `${p.name}[]=1`, `${p.name}[$ne]=1`, `${p.name}=%E0%A4%A`, `unexpected=1&${p.name}=1`];
      for (const q of queries) {
        const parsed = Object.fromEntries(new URLSearchParams(q));
        // Only what the schema must refuse (a valid value such as '0' for `after` would be a legitimate read).
        if (validate(parsed) && !q.includes('&') && !q.includes('[')) continue;
        const res = await http(srv.url, method, `${realPath(path)}?${q}`, undefined, dev.token);
        checkError(`${key}?${q.slice(0, 60)}`, res.status, res.body, key);
        expect([res.status, (res.body as { error: { code: string } }).error.code], `${key}?${q.slice(0, 60)}`).toEqual([400, 'bad-request']);
      }
    }
  }
  expect(snapshot()).toBe(before);
});

it('refuses hostile raw bodies (attachments): wrong media type, over the limit, to a group the device is not in', async () => {
  const ops = (await docOps()).filter((o) => o.op.requestBody !== undefined && o.op.requestBody.content['application/json'] === undefined);
  expect(ops.map((o) => o.key)).toEqual(['POST /v1/groups/{groupId}/attachments']);
  const before = snapshot();
  const url = realPath(ops[0]!.path);
  const cases: { body: Uint8Array | string; headers?: Record<string, string>; status: number; code: string; token?: string; path?: string }[] = [
    { body: '{"a":1}', status: 415, code: 'unsupported-media-type' },
    { body: new Uint8Array(10), headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported-media-type' },
    { body: new Uint8Array(4097), status: 413, code: 'body-too-large' },
    { body: new Uint8Array(64 * 1024), status: 413, code: 'body-too-large' },
    { body: new Uint8Array(10), status: 401, code: 'unauthenticated', token: 'A'.repeat(43) },
    { body: new Uint8Array(10), status: 401, code: 'unauthenticated', token: '' },
    { body: new Uint8Array(10), status: 404, code: 'unknown-group', path: '/v1/groups/grp-nowhere-at-all/attachments' },
    { body: new Uint8Array(10), status: 400, code: 'bad-request', path: '/v1/groups/..%2F..%2Fetc/attachments' },
  ];
  for (const c of cases) {
    const res = await http(srv.url, 'POST', c.path ?? url, c.body, c.token ?? dev.token, c.headers);
    checkError(`attachment ${c.code}`, res.status, res.body, ops[0]!.key);
    expect([res.status, (res.body as { error: { code: string } }).error.code]).toEqual([c.status, c.code]);
  }
  expect(snapshot()).toBe(before);
});

/**
 * One valid frame per client control frame type, with every field its schema names. The
 * Record makes a new type fail to compile until it has a case; the check makes a schema
 * without a case (or a case without a schema) fail at run time.
 */
function validFrames(): Record<ClientControlFrame['type'], Record<string, unknown>> {
  const frames: Record<ClientControlFrame['type'], Record<string, unknown>> = {
    auth: { type: 'auth', token: 'A'.repeat(43), version: 1, ref: 1 },
    ack: { type: 'ack', groups: [{ groupId: group, seq: 0 }], inbox: 0, ref: 2 },
    sync: { type: 'sync', groups: [{ groupId: group, seq: 0 }], inbox: 0, ref: 3 },
    ping: { type: 'ping', ref: 4 },
  };
  expect(Object.keys(frames).sort()).toEqual(Object.keys(CLIENT_CONTROL_FRAME_SCHEMAS).sort());
  for (const [type, f] of Object.entries(frames)) {
    const schema = CLIENT_CONTROL_FRAME_SCHEMAS[type as ClientControlFrame['type']] as Schema;
    expect(Object.keys(f).sort(), `${type}: the baseline names every field of the schema`).toEqual(Object.keys(schema.properties ?? {}).sort());
  }
  return frames;
}

it('parses exactly what the client frame schemas admit: the parser and the schemas (checked by Ajv) agree on every hostile value', () => {
  let refused = 0;
  let admitted = 0;
  for (const [type, f] of Object.entries(validFrames())) {
    const schema = CLIENT_CONTROL_FRAME_SCHEMAS[type as ClientControlFrame['type']] as Schema;
    const validate = frameAjv.compile(schema);
    expect(validate(f), type).toBe(true);
    expect(parseClientControlFrame(JSON.stringify(f))).toEqual(f);
    for (const v of [{ value: f, afterSchema: false }, ...hostileValues(schema, f)]) {
      const text = toText(v.value);
      if (text.length > 64 * 1024) continue; // refused for its size before it is parsed (the same in both)
      const valid = validate(JSON.parse(text));
      let parsed: unknown;
      try {
        parsed = parseClientControlFrame(text);
      } catch (e) {
        expect(e, text.slice(0, 80)).toBeInstanceOf(FrameError);
      }
      expect(parsed !== undefined, `${type}: Ajv says ${valid ? 'valid' : 'invalid'}, the parser does not agree: ${text.slice(0, 120)}`).toBe(valid);
      if (valid) {
        expect(parsed).toEqual(JSON.parse(text));
        admitted++;
      } else refused++;
    }
  }
  expect(refused).toBeGreaterThan(200);
  expect(admitted).toBeGreaterThanOrEqual(4);
});

it('answers every hostile value of every field of every control frame type, and every malformed send frame, with an error frame', async () => {
  const before = snapshot();
  const frames = validFrames();
  const c = await WsClient.connect(srv.wsUrl, dev.token);
  const answer = async (f: string | Uint8Array, where: string): Promise<void> => {
    const n = c.controls.length;
    c.ws.send(f);
    await c.until(() => c.controls.length > n || c.closeCode !== undefined).catch(() => {
      throw new Error(`no answer to ${where}`);
    });
    expect(c.closeCode, where).toBeUndefined();
    const reply = c.controls[n]!;
    expect(reply.type, `${where}: ${JSON.stringify(reply)}`).toBe('error');
    checkError(where, 400, { error: reply });
  };
  let sent = 0;
  for (const [type, f] of Object.entries(frames)) {
    const schema = CLIENT_CONTROL_FRAME_SCHEMAS[type as ClientControlFrame['type']] as Schema;
    const validate = frameAjv.compile(schema);
    for (const v of hostileValues(schema, f)) {
      const text = toText(v.value);
      if (Buffer.byteLength(text) > 64 * 1024) continue; // over maxPayload: the socket closes (1009), tested above
      if (validate(JSON.parse(text))) continue; // e.g. an auth frame with another valid token: answered too, but not hostile
      await answer(text, `${type} ${text.slice(0, 80)}`);
      sent++;
    }
    // The valid auth frame is refused as well: the connection is already authenticated.
    if (type === 'auth') await answer(JSON.stringify(f), 'a second auth');
  }
  // The binary send frame: every truncation, a wrong type byte, bad lengths and group ids, trailing bytes, an oversized payload.
  const good = encodeSendFrame({ ref: 5, groupId: group, messageId: new Uint8Array(16).fill(3), payload: new Uint8Array(20) });
  const bad: Uint8Array[] = [];
  for (let i = 0; i < good.length; i++) bad.push(good.subarray(0, i));
  bad.push(new Uint8Array([2, ...good.subarray(1)]), new Uint8Array([0xff, ...good.subarray(1)]), new Uint8Array([...good, 0]));
  const withGroup = (g: Uint8Array, lengthByte = g.length): Uint8Array => new Uint8Array([FRAME_SEND, 0, 0, 0, 6, lengthByte, ...g, ...new Uint8Array(16), 1, 0]);
  const enc = new TextEncoder();
  bad.push(
    withGroup(new Uint8Array([0xff, 0xfe, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41])), // not ASCII (not UTF-8 either)
    withGroup(enc.encode('grp-\u202eabcdefgh')),
    withGroup(enc.encode('../../etc/passwd')),
    withGroup(enc.encode('grp-abcdefgh'), 60), // the length runs past the frame
    withGroup(enc.encode('a'.repeat(129)).subarray(0, 63), 0x40 | 0), // a two-byte varint prefix cut short
    new Uint8Array([FRAME_SEND, 0, 0, 0, 7, 0xc0, 0, 0, 0]), // a varint of a length over 2^30
    encodeSendFrame({ ref: 6, groupId: group, messageId: new Uint8Array(16), payload: new Uint8Array(4097) }),
  );
  for (const f of bad) {
    await answer(f, `send frame ${Buffer.from(f.subarray(0, 24)).toString('hex')} (${f.length} bytes)`);
    sent++;
  }
  expect(sent).toBeGreaterThan(200);
  await c.close();
  await new Promise((r) => setTimeout(r, 50)); // the gateway coalesces acks for 20 ms: let any (wrong) write land
  expect(snapshot()).toBe(before);
});
