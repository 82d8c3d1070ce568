// The OpenAPI document (issue 5 item 11) is generated from the route schemas: this walks
// it and fails if any operation lacks a request or response schema, then drives every
// operation once for real and validates each answer (successes and errors alike) against
// the schema the document gives for its status — with Ajv, the validator Fastify uses.
// A new route is in the document by construction, so it fails here until it has schemas
// and a case below.
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_STATUS, isErrorCode } from '@parley/protocol';
import { createUser } from '@parley/server';
import { b64, MlsDevice, mlsGroup, newDevice, newUser, startTestServer, type TestServer } from '@parley/testing';

type Schema = Record<string, unknown>;
interface Operation {
  summary: string;
  parameters: { name: string; in: string; schema?: Schema }[];
  requestBody?: { content: Record<string, { schema?: Schema }> };
  responses: Record<string, { $ref?: string; description?: string; content?: Record<string, { schema?: Schema }> }>;
  security?: unknown[];
}
interface Doc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; responses: Record<string, Operation['responses'][string]> };
}

// Fastify's own Ajv (8), not whatever `ajv` resolves to at the top of node_modules.
const fastifyRequire = createRequire(createRequire(import.meta.url).resolve('@fastify/ajv-compiler'));
const Ajv = (fastifyRequire('ajv') as { default: new (o: object) => AjvLike }).default;
interface AjvLike {
  compile(s: Schema): ((d: unknown) => boolean) & { errors?: unknown };
}
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, formats: { binary: true } });

/** Routes that take no request body by design; any other POST, PUT or PATCH must declare one. */
const BODYLESS = new Set(['POST /v1/admin/users/{userId}/deactivate', 'POST /v1/admin/users/{userId}/activate', 'POST /v1/users/{userId}/key-packages/claim']);

let srv: TestServer;
let doc: Doc;

beforeAll(async () => {
  srv = await startTestServer();
  doc = (await (await fetch(`${srv.url}/openapi.json`)).json()) as Doc;
});
afterAll(async () => {
  await srv.close();
});

const operations = (): { key: string; method: string; path: string; op: Operation }[] =>
  Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, op })));

/** Follows `$ref`s (JSON pointers into the document). */
function deref<T>(v: T): T {
  let cur: unknown = v;
  while (typeof cur === 'object' && cur !== null && typeof (cur as { $ref?: unknown }).$ref === 'string') {
    const ref = (cur as { $ref: string }).$ref;
    expect(ref.startsWith('#/')).toBe(true);
    cur = ref
      .slice(2)
      .split('/')
      .reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], doc);
    expect(cur, ref).toBeDefined();
  }
  return cur as T;
}

/** The error codes the operation lists for one status (the enum of its error body's code). */
function errorCodesOf(op: Operation, status: string): string[] | undefined {
  const r = op.responses[status];
  if (r === undefined) return undefined;
  const schema = deref(r).content?.['application/json']?.schema as { properties?: { error?: { properties?: { code?: { enum?: string[] } } } } } | undefined;
  return schema?.properties?.error?.properties?.code?.enum;
}

/** The schema (deref'd, with nested refs inlined) the document gives for one answer. */
function inline(s: Schema): Schema {
  return JSON.parse(JSON.stringify(s), (_k, v: unknown) => (typeof v === 'object' && v !== null && '$ref' in v ? deref(v) : v)) as Schema;
}

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1, and every operation has a summary, parameter schemas, a request schema and response schemas', () => {
    expect(doc.openapi).toBe('3.1.0');
    const ops = operations();
    expect(ops.length).toBeGreaterThan(30);
    const problems: string[] = [];
    for (const { key, method, path, op } of ops) {
      if (op.summary === '') problems.push(`${key}: no summary`);
      for (const name of [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!)) {
        const p = op.parameters.find((x) => x.in === 'path' && x.name === name);
        if (p?.schema === undefined) problems.push(`${key}: path parameter ${name} has no schema`);
      }
      if (['POST', 'PUT', 'PATCH'].includes(method) && !BODYLESS.has(key)) {
        const content = op.requestBody?.content ?? {};
        if (Object.keys(content).length === 0) problems.push(`${key}: no request body schema`);
        for (const [type, c] of Object.entries(content)) {
          if (c.schema === undefined) problems.push(`${key}: ${type} request body without a schema`);
          else if (type === 'application/json' && c.schema.additionalProperties !== false) problems.push(`${key}: the JSON body admits unknown fields`);
        }
      }
      if (BODYLESS.has(key) && op.requestBody !== undefined) problems.push(`${key}: listed as body-less but declares a body`);
      const statuses = Object.keys(op.responses);
      const successes = statuses.filter((s) => /^2/.test(s));
      if (successes.length === 0) problems.push(`${key}: no success response`);
      for (const s of successes) {
        const r = deref(op.responses[s]!);
        const bodyless = s === '204';
        if (bodyless && r.content !== undefined) problems.push(`${key}: 204 with a body`);
        if (!bodyless && Object.values(r.content ?? {}).filter((c) => c.schema !== undefined).length === 0) problems.push(`${key}: ${s} without a body schema`);
        if ((r.description ?? '') === '') problems.push(`${key}: ${s} without a description`);
      }
      // Errors: one answer per status, each listing the codes of that status the route may answer.
      const errors = statuses.filter((st) => !/^[23]/.test(st));
      const listed = new Set<string>();
      for (const st of errors) {
        if (!/^[45][0-9][0-9]$/.test(st)) {
          problems.push(`${key}: ${st} is not one status (no ranges: each status lists its codes)`);
          continue;
        }
        const codes = errorCodesOf(op, st);
        if (codes === undefined || codes.length === 0) problems.push(`${key}: ${st} lists no error codes`);
        for (const c of codes ?? []) {
          listed.add(c);
          if (!isErrorCode(c)) problems.push(`${key}: ${st} lists ${c}, not a stable code`);
          else if (String(ERROR_STATUS[c]) !== st) problems.push(`${key}: ${c} listed under ${st}, but its status is ${ERROR_STATUS[c]}`);
        }
      }
      const needs = ['bad-request', 'internal', ...(op.security?.length === 0 ? [] : ['unauthenticated']), ...(method === 'GET' ? [] : ['body-too-large', 'unsupported-media-type'])];
      for (const c of needs) if (!listed.has(c)) problems.push(`${key}: does not list ${c}`);
    }
    expect(problems).toEqual([]);
  });

  it('holds schemas Ajv compiles, and an Error schema whose code is one of the stable codes', () => {
    for (const { key, op } of operations()) {
      const schemas = [
        ...op.parameters.map((p) => p.schema),
        ...Object.values(op.requestBody?.content ?? {}).map((c) => c.schema),
        ...Object.values(op.responses).flatMap((r) => Object.values(deref(r).content ?? {}).map((c) => c.schema)),
      ];
      for (const s of schemas) if (s !== undefined) expect(() => ajv.compile(inline(s)), key).not.toThrow();
    }
    const error = ajv.compile(inline(doc.components.schemas.Error!));
    expect(error({ error: { code: 'stale-epoch', message: 'x', currentEpoch: 3 } })).toBe(true);
    expect(error({ error: { code: 'no-such-code', message: 'x' } })).toBe(false);
    expect(error({ error: { code: 'internal', message: 'x', stack: 'at x.js:1' } })).toBe(false);
  });

  it('lists, per operation and status, only the codes that route answers: another route\'s code fails validation', () => {
    const op = (key: string): Operation => operations().find((o) => o.key === key)!.op;
    const accounts = op('POST /v1/accounts');
    expect(errorCodesOf(accounts, '409')).toEqual(['username-taken']);
    expect(errorCodesOf(accounts, '429')).toEqual(['rate-limited']);
    const conflict = ajv.compile(inline(accounts.responses['409']!.content!['application/json']!.schema!));
    expect(conflict({ error: { code: 'username-taken', message: 'x' } })).toBe(true);
    expect(conflict({ error: { code: 'stale-epoch', message: 'x', currentEpoch: 1 } })).toBe(false); // a commit's code, not registration's
    expect(conflict({ error: { code: 'group-exists', message: 'x' } })).toBe(false);
    // Registration needs no session: no 401 at all. The commit route's 409 carries currentEpoch.
    expect(accounts.responses['401']).toBeUndefined();
    const commits = op('POST /v1/groups/{groupId}/commits');
    expect(errorCodesOf(commits, '409')).toEqual(['stale-epoch']);
    expect(ajv.compile(inline(commits.responses['409']!.content!['application/json']!.schema!))({ error: { code: 'stale-epoch', message: 'x', currentEpoch: 4 } })).toBe(true);
    expect(errorCodesOf(op('GET /v1/server'), '404')).toBeUndefined();
  });
});

describe('real answers', () => {
  it('validate against the document’s schema for their status, for every operation', async () => {
    const seen = new Set<string>();
    const failures: string[] = [];
    const matchers = operations().map((o) => ({ ...o, re: new RegExp(`^${o.path.replace(/\{[^}]+\}/g, '[^/]+')}$`) }));

    /** One request; its answer is checked against the operation's schema for that status. */
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the body shape it expects
    async function call<T = Record<string, unknown>>(method: string, url: string, body?: unknown, token?: string, expected?: number, contentType?: string): Promise<{ status: number; body: T }> {
      const path = url.split('?')[0]!;
      const m = matchers.find((x) => x.method === method && x.re.test(path));
      expect(m, `${method} ${path} is in the document`).toBeDefined();
      const headers: Record<string, string> = {};
      if (token !== undefined) headers.authorization = `Bearer ${token}`;
      let payload: BodyInit | undefined;
      if (body instanceof Uint8Array) {
        headers['content-type'] = 'application/octet-stream';
        payload = new Blob([new Uint8Array(body)]);
      } else if (body !== undefined) {
        headers['content-type'] = contentType ?? 'application/json';
        payload = JSON.stringify(body);
      }
      const res = await fetch(srv.url + url, { method, headers, body: payload });
      const text = Buffer.from(await res.arrayBuffer());
      const key = `${m!.key} ${res.status}`;
      if (expected !== undefined && res.status !== expected) failures.push(`${key}: expected ${expected}: ${text.toString('utf8').slice(0, 200)}`);
      // The exact status: an error's code must be one the route lists for it (the schema's enum).
      const declared = m!.op.responses[String(res.status)];
      if (declared === undefined) {
        failures.push(`${key}: status not in the document`);
        return { status: res.status, body: {} as T };
      }
      const r = deref(declared);
      const type = (res.headers.get('content-type') ?? '').split(';')[0]!;
      if (r.content === undefined) {
        if (text.length !== 0) failures.push(`${key}: a body where the document has none`);
        seen.add(m!.key);
        return { status: res.status, body: {} as T };
      }
      const media = r.content[type];
      if (media?.schema === undefined) {
        failures.push(`${key}: content-type ${type} is not among ${Object.keys(r.content).join(', ')}`);
        return { status: res.status, body: {} as T };
      }
      if (type === 'application/json') {
        const parsed = JSON.parse(text.toString('utf8')) as unknown;
        const validate = ajv.compile(inline(media.schema));
        if (!validate(parsed)) failures.push(`${key}: ${JSON.stringify(validate.errors)} in ${text.toString('utf8').slice(0, 300)}`);
        seen.add(m!.key);
        return { status: res.status, body: parsed as T };
      }
      seen.add(m!.key);
      return { status: res.status, body: text as unknown as T };
    }

    // Operations, and errors of every kind the Error schema must describe.
    await call('GET', '/healthz', undefined, undefined, 200);
    await call('GET', '/v1/server', undefined, undefined, 200);
    await call('GET', '/openapi.json', undefined, undefined, 200);
    await call('GET', '/metrics', undefined, undefined, 401);
    await createUser(srv.server.ctx.store, { N: 1024, r: 8, p: 1 }, Date.now(), { username: 'root', password: 'root-password', admin: true });
    const root = await call<{ token: string }>('POST', '/v1/sessions', { username: 'root', password: 'root-password' }, undefined, 201);
    const adminToken = root.body.token;
    await call('GET', '/metrics', undefined, adminToken, 200);
    const name = `oa${randomBytes(4).toString('hex')}`;
    await call('POST', '/v1/accounts', { username: name, password: 'a-password' }, undefined, 201);
    await call('POST', '/v1/accounts', { username: name, password: 'a-password' }, undefined, 409);
    await call('POST', '/v1/sessions', { username: name, password: 'wrong' }, undefined, 401);
    await call('POST', '/v1/accounts', { username: 7 }, undefined, 400);
    await call('GET', '/v1/admin/users', undefined, adminToken, 200);
    await call('POST', '/v1/admin/users', { username: `${name}b`, password: 'another-password', email: 'b@example.org' }, adminToken, 201);
    await call('POST', `/v1/admin/users/${name}b/deactivate`, undefined, adminToken, 204);
    await call('POST', `/v1/admin/users/${name}b/activate`, undefined, adminToken, 204);
    await call('POST', '/v1/admin/users/nobody-at-all/activate', undefined, adminToken, 404);
    await call('POST', '/v1/admin/invites', { maxUses: 2 }, adminToken, 201);
    const invites = await call<{ invites: { id: string }[] }>('GET', '/v1/admin/invites', undefined, adminToken, 200);
    await call('DELETE', `/v1/admin/invites/${invites.body.invites[0]!.id}`, undefined, adminToken, 204);

    const alice = await newUser(srv.url);
    const bob = await newUser(srv.url);
    const a1 = await MlsDevice.register(srv.url, alice);
    const b1 = await MlsDevice.register(srv.url, bob);
    await call('GET', '/v1/sessions/current', undefined, a1.token, 200);
    const sessions = await call<{ sessions: { sessionId: string; current: boolean }[] }>('GET', '/v1/sessions', undefined, a1.token, 200);
    // Alice has two sessions: the registration one (alice.token) and a1's. Revoke the first.
    expect(sessions.body.sessions).toHaveLength(2);
    await call('DELETE', `/v1/sessions/${sessions.body.sessions.find((s) => !s.current)!.sessionId}`, undefined, a1.token, 204);
    await call('PUT', '/v1/users/me/identity-key', { identityKey: b64(alice.identity.publicKey) }, alice.token, 401);
    await call('PUT', '/v1/users/me/identity-key', { identityKey: b64(alice.identity.publicKey) }, a1.token, 409);
    await call('GET', '/v1/identity-backup', undefined, a1.token, 404);
    await call('PUT', '/v1/identity-backup', { backup: b64(new Uint8Array(40)) }, a1.token, 204);
    await call('GET', '/v1/identity-backup', undefined, a1.token, 200);
    await call('GET', `/v1/users/${alice.userId}`, undefined, b1.token, 200);
    const found = await call<{ users: { userId: string }[] }>('GET', `/v1/users?prefix=${alice.userId.slice(0, 2)}`, undefined, b1.token, 200);
    expect(found.body.users.map((u) => u.userId)).toContain(alice.userId);
    await call('POST', '/v1/devices', { certificate: b64(new Uint8Array(10)) }, a1.token, 409); // the session has its device
    const spare = await newDevice(srv.url, alice);
    await call('DELETE', `/v1/devices/${spare.deviceId}`, undefined, a1.token, 204);
    await call('POST', '/v1/devices/me/key-packages', { keyPackages: [b64((await b1.keyPackage()).bytes)], lastResort: b64((await b1.keyPackage(true)).bytes) }, b1.token, 200);
    await call('GET', '/v1/devices/me/key-packages', undefined, b1.token, 200);
    await call('POST', `/v1/users/${bob.userId}/key-packages/claim`, undefined, a1.token, 200);

    const g = await mlsGroup(srv.url, a1, [b1]);
    await call('GET', `/v1/groups/${g}`, undefined, a1.token, 200);
    await call('GET', `/v1/groups/${g}/group-info`, undefined, a1.token, 200);
    const g2 = `grp-${randomBytes(6).toString('hex')}`;
    const prepared = await a1.prepareGroup(g2);
    await call('POST', '/v1/groups', { groupId: g2, epoch: Number(prepared.state.groupContext.epoch), groupInfo: b64(prepared.groupInfo) }, a1.token, 201);
    a1.groups.set(g2, prepared.state);
    const c = await a1.build(g);
    const epoch = Number(a1.state(g).groupContext.epoch);
    await call('POST', `/v1/groups/${g}/commits`, { epoch, commit: b64(c.commitMessage), groupInfo: b64(c.groupInfo) }, a1.token, 201);
    await call('POST', `/v1/groups/${g}/commits`, { epoch, commit: b64(c.commitMessage), groupInfo: b64(c.groupInfo) }, a1.token, 409); // stale-epoch, with currentEpoch
    await call('POST', `/v1/groups/${g}/messages`, { messageId: Buffer.alloc(16, 5).toString('base64url'), message: b64(new Uint8Array(24)) }, a1.token, 201);
    await call('POST', `/v1/groups/${g}/messages`, { messageId: Buffer.alloc(16, 5).toString('base64url'), message: b64(new Uint8Array(24)) }, a1.token, 201); // duplicate
    await call('GET', `/v1/groups/${g}/messages?after=0&limit=10`, undefined, b1.token, 200);
    await call('GET', `/v1/groups/${g2}/messages`, undefined, b1.token, 403);
    await call('GET', '/v1/inbox?after=0', undefined, b1.token, 200);
    await call('POST', '/v1/acks', { groups: [{ groupId: g, seq: 1 }], inbox: 1 }, b1.token, 204);
    const up = await call<{ attachmentId: string }>('POST', `/v1/groups/${g}/attachments`, new Uint8Array(100).fill(1), a1.token, 201);
    await call('GET', `/v1/attachments/${up.body.attachmentId}`, undefined, b1.token, 200);
    await call('DELETE', `/v1/attachments/${up.body.attachmentId}`, undefined, b1.token, 403);
    await call('DELETE', `/v1/attachments/${up.body.attachmentId}`, undefined, a1.token, 204);
    await call('GET', `/v1/attachments/${up.body.attachmentId}`, undefined, a1.token, 404);
    // A body where the route takes none is still read (Fastify): of another media type, or too large.
    for (const [method, url] of [['POST', `/v1/users/${bob.userId}/key-packages/claim`], ['DELETE', `/v1/attachments/${up.body.attachmentId}`]] as const) {
      await call(method, url, { xml: '<a/>' }, a1.token, 415, 'application/xml');
      await call(method, url, { big: 'x'.repeat(2 << 20) }, a1.token, 413);
    }
    await call('DELETE', '/v1/sessions/current', undefined, b1.token, 204);

    expect(failures).toEqual([]);
    // Every operation of the document was answered and checked at least once.
    expect(operations().map((o) => o.key).filter((k) => !seen.has(k))).toEqual([]);
  });
});
