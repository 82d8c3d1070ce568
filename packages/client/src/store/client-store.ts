// ClientStore: everything a device persists, behind one async interface (SQLite file in
// Node, IndexedDB in browsers, a Map in unit tests). Every implementation passes the
// conformance suite in @parley/testing (clientStoreConformance).
//
// Writes go through ONE atomic `commit(batch)`, so that the receive path can "write what
// was received before acknowledging it": the new MLS group state, the messages it
// decrypted, the updated sender sequence numbers and the new server cursor land together
// or not at all, and only then is the server told. A crash between two steps therefore
// either redoes the whole step (the server redelivers; messages are de-duplicated by id)
// or finds it done — never a group state that is ahead of its messages.

import type { SecretBytes } from '../util/secret.js';

/** A printable conversation id: the MLS group id as the group layer encodes it. */
export type GroupId = string;
export type UserId = string;
export type DeviceId = string;

/** This device: who it is and where it talks to. */
export interface AccountRecord {
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  readonly serverUrl: string;
  /** Milliseconds since the Unix epoch. */
  readonly createdAt: number;
}

/** The user's identity key and this device's MLS signature key, with its certificate. */
export interface IdentityRecord {
  readonly identityPublicKey: Uint8Array;
  readonly identityPrivateKey: SecretBytes<'identity-private-key'>;
  readonly deviceSignaturePublicKey: Uint8Array;
  readonly deviceSignaturePrivateKey: SecretBytes<'device-signature-private-key'>;
  /** The DeviceCertificate bytes (@parley/protocol device-certificate.ts). */
  readonly deviceCertificate: Uint8Array;
  readonly cipherSuite: number;
}

/** The MLS engine's serialised group state: opaque to the store. */
export interface GroupStateRecord {
  readonly groupId: GroupId;
  /** The state's epoch, kept beside it so callers can check order without decoding. */
  readonly epoch: bigint;
  readonly state: Uint8Array;
}

export interface ConversationRecord {
  readonly groupId: GroupId;
  readonly kind: 'direct' | 'group';
  /** Group name, or undefined for a 1:1 conversation. */
  readonly name?: string;
  readonly createdAt: number;
  /** Set when the conversation was left or the device removed; history stays. */
  readonly closedAt?: number;
}

export interface SenderRef {
  readonly userId: UserId;
  readonly deviceId: DeviceId;
}

export type MessageBody =
  | { readonly type: 'text'; readonly text: string }
  /** Something that happened in the conversation (member added, key changed, rejoined…). */
  | { readonly type: 'event'; readonly event: string; readonly detail?: string };

/**
 * Outgoing: pending (not yet accepted by the server) → sent → delivered → read, or
 * failed (the server refused it). Incoming: received → read (by this user).
 * `delivered` / `read`: every other member user has at least one device that said so.
 */
export type MessageStatus = 'pending' | 'sent' | 'delivered' | 'read' | 'received' | 'failed';

export interface Receipt {
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  readonly state: 'delivered' | 'read';
  readonly at: number;
}

export interface MessageRecord {
  readonly groupId: GroupId;
  /** Unique within the conversation; the de-duplication key. */
  readonly messageId: string;
  readonly sender: SenderRef;
  /** The sender's per-conversation sequence number (gaps and replays are visible). */
  readonly senderSeq: number;
  /** The sender's claimed time of sending. */
  readonly sentAt: number;
  /** When this device stored it. */
  readonly receivedAt: number;
  readonly body: MessageBody;
  readonly status: MessageStatus;
  /** One entry per (user, device); a later `read` replaces `delivered`. */
  readonly receipts: readonly Receipt[];
}

/** A message as stored: `order` is assigned by the store and grows with every insert. */
export interface StoredMessage extends MessageRecord {
  readonly order: number;
}

export interface ContactRecord {
  readonly userId: UserId;
  readonly identityKey: Uint8Array;
  /** The user compared safety numbers for this identity key. */
  readonly verified: boolean;
  readonly firstSeenAt: number;
  /** Set when the identity key changed from an earlier one (a warning is due). */
  readonly keyChangedAt?: number;
  /**
   * The key before the last change had been verified: sending to this user is refused
   * (`contact-unverified`) until the new key is verified too.
   */
  readonly wasVerified?: boolean;
  /**
   * Set while a change of the identity key is unacknowledged: the key trusted before it
   * (on first use, or verified). No new device of this user enters a group while it is
   * set, whatever key certified it; the user clears it by acknowledging the new key
   * (`acknowledgeKeyChange`) or verifying it (`markVerified`).
   */
  readonly pinnedIdentityKey?: Uint8Array;
}

/** Something to send once the server is reachable (or again after a lost epoch race). */
export interface PendingOutgoing {
  readonly id: string;
  readonly groupId: GroupId;
  readonly createdAt: number;
  /** What to send, as the group layer encodes it (an intent, not ciphertext). */
  readonly payload: Uint8Array;
}

export interface MessageUpdate {
  readonly groupId: GroupId;
  readonly messageId: string;
  readonly status?: MessageStatus;
  /** Merged by (userId, deviceId); `read` is never downgraded to `delivered`. */
  readonly receipts?: readonly Receipt[];
}

/**
 * One atomic write. Applied in this order: account, identity, groupStates,
 * deleteGroupStates, conversations, messages, messageUpdates, cursors, pendingPut,
 * pendingDelete, contacts. If any part fails (e.g. a messageUpdate for a message that
 * does not exist: StoreError('not-found')), nothing of the batch is written.
 */
export interface WriteBatch {
  readonly account?: AccountRecord;
  readonly identity?: IdentityRecord;
  /** Replace (or create) the state of these groups. */
  readonly groupStates?: readonly GroupStateRecord[];
  readonly deleteGroupStates?: readonly GroupId[];
  readonly conversations?: readonly ConversationRecord[];
  /**
   * Insert; a message whose (groupId, messageId) is already stored is skipped (first
   * write wins: delivery is at-least-once). Each insert also raises the stored highest
   * sequence number of its sender.
   */
  readonly messages?: readonly MessageRecord[];
  readonly messageUpdates?: readonly MessageUpdate[];
  /** Server cursors by name (e.g. `inbox`); the value is the server's opaque position. */
  readonly cursors?: Readonly<Record<string, string>>;
  readonly pendingPut?: readonly PendingOutgoing[];
  readonly pendingDelete?: readonly string[];
  readonly contacts?: readonly ContactRecord[];
}

export interface ListMessagesOptions {
  /** Only messages with `order` strictly less than this (page backwards). */
  readonly before?: number;
  /** Only messages with `order` strictly greater than this (page forwards). */
  readonly after?: number;
  /** With `before` or none: the LAST `limit` messages; with `after`: the first. */
  readonly limit?: number;
}

/**
 * What a conversation list shows without reading the history: kept by the store in the
 * same write as the messages it counts (a profile written before it existed gets it on the
 * next insert; until then it is counted from the history).
 */
export interface MessageSummary {
  /** How many messages the conversation holds. */
  readonly count: number;
  /** The `order` of its newest message; 0 when it has none. */
  readonly lastOrder: number;
  /** How many of them each user sent, by user id (ascending). */
  readonly senders: readonly { readonly userId: UserId; readonly count: number }[];
}

export interface ClientStore {
  /** Writes the whole batch atomically and durably before resolving. */
  commit(batch: WriteBatch): Promise<void>;

  getAccount(): Promise<AccountRecord | undefined>;
  getIdentity(): Promise<IdentityRecord | undefined>;

  getGroupState(groupId: GroupId): Promise<GroupStateRecord | undefined>;
  listGroupIds(): Promise<GroupId[]>;

  getConversation(groupId: GroupId): Promise<ConversationRecord | undefined>;
  listConversations(): Promise<ConversationRecord[]>;

  getMessage(groupId: GroupId, messageId: string): Promise<StoredMessage | undefined>;
  /** In store order (ascending `order`). */
  listMessages(groupId: GroupId, options?: ListMessagesOptions): Promise<StoredMessage[]>;
  /** Counts of the conversation's messages, without decoding them (see MessageSummary). */
  getMessageSummary(groupId: GroupId): Promise<MessageSummary>;
  /** Highest sequence number stored for this sender in this conversation, or undefined. */
  getSenderSeq(groupId: GroupId, sender: SenderRef): Promise<number | undefined>;

  getCursor(name: string): Promise<string | undefined>;

  /** Oldest first (by createdAt, then id). */
  listPending(): Promise<PendingOutgoing[]>;

  getContact(userId: UserId): Promise<ContactRecord | undefined>;
  listContacts(): Promise<ContactRecord[]>;

  /** Releases the store; later calls fail with StoreError('store-closed'). */
  close(): Promise<void>;
}
