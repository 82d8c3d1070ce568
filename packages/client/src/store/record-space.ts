// The one implementation of ClientStore's semantics (batch order, first-write-wins
// messages, receipt merging, sender sequence numbers, rollback on failure), written once
// over a small synchronous key-value "record space". A backend (a Map, a SQLite file
// that encrypts every value) supplies the space and a transaction around it; this file
// never sees how bytes are kept. Synchronous on purpose: a better-sqlite3 transaction
// must not await, and a Map overlay commits in one tick.

import { ClientUsageError, StoreError } from '../errors.js';
import { SecretBytes } from '../util/secret.js';
import type {
  AccountRecord,
  ClientStore,
  ContactRecord,
  ConversationRecord,
  GroupId,
  GroupStateRecord,
  IdentityRecord,
  ListMessagesOptions,
  MessageRecord,
  MessageStatus,
  MessageSummary,
  MessageUpdate,
  PendingOutgoing,
  Receipt,
  SenderRef,
  StoredMessage,
  UserId,
  WriteBatch,
} from './client-store.js';
import { decodeGroupState, decodeRecord, encodeGroupState, encodeRecord } from './codec.js';

/** Key-value namespaces. Keys are strings; values are encoded records. */
export type Namespace = 'account' | 'identity' | 'group-state' | 'group-id' | 'conversation' | 'cursor' | 'pending' | 'contact' | 'sender-seq' | 'message-summary';

export interface StoredBytes {
  readonly order: number;
  readonly value: Uint8Array;
}

/** What a backend offers inside a transaction (or a read). Values are plain (unencrypted) bytes. */
export interface RecordSpace {
  get(ns: Namespace, key: string): Uint8Array | undefined;
  put(ns: Namespace, key: string, value: Uint8Array): void;
  delete(ns: Namespace, key: string): void;
  /** Every value of the namespace, in no particular order. */
  values(ns: Namespace): Uint8Array[];
  messageGet(groupId: GroupId, messageId: string): StoredBytes | undefined;
  /** Stores a new message and returns its order (larger than every order before it). */
  messageInsert(groupId: GroupId, messageId: string, value: Uint8Array): number;
  messageReplace(groupId: GroupId, messageId: string, order: number, value: Uint8Array): void;
  /** Ascending order; see ListMessagesOptions (limit already validated). */
  messageList(groupId: GroupId, options: ListMessagesOptions): StoredBytes[];
}

export interface RecordSpaceBackend {
  /** Runs `fn` so that every write it made is kept, or (if it throws) none is. Durable on return. */
  write(fn: (space: RecordSpace) => void): void;
  read<T>(fn: (space: RecordSpace) => T): T;
  close(): void;
}

const SINGLETON = '';
const STATUSES: ReadonlySet<MessageStatus> = new Set(['pending', 'sent', 'delivered', 'read', 'received', 'failed']);

// ---- boundary checks: bad input is a UsageError before anything is written ----------

function usage(what: string): ClientUsageError {
  return new ClientUsageError('invalid-record', `invalid store record: ${what}`);
}
function checkId(v: unknown, what: string): void {
  // NUL separates the parts of composite keys, so it may not occur inside an id.
  if (typeof v !== 'string' || v.length === 0 || v.includes('\u0000')) throw usage(`${what} must be a non-empty string without NUL`);
}
function checkTime(v: unknown, what: string): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw usage(`${what} must be a time in ms`);
}
function checkBytes(v: unknown, what: string): void {
  if (!(v instanceof Uint8Array)) throw usage(`${what} must be bytes`);
}
function checkSecret(v: unknown, what: string): void {
  if (!(v instanceof SecretBytes)) throw usage(`${what} must be SecretBytes`);
}
function checkReceipt(r: Receipt): void {
  checkId(r.userId, 'receipt.userId');
  checkId(r.deviceId, 'receipt.deviceId');
  if (r.state !== 'delivered' && r.state !== 'read') throw usage('receipt.state');
  checkTime(r.at, 'receipt.at');
}
function checkMessage(m: MessageRecord): void {
  checkId(m.groupId, 'message.groupId');
  checkId(m.messageId, 'message.messageId');
  checkId(m.sender.userId, 'message.sender.userId');
  checkId(m.sender.deviceId, 'message.sender.deviceId');
  if (!Number.isSafeInteger(m.senderSeq) || m.senderSeq < 0) throw usage('message.senderSeq must be a non-negative integer');
  checkTime(m.sentAt, 'message.sentAt');
  checkTime(m.receivedAt, 'message.receivedAt');
  if (!STATUSES.has(m.status)) throw usage('message.status');
  if (m.body.type === 'text') {
    if (typeof m.body.text !== 'string') throw usage('message.body.text');
  } else if (m.body.type === 'event') {
    checkId(m.body.event, 'message.body.event');
  } else {
    throw usage('message.body.type');
  }
  m.receipts.forEach(checkReceipt);
}

function checkBatch(b: WriteBatch): void {
  if (b.account !== undefined) {
    checkId(b.account.userId, 'account.userId');
    checkId(b.account.deviceId, 'account.deviceId');
    if (typeof b.account.serverUrl !== 'string') throw usage('account.serverUrl');
    checkTime(b.account.createdAt, 'account.createdAt');
  }
  if (b.identity !== undefined) {
    checkBytes(b.identity.identityPublicKey, 'identity.identityPublicKey');
    checkSecret(b.identity.identityPrivateKey, 'identity.identityPrivateKey');
    checkBytes(b.identity.deviceSignaturePublicKey, 'identity.deviceSignaturePublicKey');
    checkSecret(b.identity.deviceSignaturePrivateKey, 'identity.deviceSignaturePrivateKey');
    checkBytes(b.identity.deviceCertificate, 'identity.deviceCertificate');
    if (!Number.isInteger(b.identity.cipherSuite)) throw usage('identity.cipherSuite');
  }
  for (const g of b.groupStates ?? []) {
    checkId(g.groupId, 'groupState.groupId');
    if (typeof g.epoch !== 'bigint' || g.epoch < 0n || g.epoch >= 1n << 64n) throw usage('groupState.epoch must be a uint64 bigint');
    checkBytes(g.state, 'groupState.state');
  }
  for (const id of b.deleteGroupStates ?? []) checkId(id, 'deleteGroupStates[]');
  for (const c of b.conversations ?? []) {
    checkId(c.groupId, 'conversation.groupId');
    if (c.kind !== 'direct' && c.kind !== 'group') throw usage('conversation.kind');
    checkTime(c.createdAt, 'conversation.createdAt');
    if (c.closedAt !== undefined) checkTime(c.closedAt, 'conversation.closedAt');
  }
  (b.messages ?? []).forEach(checkMessage);
  for (const u of b.messageUpdates ?? []) {
    checkId(u.groupId, 'messageUpdate.groupId');
    checkId(u.messageId, 'messageUpdate.messageId');
    if (u.status !== undefined && !STATUSES.has(u.status)) throw usage('messageUpdate.status');
    u.receipts?.forEach(checkReceipt);
  }
  for (const [name, value] of Object.entries(b.cursors ?? {})) {
    checkId(name, 'cursor name');
    if (typeof value !== 'string') throw usage('cursor value must be a string');
  }
  for (const p of b.pendingPut ?? []) {
    checkId(p.id, 'pending.id');
    checkId(p.groupId, 'pending.groupId');
    checkTime(p.createdAt, 'pending.createdAt');
    checkBytes(p.payload, 'pending.payload');
  }
  for (const id of b.pendingDelete ?? []) checkId(id, 'pendingDelete[]');
  for (const c of b.contacts ?? []) {
    checkId(c.userId, 'contact.userId');
    checkBytes(c.identityKey, 'contact.identityKey');
    if (typeof c.verified !== 'boolean') throw usage('contact.verified');
    checkTime(c.firstSeenAt, 'contact.firstSeenAt');
    if (c.keyChangedAt !== undefined) checkTime(c.keyChangedAt, 'contact.keyChangedAt');
    if (c.wasVerified !== undefined && typeof c.wasVerified !== 'boolean') throw usage('contact.wasVerified');
    if (c.pinnedIdentityKey !== undefined) checkBytes(c.pinnedIdentityKey, 'contact.pinnedIdentityKey');
  }
}

// ---- the semantics ------------------------------------------------------------------

const senderKey = (groupId: GroupId, s: SenderRef): string => `${groupId}\u0000${s.userId}\u0000${s.deviceId}`;

function mergeReceipts(old: readonly Receipt[], add: readonly Receipt[]): Receipt[] {
  const byDevice = new Map<string, Receipt>();
  for (const r of [...old, ...add]) {
    const k = `${r.userId}\u0000${r.deviceId}`;
    const prev = byDevice.get(k);
    // `read` implies `delivered`: never go back; within a state keep the first time.
    if (prev === undefined || (prev.state === 'delivered' && r.state === 'read')) byDevice.set(k, { userId: r.userId, deviceId: r.deviceId, state: r.state, at: r.at });
  }
  return [...byDevice.values()];
}

function applyUpdate(space: RecordSpace, u: MessageUpdate): void {
  const found = space.messageGet(u.groupId, u.messageId);
  if (found === undefined) throw new StoreError('not-found', 'a message update names a message that is not stored');
  const m = decodeRecord(found.value) as MessageRecord;
  const next: MessageRecord = {
    ...m,
    status: u.status ?? m.status,
    receipts: u.receipts === undefined ? m.receipts : mergeReceipts(m.receipts, u.receipts),
  };
  space.messageReplace(u.groupId, u.messageId, found.order, encodeRecord(next));
}

type Ordering = -1 | 0 | 1;
const byNumber = (a: number, b: number): Ordering => (a < b ? -1 : a > b ? 1 : 0);
const byString = (a: string, b: string): Ordering => (a < b ? -1 : a > b ? 1 : 0);
const thenBy = (first: Ordering, second: Ordering): Ordering => (first !== 0 ? first : second);

/** A conversation's summary as stored, or (a profile written before summaries) counted from its history. */
function summaryOf(space: RecordSpace, groupId: GroupId): MessageSummary {
  const stored = space.get('message-summary', groupId);
  if (stored !== undefined) return decodeRecord(stored) as MessageSummary;
  const senders = new Map<UserId, number>();
  let count = 0;
  let lastOrder = 0;
  for (const s of space.messageList(groupId, {})) {
    const m = decodeRecord(s.value) as MessageRecord;
    senders.set(m.sender.userId, (senders.get(m.sender.userId) ?? 0) + 1);
    count++;
    lastOrder = s.order;
  }
  return { count, lastOrder, senders: [...senders].sort(([a], [b]) => byString(a, b)).map(([userId, n]) => ({ userId, count: n })) };
}

function counted(summary: MessageSummary, userId: UserId, order: number): MessageSummary {
  const senders = new Map(summary.senders.map((s) => [s.userId, s.count]));
  senders.set(userId, (senders.get(userId) ?? 0) + 1);
  return {
    count: summary.count + 1,
    lastOrder: order,
    senders: [...senders].sort(([a], [b]) => byString(a, b)).map(([u, n]) => ({ userId: u, count: n })),
  };
}

function applyBatch(space: RecordSpace, b: WriteBatch): void {
  if (b.account !== undefined) space.put('account', SINGLETON, encodeRecord(b.account));
  if (b.identity !== undefined) space.put('identity', SINGLETON, encodeRecord(b.identity));
  for (const g of b.groupStates ?? []) {
    // A small index beside the (possibly large) state, so listing groups decrypts no state.
    if (space.get('group-id', g.groupId) === undefined) space.put('group-id', g.groupId, encodeRecord({ groupId: g.groupId }));
    space.put('group-state', g.groupId, encodeGroupState(g));
  }
  for (const id of b.deleteGroupStates ?? []) {
    space.delete('group-state', id);
    space.delete('group-id', id);
  }
  for (const c of b.conversations ?? []) space.put('conversation', c.groupId, encodeRecord(c));
  const summaries = new Map<GroupId, MessageSummary>();
  for (const m of b.messages ?? []) {
    if (space.messageGet(m.groupId, m.messageId) !== undefined) continue;
    // Read before the first insert of the batch (a history without a summary is counted once).
    const summary = summaries.get(m.groupId) ?? summaryOf(space, m.groupId);
    const order = space.messageInsert(m.groupId, m.messageId, encodeRecord(m));
    summaries.set(m.groupId, counted(summary, m.sender.userId, order));
    const key = senderKey(m.groupId, m.sender);
    const prev = space.get('sender-seq', key);
    const prevSeq = prev === undefined ? -1 : (decodeRecord(prev) as { seq: number }).seq;
    if (m.senderSeq > prevSeq) space.put('sender-seq', key, encodeRecord({ seq: m.senderSeq }));
  }
  for (const [groupId, summary] of summaries) space.put('message-summary', groupId, encodeRecord(summary));
  for (const u of b.messageUpdates ?? []) applyUpdate(space, u);
  for (const [name, value] of Object.entries(b.cursors ?? {})) space.put('cursor', name, encodeRecord({ value }));
  for (const p of b.pendingPut ?? []) space.put('pending', p.id, encodeRecord(p));
  for (const id of b.pendingDelete ?? []) space.delete('pending', id);
  for (const c of b.contacts ?? []) space.put('contact', c.userId, encodeRecord(c));
}

function toStored(s: StoredBytes): StoredMessage {
  return { ...(decodeRecord(s.value) as MessageRecord), order: s.order };
}

/** ClientStore over any RecordSpaceBackend. */
export class RecordSpaceStore implements ClientStore {
  #backend: RecordSpaceBackend | undefined;

  constructor(backend: RecordSpaceBackend) {
    this.#backend = backend;
  }

  #open(): RecordSpaceBackend {
    if (this.#backend === undefined) throw new StoreError('store-closed', 'the store is closed');
    return this.#backend;
  }

  #get(ns: Namespace, key: string): unknown {
    const v = this.#open().read((s) => s.get(ns, key));
    return v === undefined ? undefined : decodeRecord(v);
  }

  #values(ns: Namespace): unknown[] {
    return this.#open()
      .read((s) => s.values(ns))
      .map(decodeRecord);
  }

  async commit(batch: WriteBatch): Promise<void> {
    const backend = this.#open();
    checkBatch(batch);
    backend.write((space) => {
      applyBatch(space, batch);
    });
  }

  async getAccount(): Promise<AccountRecord | undefined> {
    return this.#get('account', SINGLETON) as AccountRecord | undefined;
  }

  async getIdentity(): Promise<IdentityRecord | undefined> {
    return this.#get('identity', SINGLETON) as IdentityRecord | undefined;
  }

  async getGroupState(groupId: GroupId): Promise<GroupStateRecord | undefined> {
    const v = this.#open().read((s) => s.get('group-state', groupId));
    return v === undefined ? undefined : decodeGroupState(v);
  }

  async listGroupIds(): Promise<GroupId[]> {
    return (this.#values('group-id') as { groupId: GroupId }[]).map((r) => r.groupId).sort();
  }

  async getConversation(groupId: GroupId): Promise<ConversationRecord | undefined> {
    return this.#get('conversation', groupId) as ConversationRecord | undefined;
  }

  async listConversations(): Promise<ConversationRecord[]> {
    return (this.#values('conversation') as ConversationRecord[]).sort((a, b) => thenBy(byNumber(a.createdAt, b.createdAt), byString(a.groupId, b.groupId)));
  }

  async getMessage(groupId: GroupId, messageId: string): Promise<StoredMessage | undefined> {
    const s = this.#open().read((space) => space.messageGet(groupId, messageId));
    return s === undefined ? undefined : toStored(s);
  }

  async listMessages(groupId: GroupId, options: ListMessagesOptions = {}): Promise<StoredMessage[]> {
    if (options.limit !== undefined && (!Number.isSafeInteger(options.limit) || options.limit < 0)) throw usage('limit must be a non-negative integer');
    return this.#open()
      .read((s) => s.messageList(groupId, options))
      .map(toStored);
  }

  async getMessageSummary(groupId: GroupId): Promise<MessageSummary> {
    return this.#open().read((s) => summaryOf(s, groupId));
  }

  async getSenderSeq(groupId: GroupId, sender: SenderRef): Promise<number | undefined> {
    return (this.#get('sender-seq', senderKey(groupId, sender)) as { seq: number } | undefined)?.seq;
  }

  async getCursor(name: string): Promise<string | undefined> {
    return (this.#get('cursor', name) as { value: string } | undefined)?.value;
  }

  async listPending(): Promise<PendingOutgoing[]> {
    return (this.#values('pending') as PendingOutgoing[]).sort((a, b) => thenBy(byNumber(a.createdAt, b.createdAt), byString(a.id, b.id)));
  }

  async getContact(userId: UserId): Promise<ContactRecord | undefined> {
    return this.#get('contact', userId) as ContactRecord | undefined;
  }

  async listContacts(): Promise<ContactRecord[]> {
    return (this.#values('contact') as ContactRecord[]).sort((a, b) => byString(a.userId, b.userId));
  }

  async close(): Promise<void> {
    const backend = this.#backend;
    this.#backend = undefined;
    backend?.close();
  }
}

/** Filters and limits an ascending list the way ListMessagesOptions says (for backends that list in memory). */
export function selectMessages<T extends { order: number }>(ascending: readonly T[], o: ListMessagesOptions): T[] {
  let out = ascending.filter((m) => (o.before === undefined || m.order < o.before) && (o.after === undefined || m.order > o.after));
  if (o.limit !== undefined) out = o.after !== undefined && o.before === undefined ? out.slice(0, o.limit) : out.slice(Math.max(0, out.length - o.limit));
  return out;
}
