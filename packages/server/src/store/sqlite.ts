// The embedded Store: SQLite through better-sqlite3 (synchronous, so each method is one
// short transaction), WAL journal, foreign keys on, a busy timeout, and
// synchronous=FULL by default so a transaction that returned is on disk before the
// server acknowledges it. Batched appends share one transaction (group commit).
//
// With `deferredSync` (the server's hot path, appendMessagesCommitted): a batch commits
// without an fsync, so it can be published at once (a committed WAL transaction survives
// a crash of the process: it is in the OS page cache), and the WAL file is then
// fdatasync'ed on libuv's thread pool, off the event loop; `durable` resolves after that
// (the sender's "sent"). The risk it brings is a power loss taking a tail of the log that
// recipients already received: their cursors would then skip the next messages, which
// would reuse those seqs. The unclean-start rule closes it: while the store is open its
// database says so (server_state 'shutdown' = 'open', written with an fsync); close()
// writes 'clean' after the last sync. Opening a database still marked 'open' (a crash, a
// kill or a power loss) advances every group's last_seq by UNSYNCED_MAX, and at most
// that many messages are ever committed and not yet synced, so no published seq is
// reused. Gaps in a log are harmless: readers ask for "after seq", never for "seq + 1".
//
// The next seq. A group's last seq is MAX(groups.last_seq, the log's highest seq) (lastSeqOf
// below), not a column written per message: an append inserts its row at that + 1 and writes
// nothing else. The log is a rowid table, so that row goes at the table's right edge (one
// page for a whole batch); its one index, (group_id, seq), takes the only random leaf per
// message (RecentIds replaces a (group, id) index). groups.last_seq is written
// only where the log alone would fall behind: by a prune, in the transaction that deletes
// rows (so the log's end is never forgotten), by commits and notices (they write the
// group's row anyway), and by the unclean-start rule. Derived from what is committed, it
// holds for every connection to the file (`parley admin` writes too).
//
// The group cache (GroupStates). The common append does not derive the next seq in SQL:
// the store keeps, per group it appends to, the last seq and the members' cursors as
// committed, so an append is a one-row insert at last + 1 and an ack writes only a cursor
// that moves. The cache is exact, not a hint. (1) Every transaction that reads it first
// reads PRAGMA data_version, which moves when another connection (`parley admin`, the
// checkpointer's touch) has committed, and then forgets everything; inside the write
// transaction nobody else can commit. (2) Of this connection's own writes, appends and acks
// update it as they go, and every other write that changes a group's members or seq drops
// the group's entry (applyCommit, createGroup; removeDevice drops all). A prune deletes rows
// only up to the log's end as its walk began and raises last_seq to it in the same
// transaction, so the derived last seq does not change and no entry need go; the
// unclean-start rule runs at open, before anything is cached. (3) A transaction that fails
// forgets everything (its writes are rolled back; the cache's would not be). The assumption:
// this connection writes only through the methods here, so a new write of members or seq
// must drop its group's entry. Even so the database keeps the last word: the insert is gated
// on the sender's membership row and the (group_id, seq) index is unique, so a wrong cache
// could fail a batch, never store a removed member's message or reuse a seq.

import { closeSync, fdatasync, fsyncSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { MESSAGE_KINDS, type MessageKind } from '@parley/protocol';
import { MIGRATIONS } from './migrations.js';
import {
  DEDUP_WINDOW,
  StoreConflictError,
  type AppendResult,
  type AttachmentRecord,
  type ClaimedKeyPackageRecord,
  type CommitApplication,
  type CommitResult,
  type DeviceRecord,
  type GroupRecord,
  type InviteRecord,
  type KeyPackageCount,
  type MemberCursor,
  type NewGroupMessage,
  type NewInboxMessage,
  type SessionRecord,
  type Store,
  type StoredMessage,
  type UserRecord,
} from './store.js';

export interface SqliteStoreOptions {
  /** 'full' (default): fsync at each commit. 'normal': survives a process crash, not a power loss. */
  readonly synchronous?: 'full' | 'normal';
  /**
   * Checkpoint the WAL from a worker thread with its own connection (the server sets it), so
   * copying the WAL into the database and the fsync that follows never stall the event loop
   * in the middle of a commit. Otherwise SQLite checkpoints inline, at the commit that passes
   * 1,000 pages.
   */
  readonly backgroundCheckpoint?: boolean;
  /**
   * The server's own store (one per database): appendMessagesCommitted commits without an
   * fsync and syncs the WAL behind it, and the store keeps the clean-shutdown marker and
   * applies the unclean-start rule when it opens. Off for `parley admin` and tests that
   * open a second connection to a running server's database.
   */
  readonly deferredSync?: boolean;
}

/**
 * At most this many messages are committed and not yet known synced at any time, and an
 * unclean start advances every group's last_seq by as much (see the header). Over a second
 * of messages at the relay's top rate, so that even a disk whose fsync takes hundreds of ms
 * (a shared one) seldom holds publishing back; the cost is a gap in each log per unclean start.
 */
export const UNSYNCED_MAX = 16_384;

/** The checkpointer's code (CommonJS, run by `new Worker(…, { eval: true })`). */
const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('synchronous = NORMAL');
const touch = db.prepare("INSERT INTO server_state (key, value) VALUES ('wal', '') ON CONFLICT (key) DO UPDATE SET value = excluded.value");
const timer = setInterval(() => {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    // Everything is in the database now: the next write starts the WAL over, and SQLite
    // fsyncs the WAL's new header in that write. Doing it here keeps that fsync off the
    // server's event loop (its commits do not fsync at all under deferredSync).
    if (r !== undefined && r.busy === 0 && r.log > 0 && r.checkpointed === r.log) touch.run();
  } catch {
    // busy or closing: the next tick retries; the main connection's own limit is the backstop
  }
}, workerData.intervalMs);
parentPort.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;
const CHECKPOINT_MS = 250;
/**
 * Sequence numbers of one group per prune transaction. The log is a rowid table in append
 * order, so a group's rows are spread over the table and a slice dirties about one page
 * per deleted row: 128 keeps a slice to a few ms, which is what other work waits behind
 * (at 500, a prune that coincided with a device's connect delayed its catch-up 20-40 ms).
 */
const PRUNE_SLICE = 128;
const yieldToEventLoop = (): Promise<void> => new Promise((r) => setImmediate(r));
/** With a background checkpointer the main connection checkpoints only past this many pages (a backstop). */
const BACKSTOP_PAGES = 16_384;

type Row = Record<string, unknown>;

/** Groups whose recent ids are kept in memory, the least recently appended to dropped first (~15 KB each, so ~30 MB at most). */
const RECENT_GROUPS = 2048;

/**
 * De-duplication of retried sends without an index on (group, id), which cost every append a
 * random leaf in the WAL: per group, the ids of its last DEDUP_WINDOW messages, loaded from
 * the log's tail when the group is first appended to (so a restart or an eviction forgets
 * nothing the log has). A hit is only a candidate, checked against the stored row: a row
 * pruned since, or an append whose transaction failed, is not taken for the original.
 */
class RecentIds {
  private readonly groups = new Map<string, Map<string, number>>();

  constructor(private readonly tail: (groupId: string) => Row[]) {}

  static key(id: Uint8Array): string {
    return buf(id).toString('latin1');
  }

  /** The group's window (id → seq, oldest first). */
  of(groupId: string): Map<string, number> {
    let w = this.groups.get(groupId);
    if (w !== undefined) {
      this.groups.delete(groupId);
    } else {
      w = new Map();
      for (const r of this.tail(groupId).reverse()) w.set(RecentIds.key(u8(r.id)), r.seq as number);
      if (this.groups.size >= RECENT_GROUPS) this.groups.delete(this.groups.keys().next().value as string);
    }
    this.groups.set(groupId, w);
    return w;
  }

  static add(w: Map<string, number>, k: string, seq: number): void {
    w.delete(k);
    w.set(k, seq);
    if (w.size > DEDUP_WINDOW) w.delete(w.keys().next().value as string);
  }
}

/** Groups whose last seq and members are kept in memory (GroupStates), the least recently used dropped first. */
const STATE_GROUPS = 4096;

/** What the common append and ack need of a group, as committed (see the header, "The group cache"). */
interface GroupState {
  /** The group's last seq (lastSeqOf). */
  last: number;
  /** Each member device's cursor. */
  readonly cursors: Map<string, number>;
}

/** The group cache (see the header): exact while `sync()` opens every transaction that reads it. */
class GroupStates {
  private readonly groups = new Map<string, GroupState>();
  private version: number | undefined;

  constructor(
    private readonly load: (groupId: string) => GroupState | undefined,
    private readonly dataVersion: () => number,
  ) {}

  /** First in a write transaction: forgets everything if another connection has committed since the last call. */
  sync(): void {
    const v = this.dataVersion();
    if (v !== this.version) this.groups.clear();
    this.version = v;
  }

  /** The group's state, loaded if need be; undefined for a group that does not exist. */
  of(groupId: string): GroupState | undefined {
    let g = this.groups.get(groupId);
    if (g !== undefined) {
      this.groups.delete(groupId);
    } else {
      g = this.load(groupId);
      if (g === undefined) return undefined;
      if (this.groups.size >= STATE_GROUPS) this.groups.delete(this.groups.keys().next().value as string);
    }
    this.groups.set(groupId, g);
    return g;
  }

  drop(groupId: string): void {
    this.groups.delete(groupId);
  }

  clear(): void {
    this.groups.clear();
  }
}

/** A group's last seq (see the header, "The next seq"); `g` names a row of groups. */
const lastSeqOf = (g: string): string => `MAX(${g}.last_seq, COALESCE((SELECT MAX(seq) FROM messages WHERE group_id = ${g}.id), 0))`;
const kindByNumber = new Map<number, MessageKind>(Object.entries(MESSAGE_KINDS).map(([k, v]) => [v, k as MessageKind]));

const u8 = (v: unknown): Uint8Array => new Uint8Array(v as Buffer);
const buf = (v: Uint8Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

function userFrom(r: Row): UserRecord {
  return {
    id: r.id as string,
    email: r.email as string | null,
    password: { hash: u8(r.pw_hash), salt: u8(r.pw_salt), params: JSON.parse(r.pw_params as string) as UserRecord['password']['params'] },
    admin: r.admin === 1,
    active: r.active === 1,
    identityKey: r.identity_key === null ? null : u8(r.identity_key),
    createdAt: r.created_at as number,
  };
}

function deviceFrom(r: Row): DeviceRecord {
  return {
    id: r.id as string,
    userId: r.user_id as string,
    signatureKey: u8(r.signature_key),
    cipherSuite: r.cipher_suite as number,
    certificate: u8(r.certificate),
    createdAt: r.created_at as number,
  };
}

function messageFrom(r: Row): StoredMessage {
  return {
    seq: r.seq as number,
    id: u8(r.id),
    kind: kindByNumber.get(r.kind as number) ?? 'notice',
    groupId: r.group_id as string,
    sender: r.sender as string,
    createdAt: r.created_at as number,
    data: u8(r.data),
  };
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly s;

  private readonly synchronous: 'full' | 'normal';
  /** Runs its argument in a transaction (one wrapper for the hot path, not one per call). */
  private readonly inTx: Database.Transaction<(f: () => unknown) => unknown>;
  private checkpointer: Worker | undefined;
  private readonly recent: RecentIds;
  private readonly states: GroupStates;
  /** The `-wal` file, fdatasync'ed behind deferred commits (deferredSync only). */
  private wal: WalSync | undefined;
  /** How many groups' seqs the unclean-start rule advanced when this store opened (0 after a clean shutdown). */
  readonly uncleanStartGroups: number = 0;

  constructor(file: string, options: SqliteStoreOptions = {}) {
    this.synchronous = options.synchronous ?? 'full';
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db);
    if (options.deferredSync === true && this.db.name !== ':memory:') {
      this.uncleanStartGroups = this.markOpen();
      this.wal = new WalSync(`${this.db.name}-wal`);
    }
    if (options.backgroundCheckpoint === true && this.db.name !== ':memory:') {
      this.db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
      this.checkpointer = new Worker(CHECKPOINTER, {
        eval: true,
        workerData: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), file: this.db.name, intervalMs: CHECKPOINT_MS },
      });
      this.checkpointer.on('error', () => {
        // The checkpointer died: SQLite's own inline checkpoints take over.
        this.checkpointer = undefined;
        if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
      });
      this.checkpointer.unref();
    }
    this.inTx = this.db.transaction((f: () => unknown) => f());
    this.recent = new RecentIds((groupId) => this.s.recentIds.all(groupId) as Row[]);
    this.states = new GroupStates(
      (groupId) => {
        const rows = this.s.groupState.all(groupId) as Row[];
        if (rows.length === 0) return undefined;
        const cursors = new Map<string, number>();
        for (const r of rows) if (r.device !== null) cursors.set(r.device as string, r.cursor as number);
        return { last: rows[0]!.last as number, cursors };
      },
      () => this.s.dataVersion.get() as number,
    );
    const p = (sql: string): Database.Statement => this.db.prepare(sql);
    this.s = {
      insertUser: p(
        'INSERT INTO users (id, email, pw_hash, pw_salt, pw_params, admin, active, identity_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      getUser: p('SELECT * FROM users WHERE id = ?'),
      listUsers: p('SELECT * FROM users ORDER BY id'),
      // The prefix's own `%`, `_` and `\\` are escaped (likePrefix): a literal prefix match.
      searchUsers: p("SELECT id FROM users WHERE active = 1 AND id LIKE ? ESCAPE '\\' ORDER BY id LIMIT ?"),
      setActive: p('UPDATE users SET active = ? WHERE id = ?'),
      deleteUserSessions: p('DELETE FROM sessions WHERE user_id = ?'),
      setIdentity: p('UPDATE users SET identity_key = ? WHERE id = ? AND identity_key IS NULL'),
      putBackup: p(
        'INSERT INTO identity_backups (user_id, data, updated_at) VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at',
      ),
      getBackup: p('SELECT data FROM identity_backups WHERE user_id = ?'),
      useInvite: p('UPDATE invites SET uses = uses + 1 WHERE code_hash = ? AND uses < max_uses AND expires_at > ?'),
      insertInvite: p('INSERT INTO invites (code_hash, created_by, created_at, expires_at, max_uses, uses) VALUES (?, ?, ?, ?, ?, ?)'),
      listInvites: p('SELECT * FROM invites ORDER BY created_at'),
      deleteInvite: p('DELETE FROM invites WHERE code_hash = ?'),
      listSessions: p('SELECT * FROM sessions WHERE user_id = ? ORDER BY created_at, token_hash'),
      deleteLastResortKp: p('DELETE FROM key_packages WHERE device_id = ? AND last_resort = 1'),
      check: p('SELECT 1 AS ok'),
      insertSession: p('INSERT INTO sessions (token_hash, user_id, device_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)'),
      getSession: p('SELECT * FROM sessions WHERE token_hash = ?'),
      deleteSession: p('DELETE FROM sessions WHERE token_hash = ?'),
      bindSession: p('UPDATE sessions SET device_id = ? WHERE token_hash = ? AND device_id IS NULL'),
      insertDevice: p('INSERT INTO devices (id, user_id, signature_key, cipher_suite, certificate, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
      getDevice: p('SELECT * FROM devices WHERE id = ?'),
      listDevices: p('SELECT * FROM devices WHERE user_id = ? ORDER BY created_at, id'),
      deleteDevice: p('DELETE FROM devices WHERE id = ?'),
      insertKp: p('INSERT INTO key_packages (device_id, last_resort, data) VALUES (?, ?, ?)'),
      firstKp: p('SELECT id, data FROM key_packages WHERE device_id = ? AND last_resort = 0 ORDER BY id LIMIT 1'),
      lastResortKp: p('SELECT id, data FROM key_packages WHERE device_id = ? AND last_resort = 1 ORDER BY id DESC LIMIT 1'),
      deleteKp: p('DELETE FROM key_packages WHERE id = ?'),
      countKp: p('SELECT last_resort, COUNT(*) AS n FROM key_packages WHERE device_id = ? GROUP BY last_resort'),
      insertGroup: p('INSERT INTO groups (id, epoch, group_info, ratchet_tree, created_at) VALUES (?, ?, ?, ?, ?)'),
      getGroup: p(`SELECT *, ${lastSeqOf('g')} AS last FROM groups g WHERE id = ?`),
      insertMember: p('INSERT OR IGNORE INTO members (group_id, device_id, cursor) VALUES (?, ?, ?)'),
      deleteMember: p('DELETE FROM members WHERE group_id = ? AND device_id = ?'),
      isMember: p('SELECT 1 FROM members WHERE group_id = ? AND device_id = ?'),
      listMembers: p('SELECT * FROM members WHERE group_id = ? ORDER BY device_id'),
      groupsOfDevice: p('SELECT * FROM members WHERE device_id = ? ORDER BY group_id'),
      messageAt: p('SELECT * FROM messages WHERE group_id = ? AND seq = ?'),
      recentIds: p(`SELECT seq, id FROM messages WHERE group_id = ? ORDER BY seq DESC LIMIT ${DEDUP_WINDOW}`),
      insertMessage: p('INSERT INTO messages (group_id, seq, id, kind, sender, created_at, data) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      // appendAll's insert at the cached seq (see the header, "The group cache"), gated on the
      // sender's membership row: without it, the group is null and the insert fails. One row
      // per statement, VALUES and no SELECT: a statement that may write several rows (INSERT …
      // SELECT, a multi-row VALUES) and may fail a constraint keeps a statement journal, a copy
      // of each page it writes that the transaction had dirtied already (with 32-row inserts,
      // a sixth of the main thread's time, spilled to a temporary file).
      appendRow: p(`INSERT INTO messages (group_id, seq, id, kind, sender, created_at, data)
          VALUES ((SELECT group_id FROM members WHERE group_id = ? AND device_id = ?), ?, ?, ?, ?, ?, ?)`),
      // A group's cache entry (GroupStates): its last seq, and a row per member (one with a null
      // device if it has none). Never the group's GroupInfo and ratchet tree blobs (kilobytes each).
      groupState: p(`SELECT ${lastSeqOf('g')} AS last, m.device_id AS device, m.cursor AS cursor FROM groups g LEFT JOIN members m ON m.group_id = g.id WHERE g.id = ?`),
      dataVersion: p('PRAGMA data_version').pluck(),
      nextSeq: p(`UPDATE groups SET last_seq = ${lastSeqOf('groups')} + 1 WHERE id = ? RETURNING last_seq`),
      // Before a prune deletes rows of a group: the log's end may go with them.
      raiseLastSeq: p('UPDATE groups SET last_seq = ? WHERE id = ? AND last_seq < ?'),
      setEpoch: p('UPDATE groups SET epoch = ?, group_info = ?, ratchet_tree = COALESCE(?, ratchet_tree) WHERE id = ?'),
      readGroup: p('SELECT * FROM messages WHERE group_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
      // The cursor, already clamped to the group's last seq (ackAll); never moved back.
      setCursor: p('UPDATE members SET cursor = ? WHERE group_id = ? AND device_id = ? AND cursor < ?'),
      nextInboxSeq: p('UPDATE devices SET inbox_seq = inbox_seq + 1 WHERE id = ? RETURNING inbox_seq'),
      insertInbox: p('INSERT INTO inbox (device_id, seq, id, kind, group_id, sender, created_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      readInbox: p('SELECT * FROM inbox WHERE device_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
      inboxCursor: p('SELECT inbox_cursor FROM devices WHERE id = ?'),
      ackInbox: p('UPDATE devices SET inbox_cursor = MIN(?, inbox_seq) WHERE id = ? AND inbox_cursor < ?'),
      pruneGroups: p('SELECT id FROM groups'),
      pruneRange: p('SELECT MIN(seq) AS first, MAX(seq) AS last FROM messages WHERE group_id = ?'),
      // Past retention, or needed by no member but its sender (every other cursor is past it).
      pruneSlice: p(`DELETE FROM messages WHERE group_id = ? AND seq > ? AND seq <= ? AND (created_at < ? OR NOT EXISTS (
          SELECT 1 FROM members m WHERE m.group_id = messages.group_id AND m.device_id <> messages.sender AND m.cursor < messages.seq))`),
      pruneInbox: p('DELETE FROM inbox WHERE created_at < ? OR seq <= (SELECT inbox_cursor FROM devices d WHERE d.id = inbox.device_id)'),
      insertAttachment: p('INSERT INTO attachments (id, group_id, uploader, size, created_at) VALUES (?, ?, ?, ?, ?)'),
      getAttachment: p('SELECT * FROM attachments WHERE id = ?'),
      syncNormal: p('PRAGMA synchronous = NORMAL'),
      syncFull: p('PRAGMA synchronous = FULL'),
    };
  }

  async createUser(user: UserRecord, invite?: { codeHash: Uint8Array; now: number }): Promise<void> {
    this.db.transaction(() => {
      if (invite !== undefined && this.s.useInvite.run(buf(invite.codeHash), invite.now).changes !== 1) {
        throw new StoreConflictError('invalid-invite');
      }
      if (this.s.getUser.get(user.id) !== undefined) throw new StoreConflictError('exists');
      this.s.insertUser.run(
        user.id,
        user.email,
        buf(user.password.hash),
        buf(user.password.salt),
        JSON.stringify(user.password.params),
        user.admin ? 1 : 0,
        user.active ? 1 : 0,
        user.identityKey === null ? null : buf(user.identityKey),
        user.createdAt,
      );
    }).immediate();
  }

  async getUser(id: string): Promise<UserRecord | null> {
    const r = this.s.getUser.get(id) as Row | undefined;
    return r === undefined ? null : userFrom(r);
  }

  async listUsers(): Promise<UserRecord[]> {
    return (this.s.listUsers.all() as Row[]).map(userFrom);
  }

  async searchUsers(prefix: string, limit: number): Promise<string[]> {
    const rows = this.s.searchUsers.all(likePrefix(prefix), Math.max(0, limit)) as { id: string }[];
    // SQLite's LIKE ignores ASCII case; ids are lower case (USERNAME_PATTERN), and the route
    // takes a lower-case prefix, so this filter only keeps the store's contract exact.
    return rows.map((r) => r.id).filter((id) => id.startsWith(prefix));
  }

  async setUserActive(id: string, active: boolean): Promise<boolean> {
    return this.db.transaction(() => {
      const changed = this.s.setActive.run(active ? 1 : 0, id).changes === 1;
      if (changed && !active) this.s.deleteUserSessions.run(id);
      return changed;
    }).immediate();
  }

  async setIdentityKey(userId: string, key: Uint8Array): Promise<boolean> {
    return this.s.setIdentity.run(buf(key), userId).changes === 1;
  }

  async putIdentityBackup(userId: string, backup: Uint8Array, now: number): Promise<void> {
    this.s.putBackup.run(userId, buf(backup), now);
  }

  async getIdentityBackup(userId: string): Promise<Uint8Array | null> {
    const r = this.s.getBackup.get(userId) as Row | undefined;
    return r === undefined ? null : u8(r.data);
  }

  async createInvite(i: InviteRecord): Promise<void> {
    this.s.insertInvite.run(buf(i.codeHash), i.createdBy, i.createdAt, i.expiresAt, i.maxUses, i.uses);
  }

  async listInvites(): Promise<InviteRecord[]> {
    return (this.s.listInvites.all() as Row[]).map((r) => ({
      codeHash: u8(r.code_hash),
      createdBy: r.created_by as string,
      createdAt: r.created_at as number,
      expiresAt: r.expires_at as number,
      maxUses: r.max_uses as number,
      uses: r.uses as number,
    }));
  }

  async deleteInvite(codeHash: Uint8Array): Promise<boolean> {
    return this.s.deleteInvite.run(buf(codeHash)).changes === 1;
  }

  async listSessions(userId: string): Promise<SessionRecord[]> {
    return (this.s.listSessions.all(userId) as Row[]).map(sessionFrom);
  }

  async createSession(x: SessionRecord): Promise<void> {
    this.s.insertSession.run(buf(x.tokenHash), x.userId, x.deviceId, x.createdAt, x.expiresAt);
  }

  async getSession(tokenHash: Uint8Array): Promise<SessionRecord | null> {
    const r = this.s.getSession.get(buf(tokenHash)) as Row | undefined;
    return r === undefined ? null : sessionFrom(r);
  }

  async deleteSession(tokenHash: Uint8Array): Promise<void> {
    this.s.deleteSession.run(buf(tokenHash));
  }

  async addDevice(d: DeviceRecord, sessionTokenHash: Uint8Array): Promise<void> {
    this.db.transaction(() => {
      if (this.s.getDevice.get(d.id) !== undefined) throw new StoreConflictError('exists');
      this.s.insertDevice.run(d.id, d.userId, buf(d.signatureKey), d.cipherSuite, buf(d.certificate), d.createdAt);
      this.s.bindSession.run(d.id, buf(sessionTokenHash));
    }).immediate();
  }

  async getDevice(id: string): Promise<DeviceRecord | null> {
    const r = this.s.getDevice.get(id) as Row | undefined;
    return r === undefined ? null : deviceFrom(r);
  }

  async listDevices(userId: string): Promise<DeviceRecord[]> {
    return (this.s.listDevices.all(userId) as Row[]).map(deviceFrom);
  }

  async removeDevice(
    id: string,
    notice: (groupId: string) => NewGroupMessage,
    inboxNotice: NewInboxMessage,
  ): Promise<{ groups: StoredMessage[]; inbox: { deviceId: string; message: StoredMessage }[] } | null> {
    // Its groups lose a member and gain a notice: the group cache forgets them (all, simply).
    this.states.clear();
    return this.db.transaction(() => {
      const dev = this.s.getDevice.get(id) as Row | undefined;
      if (dev === undefined) return null;
      const groups = (this.s.groupsOfDevice.all(id) as Row[]).map((r) => r.group_id as string);
      // Cascades: sessions, key packages, inbox, member cursors.
      this.s.deleteDevice.run(id);
      const groupNotices = groups.map((g) => this.appendOne(notice(g), 'notice'));
      const others = (this.s.listDevices.all(dev.user_id) as Row[]).map((r) => r.id as string);
      const inbox = others.map((deviceId) => ({ deviceId, message: this.inboxOne(deviceId, inboxNotice) }));
      return { groups: groupNotices, inbox };
    }).immediate();
  }

  async addKeyPackages(deviceId: string, packages: readonly { data: Uint8Array; lastResort: boolean }[], maxRegular = Infinity): Promise<KeyPackageCount | null> {
    // Immediate: the write lock is taken before the count, so no other writer (another
    // process on the same file included) can insert between the count and the insert.
    return this.db.transaction(() => {
      const regular = packages.filter((k) => !k.lastResort).length;
      if (this.kpCount(deviceId).regular + regular > maxRegular) return null;
      if (packages.some((k) => k.lastResort)) this.s.deleteLastResortKp.run(deviceId);
      for (const k of packages) this.s.insertKp.run(deviceId, k.lastResort ? 1 : 0, buf(k.data));
      return this.kpCount(deviceId);
    }).immediate();
  }

  async claimKeyPackages(userId: string): Promise<ClaimedKeyPackageRecord[]> {
    return this.db.transaction(() => {
      const out: ClaimedKeyPackageRecord[] = [];
      for (const d of this.s.listDevices.all(userId) as Row[]) {
        const deviceId = d.id as string;
        const regular = this.s.firstKp.get(deviceId) as Row | undefined;
        if (regular !== undefined) {
          this.s.deleteKp.run(regular.id);
          out.push({ deviceId, data: u8(regular.data), lastResort: false });
          continue;
        }
        const last = this.s.lastResortKp.get(deviceId) as Row | undefined;
        if (last !== undefined) out.push({ deviceId, data: u8(last.data), lastResort: true });
      }
      return out;
    }).immediate();
  }

  async countKeyPackages(deviceId: string): Promise<KeyPackageCount> {
    return this.kpCount(deviceId);
  }

  private kpCount(deviceId: string): KeyPackageCount {
    let regular = 0;
    let lastResort = 0;
    for (const r of this.s.countKp.all(deviceId) as Row[]) {
      if (r.last_resort === 1) lastResort = r.n as number;
      else regular = r.n as number;
    }
    return { regular, lastResort };
  }

  async createGroup(g: Omit<GroupRecord, 'lastSeq'>, creatorDevice: string): Promise<void> {
    this.states.drop(g.id);
    this.db.transaction(() => {
      if (this.s.getGroup.get(g.id) !== undefined) throw new StoreConflictError('exists');
      this.s.insertGroup.run(g.id, g.epoch, buf(g.groupInfo), g.ratchetTree === null ? null : buf(g.ratchetTree), g.createdAt);
      this.s.insertMember.run(g.id, creatorDevice, 0);
    }).immediate();
  }

  async getGroup(id: string): Promise<GroupRecord | null> {
    const r = this.s.getGroup.get(id) as Row | undefined;
    if (r === undefined) return null;
    return {
      id: r.id as string,
      epoch: r.epoch as number,
      groupInfo: u8(r.group_info),
      ratchetTree: r.ratchet_tree === null ? null : u8(r.ratchet_tree),
      createdAt: r.created_at as number,
      lastSeq: r.last as number,
    };
  }

  async listMembers(groupId: string): Promise<MemberCursor[]> {
    return (this.s.listMembers.all(groupId) as Row[]).map(memberFrom);
  }

  async groupsOfDevice(deviceId: string): Promise<MemberCursor[]> {
    return (this.s.groupsOfDevice.all(deviceId) as Row[]).map(memberFrom);
  }

  /** Inside a transaction: appends one message at the group's next seq. */
  private appendOne(m: NewGroupMessage, kind: MessageKind): StoredMessage {
    const g = this.s.nextSeq.get(m.groupId) as Row | undefined;
    if (g === undefined) throw new Error('unknown group (bug: checked by caller)');
    const seq = g.last_seq as number;
    this.s.insertMessage.run(m.groupId, seq, buf(m.id), MESSAGE_KINDS[kind], m.sender, m.createdAt, buf(m.data));
    return { seq, id: m.id, kind, groupId: m.groupId, sender: m.sender, createdAt: m.createdAt, data: m.data };
  }

  private inboxOne(deviceId: string, m: NewInboxMessage): StoredMessage {
    const r = this.s.nextInboxSeq.get(deviceId) as Row;
    const seq = r.inbox_seq as number;
    this.s.insertInbox.run(deviceId, seq, buf(m.id), MESSAGE_KINDS[m.kind], m.groupId, m.sender, m.createdAt, buf(m.data));
    return { seq, id: m.id, kind: m.kind, groupId: m.groupId, sender: m.sender, createdAt: m.createdAt, data: m.data };
  }

  async appendMessages(messages: readonly NewGroupMessage[]): Promise<AppendResult[]> {
    return this.cached(() => this.inTx.immediate(() => this.appendAll(messages)) as AppendResult[]);
  }

  async appendMessagesCommitted(messages: readonly NewGroupMessage[]): Promise<{ results: AppendResult[]; durable: Promise<void> }> {
    const wal = this.wal;
    // Without deferred syncs, or when no commit syncs anyway (synchronous=NORMAL), the commit is all there is.
    if (wal === undefined || this.synchronous === 'normal') return { results: await this.appendMessages(messages), durable: Promise.resolve() };
    // The bound the unclean-start rule relies on: wait for syncs in flight rather than pass it.
    while (wal.unsynced > 0 && wal.unsynced + messages.length > UNSYNCED_MAX) await wal.settled();
    if (messages.length > UNSYNCED_MAX) return { results: await this.appendMessages(messages), durable: Promise.resolve() };
    const results = this.cached(() => this.relaxed(() => this.appendAll(messages)));
    // Every message counts, duplicates too: the row a duplicate points at may be unsynced yet,
    // and the sync that follows this commit covers it as well.
    return { results, durable: wal.after(messages.length) };
  }

  /**
   * Runs a transaction that reads and updates the group cache: if it fails, its writes are
   * rolled back, so the cache forgets everything.
   */
  private cached<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      this.states.clear();
      throw e;
    }
  }

  /** Inside a transaction: the appends of appendMessages. */
  private appendAll(messages: readonly NewGroupMessage[]): AppendResult[] {
    this.states.sync();
    const kind = MESSAGE_KINDS.application;
    return messages.map((m): AppendResult => {
      // The common case is one statement, the insert at the cached last seq + 1, after the
      // in-memory checks of membership and of a retry.
      const state = this.states.of(m.groupId);
      if (state === undefined) return { ok: false, reason: 'unknown-group' };
      if (!state.cursors.has(m.sender)) return { ok: false, reason: 'not-a-member' };
      const recent = this.recent.of(m.groupId);
      const key = RecentIds.key(m.id);
      const candidate = recent.get(key);
      if (candidate !== undefined) {
        const dup = this.s.messageAt.get(m.groupId, candidate) as Row | undefined;
        if (dup !== undefined && buf(m.id).equals(dup.id as Buffer)) {
          const message = messageFrom(dup);
          return { ok: true, seq: message.seq, duplicate: true, message };
        }
      }
      const seq = state.last + 1;
      // A cache that disagreed with the database would fail here (membership, or the unique
      // seq index), never store a removed member's message or reuse a seq.
      this.s.appendRow.run(m.groupId, m.sender, seq, buf(m.id), kind, m.sender, m.createdAt, buf(m.data));
      state.last = seq;
      RecentIds.add(recent, key, seq);
      const message: StoredMessage = { seq, id: m.id, kind: 'application', groupId: m.groupId, sender: m.sender, createdAt: m.createdAt, data: m.data };
      return { ok: true, seq, duplicate: false, message };
    });
  }

  /**
   * The unclean-start rule (see the header), at open: if the database is still marked open,
   * advances every group's last seq by UNSYNCED_MAX (and writes it: the log's end moves
   * on only when the next message comes); then marks it open, with an fsync
   * (synchronous=FULL), which also makes the `-wal` file's directory entry durable. Returns
   * the number of groups advanced.
   */
  private markOpen(): number {
    return this.db.transaction(() => {
      const r = this.db.prepare("SELECT value FROM server_state WHERE key = 'shutdown'").get() as Row | undefined;
      const advanced = r?.value === 'open' ? this.db.prepare(`UPDATE groups SET last_seq = ${lastSeqOf('groups')} + ?`).run(UNSYNCED_MAX).changes : 0;
      this.db.prepare("INSERT INTO server_state (key, value) VALUES ('shutdown', 'open') ON CONFLICT (key) DO UPDATE SET value = excluded.value").run();
      return advanced;
    }).immediate();
  }

  async applyCommit(c: CommitApplication): Promise<CommitResult> {
    // The commit takes a seq and may change the members: the group cache reloads the group.
    this.states.drop(c.groupId);
    return this.db.transaction((): CommitResult => {
      const g = this.s.getGroup.get(c.groupId) as Row | undefined;
      if (g === undefined) return { ok: false, reason: 'unknown-group' };
      if (c.external !== true && this.s.isMember.get(c.groupId, c.message.sender) === undefined) return { ok: false, reason: 'not-a-member' };
      if (g.epoch !== c.fromEpoch) return { ok: false, reason: 'stale-epoch', currentEpoch: g.epoch as number };
      for (const d of c.addDevices) if (this.s.getDevice.get(d) === undefined) return { ok: false, reason: 'unknown-device' };
      const message = this.appendOne(c.message, 'commit');
      this.s.setEpoch.run(c.toEpoch, buf(c.groupInfo), c.ratchetTree === null ? null : buf(c.ratchetTree), c.groupId);
      const inbox: { deviceId: string; message: StoredMessage }[] = [];
      for (const d of c.removeDevices) {
        if (this.s.deleteMember.run(c.groupId, d).changes === 1) {
          // A removed device learns of its removal from its inbox: it is no longer in the log's fan-out.
          inbox.push({ deviceId: d, message: this.inboxOne(d, { ...c.message, kind: 'commit' }) });
        }
      }
      for (const d of c.addDevices) {
        // A new member starts after the commit that added it: it joins from the Welcome.
        this.s.insertMember.run(c.groupId, d, message.seq);
        if (c.welcome !== null) inbox.push({ deviceId: d, message: this.inboxOne(d, c.welcome) });
      }
      return { ok: true, message, inbox };
    }).immediate();
  }

  async readGroup(groupId: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    return (this.s.readGroup.all(groupId, afterSeq, limit) as Row[]).map(messageFrom);
  }

  async ackGroup(deviceId: string, groupId: string, seq: number): Promise<void> {
    this.cached(() => {
      this.inTx.immediate(() => {
        this.ackAll([{ deviceId, groupId, seq }]);
      });
    });
  }

  async ackBatch(acks: readonly { deviceId: string; groupId: string; seq: number }[]): Promise<void> {
    // Cursor moves need no fsync of their own: one lost in a power cut means a redelivery,
    // which clients de-duplicate, and the next message commit (synchronous=FULL) syncs the
    // WAL with these frames in it. An fsync here would block the event loop for nothing.
    this.cached(() => {
      this.relaxed(() => {
        this.ackAll(acks);
      });
    });
  }

  /**
   * Inside a transaction: moves each member's cursor to its ack, at most to the group's last
   * seq, and never back. An ack that would not move it (a repeat, an older one) writes
   * nothing, nor one of a device that is not a member.
   */
  private ackAll(acks: readonly { deviceId: string; groupId: string; seq: number }[]): void {
    this.states.sync();
    for (const a of acks) {
      const state = this.states.of(a.groupId);
      const cursor = state?.cursors.get(a.deviceId);
      if (state === undefined || cursor === undefined) continue;
      const seq = Math.min(a.seq, state.last);
      if (!(seq > cursor)) continue;
      this.s.setCursor.run(seq, a.groupId, a.deviceId, seq);
      state.cursors.set(a.deviceId, seq);
    }
  }

  async readInbox(deviceId: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    return (this.s.readInbox.all(deviceId, afterSeq, limit) as Row[]).map(messageFrom);
  }

  async inboxCursor(deviceId: string): Promise<number> {
    const r = this.s.inboxCursor.get(deviceId) as Row | undefined;
    return r === undefined ? 0 : (r.inbox_cursor as number);
  }

  async ackInbox(deviceId: string, seq: number): Promise<void> {
    this.s.ackInbox.run(seq, deviceId, seq);
  }

  async prune(olderThan: number): Promise<number> {
    // In slices of at most PRUNE_SLICE sequence numbers of one group, each its own short
    // transaction, yielding to the event loop between them: one statement over the whole log
    // held the event loop for a second per 200,000 messages, in the middle of live traffic.
    // Deletions need no fsync of their own (a row that came back after a power cut is
    // acknowledged already or past retention, and goes at the next prune). Retention and
    // acknowledgement are one walk of each group's log in seq order, by its primary key (no
    // index on created_at: it cost every append a WAL page). The walk stops at the log's
    // end as it was when the group's walk began (rows appended since are left for the next
    // prune), and a slice that deletes anything also raises the group's stored last seq to
    // that end, in the same transaction, so deleting the log's end never lowers the next
    // seq. A slice that deletes nothing writes nothing: most groups, most of the time.
    let n = 0;
    for (const g of this.s.pruneGroups.all() as Row[]) {
      const id = g.id as string;
      const range = this.s.pruneRange.get(id) as Row;
      if (range.first === null) continue;
      const last = range.last as number;
      for (let from = (range.first as number) - 1; from < last; from += PRUNE_SLICE) {
        const to = Math.min(from + PRUNE_SLICE, last);
        n += this.relaxed(() => {
          const deleted = this.s.pruneSlice.run(id, from, to, olderThan).changes;
          if (deleted > 0) this.s.raiseLastSeq.run(last, id, last);
          return deleted;
        });
        await yieldToEventLoop();
      }
    }
    n += this.relaxed(() => this.s.pruneInbox.run(olderThan).changes);
    return n;
  }

  /**
   * One transaction without an fsync of its own (for writes whose loss is harmless, or
   * synced behind). Every write transaction here is IMMEDIATE: the checkpointer writes too
   * (it restarts the WAL), and a deferred transaction that read before another connection
   * committed could only fail (SQLITE_BUSY_SNAPSHOT) where an immediate one waits.
   */
  private relaxed<T>(f: () => T): T {
    const full = this.synchronous === 'full';
    if (full) this.s.syncNormal.run();
    try {
      return this.inTx.immediate(f) as T;
    } finally {
      if (full) this.s.syncFull.run();
    }
  }

  async addAttachment(a: AttachmentRecord): Promise<void> {
    this.s.insertAttachment.run(a.id, a.groupId, a.uploader, a.size, a.createdAt);
  }

  async getAttachment(id: string): Promise<AttachmentRecord | null> {
    const r = this.s.getAttachment.get(id) as Row | undefined;
    if (r === undefined) return null;
    return { id: r.id as string, groupId: r.group_id as string, uploader: r.uploader as string, size: r.size as number, createdAt: r.created_at as number };
  }

  // Attachment deletion, quota and expiry (AttachmentAdmin in http/attachments.ts): not in
  // the Store interface, which another change owns; prepared lazily to stay out of its way.
  private attachmentSql?: { del: Database.Statement; bytes: Database.Statement; expired: Database.Statement };

  private get att(): { del: Database.Statement; bytes: Database.Statement; expired: Database.Statement } {
    return (this.attachmentSql ??= {
      del: this.db.prepare('DELETE FROM attachments WHERE id = ?'),
      bytes: this.db.prepare('SELECT COALESCE(SUM(size), 0) AS n FROM attachments WHERE uploader IN (SELECT value FROM json_each(?))'),
      expired: this.db.prepare('SELECT * FROM attachments WHERE created_at < ? LIMIT ?'),
    });
  }

  async deleteAttachment(id: string): Promise<boolean> {
    return this.att.del.run(id).changes === 1;
  }

  async attachmentBytes(uploaders: readonly string[]): Promise<number> {
    if (uploaders.length === 0) return 0;
    return (this.att.bytes.get(JSON.stringify(uploaders)) as { n: number }).n;
  }

  async expiredAttachments(olderThan: number, limit: number): Promise<AttachmentRecord[]> {
    return (this.att.expired.all(olderThan, limit) as Row[]).map((r) => ({
      id: r.id as string,
      groupId: r.group_id as string,
      uploader: r.uploader as string,
      size: r.size as number,
      createdAt: r.created_at as number,
    }));
  }

  async check(): Promise<void> {
    if ((this.s.check.get() as Row | undefined)?.ok !== 1) throw new Error('database check failed');
  }

  async externalVersion(): Promise<number> {
    // SQLite's data_version moves when another connection commits, never for our own writes.
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  async close(): Promise<void> {
    const w = this.checkpointer;
    if (w !== undefined) {
      this.checkpointer = undefined;
      const exited = new Promise<void>((resolve) => w.once('exit', () => { resolve(); }));
      w.postMessage('close');
      const timer = setTimeout(() => void w.terminate(), 2000);
      await exited;
      clearTimeout(timer);
    }
    const wal = this.wal;
    if (wal !== undefined) {
      this.wal = undefined;
      await wal.close();
      // The marker's commit is synchronous=FULL: it syncs the WAL with everything before it.
      if (this.db.open) this.db.prepare("UPDATE server_state SET value = 'clean' WHERE key = 'shutdown'").run();
    }
    if (this.db.open) this.db.close();
  }
}

/**
 * fdatasync of the `-wal` file behind deferred commits, on libuv's thread pool: one sync at
 * a time; the commits made while one runs share the next. fdatasync of any descriptor of
 * the file flushes what SQLite wrote through its own (the page cache is per file), and is
 * the call SQLite makes itself on Linux. The WAL is reset by overwriting it in place (same
 * file): a checkpoint first syncs the WAL, copies it into the database and syncs that, so
 * frames overwritten after a reset are already durable in the database.
 */
class WalSync {
  private fd: number | undefined;
  private running = false;
  /** Commits waiting for the next sync, and how many messages they hold. */
  private waiting: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private waitingCount = 0;
  /** Messages committed whose sync has not completed. */
  unsynced = 0;
  private last: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.fd = openSync(path, 'r');
    try {
      // The file's directory entry (SQLite syncs it too, at its first sync of a new WAL).
      const dir = openSync(dirname(path), 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    } catch {
      // a platform that cannot sync a directory: the marker's FULL commit at open did
    }
  }

  /** Resolves after a sync that started after this call, which covers `n` messages just committed. */
  after(n: number): Promise<void> {
    this.unsynced += n;
    this.waitingCount += n;
    const p = new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
    });
    this.last = p.catch(() => undefined);
    if (!this.running) this.start();
    return p;
  }

  /** Resolves once every commit so far has been synced (or has failed to). */
  settled(): Promise<void> {
    return this.last;
  }

  private start(): void {
    const fd = this.fd;
    const batch = this.waiting;
    const n = this.waitingCount;
    this.waiting = [];
    this.waitingCount = 0;
    if (fd === undefined) {
      for (const w of batch) w.reject(new Error('store closed'));
      return;
    }
    this.running = true;
    fdatasync(fd, (err) => {
      this.running = false;
      this.unsynced -= n;
      for (const w of batch) {
        if (err === null) w.resolve();
        else w.reject(err);
      }
      if (this.waiting.length > 0) this.start();
    });
  }

  async close(): Promise<void> {
    await this.last;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

function sessionFrom(r: Row): SessionRecord {
  return {
    tokenHash: u8(r.token_hash),
    userId: r.user_id as string,
    deviceId: r.device_id as string | null,
    createdAt: r.created_at as number,
    expiresAt: r.expires_at as number,
  };
}

function memberFrom(r: Row): MemberCursor {
  return { groupId: r.group_id as string, deviceId: r.device_id as string, cursor: r.cursor as number };
}

/** Applies every migration newer than the database's version, each in its own transaction. */
export function migrate(db: Database.Database): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  const current = row.v ?? 0;
  let applied = 0;
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
    })();
    applied++;
  }
  return applied;
}

/** A LIKE pattern matching ids that start with `prefix` literally (`\\`, `%` and `_` escaped). */
export function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
