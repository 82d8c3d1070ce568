// The SQLite store's group cache (sqlite.ts, "The group cache"): the last seq and the members'
// cursors it keeps in memory follow every write that changes them, its own and other
// connections', and a failed transaction leaves it where the database is.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { SqliteStore, UNSYNCED_MAX } from '../src/store/sqlite.js';
import type { AppendResult, NewGroupMessage } from '../src/store/store.js';

const pw = { hash: new Uint8Array(32), salt: new Uint8Array(16), params: { N: 1024, r: 8, p: 1, keylen: 32 } };
const ANN = 'ann-dev-0001';
const BOB = 'bob-dev-0001';
const CAT = 'cat-dev-0001';
const G = 'group-cache';
let idCounter = 0;
const appMsg = (sender: string, groupId = G, data = new Uint8Array([1, 2, 3])): NewGroupMessage => {
  const id = new Uint8Array(16);
  new DataView(id.buffer).setUint32(0, ++idCounter);
  return { groupId, id, sender, data, createdAt: 2 };
};
const seqsOf = (rs: readonly AppendResult[]): (number | string)[] => rs.map((r) => (r.ok ? (r.duplicate ? `dup ${r.seq}` : r.seq) : r.reason));
const file = (): string => join(mkdtempSync(join(tmpdir(), 'parley-cache-')), 'parley.db');

async function addDevice(store: SqliteStore, user: string, device: string): Promise<void> {
  const token = new Uint8Array(32).fill(device.charCodeAt(0));
  await store.createUser({ id: user, email: null, password: pw, admin: false, active: true, identityKey: null, createdAt: 1 });
  await store.createSession({ tokenHash: token, userId: user, deviceId: null, createdAt: 1, expiresAt: 1e12 });
  await store.addDevice({ id: device, userId: user, signatureKey: new Uint8Array(32), cipherSuite: 1, certificate: new Uint8Array(8), createdAt: 1 }, token);
}

/** Ann, Bob and Cat; Ann and Bob in G (Bob added by the commit at seq 1); Cat in no group. */
async function setUp(store: SqliteStore): Promise<void> {
  await addDevice(store, 'ann', ANN);
  await addDevice(store, 'bob', BOB);
  await addDevice(store, 'cat', CAT);
  await store.createGroup({ id: G, epoch: 0, groupInfo: new Uint8Array([1]), ratchetTree: null, createdAt: 1 }, ANN);
  const add = await commit(store, 0, [BOB], []);
  expect(add).toBe(1);
}

async function commit(store: SqliteStore, fromEpoch: number, addDevices: string[], removeDevices: string[]): Promise<number> {
  const r = await store.applyCommit({ groupId: G, fromEpoch, toEpoch: fromEpoch + 1, message: appMsg(ANN), groupInfo: new Uint8Array([2]), ratchetTree: null, addDevices, removeDevices, welcome: null });
  if (!r.ok) throw new Error(r.reason);
  return r.message.seq;
}

const server = { deferredSync: true, backgroundCheckpoint: true } as const;
const append = async (store: SqliteStore, ms: NewGroupMessage[]): Promise<(number | string)[]> => {
  const out = await store.appendMessagesCommitted(ms);
  await out.durable;
  return seqsOf(out.results);
};

it('sqlite group cache: a commit that removes a member refuses its next append, one that adds a member accepts its first, and seqs run on through both', async () => {
  const store = new SqliteStore(file(), server);
  await setUp(store);
  // The cache holds G now, Bob a member and Cat not.
  expect(await append(store, [appMsg(BOB), appMsg(CAT), appMsg(ANN)])).toEqual([2, 'not-a-member', 3]);
  expect(await commit(store, 1, [CAT], [BOB])).toBe(4);
  expect(await append(store, [appMsg(BOB), appMsg(CAT), appMsg(ANN)])).toEqual(['not-a-member', 5, 6]);
  // Acks follow the new members too: Bob's moves nothing, Cat's cursor starts at the commit (4).
  await store.ackBatch([{ deviceId: BOB, groupId: G, seq: 6 }, { deviceId: CAT, groupId: G, seq: 5 }]);
  expect(await store.listMembers(G)).toEqual([{ groupId: G, deviceId: ANN, cursor: 0 }, { groupId: G, deviceId: CAT, cursor: 5 }]);
  await store.close();
});

it('sqlite group cache: removing a device refuses its appends, and the next seq comes after the removal notice', async () => {
  const store = new SqliteStore(file(), server);
  await setUp(store);
  expect(await append(store, [appMsg(BOB), appMsg(ANN)])).toEqual([2, 3]);
  const removed = await store.removeDevice(BOB, (groupId) => appMsg(ANN, groupId), { ...appMsg(ANN), kind: 'notice' });
  expect(removed?.groups.map((m) => m.seq)).toEqual([4]);
  expect(await append(store, [appMsg(BOB), appMsg(ANN)])).toEqual(['not-a-member', 5]);
  await store.close();
});

it('sqlite group cache: an unknown group is not remembered as one once created, nor a group that is', async () => {
  const store = new SqliteStore(file(), server);
  await setUp(store);
  expect(await append(store, [appMsg(ANN, 'group-later')])).toEqual(['unknown-group']);
  await store.createGroup({ id: 'group-later', epoch: 0, groupInfo: new Uint8Array([1]), ratchetTree: null, createdAt: 1 }, CAT);
  expect(await append(store, [appMsg(CAT, 'group-later'), appMsg(ANN, 'group-later')])).toEqual([1, 'not-a-member']);
  await store.close();
});

it('sqlite group cache: another connection’s commit, append and ack (`parley admin`, a second store) are seen by the next transaction', async () => {
  const path = file();
  const store = new SqliteStore(path, server);
  await setUp(store);
  expect(await append(store, [appMsg(BOB), appMsg(ANN)])).toEqual([2, 3]);
  const other = new SqliteStore(path);
  // Bob is removed and Cat added through the other connection, which then appends at 5.
  expect(await commit(other, 1, [CAT], [BOB])).toBe(4);
  expect(seqsOf(await other.appendMessages([appMsg(CAT)]))).toEqual([5]);
  expect(await append(store, [appMsg(BOB), appMsg(CAT), appMsg(ANN)])).toEqual(['not-a-member', 6, 7]);
  // A cursor the other connection moved is not moved back by a late ack here.
  await other.ackGroup(CAT, G, 7);
  await store.ackBatch([{ deviceId: CAT, groupId: G, seq: 6 }]);
  expect((await store.listMembers(G)).find((m) => m.deviceId === CAT)?.cursor).toBe(7);
  await other.close();
  await store.close();
});

it('sqlite group cache: a batch whose transaction fails leaves the next seq, the recent ids and the rows where the database has them', async () => {
  const path = file();
  const store = new SqliteStore(path, server);
  await setUp(store);
  expect(await append(store, [appMsg(ANN)])).toEqual([2]);
  // A row the database refuses (a trigger stands in for a full disk or an I/O error).
  const db = new Database(path);
  db.exec("CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN NEW.data = x'dead' BEGIN SELECT RAISE(ABORT, 'refused'); END");
  db.close();
  const lost = [appMsg(ANN), appMsg(BOB), appMsg(ANN, G, new Uint8Array([0xde, 0xad]))];
  await expect(store.appendMessagesCommitted(lost)).rejects.toThrow('refused');
  await expect(store.appendMessages([appMsg(BOB), appMsg(ANN, G, new Uint8Array([0xde, 0xad]))])).rejects.toThrow('refused');
  // The next batch goes on at 3, and a retry of the lost messages is new, not a duplicate.
  expect(await append(store, [appMsg(BOB), lost[0]!, lost[1]!])).toEqual([3, 4, 5]);
  expect((await store.readGroup(G, 1, 10)).map((m) => m.seq)).toEqual([2, 3, 4, 5]);
  // A failed ack batch leaves the cursors too.
  const db2 = new Database(path);
  db2.exec("DROP TRIGGER refuse; CREATE TRIGGER refuse BEFORE UPDATE ON members WHEN NEW.cursor = 5 BEGIN SELECT RAISE(ABORT, 'refused'); END");
  db2.close();
  await store.ackBatch([{ deviceId: BOB, groupId: G, seq: 4 }]);
  await expect(store.ackBatch([{ deviceId: ANN, groupId: G, seq: 3 }, { deviceId: BOB, groupId: G, seq: 5 }])).rejects.toThrow('refused');
  await store.ackBatch([{ deviceId: ANN, groupId: G, seq: 3 }]);
  expect((await store.listMembers(G)).map((m) => m.cursor)).toEqual([3, 4]);
  await store.close();
});

it('sqlite group cache: a batch over the insert size keeps its order, a retry within it is a duplicate, and acks clamp and never go back', async () => {
  const store = new SqliteStore(file(), server);
  await setUp(store);
  const ms = Array.from({ length: 45 }, (_, i) => appMsg(i % 3 === 0 ? BOB : ANN, G, new Uint8Array([i])));
  const retried = ms[10]!;
  const results = await append(store, [...ms.slice(0, 20), retried, appMsg(CAT), ...ms.slice(20)]);
  expect(results).toEqual([...Array.from({ length: 20 }, (_, i) => 2 + i), 'dup 12', 'not-a-member', ...Array.from({ length: 25 }, (_, i) => 22 + i)]);
  expect((await store.readGroup(G, 1, 100)).map((m) => [m.seq, m.sender, m.data[0]])).toEqual(ms.map((m, i) => [2 + i, m.sender, i]));
  await store.ackBatch([{ deviceId: BOB, groupId: G, seq: 30 }, { deviceId: BOB, groupId: G, seq: 20 }, { deviceId: ANN, groupId: G, seq: 1000 }, { deviceId: CAT, groupId: G, seq: 9 }, { deviceId: ANN, groupId: 'no-such-group', seq: 9 }]);
  expect((await store.listMembers(G)).map((m) => m.cursor)).toEqual([46, 30]);
  await store.ackGroup(BOB, G, 25);
  await store.ackGroup(BOB, G, Number.NaN);
  expect((await store.listMembers(G)).map((m) => m.cursor)).toEqual([46, 30]);
  await store.close();
});

it('sqlite group cache: the next seq runs on after a prune takes the log’s end, and after clean and unclean reopens', async () => {
  const path = file();
  const store = new SqliteStore(path, server);
  await setUp(store);
  expect(await append(store, [appMsg(ANN), appMsg(BOB)])).toEqual([2, 3]);
  await store.ackBatch([{ deviceId: ANN, groupId: G, seq: 3 }, { deviceId: BOB, groupId: G, seq: 3 }]);
  expect(await store.prune(0)).toBe(3);
  expect(await append(store, [appMsg(ANN)])).toEqual([4]);
  await store.close();
  const clean = new SqliteStore(path, server);
  expect(await append(clean, [appMsg(BOB)])).toEqual([5]);
  await clean.close();
  // A kill instead: the marker left 'open'.
  const marked = new Database(path);
  marked.prepare("UPDATE server_state SET value = 'open' WHERE key = 'shutdown'").run();
  marked.close();
  const unclean = new SqliteStore(path, server);
  expect(unclean.uncleanStartGroups).toBe(1);
  expect(await append(unclean, [appMsg(ANN)])).toEqual([5 + UNSYNCED_MAX + 1]);
  await unclean.close();
});

it('sqlite group cache: were the cache wrong, the database would still refuse a removed member’s message and a reused seq', async () => {
  const path = file();
  const store = new SqliteStore(path, server);
  await setUp(store);
  expect(await append(store, [appMsg(BOB)])).toEqual([2]);
  // A cache that misses other connections' commits (the check it must not skip, disabled here).
  (store as unknown as { states: { sync: () => void } }).states.sync = () => undefined;
  const other = new SqliteStore(path);
  expect(await commit(other, 1, [], [BOB])).toBe(3);
  await expect(store.appendMessagesCommitted([appMsg(BOB)])).rejects.toThrow(/NOT NULL/);
  // (the failure made the store forget its cache; it is stale again after the next external append)
  expect(await append(store, [appMsg(ANN)])).toEqual([4]);
  expect(seqsOf(await other.appendMessages([appMsg(ANN)]))).toEqual([5]);
  await expect(store.appendMessages([appMsg(ANN)])).rejects.toThrow(/UNIQUE/);
  expect((await store.readGroup(G, 0, 10)).map((m) => [m.seq, m.sender])).toEqual([[1, ANN], [2, BOB], [3, ANN], [4, ANN], [5, ANN]]);
  await other.close();
  await store.close();
});
