// What the log holds that a device cannot or need not read, over a real server on loopback:
// the messages sealed before a new device joined (skipped by design: counted in one
// `skipped` event per group, no warning each), next to a message of an epoch at or after
// the join that it lost the keys of (still reported); and a late retry the server stored
// twice under two seqs (docs/protocol.md, de-dup window): shown once, refused by MLS as a
// reused generation (the stable code an app counts it by, as `parley` does), and the
// conversation goes on.
import { deserializeState, encryptApplication } from '@parley/mls';
import { nodeCryptoProvider } from '@parley/mls/crypto-node';
import { startTestServer, type TestServer } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyClient } from '../src/sdk/client.js';
import type { ParleyEvent } from '../src/sdk/events.js';
import { forkCheckAad } from '../src/sdk/fork-check.js';
import { encodePayload } from '../src/sdk/payload.js';
import type { FetchLike } from '../src/transport/http.js';
import { clientOptions, deviceApi, record, registerUser, texts } from './helpers.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

const problems = (events: readonly ParleyEvent[]): ParleyEvent[] => events.filter((e) => e.type === 'warning' || e.type === 'error');
const skips = (events: readonly ParleyEvent[]): ParleyEvent[] => events.filter((e) => e.type === 'skipped');

describe('a new device and the history before it joined', () => {
  it('skips the earlier messages quietly, in one count per group, shows what follows, and still reports an unreadable message from after its join', async () => {
    const a = await registerUser(server, 'jAlice');
    const b = await registerUser(server, 'jBob');
    const c = await registerUser(server, 'jCarol');
    const alice1 = a.client;
    const bob = b.client;
    const g = await alice1.createGroup('before and after', [bob.userId]);
    await bob.sync();
    const before = ['one, before', 'two, before', 'three, before'];
    for (const t of before) await bob.sendText(g, t);
    await alice1.sendText(g, 'from alice, before');
    await alice1.sync(); // delivery receipts: more of the earlier epoch in the log

    const alice2 = await ParleyClient.login(clientOptions(server), alice1.userId, a.password, a.passphrase);
    await alice1.sync(); // adds the new device
    await bob.sync();
    await bob.sendText(g, 'after the join');
    const seen = record(alice2);
    await alice2.sync();
    expect(problems(seen)).toEqual([]);
    const skipped = skips(seen);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({ type: 'skipped', groupId: g, reason: 'before-join' });
    expect(skipped[0]?.type === 'skipped' ? skipped[0].count : 0).toBeGreaterThanOrEqual(before.length + 1);
    expect(await texts(alice2, g)).toEqual(['after the join']);

    // Bob's state at the epoch alice2 joined, kept; then three epochs pass (the engine keeps
    // two past ones), and a message sealed with the kept state reaches alice2: an epoch she
    // was in but no longer has the keys of, which is a fault to report, not history.
    const kept = await b.options.store.getGroupState(g);
    expect(kept).toBeDefined();
    await alice1.addMembers(g, [c.client.userId]);
    await alice1.removeMembers(g, [c.client.userId]);
    await alice1.addMembers(g, [c.client.userId]);
    await alice2.sync();
    const old = deserializeState(kept?.state ?? new Uint8Array(), nodeCryptoProvider);
    const { message } = await encryptApplication(old, encodePayload({ v: 1, seq: 99, sentAt: Date.now(), body: { type: 'text', text: 'sealed in an epoch now gone' } }), await forkCheckAad(old));
    const bobApi = await deviceApi(server, bob.userId, b.password, bob.deviceId);
    await bobApi.sendMessage(g, 'AAAAAAAAAAAAAAAAAAAAAA', message);
    const later = record(alice2);
    await alice2.sync();
    expect(problems(later)).toMatchObject([{ type: 'error', groupId: g, code: 'wrong-epoch' }]);
    expect(skips(later)).toEqual([]);
    for (const x of [alice1, alice2, bob, c.client]) await x.close();
  }, 60_000);
});

describe('a retry the server stored twice', () => {
  it('is shown once, refused as generation-reused and nothing else, and the conversation goes on', async () => {
    // Alice's sends go over HTTP through this, which keeps the first one's request.
    let first: { messageId: string; message: string } | undefined;
    const keeping: FetchLike = (input, init) => {
      if (first === undefined && init.method === 'POST' && input.endsWith('/messages') && init.body !== undefined) first = JSON.parse(init.body) as typeof first;
      return fetch(input, init);
    };
    const a = await registerUser(server, 'dAlice', { fetch: keeping });
    const b = await registerUser(server, 'dBob');
    const alice = a.client;
    const bob = b.client;
    const dm = await alice.openDirect(bob.userId);
    await bob.sync();
    const original = await alice.sendText(dm, 'sent once, stored twice');
    expect(first?.messageId).toBe(original.messageId);
    // More than the server's de-dup window of the group's last 256 message ids.
    for (let i = 0; i < 257; i++) await alice.sendText(dm, `filler ${String(i)}`);
    const api = await deviceApi(server, alice.userId, a.password, alice.deviceId);
    const retry = await api.sendMessage(dm, first?.messageId ?? '', Buffer.from(first?.message ?? '', 'base64'));
    expect(retry.duplicate).toBe(false); // the server stored the same ciphertext again, under a new seq

    const seen = record(bob);
    await bob.sync();
    expect(problems(seen)).toMatchObject([{ type: 'error', groupId: dm, code: 'generation-reused' }]);
    expect(skips(seen)).toEqual([]);
    expect(seen.filter((e) => e.type === 'message' && e.message.messageId === original.messageId)).toHaveLength(1);
    const shown = await texts(bob, dm);
    expect(shown.filter((t) => t === 'sent once, stored twice')).toHaveLength(1);
    expect(shown).toHaveLength(258);

    await alice.sendText(dm, 'after the duplicate');
    await bob.sendText(dm, 'and back');
    await bob.sync();
    await alice.sync();
    expect(await texts(bob, dm)).toContain('after the duplicate');
    expect((await texts(alice, dm)).at(-1)).toBe('and back');
    await alice.close();
    await bob.close();
  }, 120_000);
});
