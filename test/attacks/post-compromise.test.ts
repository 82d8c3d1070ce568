// Attack (issue 7 item 2): post-compromise. An attacker — here the server's operator, who
// sees every ciphertext — has copied Bob's device state at epoch N (a stolen backup, a
// seized laptop imaged and returned). It reads what Bob reads for as long as Bob's leaf
// keeps its keys, even across other members' commits. Bob's client commits an update of
// its own leaf once per policy interval of activity (one week by default) without anyone
// asking (packages/client/src/sdk/key-update.ts); after that commit the copy reads nothing.
import { nodeCryptoProvider } from '@parley/mls/crypto-node';
import { deserializeState, processMessage, type GroupState } from '@parley/mls';
import type { DeliverFrame } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, direct, eventOf, framesTo, isText, startWorld, type Actor, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world.close();
});

const decoder = new TextDecoder();

/** The attacker's reading of one frame with its copy of Bob's state. */
async function attackerReads(copy: GroupState, frame: DeliverFrame): Promise<{ state: GroupState; text?: string }> {
  const r = await processMessage(copy, frame.payload);
  if (r.event.type !== 'application') return { state: r.state };
  return { state: r.state, text: (JSON.parse(decoder.decode(r.event.data)) as { body: { text: string } }).body.text };
}

const lastFrame = (world: World, to: Actor, g: string, kind: DeliverFrame['kind']): DeliverFrame => {
  const f = framesTo(world, to, g, kind).at(-1);
  if (f === undefined) throw new Error(`no ${kind} frame recorded`);
  return f;
};

const bobsLeafKey = async (alice: Actor, bob: Actor, g: string): Promise<string> => {
  const rec = await alice.store.getGroupState(g);
  if (rec === undefined) throw new Error('no state');
  const s = deserializeState(rec.state, nodeCryptoProvider);
  for (const [, leaf] of s.tree.leaves()) if (Buffer.from(leaf.signatureKey).equals(Buffer.from((await bob.store.getIdentity())?.deviceSignaturePublicKey ?? []))) return Buffer.from(leaf.encryptionKey).toString('hex');
  throw new Error('Bob has no leaf');
};

describe('attack: a copy of a device’s state (post-compromise security)', () => {
  it('reads until that device’s next update, which the client commits by itself after the interval', async () => {
    const alice = await world.user('alice');
    const bob = await world.user('bob');
    const g = await direct(alice, bob);
    await bob.client.sendText(g, 'bob is here'); // Bob's update clock starts
    await eventOf(alice, isText('bob is here'));

    // The compromise: a copy of Bob's stored state at epoch N.
    const stolen = await bob.store.getGroupState(g);
    if (stolen === undefined) throw new Error('no state');
    let copy = deserializeState(stolen.state, nodeCryptoProvider);

    // The copy reads what Bob reads…
    await alice.client.sendText(g, 'before any update');
    await eventOf(bob, isText('before any update'));
    let read = await attackerReads(copy, lastFrame(world, bob, g, 'application'));
    expect(read.text).toBe('before any update');
    copy = read.state;

    // …even across another member's update: Alice's new path secrets are encrypted to
    // Bob's leaf key, which the copy holds. This is why Bob himself must update.
    alice.clock.now += 8 * DAY;
    await alice.client.sync();
    await eventOf(bob, (e) => e.type === 'membership');
    read = await attackerReads(copy, lastFrame(world, bob, g, 'commit'));
    copy = read.state;
    await alice.client.sendText(g, 'after alice updated');
    await eventOf(bob, isText('after alice updated'));
    read = await attackerReads(copy, lastFrame(world, bob, g, 'application'));
    expect(read.text).toBe('after alice updated');
    copy = read.state;

    // Six days of Bob's activity: no update yet.
    const bobLeaf = await bobsLeafKey(alice, bob, g);
    const epochBefore = (await bob.store.getGroupState(g))?.epoch ?? 0n;
    bob.clock.now += 6 * DAY;
    await bob.client.sendText(g, 'day six');
    await eventOf(alice, isText('day six'));
    expect((await bob.store.getGroupState(g))?.epoch).toBe(epochBefore);

    // A week after his clock started Bob just sends a message; nobody asked for an
    // update, but his client commits one (a fresh path) before sending.
    bob.clock.now += 1 * DAY + 1;
    await bob.client.sendText(g, 'a week later');
    await eventOf(alice, isText('a week later'));
    expect((await bob.store.getGroupState(g))?.epoch).toBe(epochBefore + 1n);
    expect(await bobsLeafKey(alice, bob, g)).not.toBe(bobLeaf);
    const bobsCommit = lastFrame(world, alice, g, 'commit');
    expect(bobsCommit.sender).toBe(bob.client.deviceId);

    // From now on the copy reads nothing. It cannot follow Bob's commit: the new path
    // secrets are encrypted to Alice alone, and the new leaf key was generated after the
    // copy was taken (the engine refuses it outright as "our own" commit)…
    await expect(processMessage(copy, bobsCommit.payload)).rejects.toThrow();
    // …nor what follows in the new epoch.
    await alice.client.sendText(g, 'secret after the update');
    await eventOf(bob, isText('secret after the update'));
    await expect(processMessage(copy, lastFrame(world, bob, g, 'application').payload)).rejects.toMatchObject({ code: 'wrong-epoch' });
    await expect(processMessage(copy, lastFrame(world, alice, g, 'application').payload)).rejects.toThrow();
  });
});
