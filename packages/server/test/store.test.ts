// Runs the Store conformance suite against every implementation.
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { MemoryStore } from '../src/store/memory.js';
import { SqliteStore, migrate } from '../src/store/sqlite.js';
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
