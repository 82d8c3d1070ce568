// Runs the Store conformance suite against every implementation.
import { mkdtempSync } from 'node:fs';
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
