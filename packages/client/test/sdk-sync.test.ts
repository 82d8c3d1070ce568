// Issue 6 items 3, 4 and 7: sync that never leaves a message undecryptable, and several
// devices per user — over a real server on loopback. An offline device catches up on 500
// messages; two devices committing in the same epoch both get their change applied (the
// loser rebuilds on the new epoch); a device whose group state is gone rejoins by an
// external commit and says so; a user's second device logs in from the identity backup,
// is added to the user's groups by the first and receives from then on; removing it
// removes it from every group.
import { startTestServer, type TestServer } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyClient } from '../src/sdk/client.js';
import type { FetchLike } from '../src/transport/http.js';
import { clientOptions, record, registerUser, texts } from './helpers.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

describe('sync', () => {
  it('an offline device catches up on 500 messages, in order, numbered without gaps', async () => {
    const a = await registerUser(server, 'oAlice');
    const b = await registerUser(server, 'oBob');
    const [alice] = [a.client];
    let bob = b.client;
    await alice.connect();
    const dm = await alice.openDirect(bob.userId);
    await bob.sync();
    await bob.close();

    const n = 500;
    await Promise.all(Array.from({ length: n }, (_, i) => alice.sendText(dm, `backlog ${String(i)}`)));
    bob = await ParleyClient.open(b.options, b.password);
    const seen = record(bob);
    await bob.sync();
    const history = await bob.history(dm);
    expect(history.map((m) => m.senderSeq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(history.map((m) => (m.body.type === 'text' ? m.body.text : ''))).toEqual(Array.from({ length: n }, (_, i) => `backlog ${String(i)}`));
    expect(seen.filter((e) => e.type === 'warning' || e.type === 'error')).toEqual([]);
    // The delivery receipts went out with the catch-up.
    await alice.sync();
    expect((await alice.history(dm)).filter((m) => m.status === 'delivered')).toHaveLength(n);
    await alice.close();
    await bob.close();
  }, 120_000);


  it('a device whose group state is gone rejoins by an external commit, says so, and reads what follows', async () => {
    const a = await registerUser(server, 'xAlice');
    const b = await registerUser(server, 'xBob');
    const alice = a.client;
    let bob = b.client;
    const dm = await alice.openDirect(bob.userId);
    await bob.sync();
    await alice.sendText(dm, 'before the loss');
    await bob.sync();
    await bob.close();
    await b.options.store.commit({ deleteGroupStates: [dm] });

    bob = await ParleyClient.open(b.options, b.password);
    const seen = record(bob);
    await bob.sync();
    expect(seen).toContainEqual(expect.objectContaining({ type: 'warning', code: 'rejoined', groupId: dm }));
    expect((await bob.history(dm)).at(-1)?.body).toEqual({ type: 'event', event: 'rejoined' });
    expect(await b.options.store.getGroupState(dm)).toBeDefined();

    await alice.sync(); // processes the external commit (checked against the policy: Bob's own device)
    expect((await alice.members(dm)).map((m) => [m.userId, m.devices.length]).sort()).toEqual(
      [
        [alice.userId, 1],
        [bob.userId, 1],
      ].sort(),
    );
    await alice.sendText(dm, 'after the rejoin');
    await bob.sync();
    expect(await texts(bob, dm)).toEqual(['before the loss', 'after the rejoin']);
    await bob.sendText(dm, 'bob is back');
    await alice.sync();
    expect(await texts(alice, dm)).toEqual(['before the loss', 'after the rejoin', 'bob is back']);
    await alice.close();
    await bob.close();
  });
});

describe('several devices', () => {
  it('a second device logs in from the identity backup, is added to the user’s groups, receives; removing it removes it everywhere', async () => {
    const a = await registerUser(server, 'mAlice');
    const b = await registerUser(server, 'mBob');
    const alice1 = a.client;
    const bob = b.client;
    const dm = await alice1.openDirect(bob.userId);
    const g = await alice1.createGroup('with two devices', [bob.userId]);
    await bob.sync();

    await expect(ParleyClient.login(clientOptions(server), alice1.userId, a.password, 'not the passphrase')).rejects.toMatchObject({ code: 'wrong-passphrase' });
    // The backup is sealed under the passphrase alone: the password (which the server sees) does not open it.
    await expect(ParleyClient.login(clientOptions(server), alice1.userId, a.password, a.password)).rejects.toMatchObject({ code: 'wrong-passphrase' });
    const o2 = clientOptions(server);
    const alice2 = await ParleyClient.login(o2, alice1.userId, a.password, a.passphrase);
    expect(alice2.userId).toBe(alice1.userId);
    expect(alice2.deviceId).not.toBe(alice1.deviceId);
    const identity1 = await a.options.store.getIdentity();
    const identity2 = await o2.store.getIdentity();
    expect(identity2?.identityPublicKey).toEqual(identity1?.identityPublicKey);
    expect((await alice1.devices()).map((d) => [d.deviceId, d.current]).sort()).toEqual(
      [
        [alice1.deviceId, true],
        [alice2.deviceId, false],
      ].sort(),
    );

    // The first device adds the new one to every group of theirs.
    await alice1.sync();
    await alice2.sync();
    expect((await alice2.conversations()).map((c) => c.groupId).sort()).toEqual([dm, g].sort());
    await bob.sync();
    expect((await bob.members(g)).find((m) => m.userId === alice1.userId)?.devices.slice().sort()).toEqual([alice1.deviceId, alice2.deviceId].sort());
    await bob.sendText(dm, 'to both of alice’s devices');
    await alice2.sync();
    await alice1.sync();
    expect(await texts(alice2, dm)).toEqual(['to both of alice’s devices']);
    expect(await texts(alice1, dm)).toEqual(['to both of alice’s devices']);
    await alice2.sendText(g, 'from the second device');
    await bob.sync();
    expect((await bob.history(g)).at(-1)).toMatchObject({ sender: { userId: alice1.userId, deviceId: alice2.deviceId } });

    // Two of Alice's devices commit in the same epoch: the loser rebuilds, both adds land.
    const c = await registerUser(server, 'mCarol');
    const d = await registerUser(server, 'mDave');
    let stale = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let arrive: () => void = () => undefined;
    const arrived = new Promise<void>((r) => (arrive = r));
    const racing: FetchLike = async (input, init) => {
      if (init.method === 'POST' && input.endsWith('/commits')) {
        arrive();
        await gate;
        const res = await fetch(input, init);
        if (res.status === 409) stale++;
        return res;
      }
      return fetch(input, init);
    };
    await alice2.close();
    const alice2r = await ParleyClient.open({ ...o2, fetch: racing }, a.password);
    await alice1.sync();
    const slow = alice2r.addMembers(g, [d.client.userId]); // pulls, builds, then waits at the gate
    await arrived;
    await alice1.addMembers(g, [c.client.userId]);
    release();
    await slow;
    expect(stale).toBe(1);
    await bob.sync();
    expect((await bob.members(g)).map((m) => m.userId).sort()).toEqual([alice1.userId, bob.userId, c.client.userId, d.client.userId].sort());

    // Removing the second device removes it from every group, then from the server.
    await alice1.removeDevice(alice2r.deviceId);
    expect((await alice1.devices()).map((x) => x.deviceId)).toEqual([alice1.deviceId]);
    await bob.sync();
    for (const conv of [dm, g]) expect((await bob.members(conv)).find((m) => m.userId === alice1.userId)?.devices).toEqual([alice1.deviceId]);
    await alice2r.sync().catch(() => undefined); // its sessions are revoked
    for (const x of [alice1, alice2r, bob, c.client, d.client]) await x.close();
  }, 60_000);
});

describe('the identity backup’s passphrase', () => {
  it('is required, and is not the password, when registering and logging in', async () => {
    const name = `pAlice${String(process.pid)}${String(Math.floor(Math.random() * 1e6))}`.toLowerCase();
    const missing = undefined as unknown as string; // as a JavaScript caller would omit it
    const counted: string[] = [];
    const options = clientOptions(server);
    const watching = { ...options, fetch: ((input, init) => {
      counted.push(`${init.method} ${new URL(input).pathname}`);
      return fetch(input, init);
    }) satisfies FetchLike };
    await expect(ParleyClient.register(watching, name, 'the password', undefined, missing)).rejects.toMatchObject({ name: 'ClientUsageError', code: 'backup-passphrase-required' });
    await expect(ParleyClient.register(watching, name, 'the password', undefined, '')).rejects.toMatchObject({ code: 'backup-passphrase-required' });
    await expect(ParleyClient.register(watching, name, 'the password', undefined, 'the password')).rejects.toMatchObject({ code: 'backup-passphrase-is-password' });
    expect(counted).toEqual([]); // refused before anything was sent: the user name is still free
    const client = await ParleyClient.register(options, name, 'the password', undefined, 'another passphrase');
    await client.close();
    await expect(ParleyClient.login(clientOptions(server), name, 'the password', missing)).rejects.toMatchObject({ code: 'backup-passphrase-required' });
    const second = await ParleyClient.login(clientOptions(server), name, 'the password', 'another passphrase');
    expect(second.userId).toBe(client.userId);
    await second.close();
  });
});
