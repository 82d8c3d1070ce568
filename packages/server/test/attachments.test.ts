// Attachments: durable upload within a per-user quota, download by members of the group
// only, deletion by the uploader, expiry with the retention of the group's messages.
// Real server on loopback, real files.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, MlsDevice, mlsGroup, newUser, startTestServer, type TestServer } from '@parley/testing';

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const HOUR = 3_600_000;
let clock = Date.now();
let srv: TestServer;

beforeAll(async () => {
  srv = await startTestServer({ attachmentQuotaBytes: 10_000, retentionMs: HOUR, pruneIntervalMs: 20 }, { now: () => clock });
});
afterAll(async () => {
  await srv.close();
});

const group = (owner: MlsDevice, members: readonly MlsDevice[] = []): Promise<string> => mlsGroup(srv.url, owner, members);

const upload = (g: string, bytes: Uint8Array, token: string): Promise<{ status: number; body: { attachmentId: string; size: number; error?: { code: string } } }> =>
  http(srv.url, 'POST', `/v1/groups/${g}/attachments`, bytes, token);

/** An upload without Content-Length (chunked), so only the streamed count can refuse it. */
async function uploadChunked(g: string, bytes: Uint8Array, token: string): Promise<{ status: number; body: { error?: { code: string } } }> {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 1000) controller.enqueue(bytes.subarray(i, i + 1000));
      controller.close();
    },
  });
  const res = await fetch(`${srv.url}/v1/groups/${g}/attachments`, { method: 'POST', body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, duplex: 'half' } as RequestInit);
  return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
}

const blobs = (): string[] => readdirSync(join(srv.dataDir, 'attachments'));

describe('attachments', () => {
  it('is on disk, complete, when the upload is acknowledged; members download it, no one else', async () => {
    const a = await newUser(srv.url);
    const a1 = await MlsDevice.register(srv.url, a);
    const a2 = await MlsDevice.register(srv.url, a); // same user, not in the group
    const b1 = await MlsDevice.register(srv.url, await newUser(srv.url));
    const eve = await MlsDevice.register(srv.url, await newUser(srv.url));
    const g = await group(a1, [b1]);
    const other = await group(eve);
    const blob = rnd(3000);
    const up = await upload(g, blob, a1.token);
    expect(up.status).toBe(201);
    expect(readFileSync(join(srv.dataDir, 'attachments', up.body.attachmentId)).equals(Buffer.from(blob))).toBe(true);
    expect(blobs().some((f) => f.endsWith('.part'))).toBe(false);
    const get = (token: string): Promise<Response> => fetch(`${srv.url}/v1/attachments/${up.body.attachmentId}`, { headers: { authorization: `Bearer ${token}` } });
    expect(Buffer.from(await (await get(b1.token)).arrayBuffer()).equals(Buffer.from(blob))).toBe(true);
    // A non-member, a member of another group, and the uploader's device outside the group: 404, as for an unknown id.
    for (const t of [eve.token, a2.token]) expect((await http(srv.url, 'GET', `/v1/attachments/${up.body.attachmentId}`, undefined, t)).body).toMatchObject({ error: { code: 'unknown-attachment' } });
    expect((await upload(other, rnd(10), b1.token)).body).toMatchObject({ error: { code: 'not-a-member' } });
    expect((await http(srv.url, 'GET', `/v1/attachments/${'A'.repeat(43)}`, undefined, b1.token)).status).toBe(404);
  });

  it('is deleted by its uploader (any of the user’s devices), not by other members or outsiders', async () => {
    const a = await newUser(srv.url);
    const a1 = await MlsDevice.register(srv.url, a);
    const a2 = await MlsDevice.register(srv.url, a);
    const b1 = await MlsDevice.register(srv.url, await newUser(srv.url));
    const eve = await MlsDevice.register(srv.url, await newUser(srv.url));
    const g = await group(a1, [b1]);
    const up = await upload(g, rnd(100), a1.token);
    const path = `/v1/attachments/${up.body.attachmentId}`;
    expect((await http(srv.url, 'DELETE', path, undefined, b1.token)).body).toMatchObject({ error: { code: 'forbidden' } });
    expect((await http(srv.url, 'DELETE', path, undefined, eve.token)).body).toMatchObject({ error: { code: 'unknown-attachment' } });
    expect((await http(srv.url, 'DELETE', path, undefined)).status).toBe(401);
    expect((await http(srv.url, 'GET', path, undefined, b1.token)).status).toBe(200);
    expect((await http(srv.url, 'DELETE', path, undefined, a2.token)).status).toBe(204);
    expect((await http(srv.url, 'GET', path, undefined, b1.token)).body).toMatchObject({ error: { code: 'unknown-attachment' } });
    expect((await http(srv.url, 'DELETE', path, undefined, a1.token)).status).toBe(404);
    expect(blobs()).not.toContain(up.body.attachmentId);
  });

  it('keeps each user within its quota, declared or streamed; deleting frees room', async () => {
    const a = await newUser(srv.url);
    const a1 = await MlsDevice.register(srv.url, a);
    const a2 = await MlsDevice.register(srv.url, a);
    const g = await group(a1, [a2]);
    const first = await upload(g, rnd(6000), a1.token);
    expect(first.status).toBe(201);
    const before = blobs().length;
    // The quota is the user's, over all its devices.
    expect(await upload(g, rnd(6000), a2.token)).toMatchObject({ status: 403, body: { error: { code: 'quota-exceeded' } } });
    expect(await uploadChunked(g, rnd(6000), a2.token)).toMatchObject({ status: 403, body: { error: { code: 'quota-exceeded' } } });
    expect(blobs().length).toBe(before); // nothing of the refused uploads is left on disk
    expect((await upload(g, rnd(4000), a2.token)).status).toBe(201);
    expect((await http(srv.url, 'DELETE', `/v1/attachments/${first.body.attachmentId}`, undefined, a1.token)).status).toBe(204);
    expect((await uploadChunked(g, rnd(6000), a1.token)).status).toBe(201);
    // Another user has a quota of its own.
    const b1 = await MlsDevice.register(srv.url, await newUser(srv.url));
    expect((await upload(await group(b1), rnd(9000), b1.token)).status).toBe(201);
  });

  it('expires with the retention of the group’s messages', async () => {
    const a1 = await MlsDevice.register(srv.url, await newUser(srv.url));
    const g = await group(a1);
    const up = await upload(g, rnd(100), a1.token);
    const file = join(srv.dataDir, 'attachments', up.body.attachmentId);
    expect(existsSync(file)).toBe(true);
    clock += 2 * HOUR;
    const deadline = Date.now() + 5000;
    while (existsSync(file) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(existsSync(file)).toBe(false);
    expect((await http(srv.url, 'GET', `/v1/attachments/${up.body.attachmentId}`, undefined, a1.token)).body).toMatchObject({ error: { code: 'unknown-attachment' } });
    // And its bytes left the quota.
    expect((await upload(g, rnd(9000), a1.token)).status).toBe(201);
  });
});
