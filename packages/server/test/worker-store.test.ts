// WorkerStore: the server's SqliteStore on a worker thread. The conformance suite, then
// what the thread boundary adds: `durable` as a second reply, errors that keep their
// kind, a worker that dies, and close() with calls in flight. A call is held in flight by
// a second connection holding SQLite's write lock (the worker's write waits in its busy
// timeout), so nothing here depends on timing.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { startTestServer } from '@parley/testing';
import { SqliteStore, type SqliteStoreOptions } from '../src/store/sqlite.js';
import { StoreConflictError, type NewGroupMessage, type UserRecord } from '../src/store/store.js';
import { StoreWorkerError, WorkerStore } from '../src/store/worker-store.js';
import { storeConformance } from './store-conformance.js';

const SERVER: SqliteStoreOptions = { backgroundCheckpoint: true, deferredSync: true };
const dbFile = (): string => join(mkdtempSync(join(tmpdir(), 'parley-wstore-')), 'parley.db');

storeConformance('sqlite on a worker thread (the server’s)', async () => {
  const file = dbFile();
  return { store: await WorkerStore.open(file, SERVER), reopen: () => WorkerStore.open(file, SERVER) };
});

const opened: WorkerStore[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close().catch(() => undefined);
});
async function open(file = dbFile(), options = SERVER): Promise<WorkerStore> {
  const s = await WorkerStore.open(file, options);
  opened.push(s);
  return s;
}

const pw = { hash: new Uint8Array(32), salt: new Uint8Array(16), params: { N: 1024, r: 8, p: 1, keylen: 32 } };
const user = (id: string): UserRecord => ({ id, email: null, password: pw, admin: false, active: true, identityKey: null, createdAt: 1 });
let n = 0;
const message = (groupId: string, sender: string): NewGroupMessage => {
  const id = new Uint8Array(16);
  new DataView(id.buffer).setUint32(0, ++n);
  return { groupId, id, sender, data: new Uint8Array([n & 255]), createdAt: 2 };
};

async function withGroup(store: WorkerStore, groupId: string, deviceId: string): Promise<void> {
  const token = new Uint8Array(32).map((_, i) => deviceId.charCodeAt(i % deviceId.length));
  await store.createUser(user(`u-${deviceId}`));
  await store.createSession({ tokenHash: token, userId: `u-${deviceId}`, deviceId: null, createdAt: 1, expiresAt: 1e12 });
  await store.addDevice({ id: deviceId, userId: `u-${deviceId}`, signatureKey: new Uint8Array(32), cipherSuite: 1, certificate: new Uint8Array(8), createdAt: 1 }, token);
  await store.createGroup({ id: groupId, epoch: 0, groupInfo: new Uint8Array([1]), ratchetTree: null, createdAt: 1 }, deviceId);
}

/** A second connection holding the write lock: the worker's next write waits (busy timeout) until release(). */
function holdWriteLock(file: string): { release: () => void } {
  const db = new Database(file);
  db.exec('BEGIN IMMEDIATE');
  return {
    release: () => {
      db.exec('ROLLBACK');
      db.close();
    },
  };
}

it('appendMessagesCommitted: the results come when committed, `durable` resolves after, and the batch is on disk for another connection', async () => {
  const file = dbFile();
  const store = await open(file);
  await withGroup(store, 'group-d', 'dev-d-0001');
  const { results, durable } = await store.appendMessagesCommitted([message('group-d', 'dev-d-0001'), message('nope', 'dev-d-0001')]);
  expect(results.map((r) => (r.ok ? r.seq : r.reason))).toEqual([1, 'unknown-group']);
  await expect(durable).resolves.toBeUndefined();
  const other = new SqliteStore(file);
  expect((await other.readGroup('group-d', 0, 10)).map((m) => m.seq)).toEqual([1]);
  await other.close();
  // close() waits for a `durable` still in flight rather than failing it.
  const last = await store.appendMessagesCommitted([message('group-d', 'dev-d-0001')]);
  await store.close();
  await expect(last.durable).resolves.toBeUndefined();
});

it('errors cross as they were: a conflict as StoreConflictError with its kind, anything else as an Error with the message only', async () => {
  const store = await open();
  await store.createUser(user('ann'));
  const conflict = await store.createUser(user('ann')).catch((e: unknown) => e);
  expect(conflict).toBeInstanceOf(StoreConflictError);
  expect((conflict as StoreConflictError).conflict).toBe('exists');
  // A foreign key failure inside SQLite (no such creator device).
  const other = await store.createGroup({ id: 'group-x', epoch: 0, groupInfo: new Uint8Array([1]), ratchetTree: null, createdAt: 1 }, 'no-such-device').catch((e: unknown) => e);
  expect(other).toBeInstanceOf(Error);
  expect(other).not.toBeInstanceOf(StoreConflictError);
  expect((other as Error).message).toMatch(/FOREIGN KEY/);
  expect((other as Error).stack).not.toMatch(/sqlite-worker|better-sqlite3/);
});

it('removeDevice: a device that joins a group while its notices are made still gets a notice in that group', async () => {
  const store = await open();
  await withGroup(store, 'group-a', 'dev-r-0001');
  await withGroup(store, 'group-b', 'dev-r-0002');
  let joined = false;
  const r = await store.removeDevice(
    'dev-r-0001',
    (groupId) => {
      // Posted before the removal: the worker applies it first, so group-b has no notice yet.
      if (!joined) {
        joined = true;
        void store.applyCommit({ groupId: 'group-b', fromEpoch: 0, toEpoch: 1, message: message('group-b', 'dev-r-0002'), groupInfo: new Uint8Array([2]), ratchetTree: null, addDevices: ['dev-r-0001'], removeDevices: [], welcome: null });
      }
      return { groupId, id: new Uint8Array(16).fill(200), sender: '', data: new Uint8Array([9]), createdAt: 3 };
    },
    { id: new Uint8Array(16).fill(201), kind: 'notice', groupId: '', sender: '', data: new Uint8Array([9]), createdAt: 3 },
  );
  expect(r?.groups.map((m) => m.groupId)).toEqual(['group-a', 'group-b']);
  expect(await store.getDevice('dev-r-0001')).toBeNull();
});

it('a worker that dies fails every pending call and every later one with StoreWorkerError, and close() still returns', async () => {
  const file = dbFile();
  const store = await open(file);
  await store.createUser(user('ann'));
  const lock = holdWriteLock(file);
  const write = store.createUser(user('bob')).catch((e: unknown) => e);
  const read = store.getUser('ann').catch((e: unknown) => e);
  const dead = store.thread.terminate();
  lock.release();
  await dead;
  for (const e of [await write, await read, await store.getUser('ann').catch((x: unknown) => x)]) {
    expect(e).toBeInstanceOf(StoreWorkerError);
    expect((e as Error).message).toMatch(/store worker exited/);
  }
  await store.close();
});

it('a database that cannot be opened rejects open() instead of hanging', async () => {
  await expect(WorkerStore.open(join(dbFile(), 'no-such-dir', 'parley.db'), SERVER)).rejects.toThrow(/directory does not exist|unable to open/);
});

it('close() lets the calls in flight finish, refuses new ones, and leaves a cleanly closed database', async () => {
  const file = dbFile();
  // Without the checkpointer, whose exit the worker's close() would wait for first.
  const store = await open(file, { deferredSync: true });
  await store.createUser(user('ann'));
  // A prune of 300 seqs runs in slices, yielding in the worker between them: close() must
  // wait for it on this side, not only queue behind it.
  await withGroup(store, 'group-c', 'dev-c-0001');
  await store.appendMessages(Array.from({ length: 300 }, () => message('group-c', 'dev-c-0001')));
  const lock = holdWriteLock(file);
  const write = store.createUser(user('bob'));
  const read = store.getUser('ann');
  const prune = store.prune(10);
  const closed = store.close();
  await expect(store.getUser('ann')).rejects.toThrow(/store closed/);
  setTimeout(() => {
    lock.release();
  }, 50);
  await expect(write).resolves.toBeUndefined();
  expect((await read)?.id).toBe('ann');
  expect(await prune).toBe(300);
  await closed;
  await expect(store.getUser('ann')).rejects.toThrow(/store closed/);
  // The clean-shutdown marker was written: no unclean start, and bob is there.
  const again = await WorkerStore.open(file, SERVER);
  expect(again.uncleanStartGroups).toBe(0);
  expect((await again.getUser('bob'))?.id).toBe('bob');
  await again.close();
});

it('the server’s own store is a SqliteStore on the event loop by default, a WorkerStore with storeThread worker, and no other value starts', async () => {
  const worker = await startTestServer({ storeThread: 'worker' });
  const main = await startTestServer();
  try {
    expect(worker.server.ctx.store).toBeInstanceOf(WorkerStore);
    expect(main.server.ctx.store).toBeInstanceOf(SqliteStore);
    for (const s of [worker, main]) expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  } finally {
    await worker.close();
    await main.close();
  }
  await expect(startTestServer({ storeThread: 'thread' as 'main' })).rejects.toThrow(/storeThread must be 'worker' or 'main'/);
});
