// Issue 6 items 1 and 7: named groups over a real server on loopback — every device of
// every member is a leaf, the creator administers the group through the Parley policy in
// the GroupContext, members are added and removed, a removed member's device decrypts
// nothing sent after its removal, a member leaves, and a commit the policy forbids is
// refused by every client, including one that the server (or a member) slips in.
import { createCommit, deserializeState, processMessage, ProposalType, type GroupState } from '@parley/mls';
import { nodeCryptoProvider } from '@parley/mls/crypto-node';
import { startTestServer, startUncheckedTestServer, type TestServer } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParleyClient } from '../src/sdk/client.js';
import { deviceApi, next, record, registerUser, texts } from './helpers.js';

let server: TestServer;
let unchecked: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  unchecked = await startUncheckedTestServer();
});

afterAll(async () => {
  await server.close();
  await unchecked.close();
});

/** The group state a client keeps in its store, as the MLS engine reads it. */
async function stateOf(_client: ParleyClient, options: { store: { getGroupState(g: string): Promise<{ state: Uint8Array } | undefined> } }, groupId: string): Promise<GroupState> {
  const rec = await options.store.getGroupState(groupId);
  if (rec === undefined) throw new Error('no group state');
  return deserializeState(rec.state, nodeCryptoProvider);
}

describe('groups', () => {
  it('a group of three, an addition and a removal: the removed device decrypts none of what follows', async () => {
    const a = await registerUser(server, 'gAlice');
    const b = await registerUser(server, 'gBob');
    const c = await registerUser(server, 'gCarol');
    const d = await registerUser(server, 'gDave');
    const [alice, bob, carol, dave] = [a.client, b.client, c.client, d.client];
    for (const x of [alice, bob, carol, dave]) await x.connect();

    const joinedB = next(bob, (e) => e.type === 'conversation');
    const joinedC = next(carol, (e) => e.type === 'conversation');
    const g = await alice.createGroup('project x', [bob.userId, carol.userId]);
    for (const e of [await joinedB, await joinedC]) expect(e).toMatchObject({ type: 'conversation', conversation: { groupId: g, kind: 'group', name: 'project x' } });
    const members = await bob.members(g);
    expect(members.map((m) => [m.userId, m.devices.length, m.admin]).sort()).toEqual(
      [
        [alice.userId, 1, true],
        [bob.userId, 1, false],
        [carol.userId, 1, false],
      ].sort(),
    );

    const got = Promise.all([bob, carol].map((x) => next(x, (e) => e.type === 'message')));
    await alice.sendText(g, 'hello both');
    expect((await got).map((e) => e.type === 'message' && e.message.body)).toEqual([
      { type: 'text', text: 'hello both' },
      { type: 'text', text: 'hello both' },
    ]);
    const fromBob = Promise.all([alice, carol].map((x) => next(x, (e) => e.type === 'message')));
    await bob.sendText(g, 'bob here');
    await fromBob;

    // Dave is added by the administrator and reads what is sent from then on.
    const joinedD = next(dave, (e) => e.type === 'conversation');
    await alice.addMembers(g, [dave.userId]);
    await joinedD;
    const toDave = next(dave, (e) => e.type === 'message');
    await carol.sendText(g, 'welcome dave');
    expect((await toDave).type === 'message').toBe(true);
    expect(await texts(dave, g)).toEqual(['welcome dave']);

    // A snapshot of Carol's state shows the check below can succeed: it decrypts a message sent after it.
    await carol.sync();
    const carolBefore = await stateOf(carol, c.options, g);
    const probe = next(carol, (e) => e.type === 'message');
    await alice.sendText(g, 'probe before the removal');
    await probe;

    // Carol is removed.
    const removed = next(carol, (e) => e.type === 'removed');
    await alice.removeMembers(g, [carol.userId]);
    expect(await removed).toEqual({ type: 'removed', groupId: g });
    expect((await alice.members(g)).map((m) => m.userId).sort()).toEqual([alice.userId, bob.userId, dave.userId].sort());
    expect((await carol.conversations()).find((x) => x.groupId === g)?.closedAt).toBeDefined();
    await expect(carol.sendText(g, 'still here?')).rejects.toMatchObject({ code: 'unknown-conversation' });

    const after = ['after carol left 1', 'after carol left 2'];
    const gotAll = Promise.all([bob, dave].map((x) => next(x, (e) => e.type === 'message' && e.message.body.type === 'text' && e.message.body.text === after[1])));
    await alice.sendText(g, after[0]!);
    await bob.sendText(g, 'bob after carol');
    await dave.sendText(g, 'dave after carol');
    await alice.sendText(g, after[1]!);
    await gotAll;
    expect(await texts(bob, g)).toEqual(['hello both', 'bob here', 'welcome dave', 'probe before the removal', after[0], 'bob after carol', 'dave after carol', after[1]]);

    // Every ciphertext of the group log, handed to Carol's last state and to the older snapshot.
    const aliceIdentity = await a.options.store.getAccount();
    const api = await deviceApi(server, alice.userId, a.password, aliceIdentity!.deviceId);
    const log = await api.readGroup(g, 0);
    const removal = log.findIndex((m) => m.kind === 'commit' && m.seq === Math.max(...log.filter((x) => x.kind === 'commit').map((x) => x.seq)));
    const later = log.slice(removal + 1);
    expect(later.length).toBeGreaterThanOrEqual(4);
    let decryptedBefore = 0;
    for (const m of log.slice(0, removal)) {
      try {
        const r = await processMessage(carolBefore, m.data);
        if (r.event.type === 'application') decryptedBefore++;
      } catch {
        // earlier epochs: expected
      }
    }
    expect(decryptedBefore).toBeGreaterThan(0);
    const carolLast = carolBefore; // the snapshot's epoch is the last one Carol was in
    let decryptedAfter = 0;
    for (const m of later) {
      for (const st of [carolLast]) {
        try {
          const r = await processMessage(st, m.data);
          if (r.event.type === 'application') decryptedAfter++;
        } catch {
          // refused: what we want
        }
      }
    }
    expect(decryptedAfter).toBe(0);

    for (const x of [alice, bob, carol, dave]) await x.close();
  });


  it.each([
    ['the real server', 'r'],
    ['a server that does not check (a malicious one)', 'u'],
  ])('only the administrator may add: a member’s own attempt and a forged commit are both refused (%s)', async (_what, tag) => {
    const target = tag === 'r' ? server : unchecked;
    const a = await registerUser(target, `p${tag}Alice`);
    const b = await registerUser(target, `p${tag}Bob`);
    const c = await registerUser(target, `p${tag}Carol`);
    const [alice, bob, carol] = [a.client, b.client, c.client];
    await bob.connect();
    const joined = next(bob, (e) => e.type === 'conversation');
    const g = await alice.createGroup('admins only', [bob.userId]);
    await joined;

    // Bob's own client refuses to build the commit.
    const warned = next(bob, (e) => e.type === 'warning');
    await expect(bob.addMembers(g, [carol.userId])).rejects.toMatchObject({ code: 'policy-violation' });
    expect(await warned).toMatchObject({ type: 'warning', code: 'policy-violation', groupId: g });

    // Bob, through the raw API, commits Alice's removal anyway; the server sequences it.
    await alice.sync();
    const epochBefore = (await stateOf(alice, a.options, g)).groupContext.epoch;
    const bobState = await stateOf(bob, b.options, g);
    const aliceLeaf = [...bobState.tree.leaves()].find(([i]) => i !== bobState.ownLeaf)![0];
    const forged = await createCommit(bobState, { proposals: [{ proposalType: ProposalType.remove, remove: { removed: aliceLeaf } }] });
    const bobApi = await deviceApi(target, bob.userId, b.password, bob.deviceId);
    const forge = bobApi.commit(g, { epoch: Number(bobState.groupContext.epoch), commit: forged.commitMessage, groupInfo: forged.groupInfo });
    if (tag === 'r') {
      // The real server runs the same policy and refuses it: nothing reaches Alice.
      await expect(forge).rejects.toMatchObject({ name: 'ServerError', code: 'policy-violation' });
      for (const x of [alice, bob, carol]) await x.close();
      return;
    }
    await forge;
    const seen = record(alice);
    await alice.sync();
    expect(seen).toContainEqual(expect.objectContaining({ type: 'warning', code: 'policy-violation', groupId: g, userId: bob.userId }));
    expect(seen.some((e) => e.type === 'removed')).toBe(false);
    expect((await stateOf(alice, a.options, g)).groupContext.epoch).toBe(epochBefore);
    for (const x of [alice, bob, carol]) await x.close();
  });


  it('a 1:1 conversation stays two users; a member leaves a group and another commits it', async () => {
    const a = await registerUser(server, 'lAlice');
    const b = await registerUser(server, 'lBob');
    const c = await registerUser(server, 'lCarol');
    const [alice, bob, carol] = [a.client, b.client, c.client];
    await bob.connect();
    await carol.connect();
    const dm = await alice.openDirect(bob.userId);
    await expect(alice.addMembers(dm, [carol.userId])).rejects.toMatchObject({ code: 'policy-violation' });
    expect((await alice.members(dm)).every((m) => m.admin)).toBe(true);

    const joined = Promise.all([bob, carol].map((x) => next(x, (e) => e.type === 'conversation')));
    const g = await alice.createGroup('to leave', [bob.userId, carol.userId]);
    await joined;
    await alice.connect();
    const carolOut = next(carol, (e) => e.type === 'removed');
    const aliceSees = next(alice, (e) => e.type === 'membership' && e.removed === 1);
    await carol.leave(g);
    // Alice, the administrator, commits the removal Carol asked for.
    await aliceSees;
    await carolOut;
    expect((await alice.members(g)).map((m) => m.userId).sort()).toEqual([alice.userId, bob.userId].sort());
    await bob.sync();
    expect((await bob.members(g)).map((m) => m.userId).sort()).toEqual([alice.userId, bob.userId].sort());
    for (const x of [alice, bob, carol]) await x.close();
  });
});
