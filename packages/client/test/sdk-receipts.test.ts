// Issue 6 items 1 and 5: delivery and read receipts as MLS application messages (the
// server cannot forge them), a withheld message shown as missing, a replay refused and
// shown once, safety numbers, and what a changed identity key does.
import { deserializeState, encryptApplication } from '@parley/mls';
import { nodeCryptoProvider } from '@parley/mls/crypto-node';
import { startTestServer, type TestServer } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeClientCrypto } from '../src/node/crypto.js';
import { encodePayload } from '../src/sdk/payload.js';
import type { FetchLike } from '../src/transport/http.js';
import { toBase64 } from '../src/util/bytes.js';
import { deviceApi, next, record, registerUser } from './helpers.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

describe('receipts', () => {
  it('delivered automatically, read on markRead, both end to end; history carries the state', async () => {
    const a = await registerUser(server, 'rAlice');
    const b = await registerUser(server, 'rBob');
    const [alice, bob] = [a.client, b.client];
    await alice.connect();
    await bob.connect();
    const joined = next(bob, (e) => e.type === 'conversation');
    const dm = await alice.openDirect(bob.userId);
    await joined;

    const delivered = next(alice, (e) => e.type === 'receipt');
    const sent = await alice.sendText(dm, 'did you get this?');
    expect(sent.status).toBe('sent');
    expect(await delivered).toEqual({ type: 'receipt', groupId: dm, messageId: sent.messageId, userId: bob.userId, deviceId: bob.deviceId, kind: 'delivered' });
    expect((await alice.history(dm))[0]).toMatchObject({ status: 'delivered', receipts: [{ userId: bob.userId, deviceId: bob.deviceId, state: 'delivered' }] });

    const read = next(alice, (e) => e.type === 'receipt' && e.kind === 'read');
    await bob.markRead(dm);
    expect(await read).toMatchObject({ messageId: sent.messageId, userId: bob.userId, kind: 'read' });
    expect((await alice.history(dm))[0]?.status).toBe('read');
    expect((await bob.history(dm))[0]?.status).toBe('read');

    // Something that is not an MLS message from Bob's device (what a server could inject) is no receipt.
    const seen = record(alice);
    const second = await alice.sendText(dm, 'and this one?');
    await next(alice, (e) => e.type === 'receipt' && e.messageId === second.messageId);
    const bobApi = await deviceApi(server, bob.userId, b.password, bob.deviceId);
    const fake = new TextEncoder().encode(JSON.stringify({ v: 1, sentAt: 1, receipt: { kind: 'read', ids: [second.messageId] } }));
    const err = next(alice, (e) => e.type === 'error');
    await bobApi.sendMessage(dm, 'AAAAAAAAAAAAAAAAAAAAAA', fake);
    expect(await err).toMatchObject({ type: 'error', groupId: dm });
    expect(seen.filter((e) => e.type === 'receipt' && e.kind === 'read')).toEqual([]);
    expect((await alice.history(dm)).find((m) => m.messageId === second.messageId)?.status).toBe('delivered');
    await alice.close();
    await bob.close();
  });

  it('markRead after a store order looks at the later messages only', async () => {
    const a = await registerUser(server, 'aAlice');
    const b = await registerUser(server, 'aBob');
    const [alice, bob] = [a.client, b.client];
    await alice.connect();
    await bob.connect();
    const joined = next(bob, (e) => e.type === 'conversation');
    const dm = await alice.openDirect(bob.userId);
    await joined;
    for (const text of ['first', 'second']) {
      const got = next(bob, (e) => e.type === 'message' && e.message.body.type === 'text' && e.message.body.text === text);
      await alice.sendText(dm, text);
      await got;
    }
    const texts = async () => (await bob.history(dm)).filter((m) => m.body.type === 'text');
    const [first, second] = await texts();
    const read = next(alice, (e) => e.type === 'receipt' && e.kind === 'read');
    await bob.markRead(dm, { after: first!.order });
    expect(await read).toMatchObject({ messageId: second!.messageId, kind: 'read' });
    expect((await texts()).map((m) => m.status)).toEqual(['received', 'read']);
    await bob.markRead(dm);
    expect((await texts()).map((m) => m.status)).toEqual(['read', 'read']);
    await alice.close();
    await bob.close();
  });

  it('a withheld message is a message-missing warning; a member’s replay is refused and shown once', async () => {
    let withhold = false;
    const lossy: FetchLike = (input, init) => {
      if (withhold && init.method === 'POST' && input.endsWith('/messages') && init.body?.includes('"messageId"') === true) {
        withhold = false;
        return Promise.resolve({ status: 201, text: () => Promise.resolve('{"seq":1,"duplicate":false}') });
      }
      return fetch(input, init);
    };
    const a = await registerUser(server, 'wAlice', { fetch: lossy });
    const b = await registerUser(server, 'wBob');
    const [alice, bob] = [a.client, b.client];
    await bob.connect();
    const joined = next(bob, (e) => e.type === 'conversation');
    const dm = await alice.openDirect(bob.userId);
    await joined;
    const first = next(bob, (e) => e.type === 'message');
    await alice.sendText(dm, 'one');
    await first;
    withhold = true;
    await alice.sendText(dm, 'two (withheld)');
    const warning = next(bob, (e) => e.type === 'warning');
    const third = next(bob, (e) => e.type === 'message');
    await alice.sendText(dm, 'three');
    expect(await warning).toMatchObject({ type: 'warning', code: 'message-missing', groupId: dm, userId: alice.userId });
    expect(await third).toMatchObject({ gap: true, replay: false });

    // Alice's device (compromised, or its owner misbehaving) encrypts message 1 again, under a new id.
    await alice.close();
    const rec = await a.options.store.getGroupState(dm);
    const state = deserializeState(rec!.state, nodeCryptoProvider);
    const again = await encryptApplication(state, encodePayload({ v: 1, seq: 1, sentAt: Date.now(), body: { type: 'text', text: 'one, again' } }));
    const aliceApi = await deviceApi(server, alice.userId, a.password, alice.deviceId);
    const events = record(bob);
    const replayed = next(bob, (e) => e.type === 'message');
    await aliceApi.sendMessage(dm, 'BBBBBBBBBBBBBBBBBBBBBA', again.message);
    expect(await replayed).toMatchObject({ replay: true, gap: false, message: { senderSeq: 1, body: { type: 'text', text: 'one' } } });
    // The server delivers the same ciphertext once more: MLS refuses it outright.
    await aliceApi.sendMessage(dm, 'CCCCCCCCCCCCCCCCCCCCCA', again.message);
    await bob.sync();
    expect(events.filter((e) => e.type === 'message')).toHaveLength(1);
    expect((await bob.history(dm)).map((m) => (m.body.type === 'text' ? m.body.text : ''))).toEqual(['one', 'three']);
    await bob.close();
  });
});

describe('verification', () => {
  it('one safety number per pair; a changed identity key warns in every conversation, and blocks sending to a verified contact until verified again', async () => {
    const swap: { key?: string } = {};
    let bobId = '';
    const rewriting: FetchLike = async (input, init) => {
      const res = await fetch(input, init);
      if (swap.key === undefined || init.method !== 'GET' || !input.endsWith(`/v1/users/${bobId}`)) return res;
      const body = JSON.parse(await res.text()) as { identityKey: string };
      const swapped = JSON.stringify({ ...body, identityKey: swap.key });
      return { status: res.status, text: () => Promise.resolve(swapped) };
    };
    const a = await registerUser(server, 'vAlice', { fetch: rewriting });
    const b = await registerUser(server, 'vBob');
    const c = await registerUser(server, 'vCarol');
    const [alice, bob, carol] = [a.client, b.client, c.client];
    bobId = bob.userId;
    const dm = await alice.openDirect(bob.userId);
    const g = await alice.createGroup('three', [bob.userId, carol.userId]);
    const other = await alice.openDirect(carol.userId);

    const n1 = await alice.safetyNumber(bob.userId);
    await bob.sync();
    expect(n1).toMatch(/^[0-9]{60}$/);
    expect(await bob.safetyNumber(alice.userId)).toBe(n1);
    expect(await alice.safetyNumber(carol.userId)).not.toBe(n1);
    await alice.markVerified(bob.userId, n1);
    expect((await alice.contacts()).find((x) => x.userId === bob.userId)?.verified).toBe(true);

    // The directory now serves another key for Bob.
    swap.key = toBase64((await nodeClientCrypto.ed25519.generateKeyPair()).publicKey);
    const seen = record(alice);
    const n2 = await alice.safetyNumber(bob.userId);
    expect(n2).not.toBe(n1);
    const warnings = seen.filter((e) => e.type === 'warning' && e.code === 'identity-key-changed');
    expect(warnings.map((e) => e.type === 'warning' && e.groupId).sort()).toEqual([dm, g].sort());
    expect((await alice.history(dm)).at(-1)?.body).toEqual({ type: 'event', event: 'identity-key-changed', detail: bob.userId });
    await expect(alice.sendText(dm, 'to bob')).rejects.toMatchObject({ code: 'contact-unverified' });
    await expect(alice.sendText(g, 'to the group')).rejects.toMatchObject({ code: 'contact-unverified' });
    await alice.sendText(other, 'carol is unaffected');
    await expect(alice.markVerified(bob.userId, n1)).rejects.toMatchObject({ code: 'identity-key-changed' });
    await alice.markVerified(bob.userId, n2);
    await alice.sendText(dm, 'verified again');
    for (const x of [alice, bob, carol]) await x.close();
  });
});
