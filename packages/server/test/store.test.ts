// Runs the Store conformance suite against every implementation.
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { MemoryStore } from '../src/store/memory.js';
import { SqliteStore, UNSYNCED_MAX, migrate } from '../src/store/sqlite.js';
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
