// Rate limits per account and per address on login, registration, sending and directory
// search: 429 with
// the stable code `rate-limited`, `retryAfter` in the body and a Retry-After header. The
// server's clock is the test's, so buckets refill when the test says, not when time passes.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, http, MlsDevice, mlsGroup, newUser, startTestServer, type TestServer, type TestUser } from '@parley/testing';

let clock = Date.now();
let srv: TestServer;
let u1: TestUser;
let u2: TestUser;
let d1: MlsDevice;
let d2: MlsDevice;
let group: string;

const refill = (): void => {
  clock += 1_000_000;
};

beforeAll(async () => {
  srv = await startTestServer(
    {
      rateLimits: {
        loginPerAddress: { rate: 1, burst: 5 },
        loginPerAccount: { rate: 1, burst: 3 },
        registerPerAddress: { rate: 1, burst: 4 },
        registerPerAccount: { rate: 1, burst: 2 },
        sendPerAccount: { rate: 1, burst: 3 },
        sendPerAddress: { rate: 1, burst: 5 },
        searchPerAccount: { rate: 1, burst: 3 },
        searchPerAddress: { rate: 1, burst: 5 },
      },
    },
    { now: () => clock },
  );
  u1 = await newUser(srv.url);
  u2 = await newUser(srv.url);
  d1 = await MlsDevice.register(srv.url, u1);
  d2 = await MlsDevice.register(srv.url, u2);
  group = await mlsGroup(srv.url, d1, [d2]);
});
afterAll(async () => {
  await srv.close();
});

async function limited(res: Response): Promise<void> {
  expect(res.status).toBe(429);
  const body = (await res.json()) as { error: { code: string; retryAfter: number } };
  expect(body.error.code).toBe('rate-limited');
  expect(body.error.retryAfter).toBeGreaterThanOrEqual(1);
  expect(res.headers.get('retry-after')).toBe(String(body.error.retryAfter));
}

const post = (path: string, body: unknown, token?: string): Promise<Response> =>
  fetch(srv.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }, body: JSON.stringify(body) });

describe('rate limits', () => {
  it('on login: per account (even with a wrong password), then per address', async () => {
    refill();
    for (let i = 0; i < 3; i++) expect((await post('/v1/sessions', { username: u1.userId, password: i === 0 ? 'wrong-password' : u1.password })).status).toBe(i === 0 ? 401 : 201);
    await limited(await post('/v1/sessions', { username: u1.userId, password: u1.password }));
    // Another account from the same address still may, until the address's bucket is empty.
    expect((await post('/v1/sessions', { username: u2.userId, password: u2.password })).status).toBe(201);
    await limited(await post('/v1/sessions', { username: u2.userId, password: u2.password }));
    await limited(await post('/v1/sessions', { username: 'nobody-at-all', password: 'whatever-pw' }));
    clock += 2000; // two tokens back in each bucket
    expect((await post('/v1/sessions', { username: u1.userId, password: u1.password })).status).toBe(201);
  });

  it('on registration: per requested user name, then per address', async () => {
    refill();
    const name = `reg${randomBytes(4).toString('hex')}`;
    expect((await post('/v1/accounts', { username: name, password: 'a-password-1' })).status).toBe(201);
    expect((await post('/v1/accounts', { username: name, password: 'a-password-1' })).status).toBe(409);
    await limited(await post('/v1/accounts', { username: name, password: 'a-password-1' }));
    expect((await post('/v1/accounts', { username: `${name}b`, password: 'a-password-1' })).status).toBe(201);
    await limited(await post('/v1/accounts', { username: `${name}c`, password: 'a-password-1' }));
    expect((await http(srv.url, 'GET', `/v1/users/${name}c`, undefined, d1.token)).status).toBe(404); // not created
  });

  it('on sending: per account, then per address, over HTTP', async () => {
    refill();
    const send = (d: MlsDevice): Promise<Response> => post(`/v1/groups/${group}/messages`, { messageId: randomBytes(16).toString('base64url'), message: b64(new Uint8Array(10)) }, d.token);
    for (let i = 0; i < 3; i++) expect((await send(d1)).status).toBe(201);
    await limited(await send(d1));
    // The refused send took no token from the address: d2 gets the address's last two.
    expect((await send(d2)).status).toBe(201);
    expect((await send(d2)).status).toBe(201);
    await limited(await send(d2)); // 5 from this address
    const before = (await http<{ messages: unknown[] }>(srv.url, 'GET', `/v1/groups/${group}/messages?after=0&limit=500`, undefined, d2.token)).body.messages.length;
    await limited(await send(d1));
    expect((await http<{ messages: unknown[] }>(srv.url, 'GET', `/v1/groups/${group}/messages?after=0&limit=500`, undefined, d2.token)).body.messages.length).toBe(before);
  });

  it('on directory search: per account, then per address, and every search (refused, or without a session) counts for the address', async () => {
    refill();
    const search = (token?: string): Promise<{ status: number; body: unknown }> => http(srv.url, 'GET', `/v1/users?prefix=${u1.userId.slice(0, 3)}`, undefined, token);
    for (let i = 0; i < 3; i++) expect((await search(d1.token)).status).toBe(200);
    const refused = await fetch(`${srv.url}/v1/users?prefix=${u1.userId.slice(0, 3)}`, { headers: { authorization: `Bearer ${d1.token}` } });
    await limited(refused);
    // The address counts every search, refused or without a session: 4 so far, and this is the 5th.
    expect((await search()).status).toBe(401);
    // d2's own bucket is full, but the address's is empty.
    await limited(await fetch(`${srv.url}/v1/users?prefix=${u1.userId.slice(0, 3)}`, { headers: { authorization: `Bearer ${d2.token}` } }));
    clock += 1000; // a token back in each bucket
    expect((await search(d1.token)).status).toBe(200);
  });
});
