// The server checks MLS itself (issue 5 item 5, issue 7): a real server on loopback with
// its default inspector (the engine's public group view), real MLS groups built by
// hand, honest and hostile. Every refusal carries a stable code and changes nothing.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialType, mergeCommit, processMessage, type Proposal } from '@parley/mls';
import { groupPolicyExtension, newGroupPolicy } from '@parley/protocol';
import { b64, http, MlsDevice, mlsDeviceCertificate, newUser, startTestServer, type HeldKeyPackage, type HttpAnswer, type TestServer } from '@parley/testing';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv.close();
});

const gid = (): string => `grp-${randomBytes(6).toString('hex')}`;
const add = (kp: HeldKeyPackage): Proposal => ({ proposalType: 1, add: { keyPackage: kp.keyPackage } });
const remove = (leaf: number): Proposal => ({ proposalType: 3, remove: { removed: leaf as never } });

async function members(token: string, groupId: string): Promise<string[]> {
  const r = await http<{ members: string[] }>(srv.url, 'GET', `/v1/groups/${groupId}`, undefined, token);
  expect(r.status).toBe(200);
  return [...r.body.members].sort();
}

async function groupState(token: string, groupId: string): Promise<{ epoch: number; groupInfo: string; lastSeq: number }> {
  const info = await http<{ epoch: number; groupInfo: string }>(srv.url, 'GET', `/v1/groups/${groupId}/group-info`, undefined, token);
  const g = await http<{ lastSeq: number }>(srv.url, 'GET', `/v1/groups/${groupId}`, undefined, token);
  return { epoch: info.body.epoch, groupInfo: info.body.groupInfo, lastSeq: g.body.lastSeq };
}

function flipAt(b: Uint8Array, fromEnd: number): Uint8Array {
  const c = b.slice();
  c[c.length - fromEnd]! ^= 1;
  return c;
}
const flipLast = (b: Uint8Array): Uint8Array => flipAt(b, 1);

function refused(r: HttpAnswer, status: number, code: string): void {
  expect(r, JSON.stringify(r.body)).toMatchObject({ status, body: { error: { code } } });
}

/** The leaf index of a device in a member's view of the group. */
function leafOf(viewer: MlsDevice, groupId: string, device: MlsDevice): number {
  for (const [i, leaf] of viewer.state(groupId).tree.leaves()) {
    if (Buffer.from(leaf.signatureKey).equals(Buffer.from(device.signatureKey.publicKey))) return i;
  }
  throw new Error('not in the tree');
}

const sortIds = (...ds: MlsDevice[]): string[] => ds.map((d) => d.deviceId).sort();

describe('group creation', () => {
  it('starts a group only from a valid GroupInfo whose one member is the creating device', async () => {
    const alice = await newUser(srv.url);
    const a1 = await MlsDevice.register(srv.url, alice);
    const a2 = await MlsDevice.register(srv.url, alice);
    const b1 = await MlsDevice.register(srv.url, await newUser(srv.url));
    const g = gid();
    const post = (body: Record<string, unknown>, token = a1.token): Promise<HttpAnswer> => http(srv.url, 'POST', '/v1/groups', { groupId: g, epoch: 1, ...body }, token);
    const { groupInfo } = await a1.prepareGroup(g);

    refused(await post({ groupInfo: b64(randomBytes(64)) }), 400, 'invalid-group-info');
    refused(await post({ groupInfo: b64(flipLast(groupInfo)) }), 400, 'invalid-group-info'); // signature
    refused(await post({ groupInfo: b64(groupInfo), epoch: 2 }), 400, 'invalid-group-info'); // declared epoch
    refused(await post({ groupInfo: b64(groupInfo), groupId: gid() }), 400, 'invalid-group-info'); // another group id
    refused(await post({ groupInfo: b64(groupInfo) }, a2.token), 400, 'invalid-group-info'); // its one member is a1, not a2
    const withBob = await MlsDevice.register(srv.url, alice);
    const state2 = await withBob.prepareGroup(g);
    withBob.groups.set(g, state2.state);
    const two = await withBob.build(g, [add(await b1.keyPackage())]);
    refused(await post({ groupInfo: b64(two.groupInfo), epoch: 2 }, withBob.token), 400, 'invalid-group-info'); // two members
    expect((await http(srv.url, 'GET', `/v1/groups/${g}`, undefined, a1.token)).body).toMatchObject({ error: { code: 'unknown-group' } });

    expect(await post({ groupInfo: b64(groupInfo) })).toMatchObject({ status: 201, body: { groupId: g, epoch: 1 } });
    refused(await post({ groupInfo: b64(groupInfo) }), 409, 'group-exists');
    expect(await members(a1.token, g)).toEqual([a1.deviceId]);
  });
});

describe('key packages', () => {
  it('accepts only key packages signed by the uploading device’s registered key, naming that device', async () => {
    const alice = await newUser(srv.url);
    const a1 = await MlsDevice.register(srv.url, alice);
    const a2 = await MlsDevice.register(srv.url, alice);
    const upload = (keyPackages: Uint8Array[], lastResort?: Uint8Array): Promise<HttpAnswer> =>
      http(srv.url, 'POST', '/v1/devices/me/key-packages', { keyPackages: keyPackages.map(b64), ...(lastResort === undefined ? {} : { lastResort: b64(lastResort) }) }, a1.token);
    const good = await a1.keyPackage();
    refused(await upload([randomBytes(120)]), 400, 'invalid-key-package');
    refused(await upload([flipLast(good.bytes)]), 400, 'invalid-key-package'); // KeyPackage signature
    refused(await upload([(await a2.keyPackage()).bytes]), 400, 'invalid-key-package'); // another device's
    refused(await upload([good.bytes], (await a2.keyPackage(true)).bytes), 400, 'invalid-key-package'); // one bad in the batch
    // Signed with a1's key, but its certificate names a2.
    const misnamed = await a1.keyPackage(false, { credentialType: CredentialType.basic, identity: mlsDeviceCertificate(alice, a2.deviceId, a1.signatureKey.publicKey) });
    refused(await upload([misnamed.bytes]), 400, 'invalid-key-package');
    expect((await http(srv.url, 'GET', '/v1/devices/me/key-packages', undefined, a1.token)).body).toEqual({ regular: 0, lastResort: 0 });
    expect((await upload([good.bytes, (await a1.keyPackage()).bytes], (await a1.keyPackage(true)).bytes)).body).toEqual({ regular: 2, lastResort: 1 });
  });
});

describe('commits', () => {
  it('derives the fan-out list from the tree, whatever the envelope declares; refuses forged and mismatched commits', async () => {
    const alice = await newUser(srv.url);
    const bob = await newUser(srv.url);
    const eve = await newUser(srv.url);
    const a1 = await MlsDevice.register(srv.url, alice);
    const b1 = await MlsDevice.register(srv.url, bob);
    const e1 = await MlsDevice.register(srv.url, eve);
    const g = gid();
    expect((await a1.createGroup(srv.url, g)).status).toBe(201);
    const kb1 = await b1.keyPackage();
    const c = await a1.build(g, [add(kb1)]);
    const before = await groupState(a1.token, g);

    // Hostile variants of one honest commit: each refused, nothing changes.
    const post = (body: Record<string, unknown>, token = a1.token): Promise<HttpAnswer> =>
      http(srv.url, 'POST', `/v1/groups/${g}/commits`, { epoch: 1, commit: b64(c.commitMessage), groupInfo: b64(c.groupInfo), welcome: b64(c.welcome!), ...body }, token);
    // A PublicMessage ends with signature<V>, confirmation_tag<V>, membership_tag<V> (32-byte
    // tags in suite 1): 70 bytes from the end is inside the Ed25519 signature. (The tags need
    // group secrets: the members check them, not the server.)
    refused(await post({ commit: b64(flipAt(c.commitMessage, 70)) }), 400, 'invalid-commit');
    refused(await post({ commit: b64(randomBytes(200)) }), 400, 'invalid-commit');
    refused(await post({ groupInfo: before.groupInfo }), 400, 'invalid-group-info'); // the old epoch's GroupInfo
    refused(await post({ groupInfo: b64(flipLast(c.groupInfo)) }), 400, 'invalid-group-info');
    refused(await post({}, e1.token), 400, 'invalid-commit'); // a1's commit sent by a non-member's device
    refused(await post({ welcome: undefined }), 400, 'invalid-commit'); // adds a device without its Welcome
    expect(await groupState(a1.token, g)).toEqual(before);

    // The envelope lies about who is added; the server follows the tree.
    expect((await post({ addedDevices: [e1.deviceId], removedDevices: [a1.deviceId] })).status).toBe(201);
    a1.groups.set(g, mergeCommit(a1.state(g), c.pending));
    expect(await members(a1.token, g)).toEqual(sortIds(a1, b1));
    const inbox = await http<{ messages: { kind: string; data: string }[] }>(srv.url, 'GET', '/v1/inbox', undefined, b1.token);
    const welcome = inbox.body.messages.find((m) => m.kind === 'welcome')!;
    await b1.join(g, Buffer.from(welcome.data, 'base64'), kb1);
    expect((await http(srv.url, 'GET', '/v1/inbox', undefined, e1.token)).body).toEqual({ messages: [] });

    // A member adds a device that is not registered, or one whose certificate its user did not sign.
    const ghost = await MlsDevice.register(srv.url, bob);
    const unregistered = await ghost.keyPackage(false, { credentialType: CredentialType.basic, identity: mlsDeviceCertificate(bob, 'never-registered-1', ghost.signatureKey.publicKey) });
    refused(await a1.commit(srv.url, g, [add(unregistered)]), 400, 'invalid-commit');
    const forged = await ghost.keyPackage(false, { credentialType: CredentialType.basic, identity: mlsDeviceCertificate(bob, ghost.deviceId, ghost.signatureKey.publicKey, eve) });
    refused(await a1.commit(srv.url, g, [add(forged)]), 400, 'invalid-commit');
    // Two leaves for one device (b1's id, another key).
    const twin = await ghost.keyPackage(false, { credentialType: CredentialType.basic, identity: mlsDeviceCertificate(bob, b1.deviceId, ghost.signatureKey.publicKey) });
    refused(await a1.commit(srv.url, g, [add(twin)]), 400, 'invalid-commit');

    // Bob (a member) commits an update: accepted; Alice's stale commit loses the race.
    const stale = await a1.build(g, []);
    expect((await b1.commit(srv.url, g)).status).toBe(201);
    refused(await a1.send(srv.url, g, stale), 409, 'stale-epoch');
    a1.groups.set(g, (await processMessage(a1.state(g), Buffer.from((await http<{ messages: { data: string }[] }>(srv.url, 'GET', `/v1/groups/${g}/messages?after=1`, undefined, a1.token)).body.messages[0]!.data, 'base64'))).state);

    // Alice removes Bob: he leaves the fan-out list and finds the commit in his inbox.
    expect((await a1.commit(srv.url, g, [remove(leafOf(a1, g, b1))])).status).toBe(201);
    expect(await members(a1.token, g)).toEqual(sortIds(a1));
    const bobInbox = await http<{ messages: { kind: string }[] }>(srv.url, 'GET', '/v1/inbox', undefined, b1.token);
    expect(bobInbox.body.messages.map((m) => m.kind)).toEqual(['welcome', 'commit']);
  });

  it('checks each commit against the group’s Parley policy (defence in depth)', async () => {
    const alice = await newUser(srv.url);
    const bob = await newUser(srv.url);
    const carol = await newUser(srv.url);
    const a1 = await MlsDevice.register(srv.url, alice);
    const b1 = await MlsDevice.register(srv.url, bob);
    const b2 = await MlsDevice.register(srv.url, bob);
    const c1 = await MlsDevice.register(srv.url, carol);
    const g = gid();
    const policy = newGroupPolicy({ kind: 'group', name: 'Cabinet', creator: alice.userId }); // admins add and remove
    expect((await a1.createGroup(srv.url, g, [groupPolicyExtension(policy)])).status).toBe(201);
    const kb1 = await b1.keyPackage();
    const added = await a1.build(g, [add(kb1)]);
    expect((await a1.send(srv.url, g, added)).status).toBe(201);
    await b1.join(g, added.welcome!, kb1);

    const before = await groupState(a1.token, g);
    refused(await b1.commit(srv.url, g, [add(await c1.keyPackage())]), 403, 'policy-violation'); // not an admin
    refused(await b1.commit(srv.url, g, [remove(leafOf(b1, g, a1))]), 403, 'policy-violation'); // removing an admin
    const promoted = groupPolicyExtension({ ...policy, admins: [alice.userId, bob.userId].sort() });
    refused(await b1.commit(srv.url, g, [{ proposalType: 7, groupContextExtensions: { extensions: [promoted] } }]), 403, 'policy-violation');
    refused(await b1.commit(srv.url, g, [{ proposalType: 7, groupContextExtensions: { extensions: [] } }]), 403, 'policy-violation'); // dropping the policy
    expect(await groupState(a1.token, g)).toEqual(before);

    // Bob may add his own new device; Alice, an admin, may add Carol.
    expect((await b1.commit(srv.url, g, [add(await b2.keyPackage())])).status).toBe(201);
    const seqAfter = (await groupState(a1.token, g)).lastSeq;
    const m = await http<{ messages: { data: string }[] }>(srv.url, 'GET', `/v1/groups/${g}/messages?after=${seqAfter - 1}`, undefined, a1.token);
    a1.groups.set(g, (await processMessage(a1.state(g), Buffer.from(m.body.messages[0]!.data, 'base64'))).state);
    expect((await a1.commit(srv.url, g, [add(await c1.keyPackage())])).status).toBe(201);
    expect(await members(a1.token, g)).toEqual(sortIds(a1, b1, b2, c1));
  });
});

describe('the view after a restart', () => {
  it('rebuilds each group’s view from the stored GroupInfo when it is not in memory', async () => {
    const { PublicInspector } = await import('@parley/server');
    const { nodeCryptoProvider } = await import('@parley/mls/crypto-node');
    const held: { store?: ConstructorParameters<typeof PublicInspector>[0]['store'] } = {};
    const lazy = { getDevice: (id: string) => held.store!.getDevice(id), getUser: (id: string) => held.store!.getUser(id) };
    const cold = await startTestServer({}, { inspector: new PublicInspector({ provider: nodeCryptoProvider, store: lazy, now: Date.now, cacheSize: 0 }) });
    held.store = cold.server.ctx.store;
    try {
      const a1 = await MlsDevice.register(cold.url, await newUser(cold.url));
      const b1 = await MlsDevice.register(cold.url, await newUser(cold.url));
      const g = gid();
      expect((await a1.createGroup(cold.url, g)).status).toBe(201);
      const kb1 = await b1.keyPackage();
      const added = await a1.build(g, [add(kb1)]);
      expect((await a1.send(cold.url, g, added)).status).toBe(201);
      await b1.join(g, added.welcome!, kb1);
      const update = await b1.build(g);
      expect((await b1.send(cold.url, g, update)).status).toBe(201);
      a1.groups.set(g, (await processMessage(a1.state(g), update.commitMessage)).state);
      expect((await a1.commit(cold.url, g, [remove(leafOf(a1, g, b1))])).status).toBe(201);
      refused(await b1.commit(cold.url, g), 409, 'stale-epoch'); // removed: its state is an epoch behind
    } finally {
      await cold.close();
    }
  });
});

describe('external commits (issue 7: who may rejoin)', () => {
  it('lets a new device of a member join from the GroupInfo; refuses outsiders, removed members and forged certificates', async () => {
    const alice = await newUser(srv.url);
    const bob = await newUser(srv.url);
    const eve = await newUser(srv.url);
    const a1 = await MlsDevice.register(srv.url, alice);
    const b1 = await MlsDevice.register(srv.url, bob);
    const e1 = await MlsDevice.register(srv.url, eve);
    const g = gid();
    expect((await a1.createGroup(srv.url, g, [groupPolicyExtension(newGroupPolicy({ kind: 'group', name: 'Team', creator: alice.userId }))])).status).toBe(201);
    expect((await a1.commit(srv.url, g, [add(await b1.keyPackage())])).status).toBe(201);
    const info = async (): Promise<Uint8Array> => Buffer.from((await http<{ groupInfo: string }>(srv.url, 'GET', `/v1/groups/${g}/group-info`, undefined, a1.token)).body.groupInfo, 'base64');
    const external = async (d: MlsDevice, credential = d.credential): Promise<HttpAnswer> => {
      const j = await d.externalJoin(await info(), credential);
      const epoch = (await groupState(a1.token, g)).epoch;
      const r = await http(srv.url, 'POST', `/v1/groups/${g}/commits`, { epoch, commit: b64(j.commit), groupInfo: b64(j.groupInfo) }, d.token);
      if (r.status === 201) d.groups.set(g, j.state);
      return r;
    };

    // An outsider who knows the group id (and got hold of its GroupInfo).
    const before = await groupState(a1.token, g);
    refused(await external(e1), 403, 'external-join-refused');
    // A device of Alice's whose leaf certificate Eve signed, not Alice's identity key.
    const a3 = await MlsDevice.register(srv.url, alice);
    refused(await external(a3, { credentialType: CredentialType.basic, identity: mlsDeviceCertificate(alice, a3.deviceId, a3.signatureKey.publicKey, eve) }), 403, 'external-join-refused');
    expect(await groupState(a1.token, g)).toEqual(before);

    // Alice's new device joins by itself: accepted, and it is in the fan-out list from then on.
    const a2 = await MlsDevice.register(srv.url, alice);
    expect((await external(a2)).status).toBe(201);
    expect(await members(a1.token, g)).toEqual(sortIds(a1, a2, b1));
    // The members continue from the joiner's epoch: a1 processes the external commit and commits.
    const log = await http<{ messages: { data: string }[] }>(srv.url, 'GET', `/v1/groups/${g}/messages?after=${before.lastSeq}`, undefined, a1.token);
    a1.groups.set(g, (await processMessage(a1.state(g), Buffer.from(log.body.messages[0]!.data, 'base64'))).state);
    expect((await a1.commit(srv.url, g, [remove(leafOf(a1, g, b1))])).status).toBe(201);

    // Bob, removed, tries to come back with the GroupInfo he could still fetch earlier.
    refused(await external(b1), 403, 'external-join-refused');
    const b2 = await MlsDevice.register(srv.url, bob);
    refused(await external(b2), 403, 'external-join-refused');
    expect(await members(a1.token, g)).toEqual(sortIds(a1, a2));
  });
});
