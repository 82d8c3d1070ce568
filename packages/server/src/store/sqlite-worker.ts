// The worker thread of WorkerStore (worker-store.ts): opens one SqliteStore and runs each
// posted call on it, replying with the result or the error. Not imported by anything: the
// WorkerStore starts it as a worker's entry.

import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore, type SqliteStoreOptions } from './sqlite.js';
import { FORWARDED, toWireError, type RemoveDeviceArgs, type WorkerReply, type WorkerRequest } from './worker-store.js';
import type { NewGroupMessage } from './store.js';

if (parentPort === null) throw new Error('sqlite-worker.ts runs as a worker thread (WorkerStore)');
const port = parentPort;
const { file, options } = workerData as { file: string; options: SqliteStoreOptions };
const reply = (m: WorkerReply): void => {
  port.postMessage(m);
};

const forwarded = new Set<string>(FORWARDED);
type Method = (...args: unknown[]) => Promise<unknown>;

const store = openStore();
if (store !== undefined) {
  reply({ type: 'ready', uncleanStartGroups: store.uncleanStartGroups });
  port.on('message', (m: WorkerRequest) => {
    void run(store, m);
  });
}

/** The store, or undefined after telling the main side why it could not open (the worker then ends). */
function openStore(): SqliteStore | undefined {
  try {
    return new SqliteStore(file, options);
  } catch (e) {
    reply({ type: 'open-failed', error: toWireError(e) });
    port.close();
    return undefined;
  }
}

async function run(store: SqliteStore, m: WorkerRequest): Promise<void> {
  try {
    if (m.method === 'appendMessagesCommitted') {
      const { results, durable } = await store.appendMessagesCommitted(m.args[0] as NewGroupMessage[]);
      // The results first: the main side settles `durable` only after them.
      reply({ type: 'result', id: m.id, value: results });
      durable.then(
        () => {
          reply({ type: 'durable', id: m.id });
        },
        (e: unknown) => {
          reply({ type: 'durable', id: m.id, error: toWireError(e) });
        },
      );
    } else if (m.method === 'removeDevice') {
      reply({ type: 'result', id: m.id, value: await removeDevice(store, m.args[0]) });
    } else if (m.method === 'close') {
      await store.close();
      reply({ type: 'result', id: m.id, value: undefined });
      port.close();
    } else if (forwarded.has(m.method)) {
      const f = store[m.method].bind(store) as Method;
      reply({ type: 'result', id: m.id, value: await f(...m.args) });
    } else {
      throw new Error(`store worker: no method ${String((m as { method: unknown }).method)}`);
    }
  } catch (e) {
    reply({ type: 'error', id: m.id, error: toWireError(e) });
  }
}

/** The notices were made on the main side for the groups it saw; a group it did not see aborts the transaction. */
class NoticeMissing extends Error {}

async function removeDevice(store: SqliteStore, a: RemoveDeviceArgs): ReturnType<SqliteStore['removeDevice']> {
  const byGroup = new Map(a.notices.map((n) => [n.groupId, n]));
  try {
    return await store.removeDevice(
      a.id,
      (groupId) => {
        const n = byGroup.get(groupId);
        if (n === undefined) throw new NoticeMissing(`no notice for group ${groupId}`);
        return n;
      },
      a.inboxNotice,
    );
  } catch (e) {
    if (e instanceof NoticeMissing) throw Object.assign(new Error(e.message), { noticeMissing: true });
    throw e;
  }
}
