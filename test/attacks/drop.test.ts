// Attack (issue 7 item 2): the server drops a message. It acknowledges Alice's message
// (so Alice's client believes it sent) and never delivers it to Bob. Every message
// carries its sender's sequence number inside the encryption, so Bob's client sees the
// hole in Alice's numbers when her next message arrives and tells Bob a message is
// missing (packages/client/src/sdk/sender-order.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { direct, eventOf, isText, isWarning, shown, startWorld, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world.close();
});

describe('attack: the server drops a message', () => {
  it('the recipient sees the gap in the sender’s sequence and is told a message is missing', async () => {
    const alice = await world.user('alice');
    const bob = await world.user('bob');
    const g = await direct(alice, bob);
    await alice.client.sendText(g, 'one');
    await eventOf(bob, isText('one'));
    expect(bob.events.some(isWarning('message-missing'))).toBe(false);

    let dropped = 0;
    const off = world.hostile.onDeliver((f, c) => {
      if (c.deviceId !== bob.client.deviceId || f.groupId !== g || f.kind !== 'application' || dropped > 0) return 'pass';
      dropped += 1;
      return 'drop';
    });
    const sent = await alice.client.sendText(g, 'two: the one that matters');
    expect(sent.status).toBe('sent'); // the server took it
    await alice.client.sendText(g, 'three');
    const three = await eventOf(bob, isText('three'));
    off();
    expect(dropped).toBe(1);

    expect(three).toMatchObject({ type: 'message', gap: true, replay: false, message: { senderSeq: 3 } });
    const warning = await eventOf(bob, isWarning('message-missing'));
    expect(warning).toMatchObject({ type: 'warning', groupId: g, userId: alice.client.userId, code: 'message-missing' });
    expect(bob.events.filter(isWarning('message-missing'))).toHaveLength(1);
    expect(await shown(bob, g)).toEqual(['one', 'three']);
  });
});
