// Attack (issue 7 item 2): the server splits a group, giving different members different
// commits for the same epoch. The real server accepts one commit per epoch; the hostile
// one here hides Alice's commit from Bob and tells Bob his own (refused) commit was
// accepted, so Alice and Bob each move to an epoch N+1 of their own. Each member's
// messages carry a fork-check tag of their epoch (packages/client/src/sdk/fork-check.ts):
// the other side's tag differs from its own, so the fork is detected and shown, and the
// conversation is not silently continued.
import type { DeliverFrame } from '@parley/protocol';
import { json } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, direct, eventOf, isText, isWarning, shown, startWorld, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world.close();
});

describe('attack: the server forks a group', () => {
  it('members given different commits for the same epoch detect it, are warned, and stop', async () => {
    const alice = await world.user('alice');
    const bob = await world.user('bob');
    const g = await direct(alice, bob);
    await alice.client.sendText(g, 'hello');
    await eventOf(bob, isText('hello'));
    await bob.client.sendText(g, 'hi');
    await eventOf(alice, isText('hi'));
    const start = (await alice.store.getGroupState(g))?.epoch;
    expect(start).toBeDefined();
    expect(alice.events.some(isWarning('fork-detected'))).toBe(false);

    // The attack. Toward Bob: no commit at all, and Alice's messages held back for now.
    const held: DeliverFrame[] = [];
    const offDeliver = world.hostile.onDeliver((f, c) => {
      if (c.deviceId !== bob.client.deviceId || f.groupId !== g) return 'pass';
      if (f.kind === 'commit') return 'drop';
      if (f.kind === 'application') {
        held.push(f);
        return 'drop';
      }
      return 'pass';
    });
    // Bob's commit for the epoch Alice already committed in is refused by the real
    // server; the proxy turns the refusal into an acceptance, at the log position of
    // Alice's commit (in the log Bob is shown, his commit takes its place).
    let forged = 0;
    const commitsUrl = `/v1/groups/${encodeURIComponent(g)}/commits`;
    const offResponse = world.hostile.onResponse((res, req) => {
      if (req.method !== 'POST' || req.url !== commitsUrl || res.status !== 409) return undefined;
      const alices = world.hostile.exchanges.filter((x) => x.request.url === commitsUrl && x.response.status === 201).at(-1);
      if (alices === undefined) return undefined;
      forged += 1;
      return json.answer(201, json.parse(alices.response));
    });

    // A week later both devices update their keys (scheduled, nobody asks): Alice on
    // a sync, Bob before his next message.
    alice.clock.now += 8 * DAY;
    bob.clock.now += 8 * DAY;
    await alice.client.sync();
    expect((await alice.store.getGroupState(g))?.epoch).toBe((start ?? 0n) + 1n);
    await alice.client.sendText(g, 'on branch A');
    await bob.client.sendText(g, 'on branch B');
    expect(forged).toBe(1);
    // Same epoch number on both sides: a fork, not a member lagging behind.
    expect((await bob.store.getGroupState(g))?.epoch).toBe((start ?? 0n) + 1n);

    // Alice receives Bob's message from the other branch: detected and shown.
    const warnA = await eventOf(alice, isWarning('fork-detected'));
    expect(warnA).toMatchObject({ type: 'warning', groupId: g, code: 'fork-detected' });
    expect(await alice.client.isSplit(g)).toBe(true);
    expect(await shown(alice, g)).toEqual(['hello', 'hi', 'on branch A']);
    // …and the conversation is not silently continued.
    await expect(alice.client.sendText(g, 'still there?')).rejects.toMatchObject({ code: 'conversation-split' });

    // Bob gets Alice's held message: his side detects the fork too.
    offDeliver();
    offResponse();
    const conn = await world.hostile.waitForConnection(bob.client.deviceId);
    for (const f of held) conn.inject(f);
    await eventOf(bob, isWarning('fork-detected'));
    expect(await bob.client.isSplit(g)).toBe(true);
    expect(await shown(bob, g)).toEqual(['hello', 'hi', 'on branch B']);
    await expect(bob.client.sendText(g, 'hello?')).rejects.toMatchObject({ code: 'conversation-split' });
    // One warning each, not one per message.
    expect(alice.events.filter(isWarning('fork-detected'))).toHaveLength(1);
    expect(bob.events.filter(isWarning('fork-detected'))).toHaveLength(1);
  });
});
