// Attack (issue 7 item 2): the server reorders a sender's messages. It holds Alice's
// messages back and hands them to Bob in another order, renumbered so that they look
// like its log (the seqs Bob sees still ascend). Inside the encryption every message
// carries Alice's own sequence number (payload.ts), which the server cannot change:
// Bob's client shows them in Alice's order and tells Bob they were reordered
// (packages/client/src/sdk/sender-order.ts).
import type { DeliverFrame } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { direct, eventOf, isText, isWarning, shown, startWorld, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world.close();
});

describe('attack: the server reorders a sender’s messages', () => {
  it('they are shown in the sender’s order and the reorder is visible', async () => {
    const alice = await world.user('alice');
    const bob = await world.user('bob');
    const g = await direct(alice, bob);
    await alice.client.sendText(g, 'zero');
    await eventOf(bob, isText('zero'));

    // Hold Alice's next three messages; release them as third, first, second, each
    // under the log position of the one it displaces.
    const held: DeliverFrame[] = [];
    const off = world.hostile.onDeliver((f, c) => {
      if (c.deviceId !== bob.client.deviceId || f.groupId !== g || f.kind !== 'application') return 'pass';
      held.push(f);
      if (held.length < 3) return 'drop';
      const [one, two, three] = held as [DeliverFrame, DeliverFrame, DeliverFrame];
      return [
        { ...three, seq: one.seq },
        { ...one, seq: two.seq },
        { ...two, seq: three.seq },
      ];
    });
    for (const t of ['one', 'two', 'three']) await alice.client.sendText(g, t);
    await eventOf(bob, isText('two'));
    off();

    // Arrival order was three, one, two…
    const arrived = bob.events.flatMap((e) => (e.type === 'message' && e.message.body.type === 'text' ? [e.message.body.text] : []));
    expect(arrived).toEqual(['zero', 'three', 'one', 'two']);
    // …shown in Alice's order, with the reorder visible.
    expect(await shown(bob, g)).toEqual(['zero', 'one', 'two', 'three']);
    const warnings = bob.events.filter(isWarning('reordered'));
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings[0]).toMatchObject({ groupId: g, userId: alice.client.userId });
    // Reordered is not replayed: each shown once, none flagged as a replay.
    expect(bob.events.some((e) => e.type === 'message' && e.replay)).toBe(false);

    // The conversation goes on normally afterwards.
    await alice.client.sendText(g, 'four');
    await eventOf(bob, isText('four'));
    expect(await shown(bob, g)).toEqual(['zero', 'one', 'two', 'three', 'four']);
  });
});
