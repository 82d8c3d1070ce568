// ClientStore in the browser: one IndexedDB database per profile, every value encrypted
// at rest as the SQLite profile does it (src/node/sqlite-store.ts): a random 32-byte data
// key, sealed (AES-256-GCM) under scrypt(passphrase, salt); HKDF-SHA256 splits it into a
// record key (AES-256-GCM) and an index key (HMAC-SHA256); row keys on disk are HMACs of
// the clear keys; each value is sealed with associated data naming its table, row key
// (and, for messages, its order), so a moved row fails to open (StoreError('corrupt-record')).
//
// Why it looks different inside: ClientStore's semantics live in RecordSpaceStore, which
// is synchronous (store/record-space.ts), and IndexedDB and WebCrypto are not. So the
// profile is read into memory when it opens: the key-value records decrypted (they are
// few), the message rows still sealed, each opened the first time a page of history or a
// batch needs it (the async layer computes row keys and opens rows before the synchronous
// semantics run), so a returning user with a long history does not wait for all of it to
// decrypt. A commit applies the batch to that copy (with an undo log), then seals what
// changed and writes it in ONE IndexedDB transaction with strict durability, and only
// then resolves. If that write fails, the in-memory copy is rolled back. Commits and reads run one after another, so a read never
// sees a batch that is not yet on disk. Because the clear key of a row cannot be read back
// from its HMAC, each sealed value carries its clear key inside the ciphertext.
//
// WebCrypto has no scrypt: it comes from @noble/hashes (audited), the one primitive the
// platform lacks. What stays in clear is what the SQLite profile leaves in clear (the
// namespace of each row, HMACs of keys, message order numbers, sizes, the KDF record).

import { scryptAsync } from '@noble/hashes/scrypt.js';
import { ClientUsageError, StoreError } from '../errors.js';
import type { ClientStore, GroupId, ListMessagesOptions, WriteBatch } from '../store/client-store.js';
import { RecordSpaceStore, selectMessages, type Namespace, type RecordSpace, type RecordSpaceBackend, type StoredBytes } from '../store/record-space.js';
import { concat, toHex } from '../util/bytes.js';
import { buf, randomBytes } from './crypto.js';

export interface KdfParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}
/** scrypt in JavaScript is slower than OpenSSL's: 2^16 keeps an unlock near half a second. */
export const DEFAULT_BROWSER_KDF: KdfParams = { N: 1 << 16, r: 8, p: 1 };

export interface OpenIndexedDbStoreOptions {
  /** The profile's name; the database is `parley-profile:<name>`. */
  readonly name: string;
  readonly passphrase: string | Uint8Array;
  /** scrypt parameters for a NEW profile; an existing one keeps its own. */
  readonly kdf?: KdfParams;
  /** Defaults to globalThis.indexedDB. */
  readonly indexedDB?: IDBFactory;
}

const FORMAT = '1';
const DB_VERSION = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const DATA_KEY_AAD = encoder.encode('parley-store v1\u0000data key');

export const databaseName = (name: string): string => `parley-profile:${name}`;

function checkKdf(k: KdfParams): void {
  const powerOfTwo = Number.isInteger(k.N) && k.N >= 1024 && (k.N & (k.N - 1)) === 0;
  if (!powerOfTwo || k.N > 1 << 22 || !Number.isInteger(k.r) || k.r < 1 || k.r > 32 || !Number.isInteger(k.p) || k.p < 1 || k.p > 16) {
    throw new ClientUsageError('invalid-kdf-params', 'scrypt parameters out of range (N a power of two in 2^10..2^22, r 1..32, p 1..16)');
  }
}

function passphraseBytes(p: string | Uint8Array): Uint8Array {
  const bytes = typeof p === 'string' ? encoder.encode(p.normalize('NFC')) : p;
  if (bytes.length === 0) throw new ClientUsageError('empty-passphrase', 'the passphrase is empty');
  return bytes;
}

// ---- IndexedDB as promises ------------------------------------------------------------

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => { resolve(r.result); };
    r.onerror = () => { reject(new StoreError('io-failed', `IndexedDB request failed: ${r.error?.name ?? 'unknown'}`)); };
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => { resolve(); };
    tx.onerror = () => { reject(new StoreError('io-failed', `IndexedDB write failed: ${tx.error?.name ?? 'unknown'}`)); };
    tx.onabort = () => { reject(new StoreError('io-failed', `IndexedDB write aborted: ${tx.error?.name ?? 'unknown'}`)); };
  });
}

function openDatabase(factory: IDBFactory, name: string): Promise<IDBDatabase> {
  const r = factory.open(databaseName(name), DB_VERSION);
  r.onupgradeneeded = () => {
    const db = r.result;
    if (!db.objectStoreNames.contains('meta')) db.createObjectStore('meta');
    if (!db.objectStoreNames.contains('kv')) db.createObjectStore('kv', { keyPath: ['ns', 'k'] });
    if (!db.objectStoreNames.contains('messages')) db.createObjectStore('messages', { keyPath: 'order' });
  };
  return request(r);
}

interface KvRow {
  readonly ns: Namespace;
  readonly k: string;
  readonly v: Uint8Array;
}
interface MessageRow {
  readonly order: number;
  readonly g: string;
  readonly m: string;
  readonly v: Uint8Array;
}

// ---- sealing ----------------------------------------------------------------------------

class RecordCipher {
  private readonly indexCache = new Map<string, string>();

  private constructor(
    private readonly recordKey: CryptoKey,
    private readonly indexKey: CryptoKey,
  ) {}

  static async fromDataKey(dataKey: Uint8Array): Promise<RecordCipher> {
    const base = await crypto.subtle.importKey('raw', buf(dataKey), 'HKDF', false, ['deriveKey']);
    const derive = (info: string, algorithm: AesKeyGenParams | HmacKeyGenParams, usages: KeyUsage[]): Promise<CryptoKey> =>
      crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: encoder.encode(info) }, base, algorithm, false, usages);
    return new RecordCipher(
      await derive('parley-store v1 record key', { name: 'AES-GCM', length: 256 }, ['encrypt', 'decrypt']),
      await derive('parley-store v1 index key', { name: 'HMAC', hash: 'SHA-256', length: 256 }, ['sign']),
    );
  }

  /** The row key written to disk for a clear key (hex of an HMAC-SHA256). */
  async index(...parts: string[]): Promise<string> {
    const clear = parts.join('\u0000');
    let k = this.indexCache.get(clear);
    if (k === undefined) {
      k = toHex(new Uint8Array(await crypto.subtle.sign('HMAC', this.indexKey, encoder.encode(clear))));
      if (this.indexCache.size >= 4096) this.indexCache.clear();
      this.indexCache.set(clear, k);
    }
    return k;
  }

  seal(aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
    return sealWith(this.recordKey, aad, plaintext);
  }

  async open(aad: Uint8Array, sealed: Uint8Array): Promise<Uint8Array> {
    const plain = await openWith(this.recordKey, aad, sealed);
    if (plain === undefined) throw new StoreError('corrupt-record', 'a stored record failed authentication (tampered or moved)');
    return plain;
  }

  destroy(): void {
    this.indexCache.clear();
  }
}

/** nonce (12 random bytes) || AES-256-GCM ciphertext || tag. */
async function sealWith(key: CryptoKey, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
  const nonce = randomBytes(12);
  const c = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: buf(nonce), additionalData: buf(aad) }, key, buf(plaintext));
  return concat(nonce, new Uint8Array(c));
}

async function openWith(key: CryptoKey, aad: Uint8Array, sealed: Uint8Array): Promise<Uint8Array | undefined> {
  if (sealed.length < 28) return undefined;
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: buf(sealed.subarray(0, 12)), additionalData: buf(aad) }, key, buf(sealed.subarray(12))));
  } catch {
    return undefined;
  }
}

const kvAad = (ns: Namespace, k: string): Uint8Array => encoder.encode(`parley-store v1\u0000kv\u0000${ns}\u0000${k}`);
const messageAad = (g: string, m: string, order: number): Uint8Array => encoder.encode(`parley-store v1\u0000message\u0000${g}\u0000${m}\u0000${order}`);

/** uint32 key length || utf-8 clear key || value. */
function frame(key: string, value: Uint8Array): Uint8Array {
  const k = encoder.encode(key);
  const out = new Uint8Array(4 + k.length + value.length);
  new DataView(out.buffer).setUint32(0, k.length);
  out.set(k, 4);
  out.set(value, 4 + k.length);
  return out;
}

function unframe(bytes: Uint8Array): { key: string; value: Uint8Array } {
  if (bytes.length < 4) throw new StoreError('corrupt-record', 'a stored record does not decode');
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(0);
  if (4 + n > bytes.length) throw new StoreError('corrupt-record', 'a stored record does not decode');
  return { key: decoder.decode(bytes.subarray(4, 4 + n)), value: bytes.slice(4 + n) };
}

// ---- the in-memory record space ---------------------------------------------------------

/**
 * One stored message. Rows come from disk still sealed and are opened only when something
 * asks for them (a page of history, a message a batch updates), so opening a profile costs
 * one AES-GCM open per key-value record, not one per message of the whole history.
 */
interface Slot {
  readonly order: number;
  /** The row's keys on disk: HMACs of the group id, and of the group id with the message id. */
  readonly g: string;
  readonly m: string;
  /** The row as on disk, until it is opened. */
  sealed: Uint8Array | undefined;
  /** The clear value, once opened (or written in this session). */
  value: Uint8Array | undefined;
}
interface GroupMessages {
  /** By the message's row key `m`. */
  readonly byId: Map<string, Slot>;
  /** Ascending order (inserts always take a larger order). */
  readonly ordered: Slot[];
}

type Change = { readonly type: 'kv'; readonly ns: Namespace; readonly key: string } | { readonly type: 'message'; readonly groupId: GroupId; readonly messageId: string };

const kvId = (ns: Namespace, key: string): string => `${ns}\u0000${key}`;
const messageKey = (groupId: GroupId, messageId: string): string => `${groupId}\u0000${messageId}`;
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

class MemorySpace implements RecordSpace, RecordSpaceBackend {
  readonly kv = new Map<string, Uint8Array>();
  /** By the group's row key `g`. */
  readonly groups = new Map<string, GroupMessages>();
  lastOrder = 0;
  /**
   * Clear ids → row keys, for the ids the async layer prepared (an HMAC is async in
   * WebCrypto, the record space is not): group ids, and group id + message id.
   */
  private readonly groupRows = new Map<GroupId, string>();
  private readonly messageRows = new Map<string, string>();
  private undo: (() => void)[] | undefined;
  /** What the last successful write changed (to be written to disk), and how to undo it. */
  pending: { changes: Map<string, Change>; undo: (() => void)[] } | undefined;
  private changes = new Map<string, Change>();

  constructor(private readonly cipher: RecordCipher) {}

  write(fn: (space: RecordSpace) => void): void {
    this.undo = [];
    this.changes = new Map();
    try {
      fn(this);
      this.pending = { changes: this.changes, undo: this.undo };
    } catch (e) {
      for (const step of this.undo.reverse()) step();
      throw e;
    } finally {
      this.undo = undefined;
    }
  }

  read<T>(fn: (space: RecordSpace) => T): T {
    return fn(this);
  }

  close(): void {
    this.kv.clear();
    this.groups.clear();
    this.groupRows.clear();
    this.messageRows.clear();
  }

  private log(step: () => void, change: Change): void {
    if (this.undo === undefined) throw new StoreError('io-failed', 'browser store: write outside a transaction (bug)');
    this.undo.push(step);
    this.changes.set(change.type === 'kv' ? `kv\u0000${kvId(change.ns, change.key)}` : `m\u0000${messageKey(change.groupId, change.messageId)}`, change);
  }

  get(ns: Namespace, key: string): Uint8Array | undefined {
    return this.kv.get(kvId(ns, key));
  }

  put(ns: Namespace, key: string, value: Uint8Array): void {
    const id = kvId(ns, key);
    const prev = this.kv.get(id);
    this.log(() => (prev === undefined ? this.kv.delete(id) : this.kv.set(id, prev)), { type: 'kv', ns, key });
    this.kv.set(id, value);
  }

  delete(ns: Namespace, key: string): void {
    const id = kvId(ns, key);
    const prev = this.kv.get(id);
    if (prev === undefined) return;
    this.log(() => this.kv.set(id, prev), { type: 'kv', ns, key });
    this.kv.delete(id);
  }

  values(ns: Namespace): Uint8Array[] {
    const prefix = `${ns}\u0000`;
    const out: Uint8Array[] = [];
    for (const [id, v] of this.kv) if (id.startsWith(prefix)) out.push(v);
    return out;
  }

  // -- the async side: row keys and opening, before the synchronous semantics run --

  /** Computes (once) the row keys of a group and, if given, of one of its messages. */
  async prepare(groupId: GroupId, messageId?: string): Promise<void> {
    if (!this.groupRows.has(groupId)) this.groupRows.set(groupId, await this.cipher.index('group', groupId));
    if (messageId === undefined) return;
    const key = messageKey(groupId, messageId);
    if (!this.messageRows.has(key)) this.messageRows.set(key, await this.cipher.index('message', groupId, messageId));
  }

  /** Prepares and opens what a batch's messages and updates will look up. */
  async prepareBatch(batch: WriteBatch): Promise<void> {
    const list = (v: unknown): readonly unknown[] => (Array.isArray(v) ? (v as unknown[]) : []);
    const named = [...list(batch.messages), ...list(batch.messageUpdates)];
    const seen = new Set<string>();
    for (const r of named) {
      const { groupId, messageId } = (r ?? {}) as { groupId?: unknown; messageId?: unknown };
      // Anything malformed is left to the batch check, which refuses it with a typed error.
      if (!isId(groupId) || !isId(messageId) || seen.has(messageKey(groupId, messageId))) continue;
      seen.add(messageKey(groupId, messageId));
      await this.prepare(groupId, messageId);
    }
    // A conversation written before summaries existed is counted once, from its whole history.
    for (const groupId of new Set([...seen].map((k) => k.slice(0, k.indexOf('\u0000'))))) await this.prepareSummary(groupId);
    const toOpen: Slot[] = [];
    for (const key of seen) {
      const cut = key.indexOf('\u0000');
      const slot = this.slot(key.slice(0, cut), key.slice(cut + 1));
      if (slot?.value === undefined && slot !== undefined) toOpen.push(slot);
    }
    await this.open(toOpen);
  }

  /** Prepares and opens the messages `messageList(groupId, options)` will return. */
  async prepareList(groupId: GroupId, options: ListMessagesOptions): Promise<void> {
    await this.prepare(groupId);
    const window = this.window(groupId, options);
    await this.open(window.filter((s) => s.value === undefined));
  }

  /** Opens the history only if the conversation has no stored summary yet (see MessageSummary). */
  async prepareSummary(groupId: GroupId): Promise<void> {
    if (this.get('message-summary', groupId) === undefined) await this.prepareList(groupId, {});
  }

  async prepareGet(groupId: GroupId, messageId: string): Promise<void> {
    await this.prepare(groupId, messageId);
    const slot = this.slot(groupId, messageId);
    if (slot?.value === undefined && slot !== undefined) await this.open([slot]);
  }

  /** Opens sealed rows concurrently (WebCrypto works off the main thread). */
  private async open(slots: readonly Slot[]): Promise<void> {
    await Promise.all(
      slots.map(async (s) => {
        if (s.sealed === undefined) throw new StoreError('io-failed', 'browser store: a message has neither a sealed nor a clear value (bug)');
        const { key, value } = unframe(await this.cipher.open(messageAad(s.g, s.m, s.order), s.sealed));
        const cut = key.indexOf('\u0000');
        if (cut < 0) throw new StoreError('corrupt-record', 'a stored message does not decode');
        // The AAD binds the row keys, so a sealed row cannot move; the clear key must still agree.
        const groupId = key.slice(0, cut);
        if ((this.messageRows.get(key) ?? s.m) !== s.m || (this.groupRows.get(groupId) ?? s.g) !== s.g) throw new StoreError('corrupt-record', 'a stored message names another row');
        this.messageRows.set(key, s.m);
        this.groupRows.set(groupId, s.g);
        s.value = value;
        s.sealed = undefined;
      }),
    );
  }

  // -- the synchronous side --

  private slot(groupId: GroupId, messageId: string): Slot | undefined {
    const g = this.groupRows.get(groupId);
    const m = this.messageRows.get(messageKey(groupId, messageId));
    return g === undefined || m === undefined ? undefined : this.groups.get(g)?.byId.get(m);
  }

  private opened(s: Slot): StoredBytes {
    if (s.value === undefined) throw new StoreError('io-failed', 'browser store: a message was read before it was opened (bug)');
    return { order: s.order, value: s.value };
  }

  /** Loading from disk (no undo): rows arrive in ascending order, sealed. */
  load(g: string, m: string, order: number, sealed: Uint8Array): void {
    const slot: Slot = { order, g, m, sealed, value: undefined };
    let group = this.groups.get(g);
    if (group === undefined) {
      group = { byId: new Map(), ordered: [] };
      this.groups.set(g, group);
    }
    group.byId.set(m, slot);
    group.ordered.push(slot);
    this.lastOrder = Math.max(this.lastOrder, order);
  }

  messageGet(groupId: GroupId, messageId: string): StoredBytes | undefined {
    const s = this.slot(groupId, messageId);
    return s === undefined ? undefined : this.opened(s);
  }

  messageInsert(groupId: GroupId, messageId: string, value: Uint8Array): number {
    const g = this.groupRows.get(groupId);
    const m = this.messageRows.get(messageKey(groupId, messageId));
    if (g === undefined || m === undefined) throw new StoreError('io-failed', 'browser store: a message was inserted before its row keys were prepared (bug)');
    let group = this.groups.get(g);
    const created = group === undefined;
    if (group === undefined) {
      group = { byId: new Map(), ordered: [] };
      this.groups.set(g, group);
    }
    const before = this.lastOrder;
    const order = before + 1;
    const slot: Slot = { order, g, m, sealed: undefined, value };
    const into = group;
    this.log(
      () => {
        into.byId.delete(m);
        into.ordered.pop();
        if (created) this.groups.delete(g);
        this.lastOrder = before;
      },
      { type: 'message', groupId, messageId },
    );
    group.byId.set(m, slot);
    group.ordered.push(slot);
    this.lastOrder = order;
    return order;
  }

  messageReplace(groupId: GroupId, messageId: string, order: number, value: Uint8Array): void {
    const s = this.slot(groupId, messageId);
    if (s?.order !== order) throw new StoreError('not-found', 'a message update names a message that is not stored');
    const prev = this.opened(s).value;
    this.log(() => (s.value = prev), { type: 'message', groupId, messageId });
    s.value = value;
  }

  /** The slots `messageList` returns, found by binary search so paging does not scan it all. */
  private window(groupId: GroupId, options: ListMessagesOptions): Slot[] {
    const g = this.groupRows.get(groupId);
    const group = g === undefined ? undefined : this.groups.get(g);
    if (group === undefined) return [];
    const lower = (bound: number): number => {
      let lo = 0;
      let hi = group.ordered.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (group.ordered[mid]!.order <= bound) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    const from = options.after === undefined ? 0 : lower(options.after);
    const to = options.before === undefined ? group.ordered.length : lower(options.before - 1);
    return selectMessages(group.ordered.slice(from, to), { ...(options.limit !== undefined ? { limit: options.limit } : {}), ...(options.after !== undefined ? { after: options.after } : {}), ...(options.before !== undefined ? { before: options.before } : {}) });
  }

  messageList(groupId: GroupId, options: ListMessagesOptions): StoredBytes[] {
    return this.window(groupId, options).map((s) => this.opened(s));
  }
}

// ---- the store --------------------------------------------------------------------------

const validLimit = (o: ListMessagesOptions | undefined): boolean => o?.limit === undefined || (Number.isSafeInteger(o.limit) && o.limit >= 0);

class IndexedDbStore implements ClientStore {
  readonly #inner: RecordSpaceStore;
  #tail: Promise<unknown> = Promise.resolve();
  #db: IDBDatabase | undefined;
  readonly #release: () => void;

  constructor(
    db: IDBDatabase,
    private readonly space: MemorySpace,
    private readonly cipher: RecordCipher,
    release: () => void,
  ) {
    this.#db = db;
    this.#release = release;
    this.#inner = new RecordSpaceStore(space);
  }

  /** One operation at a time: a read waits for the commits queued before it. */
  #serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(f);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  #closed(): void {
    if (this.#db === undefined) throw new StoreError('store-closed', 'the store is closed');
  }

  commit(batch: WriteBatch): Promise<void> {
    return this.#serial(async () => {
      this.#closed();
      this.space.pending = undefined;
      if (typeof batch === 'object' && batch !== null) await this.space.prepareBatch(batch);
      await this.#inner.commit(batch);
      const pending = this.space.pending as MemorySpace['pending'];
      if (pending === undefined) return;
      try {
        await this.#flush([...pending.changes.values()]);
      } catch (e) {
        for (const step of pending.undo.reverse()) step();
        throw e;
      }
    });
  }

  async #flush(changes: Change[]): Promise<void> {
    const db = this.#db;
    if (db === undefined) throw new StoreError('store-closed', 'the store is closed');
    const kvPuts: KvRow[] = [];
    const kvDeletes: [Namespace, string][] = [];
    const messagePuts: MessageRow[] = [];
    for (const c of changes) {
      if (c.type === 'kv') {
        const k = await this.cipher.index('kv', c.ns, c.key);
        const value = this.space.get(c.ns, c.key);
        if (value === undefined) kvDeletes.push([c.ns, k]);
        else kvPuts.push({ ns: c.ns, k, v: await this.cipher.seal(kvAad(c.ns, k), frame(c.key, value)) });
      } else {
        const slot = this.space.messageGet(c.groupId, c.messageId);
        if (slot === undefined) continue;
        const g = await this.cipher.index('group', c.groupId);
        const m = await this.cipher.index('message', c.groupId, c.messageId);
        messagePuts.push({ order: slot.order, g, m, v: await this.cipher.seal(messageAad(g, m, slot.order), frame(messageKey(c.groupId, c.messageId), slot.value)) });
      }
    }
    const tx = db.transaction(['kv', 'messages'], 'readwrite', { durability: 'strict' });
    const written = done(tx);
    const kv = tx.objectStore('kv');
    const messages = tx.objectStore('messages');
    for (const row of kvPuts) kv.put(row);
    for (const key of kvDeletes) kv.delete(key);
    for (const row of messagePuts) messages.put(row);
    await written;
  }

  #read<T>(f: () => Promise<T>): Promise<T> {
    return this.#serial(f);
  }

  getAccount = () => this.#read(() => this.#inner.getAccount());
  getIdentity = () => this.#read(() => this.#inner.getIdentity());
  getGroupState = (groupId: GroupId) => this.#read(() => this.#inner.getGroupState(groupId));
  listGroupIds = () => this.#read(() => this.#inner.listGroupIds());
  getConversation = (groupId: GroupId) => this.#read(() => this.#inner.getConversation(groupId));
  listConversations = () => this.#read(() => this.#inner.listConversations());
  /** Opens (decrypts) only the one message. */
  getMessage = (groupId: GroupId, messageId: string) =>
    this.#read(async () => {
      this.#closed();
      if (isId(groupId) && isId(messageId)) await this.space.prepareGet(groupId, messageId);
      return this.#inner.getMessage(groupId, messageId);
    });
  /** Opens (decrypts) only the page asked for: a long history costs nothing until it is read. */
  listMessages = (groupId: GroupId, options?: ListMessagesOptions) =>
    this.#read(async () => {
      this.#closed();
      if (isId(groupId) && validLimit(options)) await this.space.prepareList(groupId, options ?? {});
      return this.#inner.listMessages(groupId, options);
    });
  getMessageSummary = (groupId: GroupId) =>
    this.#read(async () => {
      this.#closed();
      if (isId(groupId)) await this.space.prepareSummary(groupId);
      return this.#inner.getMessageSummary(groupId);
    });
  getSenderSeq: ClientStore['getSenderSeq'] = (groupId, sender) => this.#read(() => this.#inner.getSenderSeq(groupId, sender));
  getCursor = (name: string) => this.#read(() => this.#inner.getCursor(name));
  listPending = () => this.#read(() => this.#inner.listPending());
  getContact = (userId: string) => this.#read(() => this.#inner.getContact(userId));
  listContacts = () => this.#read(() => this.#inner.listContacts());

  close(): Promise<void> {
    return this.#serial(async () => {
      await this.#inner.close();
      this.#db?.close();
      this.#db = undefined;
      this.cipher.destroy();
      this.#release();
    });
  }

  toJSON(): string {
    return '[IndexedDbStore]';
  }
}

// ---- opening ----------------------------------------------------------------------------

interface StoredKdf extends KdfParams {
  readonly alg: 'scrypt';
  readonly salt: string;
}

function kek(password: Uint8Array, salt: Uint8Array, k: KdfParams): Promise<Uint8Array> {
  return scryptAsync(password, salt, { N: k.N, r: k.r, p: k.p, dkLen: 32, maxmem: 256 * k.N * k.r + (1 << 20) });
}

async function aesKey(raw: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', buf(raw), 'AES-GCM', false, ['encrypt', 'decrypt']);
}

async function wrapDataKey(password: Uint8Array, params: KdfParams, dataKey: Uint8Array): Promise<{ kdf: string; wrapped: Uint8Array }> {
  const salt = randomBytes(16);
  const k = await kek(password, salt, params);
  try {
    const stored: StoredKdf = { alg: 'scrypt', N: params.N, r: params.r, p: params.p, salt: toHex(salt) };
    return { kdf: JSON.stringify(stored), wrapped: await sealWith(await aesKey(k), DATA_KEY_AAD, dataKey) };
  } finally {
    k.fill(0);
  }
}

function fromHex(s: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(s)) throw new StoreError('unsupported-format', 'this profile has an unreadable key derivation record');
  return Uint8Array.from({ length: s.length / 2 }, (_, i) => parseInt(s.slice(2 * i, 2 * i + 2), 16));
}

async function unwrapDataKey(password: Uint8Array, kdfRow: unknown, wrapped: Uint8Array): Promise<Uint8Array> {
  let kdf: StoredKdf;
  try {
    kdf = JSON.parse(String(kdfRow)) as StoredKdf;
  } catch {
    throw new StoreError('unsupported-format', 'this profile has an unreadable key derivation record');
  }
  if (kdf.alg !== 'scrypt' || typeof kdf.salt !== 'string') throw new StoreError('unsupported-format', 'this profile uses an unknown key derivation');
  checkKdf(kdf);
  const k = await kek(password, fromHex(kdf.salt), kdf);
  try {
    const dataKey = await openWith(await aesKey(k), DATA_KEY_AAD, wrapped);
    if (dataKey?.length !== 32) throw new StoreError('wrong-passphrase', 'wrong passphrase for this profile');
    return dataKey;
  } finally {
    k.fill(0);
  }
}

interface Rows {
  readonly kv: KvRow[];
  readonly messages: MessageRow[];
}

/** Every row of the profile, still sealed: read while scrypt runs, since it needs no key. */
async function readRows(db: IDBDatabase): Promise<Rows> {
  const tx = db.transaction(['kv', 'messages'], 'readonly');
  const [kv, messages] = await Promise.all([request(tx.objectStore('kv').getAll() as IDBRequest<KvRow[]>), request(tx.objectStore('messages').getAll() as IDBRequest<MessageRow[]>)]);
  return { kv, messages };
}

/**
 * Fills the in-memory copy: every key-value record is opened (they are few and small:
 * account, identity, group states, conversations, cursors, contacts), message rows stay sealed.
 */
async function loadAll(rows: Rows, cipher: RecordCipher, space: MemorySpace): Promise<void> {
  // Decrypt concurrently (WebCrypto works off the main thread).
  const kvPlain = await Promise.all(rows.kv.map(async (row) => ({ ns: row.ns, ...unframe(await cipher.open(kvAad(row.ns, row.k), row.v)) })));
  for (const r of kvPlain) space.kv.set(kvId(r.ns, r.key), r.value);
  // In ascending order (the object store's key is the order).
  for (const row of rows.messages) space.load(row.g, row.m, row.order, row.v);
}

/**
 * One open store per profile in the whole browser (every tab): each keeps an in-memory
 * copy, so two would overwrite each other's writes. A Web Lock held while the store is
 * open makes a second opener fail with StoreError('profile-in-use') instead of waiting.
 */
async function lockProfile(name: string): Promise<() => void> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (locks === undefined) return () => undefined;
  return new Promise((resolve, reject) => {
    locks
      .request(`parley-profile:${name}`, { ifAvailable: true }, (lock) => {
        if (lock === null) {
          reject(new StoreError('profile-in-use', 'this profile is open elsewhere in this browser (another tab?)'));
          return undefined;
        }
        // Held until the store is closed (or fails to open).
        return new Promise<void>((release) => {
          resolve(() => {
            release();
          });
        });
      })
      .catch((e: unknown) => {
        reject(e instanceof Error ? e : new StoreError('io-failed', 'the profile lock failed'));
      });
  });
}

/**
 * Opens (or creates) the encrypted profile `name` in IndexedDB. Throws
 * StoreError('wrong-passphrase') if the profile exists and the passphrase is not its own.
 */
export async function openIndexedDbStore(options: OpenIndexedDbStoreOptions): Promise<ClientStore> {
  if (typeof options.name !== 'string' || options.name.length === 0) throw new ClientUsageError('invalid-profile', 'a profile needs a name');
  const password = passphraseBytes(options.passphrase);
  const requested = options.kdf ?? DEFAULT_BROWSER_KDF;
  checkKdf(requested);
  const release = await lockProfile(options.name);
  let db: IDBDatabase;
  try {
    db = await openDatabase(options.indexedDB ?? globalThis.indexedDB, options.name);
  } catch (e) {
    release();
    throw e;
  }
  let dataKey: Uint8Array | undefined;
  try {
    const metaTx = db.transaction('meta', 'readonly');
    const meta = metaTx.objectStore('meta');
    const [format, kdf, wrapped] = await Promise.all([request<unknown>(meta.get('format')), request<unknown>(meta.get('kdf')), request<unknown>(meta.get('data-key'))]);
    const rows = readRows(db);
    // Awaited below; a failure before then (a wrong passphrase) must not surface as unhandled.
    rows.catch(() => undefined);
    if (kdf === undefined || !(wrapped instanceof Uint8Array)) {
      if (format !== undefined) throw new StoreError('unsupported-format', 'this profile is missing its key records');
      dataKey = randomBytes(32);
      const keyRows = await wrapDataKey(password, requested, dataKey);
      const tx = db.transaction('meta', 'readwrite', { durability: 'strict' });
      const written = done(tx);
      tx.objectStore('meta').put(FORMAT, 'format');
      tx.objectStore('meta').put(keyRows.kdf, 'kdf');
      tx.objectStore('meta').put(keyRows.wrapped, 'data-key');
      await written;
    } else {
      if (format !== FORMAT) throw new StoreError('unsupported-format', 'this profile was written by an unknown version of Parley');
      dataKey = await unwrapDataKey(password, kdf, wrapped);
    }
    const cipher = await RecordCipher.fromDataKey(dataKey);
    const space = new MemorySpace(cipher);
    await loadAll(await rows, cipher, space);
    return new IndexedDbStore(db, space, cipher, release);
  } catch (e) {
    db.close();
    release();
    throw e;
  } finally {
    dataKey?.fill(0);
  }
}

/** Whether a profile of this name holds a key record (i.e. was created). */
export async function indexedDbStoreExists(name: string, factory: IDBFactory = globalThis.indexedDB): Promise<boolean> {
  const db = await openDatabase(factory, name);
  try {
    return (await request(db.transaction('meta', 'readonly').objectStore('meta').get('data-key'))) !== undefined;
  } finally {
    db.close();
  }
}

/** Deletes the profile's database (its messages and keys are gone for good). */
export function deleteIndexedDbStore(name: string, factory: IDBFactory = globalThis.indexedDB): Promise<void> {
  return request(factory.deleteDatabase(databaseName(name))).then(() => undefined);
}
