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
