// The directory search route, end to end (real server on loopback, real SQLite): a
// signed-in user finds others by the start of their name; the prefix is validated (at
// least two characters of a user name), the result bounded, deactivated users left out.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, newUser, startTestServer, type TestServer } from '@parley/testing';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv.close();
});

type Found = { users: { userId: string }[] };

describe('GET /v1/users?prefix=', () => {
  it('finds users whose name starts with the prefix, bounded, in order; needs a session', async () => {
    const run = randomBytes(3).toString('hex');
    const me = await newUser(srv.url, `me${run}`);
    const names = [`ali${run}a`, `ali${run}b`, `ali${run}_c`, `bob${run}`];
    for (const n of names) await newUser(srv.url, n);
    const found = await http<Found>(srv.url, 'GET', `/v1/users?prefix=ali${run}`, undefined, me.token);
    expect(found.status).toBe(200);
    expect(found.body.users.map((u) => u.userId)).toEqual([`ali${run}_c`, `ali${run}a`, `ali${run}b`]);
    // `_` is literal, not LIKE's any-character.
    const literal = await http<Found>(srv.url, 'GET', `/v1/users?prefix=ali${run}_`, undefined, me.token);
    expect(literal.body.users.map((u) => u.userId)).toEqual([`ali${run}_c`]);
    const two = await http<Found>(srv.url, 'GET', `/v1/users?prefix=ali${run}&limit=2`, undefined, me.token);
    expect(two.body.users).toHaveLength(2);
    expect((await http(srv.url, 'GET', `/v1/users?prefix=ali${run}`)).body).toMatchObject({ error: { code: 'unauthenticated' } });
  });

  it('refuses a prefix shorter than two characters, a wildcard, upper case or a limit above 50', async () => {
    const me = await newUser(srv.url);
    for (const q of ['prefix=a', 'prefix=', 'prefix=a%25', 'prefix=Al', 'prefix=al&limit=51', 'prefix=al&limit=0', 'limit=5']) {
      const r = await http(srv.url, 'GET', `/v1/users?${q}`, undefined, me.token);
      expect(r.status, q).toBe(400);
      expect(r.body, q).toMatchObject({ error: { code: 'bad-request' } });
    }
  });

  it('leaves out deactivated users', async () => {
    const run = randomBytes(3).toString('hex');
    const me = await newUser(srv.url);
    await newUser(srv.url, `zed${run}on`);
    await newUser(srv.url, `zed${run}off`);
    expect(await srv.server.ctx.store.setUserActive(`zed${run}off`, false)).toBe(true);
    const r = await http<Found>(srv.url, 'GET', `/v1/users?prefix=zed${run}`, undefined, me.token);
    expect(r.body.users.map((u) => u.userId)).toEqual([`zed${run}on`]);
  });
});
