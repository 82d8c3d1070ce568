// The server's SqliteStore on a worker thread: WorkerStore implements Store by posting
// each call ({ id, method, args }) to a SqliteStore that lives in a node:worker_threads
// Worker (sqlite-worker.ts) and resolving it with the reply. better-sqlite3 is
// synchronous, so on the event loop every statement, every commit and every write that
// waits behind a concurrent fdatasync of the WAL delayed whatever else the loop had to do
// (the relay's latency tail). Here the loop only clones arguments and results.
//
// The calls run in the worker in the order they were posted, each as it comes (the
// SqliteStore's own awaits interleave there as they did on the main thread). Arguments are
// plain data (structured clone); the two that are not are handled on this side:
// appendMessagesCommitted's `durable` (a second reply when it settles) and removeDevice's
// `notice` callback (called here for the device's groups first; see removeDevice).

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { SqliteStore, SqliteStoreOptions } from './sqlite.js';
import {
  StoreConflictError,
  type AppendResult,
  type NewGroupMessage,
  type NewInboxMessage,
  type Store,
  type StoreConflict,
  type StoredMessage,
} from './store.js';

/** Methods whose arguments and result cross the thread boundary as they are (structured clone). */
export const FORWARDED = [
  'createUser', 'getUser', 'listUsers', 'searchUsers', 'setUserActive', 'setIdentityKey', 'putIdentityBackup', 'getIdentityBackup',
  'createInvite', 'listInvites', 'deleteInvite',
  'createSession', 'getSession', 'deleteSession', 'listSessions',
  'addDevice', 'getDevice', 'listDevices',
  'addKeyPackages', 'claimKeyPackages', 'countKeyPackages',
  'createGroup', 'getGroup', 'listMembers', 'groupsOfDevice',
  'appendMessages', 'applyCommit', 'readGroup', 'ackGroup', 'ackBatch', 'readInbox', 'inboxCursor', 'ackInbox', 'prune',
  'addAttachment', 'getAttachment', 'check', 'externalVersion',
  // AttachmentAdmin (http/attachments.ts): not in Store, but both embedded stores have it.
  'deleteAttachment', 'attachmentBytes', 'expiredAttachments',
] as const satisfies readonly (keyof SqliteStore)[];

export type ForwardedMethod = (typeof FORWARDED)[number];
/** Store methods with an argument or a result that is not plain data: each has its own code path. */
type SpecialMethod = 'appendMessagesCommitted' | 'removeDevice' | 'close';
/** `true` only while every Store method is forwarded or special: adding one to Store without handling it here fails to compile. */
export const EVERY_METHOD_HANDLED: [Exclude<keyof Store, ForwardedMethod | SpecialMethod>] extends [never] ? true : never = true;

/** removeDevice's notices, computed on this side for the groups the device was in a moment earlier. */
export interface RemoveDeviceArgs {
  readonly id: string;
  readonly notices: readonly NewGroupMessage[];
  readonly inboxNotice: NewInboxMessage;
}

/** Main → worker. */
export type WorkerRequest =
  | { readonly id: number; readonly method: ForwardedMethod | 'appendMessagesCommitted'; readonly args: readonly unknown[] }
  | { readonly id: number; readonly method: 'removeDevice'; readonly args: readonly [RemoveDeviceArgs] }
  | { readonly id: number; readonly method: 'close'; readonly args: readonly [] };

/** How an error crosses: a conflict keeps its kind; anything else only its message (and code), never its stack. */
export type WireError = { readonly conflict: StoreConflict } | { readonly message: string; readonly code?: string; readonly noticeMissing?: true };

/** Worker → main. */
export type WorkerReply =
  | { readonly type: 'ready'; readonly uncleanStartGroups: number }
  | { readonly type: 'open-failed'; readonly error: WireError }
  | { readonly type: 'result'; readonly id: number; readonly value: unknown }
  | { readonly type: 'error'; readonly id: number; readonly error: WireError }
  /** appendMessagesCommitted's `durable`, after its 'result'. */
  | { readonly type: 'durable'; readonly id: number; readonly error?: WireError };

/** Every call of a WorkerStore whose worker died rejects with this (pending ones and later ones). */
export class StoreWorkerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreWorkerError';
  }
}

/** A removeDevice whose device joined a group after its notices were made (the worker asks again). */
class NoticeMissingError extends Error {}

export function toWireError(e: unknown): WireError {
  if (e instanceof StoreConflictError) return { conflict: e.conflict };
  const message = e instanceof Error ? e.message : String(e);
  const { code, noticeMissing } = (e ?? {}) as { code?: unknown; noticeMissing?: unknown };
  return { message, ...(typeof code === 'string' ? { code } : {}), ...(noticeMissing === true ? { noticeMissing } : {}) };
}

function fromWireError(w: WireError): Error {
  if ('conflict' in w) return new StoreConflictError(w.conflict);
  if (w.noticeMissing === true) return new NoticeMissingError(w.message);
  const e = new Error(w.message);
  if (w.code !== undefined) Object.assign(e, { code: w.code });
  return e;
}

/**
 * A copy of `v` whose byte arrays each own their buffer. Structured clone copies a view's
 * whole ArrayBuffer, and the server's bytes are often slices of a larger one (a WebSocket
 * frame, Node's 8 KB Buffer pool): without this, a 250-byte payload would cross as 8 KB.
 */
function compact(v: unknown): unknown {
  if (v instanceof Uint8Array) return v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && !(v instanceof Buffer) ? v : new Uint8Array(v);
  if (Array.isArray(v)) return v.map(compact);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = compact(x);
    return out;
  }
  return v;
}

interface Pending {
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
}

/**
 * The worker's entry and how to start it. From dist (plain JS) it is sqlite-worker.js
 * beside this file, run as is (a bundle must emit it as an entry of its own, beside the
 * chunk holding this code). From the sources (tests under vitest, benches and
 * `parley serve` under tsx, all with the `parley:source` export condition) this file is
 * .ts and so is the entry, and a worker runs plain Node: vitest's transform does not reach
 * it, and on Node 20 neither does a `--import tsx` in the worker's execArgv (its entry
 * loads before the hooks take). So a two-line bootstrap imports the entry through tsx's
 * tsImport, with the export condition set for the worker. The parent's own execArgv is not
 * inherited (it may hold options a worker refuses, such as --cpu-prof).
 */
function startWorker(workerData: unknown): Worker {
  const source = import.meta.url.endsWith('.ts');
  if (!source) {
    const entry = new URL('./sqlite-worker.js', import.meta.url);
    // A bundle must emit the entry beside its chunks (apps/cli/test/harness.ts does).
    if (!existsSync(entry)) throw new StoreWorkerError(`the store worker's entry is missing: ${fileURLToPath(entry)} (or set storeThread 'main')`);
    return new Worker(entry, { workerData, execArgv: [] });
  }
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./sqlite-worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(import.meta.url)}));`;
  return new Worker(bootstrap, { eval: true, workerData, execArgv: ['--conditions=parley:source'] });
}

export class WorkerStore implements Store {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** appendMessagesCommitted's `durable` promises not yet settled, by call id. */
  private readonly durables = new Map<number, Pending>();
  /** Set once the worker is gone (or going): every call from then on rejects with it. */
  private dead: Error | undefined;
  private closing: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  private unclean = 0;
  private readonly opened: Promise<void>;
  private settleOpen: { resolve: () => void; reject: (e: Error) => void } | undefined;

  private constructor(private readonly worker: Worker) {
    this.opened = new Promise((resolve, reject) => {
      this.settleOpen = { resolve, reject };
    });
    worker.on('message', (m: WorkerReply) => {
      this.onReply(m);
    });
    worker.on('error', (e: Error) => {
      this.fail(new StoreWorkerError(`store worker failed: ${e.message}`));
    });
    worker.on('exit', (code) => {
      this.fail(new StoreWorkerError(`store worker exited (code ${code})`));
    });
    worker.on('messageerror', (e: Error) => {
      this.fail(new StoreWorkerError(`store worker sent an unreadable message: ${e.message}`));
      void worker.terminate();
    });
  }

  /** Opens the database in a new worker; resolves once it is open and migrated (rejects if that fails). */
  static async open(file: string, options: SqliteStoreOptions = {}): Promise<WorkerStore> {
    const store = new WorkerStore(startWorker({ file, options }));
    try {
      await store.opened;
    } catch (e) {
      await store.worker.terminate();
      throw e;
    }
    // Idle, the worker does not keep the process alive (neither does a database handle);
    // while a call waits for its reply, it does.
    store.worker.unref();
    return store;
  }

  /** How many groups' seqs the unclean-start rule advanced when the store opened (SqliteStore.uncleanStartGroups). */
  get uncleanStartGroups(): number {
    return this.unclean;
  }

  /** Test hook: the worker itself (to terminate it as a crash would). */
  get thread(): Worker {
    return this.worker;
  }

  private onReply(m: WorkerReply): void {
    if (m.type === 'ready') {
      this.unclean = m.uncleanStartGroups;
      this.settleOpen?.resolve();
      return;
    }
    if (m.type === 'open-failed') {
      this.fail(fromWireError(m.error));
      return;
    }
    if (m.type === 'durable') {
      const d = this.durables.get(m.id);
      if (d === undefined) return;
      this.durables.delete(m.id);
      if (m.error === undefined) d.resolve(undefined);
      else d.reject(fromWireError(m.error));
    } else if (m.type === 'result' || m.type === 'error') {
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (m.type === 'result') p.resolve(m.value);
      else p.reject(fromWireError(m.error));
    }
    this.idle();
  }

  /** Called whenever a call or a durable settles. */
  private idle(): void {
    if (this.pending.size + this.durables.size > 0) return;
    this.worker.unref();
    this.drained?.();
  }

  private fail(e: Error): void {
    if (this.dead !== undefined) return;
    this.dead = e;
    this.settleOpen?.reject(e);
    for (const p of [...this.pending.values(), ...this.durables.values()]) p.reject(e);
    this.pending.clear();
    this.durables.clear();
    this.drained?.();
  }

  private post(method: WorkerRequest['method'], args: readonly unknown[]): { id: number; reply: Promise<unknown> } {
    const id = this.nextId++;
    const reply = new Promise<unknown>((resolve, reject) => {
      if (this.dead !== undefined) {
        reject(this.dead);
        return;
      }
      if (this.closing !== undefined && method !== 'close') {
        reject(new StoreWorkerError('store closed'));
        return;
      }
      if (this.pending.size + this.durables.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      try {
        this.worker.postMessage({ id, method, args: compact(args) });
      } catch (e) {
        this.pending.delete(id);
        this.idle();
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
    return { id, reply };
  }

  private call<M extends ForwardedMethod>(method: M, args: Parameters<SqliteStore[M]>): ReturnType<SqliteStore[M]> {
    return this.post(method, args).reply as ReturnType<SqliteStore[M]>;
  }

  async appendMessagesCommitted(messages: readonly NewGroupMessage[]): Promise<{ results: AppendResult[]; durable: Promise<void> }> {
    const { id, reply } = this.post('appendMessagesCommitted', [messages]);
    // Registered before the results can arrive, so a 'durable' reply is never missed.
    const durable = new Promise<void>((resolve, reject) => {
      if (this.dead === undefined) this.durables.set(id, { resolve: () => { resolve(); }, reject });
    });
    try {
      return { results: (await reply) as AppendResult[], durable };
    } catch (e) {
      // No commit, no durable: settle it so nothing is left waiting (fail() may have
      // rejected it already: no one else will ever see that rejection).
      void durable.catch(() => undefined);
      const d = this.durables.get(id);
      this.durables.delete(id);
      d?.resolve(undefined);
      this.idle();
      throw e;
    }
  }

  /**
   * `notice` cannot cross to the worker, so it is called here for the groups the device is
   * in, just before the removal; the worker's transaction takes the notice of each group it
   * finds the device in. If the device joined another group in between, the worker refuses
   * (nothing written) and this asks again.
   */
  async removeDevice(
    id: string,
    notice: (groupId: string) => NewGroupMessage,
    inboxNotice: NewInboxMessage,
  ): Promise<{ groups: StoredMessage[]; inbox: { deviceId: string; message: StoredMessage }[] } | null> {
    for (let attempt = 1; ; attempt++) {
      const notices = (await this.groupsOfDevice(id)).map((m) => notice(m.groupId));
      try {
        return (await this.post('removeDevice', [{ id, notices, inboxNotice } satisfies RemoveDeviceArgs]).reply) as Awaited<ReturnType<Store['removeDevice']>>;
      } catch (e) {
        if (!(e instanceof NoticeMissingError) || attempt >= 5) throw e;
      }
    }
  }

  /** Lets the calls in flight finish, closes the SqliteStore in the worker (its clean-shutdown marker), stops the worker. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      if (this.dead === undefined && this.pending.size + this.durables.size > 0) {
        await new Promise<void>((resolve) => {
          this.drained = resolve;
        });
        this.drained = undefined;
      }
      if (this.dead === undefined) await this.post('close', []).reply;
      this.dead ??= new StoreWorkerError('store closed');
      await this.worker.terminate();
    })());
  }

  createUser(...a: Parameters<Store['createUser']>): ReturnType<Store['createUser']> { return this.call('createUser', a); }
  getUser(...a: Parameters<Store['getUser']>): ReturnType<Store['getUser']> { return this.call('getUser', a); }
  listUsers(...a: Parameters<Store['listUsers']>): ReturnType<Store['listUsers']> { return this.call('listUsers', a); }
  searchUsers(...a: Parameters<Store['searchUsers']>): ReturnType<Store['searchUsers']> { return this.call('searchUsers', a); }
  setUserActive(...a: Parameters<Store['setUserActive']>): ReturnType<Store['setUserActive']> { return this.call('setUserActive', a); }
  setIdentityKey(...a: Parameters<Store['setIdentityKey']>): ReturnType<Store['setIdentityKey']> { return this.call('setIdentityKey', a); }
  putIdentityBackup(...a: Parameters<Store['putIdentityBackup']>): ReturnType<Store['putIdentityBackup']> { return this.call('putIdentityBackup', a); }
  getIdentityBackup(...a: Parameters<Store['getIdentityBackup']>): ReturnType<Store['getIdentityBackup']> { return this.call('getIdentityBackup', a); }
  createInvite(...a: Parameters<Store['createInvite']>): ReturnType<Store['createInvite']> { return this.call('createInvite', a); }
  listInvites(...a: Parameters<Store['listInvites']>): ReturnType<Store['listInvites']> { return this.call('listInvites', a); }
  deleteInvite(...a: Parameters<Store['deleteInvite']>): ReturnType<Store['deleteInvite']> { return this.call('deleteInvite', a); }
  createSession(...a: Parameters<Store['createSession']>): ReturnType<Store['createSession']> { return this.call('createSession', a); }
  getSession(...a: Parameters<Store['getSession']>): ReturnType<Store['getSession']> { return this.call('getSession', a); }
  deleteSession(...a: Parameters<Store['deleteSession']>): ReturnType<Store['deleteSession']> { return this.call('deleteSession', a); }
  listSessions(...a: Parameters<Store['listSessions']>): ReturnType<Store['listSessions']> { return this.call('listSessions', a); }
  addDevice(...a: Parameters<Store['addDevice']>): ReturnType<Store['addDevice']> { return this.call('addDevice', a); }
  getDevice(...a: Parameters<Store['getDevice']>): ReturnType<Store['getDevice']> { return this.call('getDevice', a); }
  listDevices(...a: Parameters<Store['listDevices']>): ReturnType<Store['listDevices']> { return this.call('listDevices', a); }
  addKeyPackages(...a: Parameters<Store['addKeyPackages']>): ReturnType<Store['addKeyPackages']> { return this.call('addKeyPackages', a); }
  claimKeyPackages(...a: Parameters<Store['claimKeyPackages']>): ReturnType<Store['claimKeyPackages']> { return this.call('claimKeyPackages', a); }
  countKeyPackages(...a: Parameters<Store['countKeyPackages']>): ReturnType<Store['countKeyPackages']> { return this.call('countKeyPackages', a); }
  createGroup(...a: Parameters<Store['createGroup']>): ReturnType<Store['createGroup']> { return this.call('createGroup', a); }
  getGroup(...a: Parameters<Store['getGroup']>): ReturnType<Store['getGroup']> { return this.call('getGroup', a); }
  listMembers(...a: Parameters<Store['listMembers']>): ReturnType<Store['listMembers']> { return this.call('listMembers', a); }
  groupsOfDevice(...a: Parameters<Store['groupsOfDevice']>): ReturnType<Store['groupsOfDevice']> { return this.call('groupsOfDevice', a); }
  appendMessages(...a: Parameters<Store['appendMessages']>): ReturnType<Store['appendMessages']> { return this.call('appendMessages', a); }
  applyCommit(...a: Parameters<Store['applyCommit']>): ReturnType<Store['applyCommit']> { return this.call('applyCommit', a); }
  readGroup(...a: Parameters<Store['readGroup']>): ReturnType<Store['readGroup']> { return this.call('readGroup', a); }
  ackGroup(...a: Parameters<Store['ackGroup']>): ReturnType<Store['ackGroup']> { return this.call('ackGroup', a); }
  ackBatch(...a: Parameters<Store['ackBatch']>): ReturnType<Store['ackBatch']> { return this.call('ackBatch', a); }
  readInbox(...a: Parameters<Store['readInbox']>): ReturnType<Store['readInbox']> { return this.call('readInbox', a); }
  inboxCursor(...a: Parameters<Store['inboxCursor']>): ReturnType<Store['inboxCursor']> { return this.call('inboxCursor', a); }
  ackInbox(...a: Parameters<Store['ackInbox']>): ReturnType<Store['ackInbox']> { return this.call('ackInbox', a); }
  prune(...a: Parameters<Store['prune']>): ReturnType<Store['prune']> { return this.call('prune', a); }
  addAttachment(...a: Parameters<Store['addAttachment']>): ReturnType<Store['addAttachment']> { return this.call('addAttachment', a); }
  getAttachment(...a: Parameters<Store['getAttachment']>): ReturnType<Store['getAttachment']> { return this.call('getAttachment', a); }
  check(...a: Parameters<Store['check']>): ReturnType<Store['check']> { return this.call('check', a); }
  externalVersion(...a: Parameters<Store['externalVersion']>): ReturnType<Store['externalVersion']> { return this.call('externalVersion', a); }
  deleteAttachment(...a: Parameters<SqliteStore['deleteAttachment']>): ReturnType<SqliteStore['deleteAttachment']> { return this.call('deleteAttachment', a); }
  attachmentBytes(...a: Parameters<SqliteStore['attachmentBytes']>): ReturnType<SqliteStore['attachmentBytes']> { return this.call('attachmentBytes', a); }
  expiredAttachments(...a: Parameters<SqliteStore['expiredAttachments']>): ReturnType<SqliteStore['expiredAttachments']> { return this.call('expiredAttachments', a); }
}
