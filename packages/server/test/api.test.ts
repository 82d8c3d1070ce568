// The server end to end: a real server on 127.0.0.1, real SQLite, real WebSockets.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, http, MlsDevice, newDevice, newUser, startTestServer, WsClient, type TestServer } from '@parley/testing';

let srv: TestServer;
const logs: string[] = [];

beforeAll(async () => {
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  srv = await startTestServer({}, { logLevel: 'debug', logDestination: destination });
});
afterAll(async () => {
  await srv.close();
});

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

async function groupOf(owner: MlsDevice, id = `grp-${randomBytes(6).toString('hex')}`, base = srv.url): Promise<string> {
  const r = await owner.createGroup(base, id);
  expect(r.status).toBe(201);
  return id;
}

/** Adds `members` to the group by one real commit (their fresh key packages, one Welcome). */
async function addTo(base: string, owner: MlsDevice, id: string, members: readonly MlsDevice[]): Promise<void> {
  const held = await Promise.all(members.map((m) => m.keyPackage()));
  const r = await owner.commit(base, id, held.map((h) => ({ proposalType: 1 as const, add: { keyPackage: h.keyPackage } })));
  expect(r.status, JSON.stringify(r.body)).toBe(201);
}

describe('operations', () => {
  it('answers /healthz, /metrics and an OpenAPI document generated from the routes', async () => {
    expect((await http(srv.url, 'GET', '/healthz')).body).toMatchObject({ status: 'ok' });
    // /metrics needs an admin session (tested in ops.test.ts); without one it is refused.
    expect((await http(srv.url, 'GET', '/metrics')).body).toMatchObject({ error: { code: 'unauthenticated' } });
    const o = await http<{ paths: Record<string, Record<string, { requestBody?: unknown }>> }>(srv.url, 'GET', '/openapi.json');
    expect(o.body.paths['/v1/groups/{groupId}/commits']?.post?.requestBody).toBeDefined();
    expect(Object.keys(o.body.paths).length).toBeGreaterThan(20);
    const nf = await http(srv.url, 'GET', '/nope');
    expect(nf).toMatchObject({ status: 404, body: { error: { code: 'not-found' } } });
  });
});

describe('accounts and sessions', () => {
  it('registers, logs in, logs out; wrong passwords and revoked tokens are refused', async () => {
    const u = await newUser(srv.url);
    const bad = await http(srv.url, 'POST', '/v1/sessions', { username: u.userId, password: 'wrong-password' });
    expect(bad).toMatchObject({ status: 401, body: { error: { code: 'invalid-credentials' } } });
    const unknown = await http(srv.url, 'POST', '/v1/sessions', { username: 'nobody-here', password: 'whatever1' });
    expect(unknown.body).toEqual(bad.body);
    const s = await http<{ token: string }>(srv.url, 'POST', '/v1/sessions', { username: u.userId, password: u.password });
    expect(s.status).toBe(201);
    expect((await http(srv.url, 'GET', '/v1/sessions/current', undefined, s.body.token)).body).toMatchObject({ userId: u.userId, deviceId: null });
    expect((await http(srv.url, 'DELETE', '/v1/sessions/current', undefined, s.body.token)).status).toBe(204);
    expect((await http(srv.url, 'GET', '/v1/sessions/current', undefined, s.body.token)).body).toMatchObject({ error: { code: 'unauthenticated' } });
    expect((await http(srv.url, 'POST', '/v1/accounts', { username: u.userId, password: 'another-pass' })).body).toMatchObject({ error: { code: 'username-taken' } });
  });

  it('never logs passwords or tokens', async () => {
    const u = await newUser(srv.url);
    const s = await http<{ token: string }>(srv.url, 'POST', '/v1/sessions', { username: u.userId, password: u.password }, undefined, {});
    await http(srv.url, 'GET', '/v1/sessions/current', undefined, s.body.token);
    srv.server.ctx.log.info({ password: u.password, token: s.body.token, nested: { password: u.password } }, 'hostile log call');
    const all = logs.join('');
    expect(all).toContain('hostile log call');
    expect(all).not.toContain(u.password);
    expect(all).not.toContain(s.body.token);
  });
});

describe('registration policies and admin', () => {
  it('applies invite and domain policies; an admin manages users and invites', async () => {
    const inv = await startTestServer({ registration: { policy: 'invite', domains: [] } });
    const dom = await startTestServer({ registration: { policy: 'domains', domains: ['interieur.gouv.fr'] } });
    try {
      const store = inv.server.ctx.store;
      const { createUser } = await import('../src/accounts.js');
      await createUser(store, { N: 1024, r: 8, p: 1 }, Date.now(), { username: 'root', password: 'root-password', admin: true });
      const admin = await http<{ token: string }>(inv.url, 'POST', '/v1/sessions', { username: 'root', password: 'root-password' });
      expect((await http(inv.url, 'POST', '/v1/accounts', { username: 'eve', password: 'eve-password' })).body).toMatchObject({ error: { code: 'invalid-invite' } });
      const code = await http<{ code: string }>(inv.url, 'POST', '/v1/admin/invites', { maxUses: 1 }, admin.body.token);
      expect(code.status).toBe(201);
      expect((await http(inv.url, 'POST', '/v1/accounts', { username: 'amy', password: 'amy-password', invite: code.body.code })).status).toBe(201);
      expect((await http(inv.url, 'POST', '/v1/accounts', { username: 'bea', password: 'bea-password', invite: code.body.code })).body).toMatchObject({ error: { code: 'invalid-invite' } });
      const invites = await http<{ invites: { uses: number }[] }>(inv.url, 'GET', '/v1/admin/invites', undefined, admin.body.token);
      expect(invites.body.invites.map((i) => i.uses)).toEqual([1]);
      expect(JSON.stringify(invites.body)).not.toContain(code.body.code);

      const amy = await http<{ token: string }>(inv.url, 'POST', '/v1/sessions', { username: 'amy', password: 'amy-password' });
      expect((await http(inv.url, 'GET', '/v1/admin/users', undefined, amy.body.token)).body).toMatchObject({ error: { code: 'forbidden' } });
      expect((await http(inv.url, 'POST', '/v1/admin/users', { username: 'cal', password: 'cal-password' }, admin.body.token)).status).toBe(201);
      expect((await http(inv.url, 'POST', '/v1/admin/users/amy/deactivate', undefined, admin.body.token)).status).toBe(204);
      expect((await http(inv.url, 'GET', '/v1/sessions/current', undefined, amy.body.token)).status).toBe(401);
      expect((await http(inv.url, 'POST', '/v1/sessions', { username: 'amy', password: 'amy-password' })).body).toMatchObject({ error: { code: 'account-deactivated' } });
      const users = await http<{ users: { userId: string; active: boolean }[] }>(inv.url, 'GET', '/v1/admin/users', undefined, admin.body.token);
      expect(users.body.users.map((x) => [x.userId, x.active])).toEqual([['amy', false], ['cal', true], ['root', true]]);

      expect((await http(dom.url, 'POST', '/v1/accounts', { username: 'dan', password: 'dan-password' })).body).toMatchObject({ error: { code: 'email-required' } });
      expect((await http(dom.url, 'POST', '/v1/accounts', { username: 'dan', password: 'dan-password', email: 'dan@gmail.com' })).body).toMatchObject({ error: { code: 'email-domain-not-allowed' } });
      expect((await http(dom.url, 'POST', '/v1/accounts', { username: 'dan', password: 'dan-password', email: 'dan@Interieur.gouv.fr' })).status).toBe(201);
    } finally {
      await inv.close();
      await dom.close();
    }
  });

  it('rate-limits login per address', async () => {
    const rl = await startTestServer({
      rateLimits: {
        loginPerAddress: { rate: 0.01, burst: 3 },
        loginPerAccount: { rate: 0.01, burst: 100 },
        registerPerAddress: { rate: 0.01, burst: 100 },
        sendPerAccount: { rate: 1000, burst: 1000 },
        sendPerAddress: { rate: 1000, burst: 1000 },
      },
    });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) codes.push((await http(rl.url, 'POST', '/v1/sessions', { username: 'nobody', password: 'whatever1' })).status);
      expect(codes).toEqual([401, 401, 401, 429, 429]);
    } finally {
      await rl.close();
    }
  });
});

describe('identity, devices, key packages', () => {
  it('checks device certificates against the identity key and lists devices', async () => {
    const u = await newUser(srv.url);
    const other = await newUser(srv.url);
    // Certificate signed by someone else's identity key.
    const { deviceCertificate } = await import('@parley/testing');
    const forged = deviceCertificate({ ...u, identity: other.identity }, 'forged-device-1');
    const s = await http<{ token: string }>(srv.url, 'POST', '/v1/sessions', { username: u.userId, password: u.password });
    expect((await http(srv.url, 'POST', '/v1/devices', { certificate: b64(forged) }, s.body.token)).body).toMatchObject({ error: { code: 'invalid-device-certificate' } });
    const d1 = await newDevice(srv.url, u);
    const d2 = await newDevice(srv.url, u);
    const dir = await http<{ identityKey: string; devices: { deviceId: string }[] }>(srv.url, 'GET', `/v1/users/${u.userId}`, undefined, other.token);
    expect(dir.body.identityKey).toBe(b64(u.identity.publicKey));
    expect(dir.body.devices.map((d) => d.deviceId).sort()).toEqual([d1.deviceId, d2.deviceId].sort());
    expect((await http(srv.url, 'PUT', '/v1/users/me/identity-key', { identityKey: b64(other.identity.publicKey) }, u.token)).body).toMatchObject({ error: { code: 'identity-key-already-set' } });
  });

  it('keeps an opaque identity backup per user: any session of the user (also one without a device) reads and replaces it, no one else', async () => {
    const u = await newUser(srv.url);
    const other = await newUser(srv.url);
    expect(await http(srv.url, 'GET', '/v1/identity-backup', undefined, u.token)).toMatchObject({ status: 404, body: { error: { code: 'no-identity-backup' } } });
    const first = rnd(300);
    expect((await http(srv.url, 'PUT', '/v1/identity-backup', { backup: b64(first) }, u.token)).status).toBe(204);
    // A second device: logs in without deviceId, fetches the backup before it has a device.
    const s = await http<{ token: string; deviceId: string | null }>(srv.url, 'POST', '/v1/sessions', { username: u.userId, password: u.password });
    expect(s.body.deviceId).toBeNull();
    expect((await http(srv.url, 'GET', '/v1/identity-backup', undefined, s.body.token)).body).toEqual({ backup: b64(first), ciphertext: b64(first) });
    // A session with a device replaces it; another user sees only their own (none).
    const d = await newDevice(srv.url, u);
    const second = rnd(8192);
    expect((await http(srv.url, 'PUT', '/v1/identity-backup', { backup: b64(second) }, d.token)).status).toBe(204);
    expect((await http(srv.url, 'GET', '/v1/identity-backup', undefined, s.body.token)).body).toEqual({ backup: b64(second), ciphertext: b64(second) });
    expect((await http(srv.url, 'GET', '/v1/identity-backup', undefined, other.token)).body).toMatchObject({ error: { code: 'no-identity-backup' } });
    // Bad input: too large, not base64, extra fields, no token.
    expect((await http(srv.url, 'PUT', '/v1/identity-backup', { backup: b64(rnd(8193)) }, u.token)).body).toMatchObject({ error: { code: 'body-too-large' } });
    expect((await http(srv.url, 'PUT', '/v1/identity-backup', { backup: b64(rnd(9000)) }, u.token)).status).toBe(400);
    expect((await http(srv.url, 'PUT', '/v1/identity-backup', { backup: 'not base64!' }, u.token)).body).toMatchObject({ error: { code: 'bad-request' } });
    expect((await http(srv.url, 'PUT', '/v1/identity-backup', { backup: b64(first), userId: other.userId }, u.token)).body).toMatchObject({ error: { code: 'bad-request' } });
    expect((await http(srv.url, 'GET', '/v1/identity-backup')).body).toMatchObject({ error: { code: 'unauthenticated' } });
    expect((await http(srv.url, 'PUT', '/v1/identity-backup', {}, u.token)).body).toMatchObject({ error: { code: 'bad-request' } });
    expect((await http(srv.url, 'PUT', '/v1/identity-backup', { backup: b64(first), ciphertext: b64(first) }, u.token)).body).toMatchObject({ error: { code: 'bad-request' } });
    expect((await http(srv.url, 'PUT', '/v1/identity-backup', { ciphertext: b64(rnd(8193)) }, u.token)).body).toMatchObject({ error: { code: 'body-too-large' } });
    // The field may also be called ciphertext; the other user's token still reads only their own.
    const third = rnd(100);
    expect((await http(srv.url, 'PUT', '/v1/identity-backup', { ciphertext: b64(third) }, s.body.token)).status).toBe(204);
    expect((await http(srv.url, 'GET', '/v1/identity-backup', undefined, d.token)).body).toEqual({ backup: b64(third), ciphertext: b64(third) });
    expect((await http(srv.url, 'GET', '/v1/identity-backup', undefined, other.token)).status).toBe(404);
    expect((await http(srv.url, 'PUT', '/v1/identity-backup', { ciphertext: b64(second) }, s.body.token)).status).toBe(204);
    expect((await http(srv.url, 'GET', '/v1/identity-backup', undefined, s.body.token)).body).toEqual({ backup: b64(second), ciphertext: b64(second) });
  });

  it('hands out key packages once each, then the flagged last resort; the count is readable', async () => {
    const u = await newUser(srv.url);
    const d = await MlsDevice.register(srv.url, u);
    const claimer = await newUser(srv.url);
    const kps = [await d.keyPackage(), await d.keyPackage(), await d.keyPackage(true)].map((k) => b64(k.bytes));
    const up = await http(srv.url, 'POST', '/v1/devices/me/key-packages', { keyPackages: kps.slice(0, 2), lastResort: kps[2] }, d.token);
    expect(up.body).toEqual({ regular: 2, lastResort: 1 });
    const seen = new Set<string>();
    const flags: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await http<{ keyPackages: { keyPackage: string; lastResort: boolean; deviceId: string }[] }>(srv.url, 'POST', `/v1/users/${u.userId}/key-packages/claim`, undefined, claimer.token);
      expect(c.body.keyPackages.length).toBe(1);
      seen.add(c.body.keyPackages[0]!.keyPackage);
      flags.push(c.body.keyPackages[0]!.lastResort);
    }
    expect(flags).toEqual([false, false, true, true]);
    expect(seen.size).toBe(3);
    expect((await http(srv.url, 'GET', '/v1/devices/me/key-packages', undefined, d.token)).body).toEqual({ regular: 0, lastResort: 1 });
  });
});

describe('groups, commits and delivery', () => {
  it('sequences one commit per epoch, routes the Welcome, fans out to members, resumes from the cursor', async () => {
    const alice = await newUser(srv.url);
    const bob = await newUser(srv.url);
    const a1 = await MlsDevice.register(srv.url, alice);
    const a2 = await MlsDevice.register(srv.url, alice);
    const b1 = await MlsDevice.register(srv.url, bob);
    const g = await groupOf(a1);

    const [ka2, kb1] = [await a2.keyPackage(), await b1.keyPackage()];
    const add = await a1.build(g, [ka2, kb1].map((k) => ({ proposalType: 1 as const, add: { keyPackage: k.keyPackage } })));
    const rival = await a1.build(g, []); // built on the same epoch: loses the race
    expect(await a1.send(srv.url, g, add)).toMatchObject({ status: 201, body: { epoch: 2, seq: 1 } });
    const race = await http(srv.url, 'POST', `/v1/groups/${g}/commits`, { epoch: 1, commit: b64(rival.commitMessage), groupInfo: b64(rival.groupInfo) }, a1.token);
    expect(race).toMatchObject({ status: 409, body: { error: { code: 'stale-epoch', currentEpoch: 2 } } });
    // Declaring the right epoch does not help a commit framed in the old one.
    const framedOld = await http(srv.url, 'POST', `/v1/groups/${g}/commits`, { epoch: 2, commit: b64(rival.commitMessage), groupInfo: b64(rival.groupInfo) }, a1.token);
    expect(framedOld).toMatchObject({ status: 409, body: { error: { code: 'stale-epoch', currentEpoch: 2 } } });
    expect((await http<{ members: string[] }>(srv.url, 'GET', `/v1/groups/${g}`, undefined, b1.token)).body.members.sort()).toEqual([a1.deviceId, a2.deviceId, b1.deviceId].sort());

    const wsA1 = await WsClient.connect(srv.wsUrl, a1.token, 'header');
    const wsB1 = await WsClient.connect(srv.wsUrl, b1.token);
    await wsB1.until(() => wsB1.delivered.some((f) => f.kind === 'welcome'));
    const payloads = [rnd(250), rnd(250), rnd(250)];
    for (const p of payloads) expect(await wsA1.send(g, p)).toMatchObject({ type: 'sent', groupId: g });
    await wsB1.until(() => wsB1.delivered.filter((f) => f.kind === 'application').length === 3);
    expect(wsB1.delivered.filter((f) => f.kind === 'application').map((f) => b64(f.payload))).toEqual(payloads.map(b64));
    expect(wsA1.delivered.filter((f) => f.kind === 'application')).toEqual([]); // not echoed to the sender

    // a2 was offline: it gets its backlog (after the commit that added it) on connect, in order.
    const wsA2 = await WsClient.connect(srv.wsUrl, a2.token);
    await wsA2.until(() => wsA2.delivered.filter((f) => f.stream === 'group').length === 3);
    expect(wsA2.delivered.filter((f) => f.stream === 'group').map((f) => f.seq)).toEqual([2, 3, 4]);
    // Acknowledge up to 3, reconnect: only 4 comes again (at-least-once from the cursor).
    wsA2.control({ type: 'ack', groups: [{ groupId: g, seq: 3 }], inbox: 1 });
    await wsA2.until(() => false, 200).catch(() => undefined);
    await wsA2.close();
    const again = await WsClient.connect(srv.wsUrl, a2.token);
    await again.until(() => again.delivered.length >= 1);
    await again.until(() => false, 200).catch(() => undefined);
    expect(again.delivered.map((f) => [f.stream, f.seq])).toEqual([['group', 4]]);
    // Resumption from the client's own cursor.
    again.control({ type: 'sync', groups: [{ groupId: g, seq: 2 }] });
    await again.until(() => again.delivered.length === 3);
    expect(again.delivered.slice(1).map((f) => f.seq)).toEqual([3, 4]);

    // Idempotent retry: same message id, same seq, no second delivery.
    const id = rnd(16);
    const first = await wsA1.send(g, rnd(10), id);
    const retry = await wsA1.send(g, rnd(10), id);
    expect(retry).toMatchObject({ type: 'sent', duplicate: true, seq: (first as { seq: number }).seq });

    // Non-members cannot send.
    const eve = await newDevice(srv.url, await newUser(srv.url));
    const wsEve = await WsClient.connect(srv.wsUrl, eve.token);
    expect(await wsEve.send(g, rnd(10))).toMatchObject({ type: 'error', code: 'not-a-member' });

    // GroupInfo for rejoining, members only.
    expect((await http(srv.url, 'GET', `/v1/groups/${g}/group-info`, undefined, b1.token)).body).toMatchObject({ epoch: 2 });
    expect((await http(srv.url, 'GET', `/v1/groups/${g}/group-info`, undefined, eve.token)).body).toMatchObject({ error: { code: 'not-a-member' } });

    // Removing a device closes its socket, tells the user's other devices and the group.
    await wsA2.close();
    expect((await http(srv.url, 'DELETE', `/v1/devices/${a2.deviceId}`, undefined, a1.token)).status).toBe(204);
    await again.until(() => again.closeCode !== undefined);
    expect(again.closeCode).toBe(4003);
    await wsA1.until(() => wsA1.delivered.some((f) => f.kind === 'notice'));
    expect((await http(srv.url, 'GET', '/v1/sessions/current', undefined, a2.token)).status).toBe(401);
    for (const c of [wsA1, wsB1, wsEve]) await c.close();
  });

  it('disconnects a client that does not read (bounded send buffer); it catches up after', async () => {
    const small = await startTestServer({ wsMaxBufferedBytes: 64 * 1024 });
    try {
      const a = await newUser(small.url);
      const b = await newUser(small.url);
      const a1 = await MlsDevice.register(small.url, a);
      const b1 = await MlsDevice.register(small.url, b);
      const g = await groupOf(a1, undefined, small.url);
      await addTo(small.url, a1, g, [b1]);
      const stalled = await WsClient.connect(small.wsUrl, b1.token);
      (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause(); // stop reading
      const sender = await WsClient.connect(small.wsUrl, a1.token);
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < 400; i++) sends.push(sender.send(g, rnd(16_000)));
      await Promise.all(sends);
      await new Promise((r) => setTimeout(r, 500));
      expect(small.server.gateway.connections).toBe(1); // the stalled one was dropped
      const back = await WsClient.connect(small.wsUrl, b1.token);
      await back.until(() => back.delivered.filter((f) => f.kind === 'application').length === 400, 30_000);
      stalled.ws.terminate();
      await sender.close();
      await back.close();
    } finally {
      await small.close();
    }
  });

  it('stores attachments streamed, downloadable by group members only', async () => {
    const a = await newUser(srv.url);
    const a1 = await MlsDevice.register(srv.url, a);
    const g = await groupOf(a1);
    const blob = rnd(300_000);
    const up = await http<{ attachmentId: string }>(srv.url, 'POST', `/v1/groups/${g}/attachments`, blob, a1.token);
    expect(up.status).toBe(201);
    const res = await fetch(`${srv.url}/v1/attachments/${up.body.attachmentId}`, { headers: { authorization: `Bearer ${a1.token}` } });
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(blob))).toBe(true);
    const outsider = await newDevice(srv.url, await newUser(srv.url));
    expect((await http(srv.url, 'GET', `/v1/attachments/${up.body.attachmentId}`, undefined, outsider.token)).status).toBe(404);
    const small = await startTestServer({ limits: { jsonBody: 1 << 20, message: 1 << 16, attachment: 1000, keyPackagesPerDevice: 10 } });
    try {
      const u = await newUser(small.url);
      const d = await MlsDevice.register(small.url, u);
      await groupOf(d, 'group-small', small.url);
      expect((await http(small.url, 'POST', '/v1/groups/group-small/attachments', rnd(5000), d.token)).body).toMatchObject({ error: { code: 'body-too-large' } });
    } finally {
      await small.close();
    }
  });
});
