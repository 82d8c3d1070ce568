// ClientStore in a profile directory on Node: one SQLite file (better-sqlite3, WAL mode,
// synchronous=FULL so a committed batch survives a crash of the process or the machine),
// with every value encrypted at rest.
//
// Keys. A random 32-byte data key is created with the profile; HKDF-SHA256 splits it into
// a record key (AES-256-GCM) and an index key (HMAC-SHA256). The data key is stored sealed
// (AES-256-GCM) under scrypt(passphrase, salt), with the random 16-byte salt and the
// scrypt parameters beside it. The sealed data key is also the passphrase check value: if
// it does not open, the passphrase is wrong (StoreError('wrong-passphrase')), rather than
// a mysterious decryption failure later. Changing the passphrase re-seals only the data
// key (changeSqliteStorePassphrase).
//
// Records. Each value is sealed separately: nonce (12 random bytes) || AES-256-GCM
// ciphertext || tag, with associated data naming the table and the row's key (for
// messages also its order), so a value moved to another row, another table or another
// position in history fails to open (StoreError('corrupt-record')). JSON bodies are
// padded to 32 bytes, so sizes say little about content.
//
// What stays in clear, and why:
//   - table names, the namespace of each kv row (account, identity, group-state,
//     conversation, cursor, pending, contact, sender-seq) and how many rows each has;
//   - row keys only as HMAC-SHA256(index key, …): group ids, user ids, message ids and
//     cursor names are never written; equal ids give equal hashes, so one can count the
//     messages of one (unknown) conversation;
//   - each message's local order number (an integer), and the sizes of sealed values;
//   - the file format version, the scrypt salt and parameters, the sealed data key.
// Not prevented: an attacker with write access replacing the whole file by an older copy
// (a rollback), and anything an attacker learns by watching the process while it runs.
// JavaScript cannot promise to wipe keys from memory; close() zeroes the buffers it owns.

import Database from 'better-sqlite3';
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, scrypt as scryptCallback, type ScryptOptions } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ClientUsageError, StoreError } from '../errors.js';
import type { ClientStore, GroupId, ListMessagesOptions } from '../store/client-store.js';
import { RecordSpaceStore, type Namespace, type RecordSpace, type RecordSpaceBackend, type StoredBytes } from '../store/record-space.js';

/** The database file inside a profile directory. */
export const PROFILE_DATABASE = 'parley.db';
const FORMAT = 1;

/** scrypt cost (RFC 7914). N = 2^17, r = 8, p = 1 is OWASP's recommendation (~128 MiB, a few hundred ms). */
export interface KdfParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}
export const DEFAULT_KDF: KdfParams = { N: 1 << 17, r: 8, p: 1 };

export interface OpenSqliteStoreOptions {
  /** The profile directory (created if missing, mode 0700). */
  readonly directory: string;
  readonly passphrase: string | Uint8Array;
  /** scrypt parameters for a NEW profile; an existing profile uses the ones it was created with. */
  readonly kdf?: KdfParams;
}

function scrypt(password: Uint8Array, salt: Uint8Array, params: KdfParams): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + (1 << 20) };
  return new Promise((resolve, reject) => {
    scryptCallback(password, salt, 32, options, (err, key) => {
      if (err === null) resolve(key);
      else reject(err);
    });
  });
}

function checkKdf(k: KdfParams): void {
  const powerOfTwo = Number.isInteger(k.N) && k.N >= 1024 && (k.N & (k.N - 1)) === 0;
  if (!powerOfTwo || k.N > 1 << 22 || !Number.isInteger(k.r) || k.r < 1 || k.r > 32 || !Number.isInteger(k.p) || k.p < 1 || k.p > 16) {
    throw new ClientUsageError('invalid-kdf-params', 'scrypt parameters out of range (N a power of two in 2^10..2^22, r 1..32, p 1..16)');
  }
}

/** nonce (12 random bytes) || AES-256-GCM ciphertext || tag (16 bytes). */
// Nonces are drawn from a pool refilled 4 KiB at a time: one call into the CSPRNG per 341 records.
let noncePool = Buffer.alloc(0);
let noncePoolAt = 0;
function freshNonce(): Buffer {
  if (noncePoolAt + 12 > noncePool.length) {
    noncePool = randomBytes(4092);
    noncePoolAt = 0;
  }
  const nonce = noncePool.subarray(noncePoolAt, noncePoolAt + 12);
  noncePoolAt += 12;
  return nonce;
}

function sealWith(key: Buffer, aad: Buffer, plaintext: Uint8Array): Buffer {
  const nonce = freshNonce();
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad);
  const head = c.update(plaintext);
  const tail = c.final();
  return Buffer.concat([nonce, head, tail, c.getAuthTag()]);
}

/** Undefined when the value does not authenticate under `key` and `aad`. */
function openWith(key: Buffer, aad: Buffer, sealed: Uint8Array): Uint8Array | undefined {
  if (sealed.length < 28) return undefined;
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    const head = d.update(sealed.subarray(12, sealed.length - 16));
    return new Uint8Array(Buffer.concat([head, d.final()]));
  } catch {
    return undefined;
  }
}

/** Holds the two keys derived from the data key; seals and opens records. */
class RecordCipher {
  constructor(
    private readonly recordKey: Buffer,
    private readonly indexKey: Buffer,
  ) {}

  static fromDataKey(dataKey: Buffer): RecordCipher {
    const derive = (info: string): Buffer => Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), info, 32));
    return new RecordCipher(derive('parley-store v1 record key'), derive('parley-store v1 index key'));
  }

  /** Recently computed row keys: group ids and sender keys recur on every message. */
  private readonly indexCache = new Map<string, Buffer>();

  /** The row key written to disk for a clear key. */
  index(...parts: string[]): Buffer {
    const clear = parts.join('\u0000');
    let k = this.indexCache.get(clear);
    if (k === undefined) {
      k = createHmac('sha256', this.indexKey).update(clear, 'utf8').digest();
      if (this.indexCache.size >= 4096) this.indexCache.clear();
      this.indexCache.set(clear, k);
    }
    return k;
  }

  seal(aad: Buffer, plaintext: Uint8Array): Buffer {
    return sealWith(this.recordKey, aad, plaintext);
  }

  open(aad: Buffer, sealed: Uint8Array): Uint8Array {
    const plain = openWith(this.recordKey, aad, sealed);
    if (plain === undefined) throw new StoreError('corrupt-record', 'a stored record failed authentication (tampered or moved)');
    return plain;
  }

  destroy(): void {
    this.indexCache.clear();
    this.recordKey.fill(0);
    this.indexKey.fill(0);
  }
}

const kvAad = (ns: Namespace, k: Buffer): Buffer => Buffer.concat([Buffer.from(`parley-store v1\u0000kv\u0000${ns}\u0000`, 'utf8'), k]);
function messageAad(g: Buffer, m: Buffer, order: number): Buffer {
  const o = Buffer.alloc(8);
  o.writeBigUInt64BE(BigInt(order));
  return Buffer.concat([Buffer.from('parley-store v1\u0000message\u0000', 'utf8'), g, m, o]);
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS kv (ns TEXT NOT NULL, k BLOB NOT NULL, v BLOB NOT NULL, PRIMARY KEY (ns, k)) STRICT, WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, g BLOB NOT NULL, m BLOB NOT NULL, v BLOB NOT NULL, UNIQUE (g, m)) STRICT;
  CREATE INDEX IF NOT EXISTS messages_by_group ON messages (g, id);
`;

interface Row {
  k: Buffer;
  v: Buffer;
}
interface MessageRow {
  id: number;
  m: Buffer;
  v: Buffer;
}

class SqliteSpace implements RecordSpace, RecordSpaceBackend {
  private readonly stmt;

  constructor(
    private readonly db: Database.Database,
    private readonly cipher: RecordCipher,
  ) {
    this.stmt = {
      get: db.prepare<[string, Buffer], { v: Buffer }>('SELECT v FROM kv WHERE ns = ? AND k = ?'),
      put: db.prepare<[string, Buffer, Buffer]>('INSERT OR REPLACE INTO kv (ns, k, v) VALUES (?, ?, ?)'),
      del: db.prepare<[string, Buffer]>('DELETE FROM kv WHERE ns = ? AND k = ?'),
      list: db.prepare<[string], Row>('SELECT k, v FROM kv WHERE ns = ?'),
      msgGet: db.prepare<[Buffer, Buffer], { id: number; v: Buffer }>('SELECT id, v FROM messages WHERE g = ? AND m = ?'),
      msgMax: db.prepare<[], { id: number | null }>('SELECT MAX(id) AS id FROM messages'),
      msgInsert: db.prepare<[number, Buffer, Buffer, Buffer]>('INSERT INTO messages (id, g, m, v) VALUES (?, ?, ?, ?)'),
      msgReplace: db.prepare<[Buffer, number, Buffer, Buffer]>('UPDATE messages SET v = ? WHERE id = ? AND g = ? AND m = ?'),
      msgFirst: db.prepare<[Buffer, number, number, number], MessageRow>('SELECT id, m, v FROM messages WHERE g = ? AND id > ? AND id < ? ORDER BY id ASC LIMIT ?'),
      msgLast: db.prepare<[Buffer, number, number, number], MessageRow>('SELECT id, m, v FROM messages WHERE g = ? AND id > ? AND id < ? ORDER BY id DESC LIMIT ?'),
    };
  }

  write(fn: (space: RecordSpace) => void): void {
    this.db.transaction(() => {
      fn(this);
    }).immediate();
  }

  read<T>(fn: (space: RecordSpace) => T): T {
    return fn(this);
  }

  close(): void {
    this.db.close();
    this.cipher.destroy();
  }

  get(ns: Namespace, key: string): Uint8Array | undefined {
    const k = this.cipher.index('kv', ns, key);
    const row = this.stmt.get.get(ns, k);
    return row === undefined ? undefined : this.cipher.open(kvAad(ns, k), row.v);
  }

  put(ns: Namespace, key: string, value: Uint8Array): void {
    const k = this.cipher.index('kv', ns, key);
    this.stmt.put.run(ns, k, this.cipher.seal(kvAad(ns, k), value));
  }

  delete(ns: Namespace, key: string): void {
    this.stmt.del.run(ns, this.cipher.index('kv', ns, key));
  }

  values(ns: Namespace): Uint8Array[] {
    return this.stmt.list.all(ns).map((row) => this.cipher.open(kvAad(ns, row.k), row.v));
  }

  private ids(groupId: GroupId, messageId: string): { g: Buffer; m: Buffer } {
    return { g: this.cipher.index('group', groupId), m: this.cipher.index('message', groupId, messageId) };
  }

  messageGet(groupId: GroupId, messageId: string): StoredBytes | undefined {
    const { g, m } = this.ids(groupId, messageId);
    const row = this.stmt.msgGet.get(g, m);
    return row === undefined ? undefined : { order: row.id, value: this.cipher.open(messageAad(g, m, row.id), row.v) };
  }

  messageInsert(groupId: GroupId, messageId: string, value: Uint8Array): number {
    const { g, m } = this.ids(groupId, messageId);
    // The order is chosen here (inside the write transaction) so it can be bound into the AAD.
    const order = (this.stmt.msgMax.get()?.id ?? 0) + 1;
    this.stmt.msgInsert.run(order, g, m, this.cipher.seal(messageAad(g, m, order), value));
    return order;
  }

  messageReplace(groupId: GroupId, messageId: string, order: number, value: Uint8Array): void {
    const { g, m } = this.ids(groupId, messageId);
    const changed = this.stmt.msgReplace.run(this.cipher.seal(messageAad(g, m, order), value), order, g, m).changes;
    if (changed !== 1) throw new StoreError('not-found', 'a message update names a message that is not stored');
  }

  messageList(groupId: GroupId, o: ListMessagesOptions): StoredBytes[] {
    const g = this.cipher.index('group', groupId);
    const after = o.after ?? -1;
    const before = o.before ?? Number.MAX_SAFE_INTEGER;
    const limit = o.limit ?? -1; // SQLite: a negative LIMIT means no limit
    const fromStart = o.after !== undefined && o.before === undefined;
    const rows = fromStart ? this.stmt.msgFirst.all(g, after, before, limit) : this.stmt.msgLast.all(g, after, before, limit).reverse();
    return rows.map((row) => ({ order: row.id, value: this.cipher.open(messageAad(g, row.m, row.id), row.v) }));
  }
}

function passphraseBytes(p: string | Uint8Array): Uint8Array {
  if (typeof p === 'string') {
    if (p.length === 0) throw new ClientUsageError('empty-passphrase', 'the passphrase is empty');
    return Buffer.from(p.normalize('NFC'), 'utf8');
  }
  if (p.length === 0) throw new ClientUsageError('empty-passphrase', 'the passphrase is empty');
  return p;
}

interface StoredKdf extends KdfParams {
  readonly alg: 'scrypt';
  readonly salt: string;
}

const DATA_KEY_AAD = Buffer.from('parley-store v1\u0000data key', 'utf8');

/** A fresh salt, and the data key sealed under scrypt(passphrase, salt): the two meta rows that a passphrase sets. */
async function wrapDataKey(password: Uint8Array, params: KdfParams, dataKey: Buffer): Promise<{ kdf: Buffer; wrapped: Buffer }> {
  const salt = randomBytes(16);
  const kek = await scrypt(password, salt, params);
  try {
    const stored: StoredKdf = { alg: 'scrypt', N: params.N, r: params.r, p: params.p, salt: salt.toString('base64') };
    return { kdf: Buffer.from(JSON.stringify(stored), 'utf8'), wrapped: sealWith(kek, DATA_KEY_AAD, dataKey) };
  } finally {
    kek.fill(0);
  }
}

/** The data key, or StoreError('wrong-passphrase'). */
async function unwrapDataKey(password: Uint8Array, kdfRow: Buffer, wrapped: Buffer): Promise<Buffer> {
  let kdf: StoredKdf;
  try {
    kdf = JSON.parse(kdfRow.toString('utf8')) as StoredKdf;
  } catch {
    throw new StoreError('unsupported-format', 'this profile has an unreadable key derivation record');
  }
  if (kdf.alg !== 'scrypt' || typeof kdf.salt !== 'string') throw new StoreError('unsupported-format', 'this profile uses an unknown key derivation');
  checkKdf(kdf);
  const kek = await scrypt(password, Buffer.from(kdf.salt, 'base64'), kdf);
  try {
    const dataKey = openWith(kek, DATA_KEY_AAD, wrapped);
    if (dataKey?.length !== 32) throw new StoreError('wrong-passphrase', 'wrong passphrase for this profile');
    return Buffer.from(dataKey);
  } finally {
    kek.fill(0);
  }
}

interface Meta {
  readonly db: Database.Database;
  get(name: string): Buffer | undefined;
  put(entries: Record<string, Buffer>): void;
}

function openDatabase(directory: string): Meta {
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const file = join(directory, PROFILE_DATABASE);
  const db = new Database(file);
  try {
    // Only the owner reads the file; SQLite gives the -wal and -shm files the same mode.
    chmodSync(file, 0o600);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(SCHEMA);
  } catch (e) {
    db.close();
    throw e;
  }
  const get = db.prepare<[string], { value: Buffer }>('SELECT value FROM meta WHERE name = ?');
  const put = db.prepare<[string, Buffer]>('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)');
  return {
    db,
    get: (name) => get.get(name)?.value,
    put: (entries) => {
      db.transaction(() => {
        for (const [name, value] of Object.entries(entries)) put.run(name, value);
      }).immediate();
    },
  };
}

/**
 * Opens (or creates) the encrypted store of a profile directory. Throws
 * StoreError('wrong-passphrase') if the profile exists and the passphrase is not its own.
 */
export async function openSqliteStore(options: OpenSqliteStoreOptions): Promise<ClientStore> {
  const password = passphraseBytes(options.passphrase);
  const requested = options.kdf ?? DEFAULT_KDF;
  checkKdf(requested);
  const meta = openDatabase(options.directory);
  let dataKey: Buffer | undefined;
  try {
    const kdf = meta.get('kdf');
    const wrapped = meta.get('data-key');
    if (kdf === undefined || wrapped === undefined) {
      if (meta.get('format') !== undefined) throw new StoreError('unsupported-format', 'this profile is missing its key records');
      dataKey = randomBytes(32);
      const rows = await wrapDataKey(password, requested, dataKey);
      meta.put({ format: Buffer.from(String(FORMAT), 'utf8'), kdf: rows.kdf, 'data-key': rows.wrapped });
    } else {
      if (meta.get('format')?.toString('utf8') !== String(FORMAT)) throw new StoreError('unsupported-format', 'this profile was written by an unknown version of Parley');
      dataKey = await unwrapDataKey(password, kdf, wrapped);
    }
    const cipher = RecordCipher.fromDataKey(dataKey);
    return new RecordSpaceStore(new SqliteSpace(meta.db, cipher));
  } catch (e) {
    meta.db.close();
    throw e;
  } finally {
    dataKey?.fill(0);
  }
}

/**
 * Changes a profile's passphrase: re-seals the data key under a key derived from the new
 * passphrase (with a fresh salt), in one transaction; no record is rewritten. Throws
 * StoreError('wrong-passphrase') if `passphrase` is not the current one.
 */
export async function changeSqliteStorePassphrase(options: OpenSqliteStoreOptions & { readonly newPassphrase: string | Uint8Array }): Promise<void> {
  const password = passphraseBytes(options.passphrase);
  const next = passphraseBytes(options.newPassphrase);
  const params = options.kdf ?? DEFAULT_KDF;
  checkKdf(params);
  const meta = openDatabase(options.directory);
  let dataKey: Buffer | undefined;
  try {
    const kdf = meta.get('kdf');
    const wrapped = meta.get('data-key');
    if (kdf === undefined || wrapped === undefined) throw new StoreError('not-found', 'there is no profile in this directory');
    dataKey = await unwrapDataKey(password, kdf, wrapped);
    const rows = await wrapDataKey(next, params, dataKey);
    meta.put({ kdf: rows.kdf, 'data-key': rows.wrapped });
  } finally {
    dataKey?.fill(0);
    meta.db.close();
  }
}
