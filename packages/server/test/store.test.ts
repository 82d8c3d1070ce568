// Runs the Store conformance suite against every implementation.
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { MemoryStore } from '../src/store/memory.js';
import { SqliteStore, UNSYNCED_MAX, migrate } from '../src/store/sqlite.js';
import { DEDUP_WINDOW, type AppendResult, type NewGroupMessage } from '../src/store/store.js';
import { MIGRATIONS } from '../src/store/migrations.js';
import { storeConformance } from './store-conformance.js';

storeConformance('memory', async () => ({ store: new MemoryStore() }));
storeConformance('sqlite', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'parley-store-')), 'parley.db');
  return { store: new SqliteStore(file), reopen: async () => new SqliteStore(file) };
});
storeConformance('sqlite, background checkpoint', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'parley-store-')), 'parley.db');
  return { store: new SqliteStore(file, { backgroundCheckpoint: true }), reopen: async () => new SqliteStore(file, { backgroundCheckpoint: true }) };
});

storeConformance('sqlite, deferred sync and background checkpoint (the server’s)', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'parley-store-')), 'parley.db');
  const options = { backgroundCheckpoint: true, deferredSync: true } as const;
  return { store: new SqliteStore(file, options), reopen: async () => new SqliteStore(file, options) };
});

it('sqlite, deferred sync: after an unclean start that lost the log’s tail, no seq is reused and a cursor past the stored end skips nothing new', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'parley-unclean-')), 'parley.db');
  const opts = { deferredSync: true } as const;
  const store = new SqliteStore(file, opts);
  expect(store.uncleanStartGroups).toBe(0);
  const pw = { hash: new Uint8Array(32), salt: new Uint8Array(16), params: { N: 1024, r: 8, p: 1, keylen: 32 } };
  for (const [u, d] of [['ann', 'ann-dev-0001'], ['bob', 'bob-dev-0001']] as const) {
    const token = new Uint8Array(32).fill(u.length + d.charCodeAt(0));
    await store.createUser({ id: u, email: null, password: pw, admin: false, active: true, identityKey: null, createdAt: 1 });
    await store.createSession({ tokenHash: token, userId: u, deviceId: null, createdAt: 1, expiresAt: 1e12 });
    await store.addDevice({ id: d, userId: u, signatureKey: new Uint8Array(32), cipherSuite: 1, certificate: new Uint8Array(8), createdAt: 1 }, token);
  }
  await store.createGroup({ id: 'group-lost', epoch: 0, groupInfo: new Uint8Array([1]), ratchetTree: null, createdAt: 1 }, 'ann-dev-0001');
  let n = 0;
  const m = (): { groupId: string; id: Uint8Array; sender: string; data: Uint8Array; createdAt: number } => ({ groupId: 'group-lost', id: new Uint8Array(16).fill(++n), sender: 'ann-dev-0001', data: new Uint8Array([n]), createdAt: 2 });
  const add = await store.applyCommit({ groupId: 'group-lost', fromEpoch: 0, toEpoch: 1, message: m(), groupInfo: new Uint8Array([2]), ratchetTree: null, addDevices: ['bob-dev-0001'], removeDevices: [], welcome: null });
  expect(add.ok && add.message.seq).toBe(1);
  const kept = await store.appendMessagesCommitted([m(), m(), m()]);
  await kept.durable;
  const tail = await store.appendMessagesCommitted([m(), m(), m()]);
  await tail.durable;
  const published = tail.results.map((r) => (r.ok ? r.seq : -1));
  expect(published).toEqual([5, 6, 7]);
  // Bob received and stored the whole tail: his own cursor is 7, and so was the server's.
  const bobCursor = 7;
  await store.ackBatch([{ deviceId: 'bob-dev-0001', groupId: 'group-lost', seq: bobCursor }]);
  await store.close();

  // The power loss: the unsynced tail (seqs 5..7, Bob's cursor move) never reached the disk,
  // and the database was still marked open.
  const db = new Database(file);
  db.prepare('DELETE FROM messages WHERE group_id = ? AND seq > 4').run('group-lost');
  db.prepare('UPDATE groups SET last_seq = 4 WHERE id = ?').run('group-lost');
  db.prepare('UPDATE members SET cursor = MIN(cursor, 4)').run();
  db.prepare("UPDATE server_state SET value = 'open' WHERE key = 'shutdown'").run();
  db.close();

  const again = new SqliteStore(file, opts);
  expect(again.uncleanStartGroups).toBe(1);
  // A second connection (`parley admin`) neither applies the rule nor touches the marker.
  const admin = new SqliteStore(file);
  expect(admin.uncleanStartGroups).toBe(0);
  await admin.close();
  const next = await again.appendMessagesCommitted([m(), m()]);
  await next.durable;
  const fresh = next.results.map((r) => (r.ok ? r.seq : -1));
  // No seq a recipient may have seen is reused for another message …
  for (const s of fresh) expect(s).toBeGreaterThan(Math.max(...published));
  expect(fresh).toEqual([4 + UNSYNCED_MAX + 1, 4 + UNSYNCED_MAX + 2]);
  // … so Bob, resuming from his own cursor (past what the server has), gets both, and his ack sticks.
  expect((await again.readGroup('group-lost', bobCursor, 10)).map((x) => x.seq)).toEqual(fresh);
  await again.ackGroup('bob-dev-0001', 'group-lost', bobCursor);
  expect((await again.listMembers('group-lost')).find((x) => x.deviceId === 'bob-dev-0001')?.cursor).toBe(bobCursor);
  // Whoever resumes from the server's cursor (4) still gets everything that survived, in order.
  expect((await again.readGroup('group-lost', 4, 10)).map((x) => x.seq)).toEqual(fresh);
  await again.close();

  // After a clean shutdown the log goes on where it stopped.
  const third = new SqliteStore(file, opts);
  expect(third.uncleanStartGroups).toBe(0);
  expect((await third.getGroup('group-lost'))?.lastSeq).toBe(fresh[1]);
  await third.close();
});

it('sqlite: the background checkpointer copies the WAL into the database while the main connection never checkpoints', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'parley-ckpt-')), 'parley.db');
  const store = new SqliteStore(file, { backgroundCheckpoint: true });
  const token = new Uint8Array(32).fill(9);
  await store.createUser({ id: 'ann', email: null, password: { hash: new Uint8Array(32), salt: new Uint8Array(16), params: { N: 16384, r: 8, p: 1, keylen: 32 } }, admin: false, active: true, identityKey: null, createdAt: 1 });
  await store.createSession({ tokenHash: token, userId: 'ann', deviceId: null, createdAt: 1, expiresAt: 1e12 });
  await store.addDevice({ id: 'ann-dev-0001', userId: 'ann', signatureKey: new Uint8Array(32), cipherSuite: 1, certificate: new Uint8Array(8), createdAt: 1 }, token);
  await store.createGroup({ id: 'group-ckpt', epoch: 0, groupInfo: new Uint8Array([1]), ratchetTree: null, createdAt: 1 }, 'ann-dev-0001');
  const before = statSync(file).size;
  // About 2,000 pages of messages: past SQLite's inline threshold (1,000), under the backstop.
  for (let b = 0; b < 40; b++) {
    await store.appendMessages(Array.from({ length: 50 }, (_, i) => ({ groupId: 'group-ckpt', id: new Uint8Array(16).fill(b).map((x, k) => (k === 0 ? i : x)), sender: 'ann-dev-0001', data: new Uint8Array(4000).fill(i), createdAt: 2 })));
  }
  // Only a checkpoint writes pages into the database file; wait for the worker's.
  for (let i = 0; i < 400 && statSync(file).size <= before + 4_000_000; i++) await new Promise((r) => setTimeout(r, 25));
  expect(statSync(file).size).toBeGreaterThan(before + 4_000_000);
  await store.close();
  const again = new SqliteStore(file);
  expect((await again.readGroup('group-ckpt', 1990, 100)).map((m) => m.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 1991 + i));
  await again.close();
});

it('sqlite: migrations run once, in order, and the database is in WAL mode with foreign keys', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'parley-mig-')), 'parley.db');
  const store = new SqliteStore(file);
  void store.close();
  const db = new Database(file);
  expect(migrate(db)).toBe(0);
  const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[];
  expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((m) => m.version));
  expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
  db.close();
});

it('sqlite: externalVersion moves when another connection writes, never for the store’s own writes', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'parley-ver-')), 'parley.db');
  const server = new SqliteStore(file);
  const admin = new SqliteStore(file);
  const pw = { hash: new Uint8Array(32), salt: new Uint8Array(16), params: { N: 1024, r: 8, p: 1, keylen: 32 } };
  const v0 = await server.externalVersion();
  await server.createUser({ id: 'own', email: null, password: pw, admin: false, active: true, identityKey: null, createdAt: 1 });
  expect(await server.externalVersion()).toBe(v0);
  expect(await admin.setUserActive('own', false)).toBe(true);
  const v1 = await server.externalVersion();
  expect(v1).not.toBe(v0);
  expect(await server.externalVersion()).toBe(v1);
  await server.close();
  await admin.close();
});

// ---- The log's append writes only its row (migration 4): the next seq, retention, de-dup.

const pw = { hash: new Uint8Array(32), salt: new Uint8Array(16), params: { N: 1024, r: 8, p: 1, keylen: 32 } };
let idCounter = 0;
const appMsg = (groupId: string, sender: string, createdAt = 2): NewGroupMessage => {
  const id = new Uint8Array(16);
  new DataView(id.buffer).setUint32(0, ++idCounter);
  return { groupId, id, sender, data: new Uint8Array([idCounter & 255]), createdAt };
};

/** Ann and Bob, one device each, in one group (Bob joined by a commit, seq 1). */
async function twoInAGroup(store: SqliteStore, groupId: string): Promise<void> {
  for (const [u, d] of [['ann', 'ann-dev-0001'], ['bob', 'bob-dev-0001']] as const) {
    const token = new Uint8Array(32).fill(u.length + d.charCodeAt(0));
    await store.createUser({ id: u, email: null, password: pw, admin: false, active: true, identityKey: null, createdAt: 1 });
    await store.createSession({ tokenHash: token, userId: u, deviceId: null, createdAt: 1, expiresAt: 1e12 });
    await store.addDevice({ id: d, userId: u, signatureKey: new Uint8Array(32), cipherSuite: 1, certificate: new Uint8Array(8), createdAt: 1 }, token);
  }
  await store.createGroup({ id: groupId, epoch: 0, groupInfo: new Uint8Array([1]), ratchetTree: null, createdAt: 1 }, 'ann-dev-0001');
  const add = await store.applyCommit({ groupId, fromEpoch: 0, toEpoch: 1, message: appMsg(groupId, 'ann-dev-0001'), groupInfo: new Uint8Array([2]), ratchetTree: null, addDevices: ['bob-dev-0001'], removeDevices: [], welcome: null });
  expect(add.ok && add.message.seq).toBe(1);
}

const seqsOf = (rs: readonly AppendResult[]): (number | string)[] => rs.map((r) => (r.ok ? (r.duplicate ? `dup ${r.seq}` : r.seq) : r.reason));

it('sqlite: appends leave groups.last_seq alone, and a prune that empties the log keeps the next seq, across clean and unclean reopens', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'parley-lastseq-')), 'parley.db');
  const opts = { deferredSync: true } as const;
  const store = new SqliteStore(file, opts);
  await twoInAGroup(store, 'group-seq');
  const a = await store.appendMessagesCommitted([appMsg('group-seq', 'ann-dev-0001'), appMsg('group-seq', 'bob-dev-0001'), appMsg('group-seq', 'ann-dev-0001')]);
  await a.durable;
  expect(seqsOf(a.results)).toEqual([2, 3, 4]);
  // The row is not written per message (the point of the change) …
  const peek = new Database(file, { readonly: true });
  expect(peek.prepare('SELECT last_seq FROM groups').pluck().get()).toBe(1);
  peek.close();
  // … yet every reader sees the log's end: the group, and the cursor clamp of an ack.
  expect((await store.getGroup('group-seq'))?.lastSeq).toBe(4);
  await store.ackBatch([{ deviceId: 'bob-dev-0001', groupId: 'group-seq', seq: 99 }, { deviceId: 'ann-dev-0001', groupId: 'group-seq', seq: 99 }]);
  expect((await store.listMembers('group-seq')).map((m) => m.cursor)).toEqual([4, 4]);
  // Everyone acknowledged everything: the prune empties the log, its end is kept in the group.
  expect(await store.prune(0)).toBe(4);
  expect(await store.readGroup('group-seq', 0, 10)).toEqual([]);
  expect((await store.getGroup('group-seq'))?.lastSeq).toBe(4);
  await store.close();

  // A clean reopen goes on after 4, with an empty log.
  const clean = new SqliteStore(file, opts);
  expect(clean.uncleanStartGroups).toBe(0);
  const b = await clean.appendMessagesCommitted([appMsg('group-seq', 'ann-dev-0001')]);
  await b.durable;
  expect(seqsOf(b.results)).toEqual([5]);
  await clean.ackBatch([{ deviceId: 'bob-dev-0001', groupId: 'group-seq', seq: 5 }]);
  expect(await clean.prune(0)).toBe(1);
  // Seq 6 stays in the log, past the group's written last_seq (5).
  expect(seqsOf(await clean.appendMessages([appMsg('group-seq', 'ann-dev-0001')]))).toEqual([6]);
  await clean.close();
  // A kill instead: the marker left 'open'.
  const db = new Database(file);
  db.prepare("UPDATE server_state SET value = 'open' WHERE key = 'shutdown'").run();
  db.close();

  // The unclean start moves on from the log's end (6), not from the written last_seq (5).
  const unclean = new SqliteStore(file, opts);
  expect(unclean.uncleanStartGroups).toBe(1);
  expect((await unclean.getGroup('group-seq'))?.lastSeq).toBe(6 + UNSYNCED_MAX);
  const c = await unclean.appendMessagesCommitted([appMsg('group-seq', 'ann-dev-0001'), appMsg('group-seq', 'ann-dev-0001')]);
  await c.durable;
  expect(seqsOf(c.results)).toEqual([6 + UNSYNCED_MAX + 1, 6 + UNSYNCED_MAX + 2]);
  await unclean.close();
  const again = new SqliteStore(file, opts);
  expect(again.uncleanStartGroups).toBe(0);
  expect((await again.getGroup('group-seq'))?.lastSeq).toBe(6 + UNSYNCED_MAX + 2);
  await again.close();
});

it('sqlite: retention prune walks each log in slices by seq, without a created_at index, and takes every old row', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'parley-retention-')), 'parley.db');
  const store = new SqliteStore(file);
  await twoInAGroup(store, 'group-ret');
  // Bob never acknowledges: only retention can delete. Over two slices of old messages, new
  // ones, then one old again (a clock that stepped back): retention is by created_at, not by position.
  const old = Array.from({ length: 1200 }, () => appMsg('group-ret', 'ann-dev-0001', 100));
  for (let i = 0; i < old.length; i += 400) await store.appendMessages(old.slice(i, i + 400));
  await store.appendMessages(Array.from({ length: 200 }, () => appMsg('group-ret', 'ann-dev-0001', 1000)));
  await store.appendMessages([appMsg('group-ret', 'ann-dev-0001', 100)]);
  expect(await store.prune(500)).toBe(1 + 1200 + 1); // the commit (seq 1), the old ones, the late old one
  const left = await store.readGroup('group-ret', 0, 1000);
  expect([left.length, left[0]?.seq, left.at(-1)?.seq]).toEqual([200, 1202, 1401]);
  const db = new Database(file, { readonly: true });
  expect((db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'messages'").all() as { name: string }[]).map((r) => r.name)).toEqual(['messages_seq']);
  db.close();
  await store.close();
});

it('sqlite: a retried id is a duplicate within the group’s last DEDUP_WINDOW messages, after a reopen too, and new beyond', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'parley-dedup-')), 'parley.db');
  const store = new SqliteStore(file);
  await twoInAGroup(store, 'group-dup');
  const first = appMsg('group-dup', 'ann-dev-0001');
  expect(seqsOf(await store.appendMessages([first, first]))).toEqual([2, 'dup 2']);
  const filler = Array.from({ length: DEDUP_WINDOW - 1 }, () => appMsg('group-dup', 'bob-dev-0001'));
  await store.appendMessages(filler);
  // The retry's sender must be a member, as for a first send.
  expect(seqsOf(await store.appendMessages([{ ...first, sender: 'nobody' }]))).toEqual(['not-a-member']);
  expect(seqsOf(await store.appendMessages([first]))).toEqual(['dup 2']);
  await store.close();
  // The window comes back from the log's tail: `first` is still among the last DEDUP_WINDOW.
  const reopened = new SqliteStore(file);
  expect(seqsOf(await reopened.appendMessages([first, filler[0]!]))).toEqual(['dup 2', 'dup 3']);
  // One more message pushes `first` out of the window: its retry is stored as a new message.
  const last = 2 + DEDUP_WINDOW - 1;
  expect(seqsOf(await reopened.appendMessages([appMsg('group-dup', 'ann-dev-0001'), first]))).toEqual([last + 1, last + 2]);
  await reopened.close();
});

it('sqlite: migration 4 on a schema-3 database with data in it keeps the rows, the seqs go on, old ids are still recognized', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'parley-mig4-')), 'parley.db');
  const old = new Database(file);
  old.pragma('journal_mode = WAL');
  old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  for (const m of MIGRATIONS.filter((x) => x.version <= 3)) {
    old.exec(m.sql);
    old.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 1)').run(m.version, m.name);
  }
  old.exec(`
    INSERT INTO users (id, email, pw_hash, pw_salt, pw_params, admin, active, created_at) VALUES ('ann', NULL, x'00', x'00', '{}', 0, 1, 1);
    INSERT INTO devices (id, user_id, signature_key, cipher_suite, certificate, created_at) VALUES ('ann-dev-0001', 'ann', x'00', 1, x'00', 1);
    INSERT INTO groups (id, epoch, group_info, created_at, last_seq) VALUES ('group-old', 3, x'01', 1, 7);
    INSERT INTO members (group_id, device_id, cursor) VALUES ('group-old', 'ann-dev-0001', 0);
    INSERT INTO messages (group_id, seq, id, kind, sender, created_at, data) VALUES
      ('group-old', 5, x'00000000000000000000000000000005', 1, 'ann-dev-0001', 10, x'05'),
      ('group-old', 7, x'00000000000000000000000000000007', 1, 'ann-dev-0001', 10, x'07');
    INSERT INTO server_state (key, value) VALUES ('shutdown', 'clean');
  `);
  old.close();
  const store = new SqliteStore(file, { deferredSync: true });
  expect(store.uncleanStartGroups).toBe(0);
  expect((await store.readGroup('group-old', 0, 10)).map((m) => [m.seq, m.data[0]])).toEqual([[5, 5], [7, 7]]);
  expect((await store.getGroup('group-old'))?.lastSeq).toBe(7);
  const retry = { groupId: 'group-old', id: new Uint8Array(16).fill(0).map((_, i) => (i === 15 ? 5 : 0)), sender: 'ann-dev-0001', data: new Uint8Array([5]), createdAt: 20 };
  const r = await store.appendMessagesCommitted([retry, appMsg('group-old', 'ann-dev-0001')]);
  await r.durable;
  expect(seqsOf(r.results)).toEqual(['dup 5', 8]);
  await store.close();
  const db = new Database(file, { readonly: true });
  expect(db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get()).toBe(4);
  expect(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'messages'").pluck().all()).toEqual(['messages_seq']);
  expect(db.prepare('SELECT COUNT(*) FROM messages').pluck().get()).toBe(3);
  db.close();
});
