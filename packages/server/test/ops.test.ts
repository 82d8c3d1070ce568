// Sessions, revocation on a running server, invite revocation, /healthz and /metrics,
// key-package caps and claim limits: a real server on 127.0.0.1, real SQLite, real WebSockets.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeCryptoProvider } from '@parley/mls/crypto-node';
import { createUser, defaultConfig, PublicInspector, SqliteStore, type MlsInspector } from '@parley/server';
import { b64, http, MlsDevice, newDevice, newUser, startTestServer, WsClient, type TestServer } from '@parley/testing';

let srv: TestServer;
let adminToken: string;

beforeAll(async () => {
  srv = await startTestServer({ limits: { ...defaultConfig({ dataDir: '.' }).limits, keyPackagesPerDevice: 3 } });
  await createUser(srv.server.ctx.store, { N: 1024, r: 8, p: 1 }, Date.now(), { username: 'root', password: 'root-password', admin: true });
  adminToken = (await http<{ token: string }>(srv.url, 'POST', '/v1/sessions', { username: 'root', password: 'root-password' })).body.token;
});
afterAll(async () => {
  await srv.close();
});

type SessionList = { sessions: { sessionId: string; deviceId: string | null; current: boolean }[] };

describe('sessions', () => {
  it('lists the caller’s own sessions and revokes one; its WebSocket closes at once, the others stay', async () => {
    const u = await newUser(srv.url);
    const other = await newUser(srv.url);
    const d1 = await newDevice(srv.url, u);
    const d2 = await newDevice(srv.url, u);
    const list = await http<SessionList>(srv.url, 'GET', '/v1/sessions', undefined, d1.token);
    expect(list.status).toBe(200);
    // The registration session and the two device sessions; never a token.
    expect(list.body.sessions).toHaveLength(3);
    expect(JSON.stringify(list.body)).not.toContain(d2.token);
    expect(list.body.sessions.filter((s) => s.current).map((s) => s.deviceId)).toEqual([d1.deviceId]);
    const target = list.body.sessions.find((s) => s.deviceId === d2.deviceId)!;

    const ws1 = await WsClient.connect(srv.wsUrl, d1.token);
    const ws2 = await WsClient.connect(srv.wsUrl, d2.token);
    // Another user cannot revoke it.
    expect(await http(srv.url, 'DELETE', `/v1/sessions/${target.sessionId}`, undefined, other.token)).toMatchObject({ status: 404, body: { error: { code: 'unknown-session' } } });
    expect(ws2.closeCode).toBeUndefined();
    expect((await http(srv.url, 'DELETE', `/v1/sessions/${target.sessionId}`, undefined, d1.token)).status).toBe(204);
    await ws2.until(() => ws2.closeCode !== undefined);
    expect(ws2.closeCode).toBe(4003);
    expect((await http(srv.url, 'GET', '/v1/sessions/current', undefined, d2.token)).body).toMatchObject({ error: { code: 'unauthenticated' } });
    expect((await http<SessionList>(srv.url, 'GET', '/v1/sessions', undefined, d1.token)).body.sessions).toHaveLength(2);
    expect(ws1.closeCode).toBeUndefined();
    expect(await http(srv.url, 'DELETE', '/v1/sessions/nothex', undefined, d1.token)).toMatchObject({ status: 400, body: { error: { code: 'bad-request' } } });

    // Logout closes the logged-out session's socket too.
    expect((await http(srv.url, 'DELETE', '/v1/sessions/current', undefined, d1.token)).status).toBe(204);
    await ws1.until(() => ws1.closeCode !== undefined);
    expect(ws1.closeCode).toBe(4003);
  });

  it('an admin deactivation takes effect on the running server: tokens refused, sockets closed', async () => {
    const u = await newUser(srv.url);
    const d = await newDevice(srv.url, u);
    const ws = await WsClient.connect(srv.wsUrl, d.token);
    expect(ws.controls.some((f) => f.type === 'ready')).toBe(true);
    expect((await http(srv.url, 'POST', `/v1/admin/users/${u.userId}/deactivate`, undefined, adminToken)).status).toBe(204);
    await ws.until(() => ws.closeCode !== undefined);
    expect(ws.closeCode).toBe(4003);
    expect((await http(srv.url, 'GET', '/v1/sessions/current', undefined, d.token)).body).toMatchObject({ error: { code: 'unauthenticated' } });
    expect((await http(srv.url, 'POST', '/v1/sessions', { username: u.userId, password: u.password })).body).toMatchObject({ error: { code: 'account-deactivated' } });
    const again = await WsClient.connect(srv.wsUrl, d.token);
    expect(again.controls.some((f) => f.type === 'ready')).toBe(false);
  });
});

describe('invites', () => {
  it('an admin revokes an invite code; it no longer registers anyone', async () => {
    const inv = await startTestServer({ registration: { policy: 'invite', domains: [] } });
    try {
      await createUser(inv.server.ctx.store, { N: 1024, r: 8, p: 1 }, Date.now(), { username: 'root', password: 'root-password', admin: true });
      const admin = (await http<{ token: string }>(inv.url, 'POST', '/v1/sessions', { username: 'root', password: 'root-password' })).body.token;
      const keep = (await http<{ code: string }>(inv.url, 'POST', '/v1/admin/invites', { maxUses: 5 }, admin)).body.code;
      const drop = (await http<{ code: string }>(inv.url, 'POST', '/v1/admin/invites', { maxUses: 5 }, admin)).body.code;
      const listed = await http<{ invites: { id: string }[] }>(inv.url, 'GET', '/v1/admin/invites', undefined, admin);
      expect(listed.body.invites).toHaveLength(2);
      const { inviteHash } = await import('../src/accounts.js');
      const dropId = Buffer.from(inviteHash(drop).subarray(0, 8)).toString('hex');
      const user = await newUser(inv.url).catch(() => null);
      expect(user).toBeNull();
      const amy = await http<{ token: string }>(inv.url, 'POST', '/v1/accounts', { username: 'amy', password: 'amy-password' });
      expect(amy.body).toMatchObject({ error: { code: 'invalid-invite' } });
      expect((await http(inv.url, 'DELETE', `/v1/admin/invites/${dropId}`, undefined, (await http<{ token: string }>(inv.url, 'POST', '/v1/accounts', { username: 'bob', password: 'bob-password', invite: keep })).body.token)).body).toMatchObject({ error: { code: 'forbidden' } });
      expect((await http(inv.url, 'DELETE', `/v1/admin/invites/${dropId}`, undefined, admin)).status).toBe(204);
      expect((await http(inv.url, 'DELETE', `/v1/admin/invites/${dropId}`, undefined, admin)).body).toMatchObject({ error: { code: 'unknown-invite' } });
      expect((await http(inv.url, 'POST', '/v1/accounts', { username: 'cal', password: 'cal-password', invite: drop })).body).toMatchObject({ error: { code: 'invalid-invite' } });
      expect((await http(inv.url, 'POST', '/v1/accounts', { username: 'dee', password: 'dee-password', invite: keep })).status).toBe(201);
      expect((await http<{ invites: { id: string }[] }>(inv.url, 'GET', '/v1/admin/invites', undefined, admin)).body.invites.map((i) => i.id)).not.toContain(dropId);
    } finally {
      await inv.close();
    }
  });
});

describe('operations', () => {
  it('/metrics answers an admin session only', async () => {
    const u = await newUser(srv.url);
    expect((await http(srv.url, 'GET', '/metrics')).status).toBe(401);
    expect((await http(srv.url, 'GET', '/metrics', undefined, u.token)).body).toMatchObject({ error: { code: 'forbidden' } });
    const m = await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(m.status).toBe(200);
    expect(await m.text()).toContain('parley_http_requests_total');
  });

  it('/healthz probes the database: 503 database-unavailable once it does not answer', async () => {
    const own = await startTestServer();
    try {
      expect(await http(own.url, 'GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
      await own.server.ctx.store.close();
      expect(await http(own.url, 'GET', '/healthz')).toMatchObject({ status: 503, body: { error: { code: 'database-unavailable' } } });
    } finally {
      await own.close();
    }
  });
});

describe('key packages', () => {
  it('keeps one last-resort package per device (a new one replaces it) and caps the regular ones', async () => {
    const u = await newUser(srv.url);
    const d = await MlsDevice.register(srv.url, u);
    const claimer = await newUser(srv.url);
    const lr1 = await d.keyPackage(true);
    const lr2 = await d.keyPackage(true);
    const up1 = await http(srv.url, 'POST', '/v1/devices/me/key-packages', { keyPackages: [b64((await d.keyPackage()).bytes)], lastResort: b64(lr1.bytes) }, d.token);
    expect(up1.body).toEqual({ regular: 1, lastResort: 1 });
    const up2 = await http(srv.url, 'POST', '/v1/devices/me/key-packages', { keyPackages: [], lastResort: b64(lr2.bytes) }, d.token);
    expect(up2.body).toEqual({ regular: 1, lastResort: 1 });
    // Cap 3 regular: 1 + 3 is refused, and nothing of the refused batch is stored.
    const three = await Promise.all([0, 1, 2].map(async () => b64((await d.keyPackage()).bytes)));
    expect(await http(srv.url, 'POST', '/v1/devices/me/key-packages', { keyPackages: three }, d.token)).toMatchObject({ status: 409, body: { error: { code: 'too-many-key-packages' } } });
    expect((await http(srv.url, 'GET', '/v1/devices/me/key-packages', undefined, d.token)).body).toEqual({ regular: 1, lastResort: 1 });
    expect((await http(srv.url, 'POST', '/v1/devices/me/key-packages', { keyPackages: three.slice(0, 2) }, d.token)).body).toEqual({ regular: 3, lastResort: 1 });
    const claim = async (): Promise<{ keyPackage: string; lastResort: boolean }> =>
      (await http<{ keyPackages: { keyPackage: string; lastResort: boolean }[] }>(srv.url, 'POST', `/v1/users/${u.userId}/key-packages/claim`, undefined, claimer.token)).body.keyPackages[0]!;
    for (let i = 0; i < 3; i++) expect((await claim()).lastResort).toBe(false);
    // Only the newer last-resort package is handed out, and it stays.
    const last = await claim();
    expect(last).toEqual({ deviceId: d.deviceId, keyPackage: b64(lr2.bytes), lastResort: true });
    expect(await claim()).toEqual(last);
  });

  it('holds the cap under concurrent uploads: the count and the insert are one transaction', async () => {
    // The real inspector, held at a barrier until all eight uploads are verifying their
    // signatures: each has passed the early count check (nothing stored yet), so only the
    // store's count-and-insert stands between them and the cap.
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-kp-race-'));
    const store = new SqliteStore(join(dataDir, 'parley.db'), { synchronous: 'normal' });
    const real = new PublicInspector({ provider: nodeCryptoProvider, store, now: Date.now });
    const N = 8;
    let waiting = 0;
    let release!: () => void;
    const barrier = new Promise<void>((r) => (release = r));
    const fallback = setTimeout(release, 5000); // never hang: the assertions below then fail
    const inspector: MlsInspector = {
      inspectGroupInfo: (...a) => real.inspectGroupInfo(...a),
      inspectCommit: (...a) => real.inspectCommit(...a),
      async inspectKeyPackage(device, kp) {
        if (++waiting === N) release();
        await barrier;
        return real.inspectKeyPackage(device, kp);
      },
    };
    const race = await startTestServer({ dataDir, limits: { ...defaultConfig({ dataDir: '.' }).limits, keyPackagesPerDevice: 3 } }, { store, inspector });
    try {
      const u = await newUser(race.url);
      const d = await MlsDevice.register(race.url, u);
      const batches = await Promise.all(Array.from({ length: N }, async () => [b64((await d.keyPackage()).bytes)]));
      const answers = await Promise.all(batches.map((keyPackages) => http(race.url, 'POST', '/v1/devices/me/key-packages', { keyPackages }, d.token)));
      expect(waiting).toBe(N);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 409, 409, 409, 409, 409]);
      for (const a of answers) if (a.status === 409) expect(a.body).toMatchObject({ error: { code: 'too-many-key-packages' } });
      expect((await http(race.url, 'GET', '/v1/devices/me/key-packages', undefined, d.token)).body).toEqual({ regular: 3, lastResort: 0 });
    } finally {
      clearTimeout(fallback);
      await race.close();
    }
  });

  it('limits claims per claiming account with rate-limited', async () => {
    const rl = defaultConfig({ dataDir: '.' }).rateLimits!;
    const lim = await startTestServer({ rateLimits: { ...rl, claimPerAccount: { rate: 0.001, burst: 2 } } });
    try {
      const target = await newUser(lim.url);
      const a = await newUser(lim.url);
      const b = await newUser(lim.url);
      const claim = (token: string): Promise<{ status: number; body: unknown }> => http(lim.url, 'POST', `/v1/users/${target.userId}/key-packages/claim`, undefined, token);
      expect((await claim(a.token)).status).toBe(200);
      expect((await claim(a.token)).status).toBe(200);
      expect(await claim(a.token)).toMatchObject({ status: 429, body: { error: { code: 'rate-limited' } } });
      // Another account has its own budget.
      expect((await claim(b.token)).status).toBe(200);
    } finally {
      await lim.close();
    }
  });
});

describe('SQLite store', () => {
  it('deleteInvite and listSessions persist across a reopen', async () => {
    const store = new SqliteStore(`${srv.dataDir}/other.db`);
    await store.createUser({ id: 'zed', email: null, password: { hash: new Uint8Array(32), salt: new Uint8Array(16), params: { N: 1024, r: 8, p: 1, keylen: 32 } }, admin: false, active: true, identityKey: null, createdAt: 1 });
    await store.createSession({ tokenHash: new Uint8Array(32).fill(7), userId: 'zed', deviceId: null, createdAt: 1, expiresAt: 9e15 });
    await store.createInvite({ codeHash: new Uint8Array(32).fill(3), createdBy: 'zed', createdAt: 1, expiresAt: 9e15, maxUses: 1, uses: 0 });
    expect(await store.deleteInvite(new Uint8Array(32).fill(3))).toBe(true);
    await store.close();
    const again = new SqliteStore(`${srv.dataDir}/other.db`);
    expect(await again.listInvites()).toEqual([]);
    expect((await again.listSessions('zed')).map((s) => s.tokenHash[0])).toEqual([7]);
    await again.check();
    await again.close();
  });
});
