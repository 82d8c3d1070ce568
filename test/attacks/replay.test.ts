// Attack (issue 7 item 2): the server replays an application message or a commit —
// the same bytes again, under a new log position and a new message id, so that neither
// the transport's cursor nor the de-duplication by message id catches it. The MLS
// layer does: an application message's generation was consumed when it was first
// decrypted (RFC 9420 §9.2), and a commit is for an epoch that is over. The message is
// shown once; the replay is refused and reported with a stable code, and the group
// state does not move.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, direct, eventOf, framesTo, isText, shown, startWorld, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world.close();
});

describe('attack: the server replays messages', () => {
  it('a replayed application message is refused and shown once', async () => {
    const alice = await world.user('alice');
    const bob = await world.user('bob');
    const g = await direct(alice, bob);
    await alice.client.sendText(g, 'transfer 100 EUR');
    await eventOf(bob, isText('transfer 100 EUR'));
    const original = framesTo(world, bob, g, 'application').at(-1);
    if (original === undefined) throw new Error('no frame recorded');

    const conn = await world.hostile.waitForConnection(bob.client.deviceId);
    const { seq: _seq, ...frame } = original;
    const messageId = new Uint8Array(16).fill(0xee);
    const refused = eventOf(bob, (e) => e.type === 'error' && e.groupId === g);
    conn.insert({ ...frame, messageId });
    expect(await refused).toMatchObject({ type: 'error', code: 'generation-reused' });
    expect(await shown(bob, g)).toEqual(['transfer 100 EUR']);
    expect(bob.events.filter(isText('transfer 100 EUR'))).toHaveLength(1);

    // The real log goes on after the insertion: the next message arrives normally.
    await alice.client.sendText(g, 'thanks');
    await eventOf(bob, isText('thanks'));
    expect(await shown(bob, g)).toEqual(['transfer 100 EUR', 'thanks']);
  });

  it('a replayed commit is refused: the epoch does not move and no membership change is shown', async () => {
    const alice = await world.user('alice');
    const bob = await world.user('bob');
    const g = await direct(alice, bob);
    await alice.client.sendText(g, 'hello');
    await eventOf(bob, isText('hello'));
    // Alice's scheduled key update: a real commit from epoch N to N+1.
    alice.clock.now += 8 * DAY;
    await alice.client.sync();
    await eventOf(bob, (e) => e.type === 'membership');
    const epoch = (await bob.store.getGroupState(g))?.epoch;
    const commit = framesTo(world, bob, g, 'commit').at(-1);
    if (commit === undefined || epoch === undefined) throw new Error('no commit recorded');
    const memberships = bob.events.filter((e) => e.type === 'membership').length;

    const conn = await world.hostile.waitForConnection(bob.client.deviceId);
    const { seq: _seq, ...frame } = commit;
    conn.insert({ ...frame, messageId: new Uint8Array(16).fill(0xcc) });
    // A message after the replay proves the replay was processed (the client handles one at a time).
    await alice.client.sendText(g, 'after the replay');
    await eventOf(bob, isText('after the replay'));

    expect((await bob.store.getGroupState(g))?.epoch).toBe(epoch);
    expect(bob.events.filter((e) => e.type === 'membership')).toHaveLength(memberships);
    expect(await shown(bob, g)).toEqual(['hello', 'after the replay']);
  });
});
