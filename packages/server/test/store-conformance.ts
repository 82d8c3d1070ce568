// The Store conformance suite: every Store implementation (memory, SQLite, later
// PostgreSQL) runs these same tests, so they cannot drift apart.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StoreConflictError, type NewGroupMessage, type Store, type UserRecord } from '../src/store/store.js';

const pw = { hash: new Uint8Array(32).fill(1), salt: new Uint8Array(16).fill(2), params: { N: 16384, r: 8, p: 1, keylen: 32 } };
const user = (id: string, extra: Partial<UserRecord> = {}): UserRecord => ({
  id,
  email: null,
  password: pw,
  admin: false,
  active: true,
  identityKey: null,
  createdAt: 1000,
  ...extra,
});
const hash = (): Uint8Array => new Uint8Array(randomBytes(32));
const msg = (groupId: string, sender: string, createdAt = 5000): NewGroupMessage => ({
  groupId,
  id: new Uint8Array(randomBytes(16)),
  sender,
  data: new Uint8Array(randomBytes(40)),
  createdAt,
});

async function withDevice(store: Store, userId: string, deviceId: string): Promise<Uint8Array> {
  if ((await store.getUser(userId)) === null) await store.createUser(user(userId));
  const token = hash();
  await store.createSession({ tokenHash: token, userId, deviceId: null, createdAt: 1, expiresAt: 10_000_000 });
  await store.addDevice(
    { id: deviceId, userId, signatureKey: new Uint8Array(32).fill(3), cipherSuite: 1, certificate: new Uint8Array([9, 9]), createdAt: 2 },
    token,
  );
  return token;
}

export function storeConformance(name: string, open: () => Promise<{ store: Store; reopen?: () => Promise<Store> }>): void {
  describe(`Store conformance: ${name}`, () => {
    it('creates users once, consumes invites atomically, deactivation revokes sessions', async () => {
      const { store } = await open();
      await store.createUser(user('alice', { admin: true }));
      await expect(store.createUser(user('alice'))).rejects.toBeInstanceOf(StoreConflictError);
      const u = await store.getUser('alice');
      expect(u?.admin).toBe(true);
      expect(u?.password.params.N).toBe(16384);
      expect(Array.from(u?.password.salt ?? [])).toEqual(Array.from(pw.salt));

      const code = hash();
      await store.createInvite({ codeHash: code, createdBy: 'alice', createdAt: 1, expiresAt: 100, maxUses: 1, uses: 0 });
      await expect(store.createUser(user('bob'), { codeHash: code, now: 200 })).rejects.toMatchObject({ conflict: 'invalid-invite' });
      await store.createUser(user('bob'), { codeHash: code, now: 50 });
      await expect(store.createUser(user('carol'), { codeHash: code, now: 50 })).rejects.toMatchObject({ conflict: 'invalid-invite' });
      expect((await store.getUser('carol'))).toBeNull();
      expect((await store.listInvites())[0]?.uses).toBe(1);
      expect((await store.listUsers()).map((x) => x.id)).toEqual(['alice', 'bob']);

      const t = hash();
      await store.createSession({ tokenHash: t, userId: 'bob', deviceId: null, createdAt: 1, expiresAt: 2 });
      expect((await store.getSession(t))?.userId).toBe('bob');
      expect(await store.setUserActive('bob', false)).toBe(true);
      expect(await store.getSession(t)).toBeNull();
      expect((await store.getUser('bob'))?.active).toBe(false);
      expect(await store.setUserActive('nobody', false)).toBe(false);

      expect(await store.setIdentityKey('alice', new Uint8Array([1, 2, 3]))).toBe(true);
      expect(await store.setIdentityKey('alice', new Uint8Array([4]))).toBe(false);
      expect(Array.from((await store.getUser('alice'))?.identityKey ?? [])).toEqual([1, 2, 3]);
      await store.close();
    });

    it('keeps one opaque identity backup per user, replaced by the next put (and across a reopen)', async () => {
      const opened = await open();
      let store = opened.store;
      await store.createUser(user('alice'));
      await store.createUser(user('bob'));
      expect(await store.getIdentityBackup('alice')).toBeNull();
      await store.putIdentityBackup('alice', new Uint8Array([1, 2, 3]), 10);
      await store.putIdentityBackup('bob', new Uint8Array([7]), 10);
      await store.putIdentityBackup('alice', new Uint8Array([4, 5]), 11);
      expect(Array.from((await store.getIdentityBackup('alice')) ?? [])).toEqual([4, 5]);
      expect(Array.from((await store.getIdentityBackup('bob')) ?? [])).toEqual([7]);
      if (opened.reopen !== undefined) {
        await store.close();
        store = await opened.reopen();
        expect(Array.from((await store.getIdentityBackup('alice')) ?? [])).toEqual([4, 5]);
      }
      await store.close();
    });

    it('binds a session to its device; removing a device revokes it and notifies', async () => {
      const { store } = await open();
      const t1 = await withDevice(store, 'alice', 'alice-dev-1');
      await withDevice(store, 'alice', 'alice-dev-2');
      expect((await store.getSession(t1))?.deviceId).toBe('alice-dev-1');
      await expect(withDevice(store, 'alice', 'alice-dev-1')).rejects.toBeInstanceOf(StoreConflictError);
      await store.createGroup({ id: 'group-0001', epoch: 0, groupInfo: new Uint8Array([1]), ratchetTree: null, createdAt: 1 }, 'alice-dev-1');
      await store.addKeyPackages('alice-dev-1', [{ data: new Uint8Array([1]), lastResort: false }]);

      const notice = { id: new Uint8Array(16), kind: 'notice' as const, groupId: '', sender: '', data: new Uint8Array([7]), createdAt: 3 };
      const r = await store.removeDevice('alice-dev-1', (g) => ({ groupId: g, id: new Uint8Array(16).fill(1), sender: '', data: new Uint8Array([8]), createdAt: 3 }), notice);
      expect(r?.groups.map((m) => [m.groupId, m.kind])).toEqual([['group-0001', 'notice']]);
      expect(r?.inbox.map((x) => x.deviceId)).toEqual(['alice-dev-2']);
      expect(await store.getSession(t1)).toBeNull();
      expect(await store.getDevice('alice-dev-1')).toBeNull();
      expect(await store.listMembers('group-0001')).toEqual([]);
      expect(await store.countKeyPackages('alice-dev-1')).toEqual({ regular: 0, lastResort: 0 });
      expect((await store.readInbox('alice-dev-2', 0, 10)).map((m) => m.kind)).toEqual(['notice']);
      expect(await store.removeDevice('alice-dev-1', () => msg('x', ''), notice)).toBeNull();
      await store.close();
    });

    it('lists a user’s sessions, deletes invites, keeps one last-resort package per device, answers check()', async () => {
      const { store } = await open();
      await store.check();
      await store.createUser(user('dana'));
      await store.createUser(user('erin'));
      const [t1, t2, t3] = [hash(), hash(), hash()];
      await store.createSession({ tokenHash: t2, userId: 'dana', deviceId: null, createdAt: 20, expiresAt: 1e9 });
      await store.createSession({ tokenHash: t1, userId: 'dana', deviceId: null, createdAt: 10, expiresAt: 1e9 });
      await store.createSession({ tokenHash: t3, userId: 'erin', deviceId: null, createdAt: 5, expiresAt: 1e9 });
      expect((await store.listSessions('dana')).map((x) => Buffer.from(x.tokenHash).toString('hex'))).toEqual([t1, t2].map((t) => Buffer.from(t).toString('hex')));
      await store.deleteSession(t1);
      expect((await store.listSessions('dana')).map((x) => x.createdAt)).toEqual([20]);
      expect(await store.listSessions('nobody')).toEqual([]);

      const code = hash();
      await store.createInvite({ codeHash: code, createdBy: 'dana', createdAt: 1, expiresAt: 1e9, maxUses: 5, uses: 0 });
      expect(await store.deleteInvite(code)).toBe(true);
      expect(await store.deleteInvite(code)).toBe(false);
      expect(await store.listInvites()).toEqual([]);
      await expect(store.createUser(user('fay'), { codeHash: code, now: 2 })).rejects.toMatchObject({ conflict: 'invalid-invite' });

      await withDevice(store, 'dana', 'dana-dev-01');
      await store.addKeyPackages('dana-dev-01', [{ data: new Uint8Array([1]), lastResort: false }, { data: new Uint8Array([7]), lastResort: true }]);
      await store.addKeyPackages('dana-dev-01', [{ data: new Uint8Array([8]), lastResort: true }]);
      await store.addKeyPackages('dana-dev-01', [{ data: new Uint8Array([2]), lastResort: false }]);
      expect(await store.countKeyPackages('dana-dev-01')).toEqual({ regular: 2, lastResort: 1 });
      // With a cap, a batch that would pass it adds nothing (not even its last-resort package).
      expect(await store.addKeyPackages('dana-dev-01', [{ data: new Uint8Array([3]), lastResort: false }, { data: new Uint8Array([9]), lastResort: true }], 2)).toBeNull();
      expect(await store.countKeyPackages('dana-dev-01')).toEqual({ regular: 2, lastResort: 1 });
      expect(await store.addKeyPackages('dana-dev-01', [{ data: new Uint8Array([9]), lastResort: true }], 2)).toEqual({ regular: 2, lastResort: 1 });
      expect(await store.addKeyPackages('dana-dev-01', [{ data: new Uint8Array([8]), lastResort: true }], 2)).toEqual({ regular: 2, lastResort: 1 });
      await store.claimKeyPackages('dana');
      await store.claimKeyPackages('dana');
      expect((await store.claimKeyPackages('dana')).map((k) => [k.data[0], k.lastResort])).toEqual([[8, true]]);
      await store.close();
    });

    it('hands each key package out once, the last resort only when none is left', async () => {
      const { store } = await open();
      await withDevice(store, 'bob', 'bob-dev-01');
      await withDevice(store, 'bob', 'bob-dev-02');
      await store.addKeyPackages('bob-dev-01', [
        { data: new Uint8Array([1]), lastResort: false },
        { data: new Uint8Array([2]), lastResort: false },
        { data: new Uint8Array([9]), lastResort: true },
      ]);
      expect(await store.countKeyPackages('bob-dev-01')).toEqual({ regular: 2, lastResort: 1 });
      const c1 = await store.claimKeyPackages('bob');
      expect(c1.map((k) => [k.deviceId, k.data[0], k.lastResort])).toEqual([['bob-dev-01', 1, false]]);
      const c2 = await store.claimKeyPackages('bob');
      expect(c2.map((k) => k.data[0])).toEqual([2]);
      const c3 = await store.claimKeyPackages('bob');
      expect(c3.map((k) => [k.data[0], k.lastResort])).toEqual([[9, true]]);
      expect((await store.claimKeyPackages('bob')).map((k) => k.lastResort)).toEqual([true]);
      expect(await store.countKeyPackages('bob-dev-01')).toEqual({ regular: 0, lastResort: 1 });
      await store.close();
    });

    it('sequences a group log once per group, idempotent per message id, with per-device cursors', async () => {
      const { store, reopen } = await open();
      await withDevice(store, 'alice', 'alice-dev-1');
      await withDevice(store, 'bob', 'bob-dev-01');
      await store.createGroup({ id: 'group-0001', epoch: 0, groupInfo: new Uint8Array([1]), ratchetTree: new Uint8Array([2]), createdAt: 1 }, 'alice-dev-1');
      const first = msg('group-0001', 'alice-dev-1');
      const res = await store.appendMessages([first, first, msg('group-0001', 'bob-dev-01'), msg('nope-group', 'alice-dev-1')]);
      expect(res.map((r) => (r.ok ? [r.seq, r.duplicate] : r.reason))).toEqual([[1, false], [1, true], 'not-a-member', 'unknown-group']);

      // Commit adding bob, with a welcome for him; a racing commit on the old epoch loses.
      const welcome = { id: new Uint8Array(16).fill(5), kind: 'welcome' as const, groupId: 'group-0001', sender: 'alice-dev-1', data: new Uint8Array([4]), createdAt: 2 };
      const c = await store.applyCommit({
        groupId: 'group-0001', fromEpoch: 0, toEpoch: 1, message: msg('group-0001', 'alice-dev-1'),
        groupInfo: new Uint8Array([3]), ratchetTree: null, addDevices: ['bob-dev-01'], removeDevices: [], welcome,
      });
      expect(c.ok && c.message.seq).toBe(2);
      expect(c.ok && c.inbox.map((x) => [x.deviceId, x.message.kind])).toEqual([['bob-dev-01', 'welcome']]);
      const lost = await store.applyCommit({
        groupId: 'group-0001', fromEpoch: 0, toEpoch: 1, message: msg('group-0001', 'alice-dev-1'),
        groupInfo: new Uint8Array([3]), ratchetTree: null, addDevices: [], removeDevices: [], welcome: null,
      });
      expect(lost).toEqual({ ok: false, reason: 'stale-epoch', currentEpoch: 1 });
      const g = await store.getGroup('group-0001');
      expect([g?.epoch, g?.lastSeq, g?.groupInfo[0], g?.ratchetTree?.[0]]).toEqual([1, 2, 3, 2]);
      expect((await store.listMembers('group-0001')).map((m) => [m.deviceId, m.cursor])).toEqual([['alice-dev-1', 0], ['bob-dev-01', 2]]);

      const m3 = await store.appendMessages([msg('group-0001', 'bob-dev-01')]);
      expect(m3[0]?.ok === true && m3[0].seq).toBe(3);
      expect((await store.readGroup('group-0001', 1, 10)).map((m) => [m.seq, m.kind])).toEqual([[2, 'commit'], [3, 'application']]);
      expect((await store.readGroup('group-0001', 0, 1)).length).toBe(1);

      // Cursors move forward only, never past the end.
      await store.ackGroup('alice-dev-1', 'group-0001', 99);
      await store.ackGroup('alice-dev-1', 'group-0001', 1);
      expect((await store.groupsOfDevice('alice-dev-1')).map((m) => m.cursor)).toEqual([3]);
      await store.ackBatch([{ deviceId: 'bob-dev-01', groupId: 'group-0001', seq: 3 }, { deviceId: 'bob-dev-01', groupId: 'group-0001', seq: 1 }]);
      expect((await store.groupsOfDevice('bob-dev-01')).map((m) => m.cursor)).toEqual([3]);

      // Everything alice acked that bob needs no more is deletable; bob's own message needs only alice.
      expect(await store.prune(0)).toBe(3);
      expect((await store.readGroup('group-0001', 0, 10)).length).toBe(0);

      // Inbox: read after the cursor, ack, prune.
      expect((await store.readInbox('bob-dev-01', 0, 10)).map((m) => m.kind)).toEqual(['welcome']);
      await store.ackInbox('bob-dev-01', 1);
      expect(await store.inboxCursor('bob-dev-01')).toBe(1);
      await store.prune(0);
      expect(await store.readInbox('bob-dev-01', 0, 10)).toEqual([]);

      if (reopen !== undefined) {
        await store.close();
        const again = await reopen();
        expect((await again.getGroup('group-0001'))?.lastSeq).toBe(3);
        expect(await again.inboxCursor('bob-dev-01')).toBe(1);
        await again.close();
      } else await store.close();
    });

    it('appends in two steps (committed, then durable) with the same results and seqs as appendMessages', async () => {
      const { store, reopen } = await open();
      await withDevice(store, 'alice', 'alice-dev-1');
      await withDevice(store, 'bob', 'bob-dev-01');
      await store.createGroup({ id: 'group-0003', epoch: 0, groupInfo: new Uint8Array([1]), ratchetTree: null, createdAt: 1 }, 'alice-dev-1');
      const first = msg('group-0003', 'alice-dev-1');
      const a = await store.appendMessagesCommitted([first, first, msg('group-0003', 'bob-dev-01'), msg('nope-group', 'alice-dev-1')]);
      expect(a.results.map((r) => (r.ok ? [r.seq, r.duplicate] : r.reason))).toEqual([[1, false], [1, true], 'not-a-member', 'unknown-group']);
      // Readable once committed, before `durable` is awaited: what lets the server publish at once.
      expect((await store.readGroup('group-0003', 0, 10)).map((m) => m.seq)).toEqual([1]);
      // Batches pipeline: the next one commits while the previous one may still be syncing.
      const b = await store.appendMessagesCommitted([msg('group-0003', 'alice-dev-1'), msg('group-0003', 'alice-dev-1')]);
      expect(b.results.map((r) => r.ok && r.seq)).toEqual([2, 3]);
      await Promise.all([a.durable, b.durable]);
      const again = await store.appendMessagesCommitted([first]);
      expect(again.results.map((r) => r.ok && [r.seq, r.duplicate])).toEqual([[1, true]]);
      await again.durable;
      expect((await store.appendMessages([msg('group-0003', 'alice-dev-1')]))[0]).toMatchObject({ ok: true, seq: 4 });
      if (reopen !== undefined) {
        // A clean close keeps the log contiguous: the unclean-start rule is not applied.
        await store.close();
        const reopened = await reopen();
        expect((await reopened.readGroup('group-0003', 0, 10)).map((m) => m.seq)).toEqual([1, 2, 3, 4]);
        expect((await reopened.getGroup('group-0003'))?.lastSeq).toBe(4);
        await reopened.close();
      } else await store.close();
    });

    it('deletes unacknowledged messages only after retention, and removes devices from a group by commit', async () => {
      const { store } = await open();
      await withDevice(store, 'alice', 'alice-dev-1');
      await withDevice(store, 'bob', 'bob-dev-01');
      await store.createGroup({ id: 'group-0002', epoch: 5, groupInfo: new Uint8Array([1]), ratchetTree: null, createdAt: 1 }, 'alice-dev-1');
      await store.applyCommit({
        groupId: 'group-0002', fromEpoch: 5, toEpoch: 6, message: msg('group-0002', 'alice-dev-1', 100),
        groupInfo: new Uint8Array([3]), ratchetTree: null, addDevices: ['bob-dev-01'], removeDevices: [], welcome: null,
      });
      await store.appendMessages([msg('group-0002', 'alice-dev-1', 100), msg('group-0002', 'alice-dev-1', 900)]);
      expect(await store.prune(50)).toBe(1); // the commit: bob joined after it, alice sent it
      expect(await store.prune(500)).toBe(1); // the old message bob never acked
      expect((await store.readGroup('group-0002', 0, 10)).map((m) => m.seq)).toEqual([3]);
      const r = await store.applyCommit({
        groupId: 'group-0002', fromEpoch: 6, toEpoch: 7, message: msg('group-0002', 'alice-dev-1'),
        groupInfo: new Uint8Array([3]), ratchetTree: null, addDevices: [], removeDevices: ['bob-dev-01'], welcome: null,
      });
      expect(r.ok && r.inbox.map((x) => [x.deviceId, x.message.kind])).toEqual([['bob-dev-01', 'commit']]);
      expect((await store.groupsOfDevice('bob-dev-01'))).toEqual([]);
      expect(await store.applyCommit({
        groupId: 'group-0002', fromEpoch: 7, toEpoch: 8, message: msg('group-0002', 'bob-dev-01'),
        groupInfo: new Uint8Array([3]), ratchetTree: null, addDevices: [], removeDevices: [], welcome: null,
      })).toEqual({ ok: false, reason: 'not-a-member' });
      // An external commit: its sender joins by it (bob's new device, in addDevices), from its seq on.
      await withDevice(store, 'bob', 'bob-dev-02');
      const ext = await store.applyCommit({
        groupId: 'group-0002', fromEpoch: 7, toEpoch: 8, message: msg('group-0002', 'bob-dev-02'),
        groupInfo: new Uint8Array([4]), ratchetTree: null, addDevices: ['bob-dev-02'], removeDevices: [], welcome: null, external: true,
      });
      expect(ext.ok && ext.inbox).toEqual([]);
      expect((await store.groupsOfDevice('bob-dev-02')).map((m) => [m.groupId, m.cursor])).toEqual([['group-0002', ext.ok ? ext.message.seq : -1]]);
      await store.addAttachment({ id: 'att', groupId: 'group-0002', uploader: 'alice-dev-1', size: 3, createdAt: 1 });
      expect((await store.getAttachment('att'))?.size).toBe(3);
      expect(await store.getAttachment('other')).toBeNull();
      await store.close();
    });

    it('searches the directory by a literal prefix: active users only, in order, bounded', async () => {
      const { store } = await open();
      for (const id of ['alice', 'alicia', 'ali_x', 'alixe', 'bob', 'al.ice']) await store.createUser(user(id));
      await store.createUser(user('alina', { active: false }));
      expect(await store.searchUsers('ali', 10)).toEqual(['ali_x', 'alice', 'alicia', 'alixe']);
      expect(await store.searchUsers('ali', 2)).toEqual(['ali_x', 'alice']);
      // `_` and `%` are the LIKE wildcards: here they match only themselves.
      expect(await store.searchUsers('ali_', 10)).toEqual(['ali_x']);
      expect(await store.searchUsers('al%', 10)).toEqual([]);
      expect(await store.searchUsers('al.', 10)).toEqual(['al.ice']);
      expect(await store.searchUsers('ALI', 10)).toEqual([]);
      expect(await store.searchUsers('alice', 10)).toEqual(['alice']);
      expect(await store.searchUsers('carol', 10)).toEqual([]);
      // `_` is literal under the limit: 'al.b' (which LIKE's `_` would match, and which sorts first) takes no place.
      await store.createUser(user('al.b'));
      await store.createUser(user('al_b'));
      expect(await store.searchUsers('al_', 1)).toEqual(['al_b']);
      await store.close();
    });
  });
}
