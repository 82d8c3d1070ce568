// One user against another (issue 5 items 2, 3, 6, 8): Bob, with a valid session and
// device of his own, tries every route that names something of Alice's — her inbox, her
// devices, her sessions, her group's log, commits and attachments, key packages for her
// device — and each is refused with a stable code while nothing stored changes (the whole
// database is compared before and after). Real server, real SQLite, real MLS.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeCommit } from '@parley/mls';
import { b64, http, MlsDevice, mlsGroup, newUser, startTestServer, WsClient, type HttpAnswer, type TestServer, type TestUser } from '@parley/testing';

let srv: TestServer;
let alice: TestUser & { token: string };
let a1: MlsDevice;
let a2: MlsDevice;
let b1: MlsDevice;
let g: string; // Alice's group: a1 and a2
let bobGroup: string; // Bob's own group: b1 alone
let attachment: string;
let aliceSessionIds: string[];

beforeAll(async () => {
  srv = await startTestServer();
  alice = await newUser(srv.url);
  const bob = await newUser(srv.url);
  a1 = await MlsDevice.register(srv.url, alice);
  a2 = await MlsDevice.register(srv.url, alice);
  b1 = await MlsDevice.register(srv.url, bob);
  g = await mlsGroup(srv.url, a1, [a2]);
  bobGroup = await mlsGroup(srv.url, b1);
  // Something in each of Alice's streams: a message in the group log, a Welcome in a2's inbox.
  expect((await http(srv.url, 'POST', `/v1/groups/${g}/messages`, { messageId: Buffer.alloc(16, 1).toString('base64url'), message: b64(new Uint8Array(32)) }, a1.token)).status).toBe(201);
  const up = await http<{ attachmentId: string }>(srv.url, 'POST', `/v1/groups/${g}/attachments`, new Uint8Array(64).fill(7), a1.token);
  expect(up.status).toBe(201);
  attachment = up.body.attachmentId;
  await http(srv.url, 'PUT', '/v1/identity-backup', { backup: b64(new Uint8Array(48).fill(3)) }, a1.token);
  aliceSessionIds = (await http<{ sessions: { sessionId: string }[] }>(srv.url, 'GET', '/v1/sessions', undefined, a1.token)).body.sessions.map((s) => s.sessionId);
  expect(aliceSessionIds.length).toBe(3);
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

function refused(r: HttpAnswer, status: number, code: string): void {
  expect(r, JSON.stringify(r.body)).toMatchObject({ status, body: { error: { code } } });
}

const bob = (method: string, path: string, body?: unknown): Promise<HttpAnswer> => http(srv.url, method, path, body, b1.token);

describe('Bob against Alice', () => {
  it('cannot read, acknowledge or drop Alice’s inbox, nor read her group’s log', async () => {
    const before = snapshot();
    // The inbox is the caller's device's: Bob's token only ever reaches Bob's (empty) one.
    const inbox = await http<{ messages: { kind: string }[] }>(srv.url, 'GET', '/v1/inbox?after=0', undefined, b1.token);
    expect(inbox).toMatchObject({ status: 200, body: { messages: [] } });
    const aliceInbox = await http<{ messages: { kind: string }[] }>(srv.url, 'GET', '/v1/inbox?after=0', undefined, a2.token);
    expect(aliceInbox.body.messages.map((m) => m.kind)).toContain('welcome');
    // Acknowledging Alice's group moves no cursor of hers (Bob has none there), and her log stays.
    expect((await bob('POST', '/v1/acks', { groups: [{ groupId: g, seq: 1_000_000 }] })).status).toBe(204);
    refused(await bob('GET', `/v1/groups/${g}/messages?after=0`), 403, 'not-a-member');
    refused(await bob('GET', `/v1/groups/${g}`), 403, 'not-a-member');
    refused(await bob('GET', `/v1/groups/${g}/group-info`), 403, 'not-a-member');
    refused(await bob('POST', `/v1/groups/${g}/messages`, { messageId: Buffer.alloc(16, 2).toString('base64url'), message: b64(new Uint8Array(8)) }), 403, 'not-a-member');
    // Over the WebSocket too: an ack of her group changes nothing, a send is refused, nothing of hers arrives.
    const ws = await WsClient.connect(srv.wsUrl, b1.token);
    ws.control({ type: 'ack', groups: [{ groupId: g, seq: 1_000_000 }] });
    expect(await ws.send(g, new Uint8Array(8))).toMatchObject({ type: 'error', code: 'not-a-member' });
    ws.control({ type: 'sync', groups: [{ groupId: g, seq: 0 }], inbox: 0 });
    const n = ws.controls.length;
    ws.control({ type: 'ping', ref: 99 });
    await ws.until(() => ws.controls.length > n);
    expect(ws.delivered.filter((d) => d.groupId === g)).toEqual([]);
    await ws.close();
    await new Promise((r) => setTimeout(r, 50)); // the gateway coalesces acks for 20 ms
    expect(snapshot()).toBe(before);
    // Alice still reads everything; Bob's session works where it should (the refusals were not a broken token).
    expect((await http<{ messages: unknown[] }>(srv.url, 'GET', `/v1/groups/${g}/messages?after=0`, undefined, a2.token)).body.messages.length).toBeGreaterThan(0);
    expect((await bob('POST', `/v1/groups/${bobGroup}/messages`, { messageId: Buffer.alloc(16, 3).toString('base64url'), message: b64(new Uint8Array(8)) })).status).toBe(201);
  });

  it('cannot remove Alice’s devices or revoke her sessions', async () => {
    const before = snapshot();
    refused(await bob('DELETE', `/v1/devices/${a1.deviceId}`), 404, 'unknown-device');
    for (const id of aliceSessionIds) refused(await bob('DELETE', `/v1/sessions/${id}`), 404, 'unknown-session');
    // Bob lists only his own sessions.
    const mine = await http<{ sessions: { sessionId: string }[] }>(srv.url, 'GET', '/v1/sessions', undefined, b1.token);
    expect(mine.body.sessions.map((s) => s.sessionId).filter((id) => aliceSessionIds.includes(id))).toEqual([]);
    // Not an admin: the admin API refuses him.
    refused(await bob('POST', `/v1/admin/users/${alice.userId}/deactivate`), 403, 'forbidden');
    refused(await bob('GET', '/v1/admin/users'), 403, 'forbidden');
    expect(snapshot()).toBe(before);
    expect((await http(srv.url, 'GET', '/v1/sessions/current', undefined, a1.token)).status).toBe(200);
    const dir = await http<{ devices: { deviceId: string }[] }>(srv.url, 'GET', `/v1/users/${alice.userId}`, undefined, b1.token);
    expect(dir.body.devices.map((d) => d.deviceId).sort()).toEqual([a1.deviceId, a2.deviceId].sort());
  });

  it('cannot fetch, post or delete attachments of a group he is not in, nor read Alice’s identity backup', async () => {
    const before = snapshot();
    refused(await bob('GET', `/v1/attachments/${attachment}`), 404, 'unknown-attachment');
    refused(await bob('DELETE', `/v1/attachments/${attachment}`), 404, 'unknown-attachment');
    refused(await http(srv.url, 'POST', `/v1/groups/${g}/attachments`, new Uint8Array(16), b1.token), 403, 'not-a-member');
    refused(await bob('GET', '/v1/identity-backup'), 404, 'no-identity-backup');
    expect(snapshot()).toBe(before);
    expect((await http(srv.url, 'GET', `/v1/attachments/${attachment}`, undefined, a2.token)).status).toBe(200);
  });

  it('cannot post commits to Alice’s group, even a well-formed one at its epoch', async () => {
    const before = snapshot();
    const epoch = (await http<{ epoch: number }>(srv.url, 'GET', `/v1/groups/${g}`, undefined, a1.token)).body.epoch;
    // Bob builds his own group under Alice's group id and brings it to her epoch, then commits.
    const { state } = await b1.prepareGroup(g);
    let s = state;
    while (Number(s.groupContext.epoch) < epoch) {
      b1.groups.set(g, s);
      s = mergeCommit(s, (await b1.build(g)).pending);
    }
    b1.groups.set(g, s);
    const forged = await b1.build(g);
    const r = await bob('POST', `/v1/groups/${g}/commits`, { epoch, commit: b64(forged.commitMessage), groupInfo: b64(forged.groupInfo) });
    refused(r, 400, 'invalid-commit'); // its signature does not verify against the group's tree
    // Alice's own commit, replayed by Bob: refused (it is Alice's signature, not his device's).
    const real = await a1.build(g);
    refused(await bob('POST', `/v1/groups/${g}/commits`, { epoch, commit: b64(real.commitMessage), groupInfo: b64(real.groupInfo) }), 400, 'invalid-commit');
    expect(snapshot()).toBe(before);
    b1.groups.delete(g);
  });

  it('cannot upload key packages for Alice’s device', async () => {
    const before = snapshot();
    // Alice's genuine KeyPackage, and one Bob signs under Alice's device credential.
    const genuine = await a1.keyPackage();
    const underHers = await b1.keyPackage(false, a1.credential);
    refused(await bob('POST', '/v1/devices/me/key-packages', { keyPackages: [b64(genuine.bytes)] }), 400, 'invalid-key-package');
    refused(await bob('POST', '/v1/devices/me/key-packages', { keyPackages: [b64(underHers.bytes)] }), 400, 'invalid-key-package');
    refused(await bob('POST', '/v1/devices/me/key-packages', { keyPackages: [], lastResort: b64((await a1.keyPackage(true)).bytes) }), 400, 'invalid-key-package');
    expect(snapshot()).toBe(before);
    expect((await http(srv.url, 'GET', '/v1/devices/me/key-packages', undefined, a1.token)).body).toEqual({ regular: 0, lastResort: 0 });
    // Claiming is open to anyone, but hands Bob nothing of Alice's that Bob uploaded.
    const claimed = await http<{ keyPackages: unknown[] }>(srv.url, 'POST', `/v1/users/${alice.userId}/key-packages/claim`, undefined, b1.token);
    expect(claimed).toMatchObject({ status: 200, body: { keyPackages: [] } });
  });
});
