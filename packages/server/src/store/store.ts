// Store: every byte the server keeps goes through this interface, so the SQLite
// implementation (one machine) and a PostgreSQL one (cluster) are interchangeable.
// All methods are async for that reason. Both implementations pass one conformance
// suite (packages/server/test/store-conformance.ts).
//
// Delivery model (DESIGN.md "Nothing acknowledged is ever lost"): each group has ONE
// ordered log (seq 1, 2, …); each member device has a durable cursor in it (the last
// seq it acknowledged). Each device also has a small inbox for what is addressed to it
// alone (Welcome, notices). A group message is deletable once every member device but
// its sender has acknowledged past it, or when its retention expires.

import type { MessageKind } from '@parley/protocol';

export interface PasswordRecord {
  readonly hash: Uint8Array;
  readonly salt: Uint8Array;
  /** scrypt parameters, stored with the hash so they can be raised later. */
  readonly params: { readonly N: number; readonly r: number; readonly p: number; readonly keylen: number };
}

export interface UserRecord {
  readonly id: string;
  readonly email: string | null;
  readonly password: PasswordRecord;
  readonly admin: boolean;
  readonly active: boolean;
  readonly identityKey: Uint8Array | null;
  readonly createdAt: number;
}

export interface InviteRecord {
  readonly codeHash: Uint8Array;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly maxUses: number;
  readonly uses: number;
}

export interface SessionRecord {
  readonly tokenHash: Uint8Array;
  readonly userId: string;
  readonly deviceId: string | null;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface DeviceRecord {
  readonly id: string;
  readonly userId: string;
  readonly signatureKey: Uint8Array;
  readonly cipherSuite: number;
  readonly certificate: Uint8Array;
  readonly createdAt: number;
}

export interface KeyPackageCount {
  readonly regular: number;
  readonly lastResort: number;
}

export interface ClaimedKeyPackageRecord {
  readonly deviceId: string;
  readonly data: Uint8Array;
  readonly lastResort: boolean;
}

export interface GroupRecord {
  readonly id: string;
  readonly epoch: number;
  readonly groupInfo: Uint8Array;
  readonly ratchetTree: Uint8Array | null;
  readonly createdAt: number;
  /** Seq of the last message appended to the group's log (0 if none). */
  readonly lastSeq: number;
}

export interface MemberCursor {
  readonly groupId: string;
  readonly deviceId: string;
  /** Last seq the device acknowledged (or had no business receiving). */
  readonly cursor: number;
}

/** One message of a group's log or of a device's inbox, as stored. */
export interface StoredMessage {
  readonly seq: number;
  readonly id: Uint8Array;
  readonly kind: MessageKind;
  readonly groupId: string;
  /** Sender device id, or '' for the server itself. */
  readonly sender: string;
  readonly createdAt: number;
  readonly data: Uint8Array;
}

export interface NewGroupMessage {
  readonly groupId: string;
  readonly id: Uint8Array;
  readonly sender: string;
  readonly data: Uint8Array;
  readonly createdAt: number;
}

/**
 * How far back in its group a retried message id is surely recognized (docs/protocol.md).
 * Beyond it a retry may be stored again, as a new message: delivery is at-least-once and
 * clients drop a message whose id they have.
 */
export const DEDUP_WINDOW = 256;

export type AppendResult =
  | { readonly ok: true; readonly seq: number; readonly duplicate: boolean; readonly message: StoredMessage }
  | { readonly ok: false; readonly reason: 'unknown-group' | 'not-a-member' };

export interface NewInboxMessage {
  readonly id: Uint8Array;
  readonly kind: MessageKind;
  readonly groupId: string;
  readonly sender: string;
  readonly data: Uint8Array;
  readonly createdAt: number;
}

export interface CommitApplication {
  readonly groupId: string;
  /** The epoch the commit was built on: must equal the group's current epoch. */
  readonly fromEpoch: number;
  readonly toEpoch: number;
  readonly message: NewGroupMessage;
  readonly groupInfo: Uint8Array;
  readonly ratchetTree: Uint8Array | null;
  readonly addDevices: readonly string[];
  readonly removeDevices: readonly string[];
  /** Welcome bytes, put in each added device's inbox. */
  readonly welcome: NewInboxMessage | null;
  /**
   * An external commit (RFC 9420 §12.4.3.2): its sender joins by it, so it need not be a
   * member yet (it is in addDevices, or already a member when it resyncs).
   */
  readonly external?: boolean;
}

export type CommitResult =
  | {
      readonly ok: true;
      readonly message: StoredMessage;
      /** Inbox messages created (welcome for added devices, commit for removed ones). */
      readonly inbox: readonly { readonly deviceId: string; readonly message: StoredMessage }[];
    }
  | { readonly ok: false; readonly reason: 'stale-epoch'; readonly currentEpoch: number }
  | { readonly ok: false; readonly reason: 'unknown-group' | 'not-a-member' | 'unknown-device' };

export interface AttachmentRecord {
  readonly id: string;
  readonly groupId: string;
  readonly uploader: string;
  readonly size: number;
  readonly createdAt: number;
}

export type StoreConflict = 'exists' | 'invalid-invite';

/** Thrown by a Store for a uniqueness or precondition conflict the caller maps to an error code. */
export class StoreConflictError extends Error {
  constructor(readonly conflict: StoreConflict) {
    super(`store conflict: ${conflict}`);
    this.name = 'StoreConflictError';
  }
}

export interface Store {
  // accounts
  /** Creates a user; consumes one use of the invite (by hash) atomically when given. */
  createUser(user: UserRecord, invite?: { readonly codeHash: Uint8Array; readonly now: number }): Promise<void>;
  getUser(id: string): Promise<UserRecord | null>;
  listUsers(): Promise<UserRecord[]>;
  /**
   * The ids of active users whose id starts with `prefix` (taken literally: `_` and `%`
   * match only themselves), in id order, at most `limit` of them. The directory search.
   */
  searchUsers(prefix: string, limit: number): Promise<string[]>;
  /** Deactivating also revokes every session of the user. Returns false if no such user. */
  setUserActive(id: string, active: boolean): Promise<boolean>;
  /** Sets the identity key once; returns false if one is already set. */
  setIdentityKey(userId: string, key: Uint8Array): Promise<boolean>;
  /**
   * The user's encrypted identity-key backup: opaque bytes (the client encrypts them under
   * a key derived from the user's passphrase). Putting replaces the previous one.
   */
  putIdentityBackup(userId: string, backup: Uint8Array, now: number): Promise<void>;
  getIdentityBackup(userId: string): Promise<Uint8Array | null>;

  createInvite(invite: InviteRecord): Promise<void>;
  listInvites(): Promise<InviteRecord[]>;
  /** Revokes an invite code (by hash): it can no longer register anyone. False if unknown. */
  deleteInvite(codeHash: Uint8Array): Promise<boolean>;

  // sessions
  createSession(session: SessionRecord): Promise<void>;
  getSession(tokenHash: Uint8Array): Promise<SessionRecord | null>;
  deleteSession(tokenHash: Uint8Array): Promise<void>;
  /** The user's sessions (live or expired, not yet deleted), oldest first. */
  listSessions(userId: string): Promise<SessionRecord[]>;

  // devices
  /** Adds the device and binds the session to it, atomically. Conflict 'exists' if the id is taken. */
  addDevice(device: DeviceRecord, sessionTokenHash: Uint8Array): Promise<void>;
  getDevice(id: string): Promise<DeviceRecord | null>;
  listDevices(userId: string): Promise<DeviceRecord[]>;
  /**
   * Removes a device: revokes its sessions, drops its inbox, key packages and group
   * cursors, and puts `notice` in the inbox of the user's other devices and in the log of
   * each group it was in. Returns the groups it was in and the stored notices, or null.
   */
  removeDevice(
    id: string,
    notice: (groupId: string) => NewGroupMessage,
    inboxNotice: NewInboxMessage,
  ): Promise<{ groups: StoredMessage[]; inbox: { deviceId: string; message: StoredMessage }[] } | null>;

  // key packages
  /**
   * Adds a batch atomically. A device keeps at most one last-resort package: a new one
   * replaces the previous one (the batch carries at most one). With `maxRegular`, the
   * count and the insert are one transaction: a batch that would take the device past
   * `maxRegular` regular packages adds nothing and returns null, so concurrent uploads
   * cannot overshoot the cap. Otherwise returns the count after the insert.
   */
  addKeyPackages(deviceId: string, packages: readonly { readonly data: Uint8Array; readonly lastResort: boolean }[], maxRegular?: number): Promise<KeyPackageCount | null>;
  /** One package per device of the user, each regular one handed out once; last resort only when none is left. */
  claimKeyPackages(userId: string): Promise<ClaimedKeyPackageRecord[]>;
  countKeyPackages(deviceId: string): Promise<KeyPackageCount>;

  // groups
  /** Conflict 'exists' if the id is taken. The creator device is the first member. */
  createGroup(group: Omit<GroupRecord, 'lastSeq'>, creatorDevice: string): Promise<void>;
  getGroup(id: string): Promise<GroupRecord | null>;
  listMembers(groupId: string): Promise<MemberCursor[]>;
  /** The groups a device is a member of, with its cursor in each. */
  groupsOfDevice(deviceId: string): Promise<MemberCursor[]>;

  // delivery
  /**
   * Appends application messages; idempotent per (group, message id) at least while the first
   * copy is among the group's last DEDUP_WINDOW messages (a retry then gets its seq, with
   * `duplicate`). One durable write for the batch.
   */
  appendMessages(messages: readonly NewGroupMessage[]): Promise<AppendResult[]>;
  /**
   * The same append, returned in two steps: the promise resolves once the batch is committed
   * (readable by every reader, and kept through a crash of the process), so it can be
   * published at once; `durable` resolves once it is also on disk (kept through a power
   * loss), which is when its senders may be told. A store that is durable at commit resolves
   * both together. A store that publishes before the disk has it must make sure a seq that
   * was published is never reused for another message, even if a power loss takes the tail
   * of the log (SqliteStore: "unclean start" rule).
   */
  appendMessagesCommitted(messages: readonly NewGroupMessage[]): Promise<{ results: AppendResult[]; durable: Promise<void> }>;
  applyCommit(commit: CommitApplication): Promise<CommitResult>;
  readGroup(groupId: string, afterSeq: number, limit: number): Promise<StoredMessage[]>;
  /** Moves a member's cursor forward (never back, never past the log's end). */
  ackGroup(deviceId: string, groupId: string, seq: number): Promise<void>;
  /** Many acknowledgements in one durable write (the gateway coalesces them). */
  ackBatch(acks: readonly { readonly deviceId: string; readonly groupId: string; readonly seq: number }[]): Promise<void>;
  readInbox(deviceId: string, afterSeq: number, limit: number): Promise<StoredMessage[]>;
  inboxCursor(deviceId: string): Promise<number>;
  ackInbox(deviceId: string, seq: number): Promise<void>;
  /** Deletes what every recipient acknowledged, and what is older than `olderThan`. Returns the count. */
  prune(olderThan: number): Promise<number>;

  // attachments
  addAttachment(a: AttachmentRecord): Promise<void>;
  getAttachment(id: string): Promise<AttachmentRecord | null>;

  /** Throws if the storage cannot answer a trivial read (for `/healthz`). */
  check(): Promise<void>;

  /**
   * A number that changes whenever another process (`parley admin` on the same database)
   * has committed a write, and only then: the server polls it to notice sessions revoked
   * and users deactivated behind its back. Constant for a store no one else can write.
   */
  externalVersion(): Promise<number>;

  close(): Promise<void>;
}
