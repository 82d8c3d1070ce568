// Attack (issue 7 item 2): someone who is not (or no longer) a member joins by an
// external commit (RFC 9420 §12.4.3.2). The MLS layer alone would accept any external
// commit built from a valid GroupInfo — and the server holds one per group. The Parley
// rule (group-policy.ts) allows an external join only for a new device of a user who
// already has a device in the group. The real server refuses such joins too; here the
// hostile server writes the commit straight into the members' view of the log, so what
// is proven is that the members' CLIENTS refuse it.
import { nodeCryptoProvider } from '@parley/mls/crypto-node';
import { CredentialType, deserializeState, joinExternal } from '@parley/mls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { direct, eventOf, group, isText, isWarning, shown, startWorld, type Actor, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world.close();
});

/** The newest GroupInfo of a group, as the server has it (every commit upload carries one). */
function latestGroupInfo(g: string): Uint8Array {
  const upload = world.hostile.exchanges.filter((x) => x.request.method === 'POST' && x.request.url === `/v1/groups/${encodeURIComponent(g)}/commits` && x.response.status < 300).at(-1);
  if (upload === undefined) throw new Error('no commit upload seen');
  return Buffer.from((JSON.parse(upload.request.body.toString('utf8')) as { groupInfo: string }).groupInfo, 'base64');
}

async function externalCommitBy(outsider: Actor, g: string): Promise<Uint8Array> {
  const id = await outsider.store.getIdentity();
  if (id === undefined) throw new Error('no identity');
  const { commitMessage } = await joinExternal({
    provider: nodeCryptoProvider,
    groupInfo: latestGroupInfo(g),
    credential: { credentialType: CredentialType.basic, identity: id.deviceCertificate },
    signatureKey: { publicKey: id.deviceSignaturePublicKey, privateKey: id.deviceSignaturePrivateKey.bytes },
    config: { now: () => BigInt(Math.floor(Date.now() / 1000)) },
  });
  return commitMessage;
}

async function leavesOf(a: Actor, g: string): Promise<number> {
  const rec = await a.store.getGroupState(g);
  if (rec === undefined) throw new Error('no state');
  return [...deserializeState(rec.state, nodeCryptoProvider).tree.leaves()].length;
}

describe('attack: an outsider or a removed member rejoins by an external commit', () => {
  it('an outsider who knows the group id is refused', async () => {
    const alice = await world.user('alice');
    const bob = await world.user('bob');
    const mallory = await world.user('mallory', { connect: false });
    const g = await direct(alice, bob);
    await alice.client.sendText(g, 'hello');
    await eventOf(bob, isText('hello'));
    const epoch = (await bob.store.getGroupState(g))?.epoch;

    const commit = await externalCommitBy(mallory, g);
    const conn = await world.hostile.waitForConnection(bob.client.deviceId);
    conn.insert({ stream: 'group', streamId: g, messageId: crypto.getRandomValues(new Uint8Array(16)), kind: 'commit', groupId: g, sender: mallory.client.deviceId, createdAt: Date.now(), payload: commit });
    await alice.client.sendText(g, 'are we alone?');
    await eventOf(bob, isText('are we alone?'));

    expect((await bob.store.getGroupState(g))?.epoch).toBe(epoch);
    expect(await leavesOf(bob, g)).toBe(2);
    expect(bob.events.some((e) => e.type === 'membership')).toBe(false);
    expect(bob.events.find(isWarning('policy-violation'))).toMatchObject({ groupId: g, userId: mallory.client.userId });
    expect(await shown(bob, g)).toEqual(['hello', 'are we alone?']);
  });

  it('a removed member is refused', async () => {
    const alice = await world.user('alice');
    const bob = await world.user('bob');
    const carol = await world.user('carol');
    const g = await group(alice, 'team', [bob, carol]);
    await alice.client.sendText(g, 'welcome both');
    await eventOf(carol, isText('welcome both'));
    await alice.client.removeMembers(g, [carol.client.userId]);
    await eventOf(carol, (e) => e.type === 'removed' && e.groupId === g);
    await alice.client.sendText(g, 'just us two now');
    await eventOf(bob, isText('just us two now'));
    const epoch = (await bob.store.getGroupState(g))?.epoch;

    // Carol keeps her device key and its certificate (both still valid) and knows the group.
    const commit = await externalCommitBy(carol, g);
    for (const [member, marker, from] of [[bob, 'no carol', alice], [alice, 'no carol here either', bob]] as const) {
      const conn = await world.hostile.waitForConnection(member.client.deviceId);
      conn.insert({ stream: 'group', streamId: g, messageId: crypto.getRandomValues(new Uint8Array(16)), kind: 'commit', groupId: g, sender: carol.client.deviceId, createdAt: Date.now(), payload: commit });
      await from.client.sendText(g, marker);
      await eventOf(member, isText(marker));
      expect((await member.store.getGroupState(g))?.epoch).toBe(epoch);
      expect(await leavesOf(member, g)).toBe(2);
      expect(member.events.find(isWarning('policy-violation'))).toMatchObject({ groupId: g, userId: carol.client.userId });
      expect((await member.client.members(g)).map((m) => m.userId)).not.toContain(carol.client.userId);
    }
  });
});
