// Attack (issue 7 item 2): the server forges a delivery or read receipt — "More is Less"
// showed servers that could tell a sender a message was delivered or read when it was
// not. A Parley receipt is an MLS application message of the recipient's device: the
// server can neither make one (it holds no epoch secret and no device's signature key),
// nor change one, nor pass an old one off as new (its generation is spent), nor say whom
// it came from (the sender is the MLS leaf, not the frame's `sender` field), nor which
// conversation it is about (the MLS group id is authenticated too). Each case
// shows the forgery refused and the message's state unchanged; then the genuine receipt,
// held back by the same hostile server, shows that a real one does count.
import type { DeliverFrame } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { direct, eventOf, group, isText, startWorld, type Actor, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world.close();
});

/** Holds back (drops) the application frames `from` sends to `to` in `g`, keeping them for the test. */
function holdBack(to: Actor, from: Actor, g: string): { readonly held: DeliverFrame[]; next: () => Promise<DeliverFrame>; off: () => void } {
  const held: DeliverFrame[] = [];
  const waiting: ((f: DeliverFrame) => void)[] = [];
  const off = world.hostile.onDeliver((f, c) => {
    if (c.deviceId !== to.client.deviceId || f.groupId !== g || f.kind !== 'application' || f.sender !== from.client.deviceId) return 'pass';
    held.push(f);
    waiting.shift()?.(f);
    return 'drop';
  });
  let taken = 0;
  const next = (): Promise<DeliverFrame> => {
    const f = held[taken];
    taken += 1;
    if (f !== undefined) return Promise.resolve(f);
    return new Promise((resolve) => waiting.push(resolve));
  };
  return { held, next, off };
}

const messageOf = async (a: Actor, g: string, id: string) => (await a.client.history(g)).find((m) => m.messageId === id);
const receiptEvents = (a: Actor, id: string) => a.events.filter((e) => e.type === 'receipt' && e.messageId === id);
const fresh = (): Uint8Array => crypto.getRandomValues(new Uint8Array(16));
const errorIn = (a: Actor, g: string, after: number) => eventOf(a, (e) => e.type === 'error' && e.groupId === g && a.events.indexOf(e) >= after);

describe('attack: the server forges a receipt', () => {
  it('a receipt the server writes itself — as a notice, or as an application frame in the recipient’s name — is refused', async () => {
    const alice = await world.user('alice');
    const bob = await world.user('bob');
    const g = await direct(alice, bob);
    const hold = holdBack(alice, bob, g);
    const sent = await alice.client.sendText(g, 'did you get this?');
    await eventOf(bob, isText('did you get this?'));
    await hold.next(); // Bob's real delivery receipt, held back by the server
    expect((await messageOf(alice, g, sent.messageId))?.status).toBe('sent');
    const conn = await world.hostile.waitForConnection(alice.client.deviceId);
    const base = { stream: 'group', streamId: g, groupId: g, createdAt: Date.now() } as const;

    // A server notice claiming Bob read it: notices carry no receipts.
    const claim = new TextEncoder().encode(JSON.stringify({ type: 'receipt', kind: 'read', userId: bob.client.userId, deviceId: bob.client.deviceId, ids: [sent.messageId] }));
    conn.insert({ ...base, messageId: fresh(), kind: 'notice', sender: '', payload: claim });
    // The receipt payload Bob's device would encrypt, sent in the clear under Bob's device id.
    let at = alice.events.length;
    conn.insert({ ...base, messageId: fresh(), kind: 'application', sender: bob.client.deviceId, payload: new TextEncoder().encode(JSON.stringify({ v: 1, sentAt: Date.now(), receipt: { kind: 'read', ids: [sent.messageId] } })) });
    expect(await errorIn(alice, g, at)).toMatchObject({ type: 'error', code: 'malformed-message' });
    // …and wrapped as if it were an MLS message (a private message's header, the rest made up).
    at = alice.events.length;
    const real = hold.held[0];
    if (real === undefined) throw new Error('no receipt held');
    const madeUp = Uint8Array.from(real.payload); // a copy (a Buffer's slice() would share its bytes)
    crypto.getRandomValues(madeUp.subarray(madeUp.length - 64));
    conn.insert({ ...base, messageId: fresh(), kind: 'application', sender: bob.client.deviceId, payload: madeUp });
    expect(await errorIn(alice, g, at)).toMatchObject({ type: 'error', code: 'undecryptable-content' });
    hold.off();

    // Alice handles frames one at a time, in order: all three were processed by now.
    const after = await messageOf(alice, g, sent.messageId);
    expect(after?.status).toBe('sent');
    expect(after?.receipts).toEqual([]);
    expect(receiptEvents(alice, sent.messageId)).toEqual([]);

    // The genuine receipt the server held back does count.
    const { seq: _seq, ...genuine } = real;
    conn.insert({ ...genuine, messageId: fresh() });
    await eventOf(alice, (e) => e.type === 'receipt' && e.messageId === sent.messageId && e.kind === 'delivered');
    expect((await messageOf(alice, g, sent.messageId))?.status).toBe('delivered');
  });

  it('a real receipt altered, or replayed for a later message, is refused', async () => {
    const alice = await world.user('alice');
    const bob = await world.user('bob');
    const g = await direct(alice, bob);
    const first = await alice.client.sendText(g, 'first');
    await eventOf(alice, (e) => e.type === 'receipt' && e.messageId === first.messageId);
    const firstReceipt = world.hostile.connections(alice.client.deviceId).flatMap((c) => c.delivered).filter((f) => f.groupId === g && f.kind === 'application' && f.sender === bob.client.deviceId).at(-1);
    if (firstReceipt === undefined) throw new Error('no receipt recorded');
    expect((await messageOf(alice, g, first.messageId))?.status).toBe('delivered');

    // Bob never gets the second message; the server tries to make Alice believe he read it.
    const offDrop = world.hostile.onDeliver((f, c) => (c.deviceId === bob.client.deviceId && f.groupId === g && f.kind === 'application' ? 'drop' : 'pass'));
    const second = await alice.client.sendText(g, 'second');
    const conn = await world.hostile.waitForConnection(alice.client.deviceId);
    // Replayed: the receipt for "first", again, under a new position and id.
    let at = alice.events.length;
    const { seq: _seq, ...replay } = firstReceipt;
    conn.insert({ ...replay, messageId: fresh() });
    expect(await errorIn(alice, g, at)).toMatchObject({ type: 'error', code: 'generation-reused' });
    // Altered: one bit of its ciphertext flipped (the AEAD tag no longer matches).
    at = alice.events.length;
    const flipped = Uint8Array.from(firstReceipt.payload);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
    conn.insert({ ...replay, messageId: fresh(), payload: flipped });
    await errorIn(alice, g, at);
    offDrop();

    await bob.client.sendText(g, 'marker');
    await eventOf(alice, isText('marker'));
    expect(await messageOf(alice, g, second.messageId)).toMatchObject({ status: 'sent', receipts: [] });
    expect(receiptEvents(alice, second.messageId)).toEqual([]);
    // The first message's state is what Bob's one real receipt made it.
    expect(await messageOf(alice, g, first.messageId)).toMatchObject({ status: 'delivered' });
    expect(receiptEvents(alice, first.messageId)).toHaveLength(1);
  });

  it('a receipt is counted for the device that made it, whatever the frame says', async () => {
    const alice = await world.user('alice');
    const bob = await world.user('bob');
    const carol = await world.user('carol');
    const g = await group(alice, 'team', [bob, carol]);
    // The server holds back Carol's receipts and labels Bob's as coming from Carol.
    const holdCarol = holdBack(alice, carol, g);
    const relabel = world.hostile.onDeliver((f, c) =>
      c.deviceId === alice.client.deviceId && f.groupId === g && f.kind === 'application' && f.sender === bob.client.deviceId ? [{ ...f, sender: carol.client.deviceId }] : 'pass',
    );
    const sent = await alice.client.sendText(g, 'both of you?');
    const fromBob = await eventOf(alice, (e) => e.type === 'receipt' && e.messageId === sent.messageId);
    relabel();
    expect(fromBob).toMatchObject({ userId: bob.client.userId, deviceId: bob.client.deviceId, kind: 'delivered' });
    const carolsReceipt = await holdCarol.next();
    holdCarol.off();
    // Only Bob said so: not delivered to the group yet.
    expect((await messageOf(alice, g, sent.messageId))?.status).toBe('sent');
    expect((await messageOf(alice, g, sent.messageId))?.receipts.map((r) => r.userId)).toEqual([bob.client.userId]);

    // Carol's real receipt, let through at last, completes it.
    const conn = await world.hostile.waitForConnection(alice.client.deviceId);
    const { seq: _seq, ...frame } = carolsReceipt;
    conn.insert({ ...frame, messageId: fresh() });
    await eventOf(alice, (e) => e.type === 'receipt' && e.messageId === sent.messageId && e.userId === carol.client.userId);
    expect((await messageOf(alice, g, sent.messageId))?.status).toBe('delivered');
  });

  it('a read receipt counts only as the recipient’s own: a delivered one cannot be turned into it', async () => {
    const alice = await world.user('alice');
    const bob = await world.user('bob');
    const g = await direct(alice, bob);
    const sent = await alice.client.sendText(g, 'read me');
    await eventOf(alice, (e) => e.type === 'receipt' && e.messageId === sent.messageId && e.kind === 'delivered');
    const delivered = world.hostile.connections(alice.client.deviceId).flatMap((c) => c.delivered).filter((f) => f.groupId === g && f.kind === 'application' && f.sender === bob.client.deviceId).at(-1);
    if (delivered === undefined) throw new Error('no receipt recorded');
    // The receipt's kind is inside the ciphertext: the server can only resend it.
    const conn = await world.hostile.waitForConnection(alice.client.deviceId);
    const at = alice.events.length;
    const { seq: _seq, ...frame } = delivered;
    conn.insert({ ...frame, messageId: fresh() });
    await errorIn(alice, g, at);
    expect((await messageOf(alice, g, sent.messageId))?.status).toBe('delivered');
    // Bob reads it: now it is read.
    await bob.client.markRead(g);
    await eventOf(alice, (e) => e.type === 'receipt' && e.messageId === sent.messageId && e.kind === 'read');
    expect((await messageOf(alice, g, sent.messageId))?.status).toBe('read');
  });

  it('a receipt moved by the server into another conversation is not counted, and that conversation says so', async () => {
    const alice = await world.user('alice');
    const bob = await world.user('bob');
    const dm = await direct(alice, bob);
    const team = await group(alice, 'team', [bob]);
    await bob.client.sendText(team, 'hi');
    await eventOf(alice, isText('hi'));
    const teamEpoch = (await alice.store.getGroupState(team))?.epoch;
    const hold = holdBack(alice, bob, dm);
    const sent = await alice.client.sendText(dm, 'just between us');
    await eventOf(bob, isText('just between us'));
    const receipt = await hold.next(); // Bob's delivery receipt for it, held back
    hold.off();

    // The server delivers it as a message of the team conversation (and from Bob, truly).
    const conn = await world.hostile.waitForConnection(alice.client.deviceId);
    const { seq: _seq, ...frame } = receipt;
    const at = alice.events.length;
    conn.insert({ ...frame, stream: 'group', streamId: team, groupId: team, messageId: fresh() });
    const warned = await eventOf(alice, (e) => e.type === 'warning' && e.code === 'message-misrouted' && alice.events.indexOf(e) >= at);
    expect(warned).toMatchObject({ groupId: team });
    // Not counted, in either conversation; the team conversation shows the problem and is
    // otherwise untouched (not split, no rejoin, same epoch).
    expect(await messageOf(alice, dm, sent.messageId)).toMatchObject({ status: 'sent', receipts: [] });
    expect(receiptEvents(alice, sent.messageId)).toEqual([]);
    expect((await alice.client.history(team)).filter((m) => m.body.type === 'event').map((m) => (m.body.type === 'event' ? m.body.event : ''))).toEqual(['message-misrouted']);
    expect((await alice.client.history(dm)).some((m) => m.body.type === 'event')).toBe(false);
    expect(await alice.client.isSplit(team)).toBe(false);
    expect(alice.events.some((e) => e.type === 'warning' && e.code === 'rejoined')).toBe(false);
    expect((await alice.store.getGroupState(team))?.epoch).toBe(teamEpoch);

    // The same receipt, let through where it belongs (its own place in the log), counts.
    conn.inject(receipt);
    await eventOf(alice, (e) => e.type === 'receipt' && e.messageId === sent.messageId && e.kind === 'delivered');
    expect((await messageOf(alice, dm, sent.messageId))?.status).toBe('delivered');
  });
});
