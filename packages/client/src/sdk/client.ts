// ParleyClient: one device's conversations over a Parley server (issue 6). Every
// conversation is an MLS group (RFC 9420) carrying the Parley group policy in its
// GroupContext; the server orders each group's commits and relays bytes it cannot read.
// The client:
// - registers (identity key, device certificate signed by it, key packages, an encrypted
//   identity backup), logs in again from its profile store, or logs in as a NEW device
//   of an existing user from the identity backup;
// - opens 1:1 conversations and named groups with every device of every member as a
//   leaf, each leaf's device certificate checked against its user's identity key (first
//   seen keys are remembered; a changed key is a warning in every conversation with them);
// - adds and removes members, leaves, adds the user's new devices to its groups and
//   removes removed ones; a commit that loses the epoch race is rebuilt on the new epoch;
// - checks EVERY commit it processes, and its own before sending, against the policy of
//   the epoch the commit applies to (@parley/protocol group-policy.ts);
// - sends text as MLS application messages (§6.3.1) with a per-sender sequence number,
//   and delivery and read receipts as application messages too;
// - processes the group logs and the inbox strictly in order, one thing at a time, and
//   writes the new group state, the decrypted message and the server cursor in ONE store
//   batch before acknowledging anything to the server;
// - rejoins a group whose state it lost by an external commit (§12.4.3.2);
// - skips what a group's log holds from epochs before this device joined (sealed with
//   secrets it never had), counted in one `skipped` event per group, not one error each.

import {
  ContentType,
  CredentialType,
  LAST_RESORT_EXTENSION,
  NodeType,
  ProposalType,
  ProtocolVersion,
  SenderType,
  createCommit,
  createGroup as createMlsGroup,
  decode,
  decodeKeyPackage,
  decodeMLSMessage,
  decodeRatchetTree,
  deserializeState,
  encode,
  encodeKeyPackage,
  encryptApplication,
  generateKeyPackage,
  groupInfoOf,
  joinExternal,
  joinFromWelcome,
  makeKeyPackageRef,
  mergeCommit,
  processMessage,
  serializeState,
  ExtensionType,
  WireFormat,
  type Capabilities,
  type Credential,
  type CryptoProvider,
  type GroupConfig,
  type GroupState,
  type KeyPackage,
  type KeyPackagePrivateKeys,
  type LeafIndex,
  type Proposal,
} from '@parley/mls';
import {
  GROUP_POLICY_EXTENSION_TYPE,
  checkCommitAgainstPolicy,
  decodeDeviceCertificate,
  findGroupPolicy,
  groupPolicyExtension,
  newGroupPolicy,
  type DeliverFrame,
  type GroupPolicy,
} from '@parley/protocol';
import type { ClientCrypto } from '../crypto/client-crypto.js';
import { ClientUsageError, VerificationError } from '../errors.js';
import { checkDeviceCertificate, createDevice, generateIdentityKey } from '../identity/identity.js';
import type {
  ClientStore,
  ContactRecord,
  ConversationRecord,
  GroupId,
  IdentityRecord,
  ListMessagesOptions,
  MessageRecord,
  MessageStatus,
  MessageUpdate,
  Receipt,
  SenderRef,
  StoredMessage,
  WriteBatch,
} from '../store/client-store.js';
import { bytesEqual, fromBase64, toBase64 } from '../util/bytes.js';
import { SecretBytes } from '../util/secret.js';
import { HttpApi, ServerError, toBase64Url, type FetchLike, type WireMessage } from '../transport/http.js';
import { WsConnection, type WebSocketFactory } from '../transport/ws.js';
import { acknowledgeKeyChange as acknowledgeContactKey, markVerified as markContactVerified, observeKey } from '../verify/contacts.js';
import { safetyNumberWith } from '../verify/safety-number.js';
import { deviceOf, describeCommit, membersOf, policyOf } from './commit-check.js';
import { EventHub, type ParleyEvent, type ParleyListener, type SkipReason, type WarningCode } from './events.js';
import { openIdentityBackup, sealIdentityBackup, type BackupKdf } from './identity-backup.js';
import { MAX_RECEIPT_IDS, decodeAppData, encodeLeave, encodePayload, encodeReceipt, type ReceiptKind } from './payload.js';
import { checkForkTag, decodeSplit, encodeSplit, forkCheckAad, splitCursor } from './fork-check.js';
import { updateKeysIfDue, type KeyUpdateHost } from './key-update.js';
import { classifySeq, decodeMissing, encodeMissing, inSenderOrder, missingCursor, missingOf, withMissing } from './sender-order.js';

export interface ParleyClientOptions {
  readonly serverUrl: string;
  readonly store: ClientStore;
  readonly crypto: ClientCrypto;
  /** The MLS engine's crypto backend (`@parley/mls/crypto-node` or `crypto-web`). */
  readonly provider: CryptoProvider;
  /** How to open a WebSocket; defaults to the global one (browsers, Node >= 22). */
  readonly webSocket?: WebSocketFactory;
  readonly fetch?: FetchLike;
  /** Milliseconds since the Unix epoch. */
  readonly now?: () => number;
  /** How many key packages to keep uploaded (default 10). */
  readonly keyPackages?: number;
  /** scrypt cost of the identity backup written at registration (default N = 2^17). */
  readonly backupKdf?: BackupKdf;
  /** How often a commit that lost the epoch race is rebuilt before giving up (default 8). */
  readonly commitAttempts?: number;
}

const INBOX = 'inbox';
/**
 * The key packages this device uploaded and has not used yet, with their private keys.
 * Kept in the store (encrypted at rest) so that a Welcome still opens after a restart.
 * INTERIM: the ClientStore has no key-package namespace yet, so they ride in a cursor
 * record; they move to a proper namespace when the store grows one.
 */
const HELD_KEY_PACKAGES = 'key-packages';
const groupCursor = (g: GroupId): string => `group:${g}`;
/**
 * The epoch at which this device entered the group (by a Welcome or a rejoin): what the
 * log holds from earlier epochs was never readable here, and is skipped without a warning.
 */
const joinedEpochCursor = (g: GroupId): string => `joined-epoch:${g}`;
/**
 * Set once such a message was skipped: a sender's first number seen here is then where this
 * device starts counting them, not a gap (the numbers before it were in what was skipped).
 */
const historyBeforeJoinCursor = (g: GroupId): string => `before-join:${g}`;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** The sender of the conversation's own event lines (key changed, rejoined…). */
const EVENT_DEVICE = '-';

/** §5.3.1: a leaf's credential must be a device certificate naming the leaf's own signature key. */
function validateCredential(credential: Credential, signatureKey: Uint8Array): boolean {
  if (credential.credentialType !== CredentialType.basic) return false;
  try {
    return bytesEqual(decodeDeviceCertificate(credential.identity).signatureKey, signatureKey);
  } catch {
    return false;
  }
}

interface Framing {
  /** The group the MLS message was made for (RFC 9420 §6: authenticated by its sender). */
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  readonly wireFormat: number;
  readonly commit: boolean;
}

function framingOf(bytes: Uint8Array): Framing | undefined {
  try {
    const m = decode(decodeMLSMessage, bytes);
    if (m.wireFormat === WireFormat.mls_public_message) {
      return { groupId: m.publicMessage.content.groupId, epoch: m.publicMessage.content.epoch, wireFormat: m.wireFormat, commit: m.publicMessage.content.contentType === ContentType.commit };
    }
    if (m.wireFormat === WireFormat.mls_private_message) {
      return { groupId: m.privateMessage.groupId, epoch: m.privateMessage.epoch, wireFormat: m.wireFormat, commit: m.privateMessage.contentType === ContentType.commit };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** The identity backup's passphrase: a non-empty string (callers from JavaScript may omit it). */
function requireBackupPassphrase(passphrase: unknown): asserts passphrase is string {
  if (typeof passphrase !== 'string' || passphrase === '') throw new ClientUsageError('backup-passphrase-required', 'a passphrase for the identity backup is required');
}

function errorCode(e: unknown): string {
  if (typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string') return (e as { code: string }).code;
  return 'internal';
}

interface HeldKeyPackage {
  readonly keyPackage: KeyPackage;
  readonly privateKeys: KeyPackagePrivateKeys;
  /** A last-resort package stays held after use: the server may hand it out again. */
  readonly lastResort?: boolean;
}

function encodeHeld(held: readonly HeldKeyPackage[]): string {
  return JSON.stringify(
    held.map((h) => [toBase64(encode(encodeKeyPackage, h.keyPackage)), toBase64(h.privateKeys.initPrivateKey), toBase64(h.privateKeys.encryptionPrivateKey), h.lastResort === true ? 1 : 0]),
  );
}

function decodeHeld(value: string | undefined, signaturePrivateKey: Uint8Array): HeldKeyPackage[] {
  if (value === undefined) return [];
  const rows = JSON.parse(value) as [string, string, string, number?][];
  return rows.map(([kp, init, enc, lr]) => ({
    keyPackage: decode(decodeKeyPackage, fromBase64(kp)),
    privateKeys: { initPrivateKey: fromBase64(init), encryptionPrivateKey: fromBase64(enc), signaturePrivateKey },
    ...(lr === 1 ? { lastResort: true } : {}),
  }));
}

/** Why a device was not let into a group (the warning's code). */
type DeviceRefusal = 'unsigned-device' | 'identity-key-unacknowledged';

/** A device to add: its key package, already checked against its user's identity key. */
interface Candidate {
  readonly userId: string;
  readonly deviceId: string;
  readonly keyPackage: KeyPackage;
}

/** What a commit of ours is for; rebuilt on the newest epoch at every attempt. */
type Intent =
  | { readonly type: 'add-users'; readonly users: readonly string[] }
  | { readonly type: 'remove-users'; readonly users: readonly string[] }
  /** The user's own devices: add those missing, remove those gone. */
  | { readonly type: 'own-devices'; readonly add: readonly string[]; readonly remove: readonly string[] }
  ;

export interface MemberInfo {
  readonly userId: string;
  readonly devices: readonly string[];
  readonly admin: boolean;
}

export interface DeviceListing {
  readonly deviceId: string;
  readonly createdAt: number;
  readonly current: boolean;
}

export class ParleyClient {
  private readonly api: HttpApi;
  private readonly hub = new EventHub();
  private readonly states = new Map<GroupId, GroupState>();
  /** Key packages uploaded and not used yet (mirrors the store's HELD_KEY_PACKAGES). */
  private held: HeldKeyPackage[] = [];
  private readonly config: GroupConfig;
  private queue: Promise<unknown> = Promise.resolve();
  /** Work that processing scheduled for later (receipts, commits of proposals, rejoins). */
  private deferred: Promise<unknown>[] = [];
  private readonly pendingDelivered = new Map<GroupId, Set<string>>();
  private receiptsScheduled = false;
  /** Messages skipped by design (events.ts `skipped`), counted until the current step ends. */
  private readonly skipped = new Map<GroupId, Map<SkipReason, number>>();
  private skippedScheduled = false;
  /** Groups with a rejoin scheduled, so it is scheduled once. */
  private readonly rejoining = new Set<GroupId>();
  private ws: WsConnection | undefined;
  private closed = false;
  /** Nesting depth of HTTP pulls; while > 0, acknowledgements wait in `unacked`. */
  private pulling = 0;
  private unacked: { groups: Map<GroupId, number>; inbox?: number } = { groups: new Map() };

  private constructor(
    private readonly options: ParleyClientOptions,
    readonly userId: string,
    readonly deviceId: string,
    private readonly identity: IdentityRecord,
    token: string,
  ) {
    this.api = new HttpApi(options.serverUrl, options.fetch);
    this.api.setToken(token);
    const now = options.now ?? Date.now;
    this.config = { now: () => BigInt(Math.floor(now() / 1000)), validateCredential };
  }

  private get now(): number {
    return (this.options.now ?? Date.now)();
  }

  /**
   * Creates the account, the user's identity key and this device (its certificate
   * signed by the identity key), stores them, uploads key packages and the identity
   * backup, sealed under `backupPassphrase`. The passphrase is required and must not be
   * the password: the server learns the password at every login, and could open a
   * backup sealed under it. Throws ClientUsageError('backup-passphrase-required') or
   * ('backup-passphrase-is-password') before anything is sent.
   */
  static async register(options: ParleyClientOptions, username: string, password: string, invite: string | undefined, backupPassphrase: string): Promise<ParleyClient> {
    requireBackupPassphrase(backupPassphrase);
    if (backupPassphrase === password) throw new ClientUsageError('backup-passphrase-is-password', 'the identity backup needs a passphrase other than the account password, which the server sees');
    if ((await options.store.getAccount()) !== undefined) throw new ClientUsageError('profile-in-use', 'this profile already holds an account');
    const api = new HttpApi(options.serverUrl, options.fetch);
    const session = await api.register(username, password, invite);
    api.setToken(session.token);
    const identityKey = await generateIdentityKey(options.crypto);
    await api.setIdentityKey(identityKey.publicKey);
    const backup = await sealIdentityBackup(options.crypto, {
      userId: session.userId,
      identityPublicKey: identityKey.publicKey,
      identityPrivateKey: identityKey.privateKey.bytes,
      passphrase: backupPassphrase,
      ...(options.backupKdf !== undefined ? { kdf: options.backupKdf } : {}),
    });
    await api.putIdentityBackup(backup);
    return ParleyClient.enrolDevice(options, api, session.userId, session.token, identityKey);
  }

  /**
   * A NEW device of an existing user, on an empty profile: logs in, opens the identity
   * backup with `passphrase` (required: ClientUsageError('backup-passphrase-required');
   * a backup sealed under the password by an older version opens with the password
   * given here explicitly), checks that the key inside is the
   * identity key the directory lists, and enrols this device with a certificate signed
   * by it. The user's other devices add it to their groups when they next sync; it sees
   * what is sent from then on (history from before it joined stays on the other devices).
   */
  static async login(options: ParleyClientOptions, username: string, password: string, passphrase: string): Promise<ParleyClient> {
    requireBackupPassphrase(passphrase);
    if ((await options.store.getAccount()) !== undefined) throw new ClientUsageError('profile-in-use', 'this profile already holds an account');
    const api = new HttpApi(options.serverUrl, options.fetch);
    const session = await api.login(username, password);
    api.setToken(session.token);
    const entry = await api.getUser(session.userId);
    if (entry.identityKey === null) throw new ClientUsageError('no-identity-key', 'this user has no identity key yet');
    const identityPublicKey = fromBase64(entry.identityKey);
    const backup = await api.getIdentityBackup();
    if (backup === null) throw new ClientUsageError('no-identity-backup', 'this user has no identity backup to log in a new device with');
    const seed = await openIdentityBackup(options.crypto, { userId: session.userId, identityPublicKey, backup, passphrase });
    return ParleyClient.enrolDevice(options, api, session.userId, session.token, { publicKey: identityPublicKey, privateKey: new SecretBytes(seed) });
  }

  private static async enrolDevice(
    options: ParleyClientOptions,
    api: HttpApi,
    userId: string,
    token: string,
    identityKey: { publicKey: Uint8Array; privateKey: SecretBytes<'identity-private-key'> },
  ): Promise<ParleyClient> {
    const now = (options.now ?? Date.now)();
    const device = await createDevice(options.crypto, { userId, identity: identityKey, now });
    await api.registerDevice(device.certificate);
    await options.store.commit({
      account: { userId, deviceId: device.deviceId, serverUrl: options.serverUrl, createdAt: now },
      identity: device.identity,
    });
    const client = new ParleyClient(options, userId, device.deviceId, device.identity, token);
    await client.replenishKeyPackages();
    return client;
  }

  /** Opens the device kept in `options.store` (a restarted client): logs in as that device. */
  static async open(options: ParleyClientOptions, password: string): Promise<ParleyClient> {
    const account = await options.store.getAccount();
    const identity = await options.store.getIdentity();
    if (account === undefined || identity === undefined) throw new ClientUsageError('no-account', 'this profile holds no account');
    const api = new HttpApi(options.serverUrl, options.fetch);
    const session = await api.login(account.userId, password, account.deviceId);
    const client = new ParleyClient(options, account.userId, account.deviceId, identity, session.token);
    client.held = decodeHeld(await options.store.getCursor(HELD_KEY_PACKAGES), identity.deviceSignaturePrivateKey.bytes);
    await client.replenishKeyPackages();
    return client;
  }

  // ---- events ------------------------------------------------------------------------

  on(listener: ParleyListener): () => void {
    return this.hub.on(listener);
  }

  /** Every event from now on, in processing order. */
  events(): AsyncIterableIterator<ParleyEvent> {
    return this.hub.stream();
  }

  private warn(code: WarningCode, message: string, where: { groupId?: GroupId; userId?: string } = {}): void {
    this.hub.emit({ type: 'warning', code, message, ...where });
  }

  // ---- local reads -------------------------------------------------------------------

  /** Each sender's messages in the sender's order (sender-order.ts), whatever order the server delivered them in. */
  async history(groupId: GroupId, options?: ListMessagesOptions): Promise<StoredMessage[]> {
    return inSenderOrder(await this.options.store.listMessages(groupId, options));
  }

  /** Whether a fork of this conversation was detected (fork-check.ts): it is then not continued. */
  async isSplit(groupId: GroupId): Promise<boolean> {
    return decodeSplit(await this.options.store.getCursor(splitCursor(groupId))) !== undefined;
  }

  conversations(): Promise<ConversationRecord[]> {
    return this.options.store.listConversations();
  }

  contacts(): Promise<ContactRecord[]> {
    return this.options.store.listContacts();
  }

  /** The group's users, their devices in the group, and who administers it (from the MLS state). */
  async members(groupId: GroupId): Promise<readonly MemberInfo[]> {
    const state = await this.serial(() => this.loadState(groupId));
    if (state === undefined) throw new ClientUsageError('unknown-conversation', 'no such conversation on this device');
    const policy = policyOf(state);
    const byUser = new Map<string, string[]>();
    for (const { device } of membersOf(state)) byUser.set(device.userId, [...(byUser.get(device.userId) ?? []), device.deviceId]);
    return [...byUser].map(([userId, devices]) => ({ userId, devices, admin: policy.admins.includes(userId) }));
  }

  // ---- the serial queue --------------------------------------------------------------

  /** Runs `f` after everything queued before it: group states change one step at a time. */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Queues `f` after the current step (from inside a step: never awaited there). */
  private later(what: string, f: () => Promise<unknown>, groupId?: GroupId): void {
    if (this.closed) return;
    const p = this.serial(f).catch((e: unknown) => {
      this.hub.emit({ type: 'error', ...(groupId !== undefined ? { groupId } : {}), code: errorCode(e), message: `${what} failed` });
    });
    this.deferred.push(p);
  }

  /** Waits for everything scheduled by earlier steps (and what those schedule). */
  private async drain(): Promise<void> {
    while (this.deferred.length > 0) {
      const batch = this.deferred;
      this.deferred = [];
      await Promise.all(batch);
    }
  }

  private async loadState(groupId: GroupId): Promise<GroupState | undefined> {
    const cached = this.states.get(groupId);
    if (cached !== undefined) return cached;
    const rec = await this.options.store.getGroupState(groupId);
    if (rec === undefined) return undefined;
    let state: GroupState;
    try {
      state = deserializeState(rec.state, this.options.provider, this.config);
    } catch (e) {
      // A broken state: rejoin rather than stay deaf.
      this.scheduleRejoin(groupId);
      throw e;
    }
    this.states.set(groupId, state);
    return state;
  }

  private stateRecord(groupId: GroupId, state: GroupState): { groupId: GroupId; epoch: bigint; state: Uint8Array } {
    return { groupId, epoch: state.groupContext.epoch, state: serializeState(state) };
  }

  private get credential(): Credential {
    return { credentialType: CredentialType.basic, identity: this.identity.deviceCertificate };
  }

  private get signatureKey(): { publicKey: Uint8Array; privateKey: Uint8Array } {
    return { publicKey: this.identity.deviceSignaturePublicKey, privateKey: this.identity.deviceSignaturePrivateKey.bytes };
  }

  /** Every leaf of ours says it understands the Parley group policy extension. */
  private capabilities(lastResort = false): Capabilities {
    return {
      versions: [ProtocolVersion.mls10],
      cipherSuites: [this.identity.cipherSuite],
      extensions: lastResort ? [GROUP_POLICY_EXTENSION_TYPE, LAST_RESORT_EXTENSION] : [GROUP_POLICY_EXTENSION_TYPE],
      proposals: [],
      credentials: [CredentialType.basic],
    };
  }

  // ---- key packages ------------------------------------------------------------------

  /** Tops the server's stock of this device's key packages up to `options.keyPackages`, plus one last-resort package. */
  async replenishKeyPackages(): Promise<number> {
    const want = this.options.keyPackages ?? 10;
    const have = await this.api.keyPackageCount();
    const missing = Math.max(0, want - have.regular);
    const needLastResort = have.lastResort === 0;
    if (missing === 0 && !needLastResort) return 0;
    const suite = this.options.provider.suite(this.identity.cipherSuite);
    const made: HeldKeyPackage[] = [];
    for (let i = 0; i < missing; i++) {
      made.push(await generateKeyPackage({ suite, credential: this.credential, signatureKey: this.signatureKey, capabilities: this.capabilities() }));
    }
    let lastResort: HeldKeyPackage | undefined;
    if (needLastResort) {
      const k = await generateKeyPackage({ suite, credential: this.credential, signatureKey: this.signatureKey, capabilities: this.capabilities(true), lastResort: true });
      lastResort = { ...k, lastResort: true };
    }
    // Private keys are durable before their public halves are handed out.
    const held = [...this.held, ...made, ...(lastResort !== undefined ? [lastResort] : [])];
    await this.options.store.commit({ cursors: { [HELD_KEY_PACKAGES]: encodeHeld(held) } });
    this.held = held;
    await this.api.uploadKeyPackages(
      made.map((k) => encode(encodeKeyPackage, k.keyPackage)),
      lastResort === undefined ? undefined : encode(encodeKeyPackage, lastResort.keyPackage),
    );
    return missing;
  }

  // ---- identity keys and contacts ------------------------------------------------------

  /**
   * The user's identity key, from the directory, remembered on first sight (trust on
   * first use). A key that differs from the remembered one is recorded with a warning,
   * and an event line, in every conversation with them. Our own user's key is ours.
   */
  private async identityKeyOf(userId: string): Promise<Uint8Array> {
    if (userId === this.userId) return this.identity.identityPublicKey;
    const entry = await this.api.getUser(userId);
    if (entry.identityKey === null) throw new VerificationError('no-identity-key', 'a user has no identity key');
    const key = fromBase64(entry.identityKey);
    const obs = observeKey(await this.options.store.getContact(userId), userId, key, this.now);
    if (obs.status === 'unchanged') return key;
    if (obs.status === 'new') {
      await this.options.store.commit({ contacts: [obs.contact] });
      return key;
    }
    const groups = await this.groupsWith(userId);
    await this.options.store.commit({ contacts: [obs.contact], messages: groups.map((g) => this.eventLine(g, 'identity-key-changed', userId)) });
    for (const groupId of groups) this.warn('identity-key-changed', 'this member’s identity key changed: compare safety numbers again', { groupId, userId });
    if (groups.length === 0) this.warn('identity-key-changed', 'this contact’s identity key changed: compare safety numbers again', { userId });
    return key;
  }

  /** Conversations (with a group state here) in which `userId` has a device. */
  private async groupsWith(userId: string): Promise<GroupId[]> {
    const out: GroupId[] = [];
    for (const groupId of await this.options.store.listGroupIds()) {
      const state = await this.loadState(groupId).catch(() => undefined);
      if (state !== undefined && membersOf(state).some((m) => m.device.userId === userId)) out.push(groupId);
    }
    return out;
  }

  /** A line the conversation shows about itself (not a message of anyone's). */
  private eventLine(groupId: GroupId, event: string, detail?: string): MessageRecord {
    const at = this.now;
    return {
      groupId,
      messageId: toBase64Url(this.options.crypto.randomBytes(16)),
      sender: { userId: detail ?? this.userId, deviceId: EVENT_DEVICE },
      senderSeq: 0,
      sentAt: at,
      receivedAt: at,
      body: detail === undefined ? { type: 'event', event } : { type: 'event', event, detail },
      status: 'received',
      receipts: [],
    };
  }

  /** True when the leaf's device certificate checks out (deviceRefusal). */
  private async deviceIsSigned(credential: Credential, signatureKey: Uint8Array, groupId?: GroupId): Promise<boolean> {
    return (await this.deviceRefusal(credential, signatureKey, groupId)) === undefined;
  }

  /**
   * Checks a leaf's device certificate against its user's identity key as the directory
   * serves it and, while a change of that key is unacknowledged, against the key pinned
   * before the change too (trust on first use: the directory alone cannot introduce a
   * device under a new key). Returns why the device is refused, after a warning —
   * `unsigned-device`, or `identity-key-unacknowledged` — or undefined if it checks out.
   */
  private async deviceRefusal(credential: Credential, signatureKey: Uint8Array, groupId?: GroupId): Promise<DeviceRefusal | undefined> {
    let userId: string | undefined;
    const where = { ...(groupId !== undefined ? { groupId } : {}) };
    try {
      userId = deviceOf(credential).userId;
      const key = await this.identityKeyOf(userId);
      if (credential.credentialType !== CredentialType.basic) throw new VerificationError('unexpected-credential', 'a leaf without a Parley device certificate');
      await checkDeviceCertificate(this.options.crypto, credential.identity, key, { userId, signatureKey });
    } catch (e) {
      if (e instanceof ServerError) throw e; // the directory was unreachable: retry later, refuse nothing
      this.warn('unsigned-device', 'a device whose certificate its user’s identity key did not sign was refused', { ...where, ...(userId !== undefined ? { userId } : {}) });
      return 'unsigned-device';
    }
    const pinned = userId === this.userId ? undefined : (await this.options.store.getContact(userId))?.pinnedIdentityKey;
    if (pinned === undefined) return undefined;
    try {
      await checkDeviceCertificate(this.options.crypto, credential.identity, pinned, { userId, signatureKey });
      return undefined;
    } catch {
      this.warn('identity-key-unacknowledged', 'a device certified by this member’s new identity key was refused: compare safety numbers, or accept the new key', { ...where, userId });
      return 'identity-key-unacknowledged';
    }
  }

  /** The 60-digit safety number between this user and `userId`, from both identity keys. */
  async safetyNumber(userId: string): Promise<string> {
    if (userId === this.userId) throw new ClientUsageError('self-safety-number', 'a safety number is between two users');
    // From the directory each time, so that a change is noticed (and warned about) here.
    await this.serial(() => this.identityKeyOf(userId)).catch((e: unknown) => {
      if (!(e instanceof ServerError && e.code === 'network')) throw e;
    });
    const contact = await this.options.store.getContact(userId);
    if (contact === undefined) throw new VerificationError('unknown-contact', 'no identity key is known for this user');
    return safetyNumberWith(this.options.crypto, { userId: this.userId, identityPublicKey: this.identity.identityPublicKey }, contact);
  }

  /**
   * Marks the contact's current identity key verified (the user compared safety
   * numbers). With `safetyNumber`, only if it is still the number shown.
   */
  async markVerified(userId: string, safetyNumber?: string): Promise<ContactRecord> {
    return this.serial(async () => {
      const contact = await this.options.store.getContact(userId);
      if (contact === undefined) throw new VerificationError('unknown-contact', 'no identity key is known for this user');
      if (safetyNumber !== undefined) {
        const now = await safetyNumberWith(this.options.crypto, { userId: this.userId, identityPublicKey: this.identity.identityPublicKey }, contact);
        if (now !== safetyNumber.replace(/\s+/g, '')) throw new VerificationError('identity-key-changed', 'the safety number changed since it was shown');
      }
      return markContactVerified(this.options.store, userId, contact.identityKey);
    });
  }

  /**
   * Accepts the contact's changed identity key without verifying it (the user saw the
   * `identity-key-changed` warning and chose to go on): devices that key certifies may
   * join conversations again. With `safetyNumber`, only if it is still the number shown.
   * A contact who had been verified stays blocked (`contact-unverified`) until verified.
   */
  async acknowledgeKeyChange(userId: string, safetyNumber?: string): Promise<ContactRecord> {
    return this.serial(async () => {
      const contact = await this.options.store.getContact(userId);
      if (contact === undefined) throw new VerificationError('unknown-contact', 'no identity key is known for this user');
      if (safetyNumber !== undefined) {
        const now = await safetyNumberWith(this.options.crypto, { userId: this.userId, identityPublicKey: this.identity.identityPublicKey }, contact);
        if (now !== safetyNumber.replace(/\s+/g, '')) throw new VerificationError('identity-key-changed', 'the safety number changed since it was shown');
      }
      return acknowledgeContactKey(this.options.store, userId, contact.identityKey);
    });
  }

  // ---- conversations -----------------------------------------------------------------

  /**
   * Claims one key package per device of `userId` and checks each one's certificate
   * against the user's identity key; devices in `skip` are left out, and so is a device
   * that does not check out (with a warning). A verified contact whose identity key
   * changed since is refused before anything is claimed (`contact-unverified`): their
   * devices are not added to any group until the user verifies the new key.
   */
  private async claimDevices(userId: string, keep: (deviceId: string) => boolean, groupId?: GroupId): Promise<Candidate[]> {
    if (userId !== this.userId) {
      await this.identityKeyOf(userId);
      await this.refuseUnverified(userId);
      if ((await this.options.store.getContact(userId))?.pinnedIdentityKey !== undefined) {
        throw new VerificationError('identity-key-unacknowledged', 'this contact’s identity key changed: accept or verify the new key before adding their devices');
      }
    }
    const claimed = await this.api.claimKeyPackages(userId);
    const out: Candidate[] = [];
    for (const c of claimed) {
      if (!keep(c.deviceId)) continue;
      let kp: KeyPackage;
      try {
        kp = decode(decodeKeyPackage, c.keyPackage);
      } catch {
        this.hub.emit({ type: 'error', code: 'malformed-key-package', message: 'the server handed out an undecodable key package' });
        continue;
      }
      const leaf = kp.leafNode;
      if (!(await this.deviceIsSigned(leaf.credential, leaf.signatureKey, groupId))) continue;
      const named = deviceOf(leaf.credential);
      if (named.userId !== userId || named.deviceId !== c.deviceId) {
        this.warn('unsigned-device', 'a key package names another device than the one it was handed out for', { userId, ...(groupId !== undefined ? { groupId } : {}) });
        continue;
      }
      if (!leaf.capabilities.extensions.includes(GROUP_POLICY_EXTENSION_TYPE)) {
        this.hub.emit({ type: 'error', code: 'device-outdated', message: 'a device does not support the Parley group policy yet and was left out' });
        continue;
      }
      out.push({ userId, deviceId: c.deviceId, keyPackage: kp });
    }
    return out;
  }

  /**
   * Opens a 1:1 conversation with `peer`: a new MLS group with every device of theirs
   * and of ours (each one's certificate checked against its user's identity key).
   */
  openDirect(peer: string): Promise<GroupId> {
    return this.serial(async () => {
      if (peer === this.userId) throw new ClientUsageError('self-conversation', 'a 1:1 conversation needs another user');
      return this.startGroup(newGroupPolicy({ kind: 'direct', users: [this.userId, peer] }), [peer]);
    }).finally(() => this.drain());
  }

  /** Creates a named group with `members` (user ids; this user is added and administers it). */
  createGroup(name: string, members: readonly string[]): Promise<GroupId> {
    return this.serial(async () => {
      const users = [...new Set(members)].filter((u) => u !== this.userId);
      return this.startGroup(newGroupPolicy({ kind: 'group', name, creator: this.userId }), users);
    }).finally(() => this.drain());
  }

  private async startGroup(policy: GroupPolicy, users: readonly string[]): Promise<GroupId> {
    const adds: Candidate[] = [];
    for (const user of users) {
      const found = await this.claimDevices(user, () => true);
      if (found.length === 0) throw new ClientUsageError('no-key-packages', 'a user has no device to talk to');
      adds.push(...found);
    }
    // Our user's other devices are members too.
    const mine = await this.api.getUser(this.userId);
    if (mine.devices.some((d) => d.deviceId !== this.deviceId)) adds.push(...(await this.claimDevices(this.userId, (d) => d !== this.deviceId)));

    const groupId = toBase64Url(this.options.crypto.randomBytes(16));
    const created = await createMlsGroup({
      provider: this.options.provider,
      suite: this.identity.cipherSuite,
      groupId: encoder.encode(groupId),
      credential: this.credential,
      signatureKey: this.signatureKey,
      capabilities: this.capabilities(),
      extensions: [groupPolicyExtension(policy)],
      config: this.config,
    });
    // The server starts a group from a signed GroupInfo; the engine emits one per commit,
    // so the creator commits once alone (epoch 0 -> 1) and registers epoch 1.
    const first = await createCommit(created, { withPath: true });
    const alone = mergeCommit(created, first.pending);
    await this.api.createGroup(groupId, Number(alone.groupContext.epoch), first.groupInfo);
    const conversation: ConversationRecord = { groupId, kind: policy.kind, ...(policy.kind === 'group' ? { name: policy.name } : {}), createdAt: this.now };
    await this.options.store.commit({ groupStates: [this.stateRecord(groupId, alone)], conversations: [conversation] });
    this.states.set(groupId, alone);
    if (adds.length > 0) await this.commitWith(groupId, alone, adds.map((c) => ({ proposalType: ProposalType.add, add: { keyPackage: c.keyPackage } })), adds.map((c) => c.deviceId), []);
    this.hub.emit({ type: 'conversation', conversation });
    return groupId;
  }

  addMembers(groupId: GroupId, users: readonly string[]): Promise<void> {
    return this.serial(() => this.commitIntent(groupId, { type: 'add-users', users: [...new Set(users)] })).finally(() => this.drain());
  }

  removeMembers(groupId: GroupId, users: readonly string[]): Promise<void> {
    if (users.includes(this.userId)) return Promise.reject(new ClientUsageError('remove-self', 'use leave() to leave a conversation'));
    return this.serial(() => this.commitIntent(groupId, { type: 'remove-users', users: [...new Set(users)] })).finally(() => this.drain());
  }

  /**
   * Leaves the conversation. MLS lets no member commit its own removal (§12.4), and the
   * server takes commits by value only, so this device sends a leave request (an
   * application message, authenticated as ours) and an administrator's device commits
   * the removal of all our devices. The conversation is closed here at once; its state
   * goes when the removal arrives. (A group whose only administrator leaves keeps them
   * as a member until an administrator acts: nobody else may remove anyone.)
   */
  leave(groupId: GroupId): Promise<void> {
    return this.serial(async () => {
      await this.pullGroup(groupId);
      const state = await this.loadState(groupId);
      if (state === undefined) throw new ClientUsageError('unknown-conversation', 'no such conversation on this device');
      const { state: next, message } = await encryptApplication(state, encodeLeave({ v: 1, sentAt: this.now, leave: { user: this.userId } }), await forkCheckAad(state));
      const conv = await this.options.store.getConversation(groupId);
      await this.options.store.commit({
        groupStates: [this.stateRecord(groupId, next)],
        messages: [this.eventLine(groupId, 'left')],
        ...(conv !== undefined ? { conversations: [{ ...conv, closedAt: this.now }] } : {}),
      });
      this.states.set(groupId, next);
      await this.api.sendMessage(groupId, toBase64Url(this.options.crypto.randomBytes(16)), message);
    }).finally(() => this.drain());
  }

  /** The user's devices, as the server lists them. */
  async devices(): Promise<readonly DeviceListing[]> {
    const me = await this.api.getUser(this.userId);
    return me.devices.map((d) => ({ deviceId: d.deviceId, createdAt: d.createdAt, current: d.deviceId === this.deviceId }));
  }

  /** Removes one of the user's other devices from every group (commits), then from the server. */
  removeDevice(deviceId: string): Promise<void> {
    if (deviceId === this.deviceId) return Promise.reject(new ClientUsageError('current-device', 'remove this device from another one'));
    return this.serial(async () => {
      for (const groupId of await this.options.store.listGroupIds()) {
        const state = await this.loadState(groupId).catch(() => undefined);
        if (state === undefined || !membersOf(state).some((m) => m.device.userId === this.userId && m.device.deviceId === deviceId)) continue;
        await this.commitIntent(groupId, { type: 'own-devices', add: [], remove: [deviceId] });
      }
      await this.api.removeDevice(deviceId);
    }).finally(() => this.drain());
  }

  /** Plans a commit for `intent` on `state`: proposals and the devices the server must route to. */
  private async plan(
    groupId: GroupId,
    state: GroupState,
    intent: Intent,
    claims: Map<string, Candidate[]>,
  ): Promise<{ proposals: Proposal[]; added: string[]; removed: string[] } | undefined> {
    const members = membersOf(state);
    const present = new Set(members.map((m) => `${m.device.userId}\u0000${m.device.deviceId}`));
    const proposals: Proposal[] = [];
    const added: string[] = [];
    const removed: string[] = [];
    const add = async (userId: string, keep: (d: string) => boolean): Promise<void> => {
      let cands = claims.get(userId);
      if (cands === undefined) {
        cands = await this.claimDevices(userId, keep, groupId);
        claims.set(userId, cands);
      }
      for (const c of cands) {
        if (present.has(`${c.userId}\u0000${c.deviceId}`) || !keep(c.deviceId)) continue;
        proposals.push({ proposalType: ProposalType.add, add: { keyPackage: c.keyPackage } });
        added.push(c.deviceId);
      }
    };
    const remove = (pred: (userId: string, deviceId: string) => boolean): void => {
      for (const m of members) {
        if (m.index === Number(state.ownLeaf) || !pred(m.device.userId, m.device.deviceId)) continue;
        proposals.push({ proposalType: ProposalType.remove, remove: { removed: m.index as LeafIndex } });
        removed.push(m.device.deviceId);
      }
    };
    switch (intent.type) {
      case 'add-users':
        for (const u of intent.users) {
          if (u === this.userId) continue;
          const had = claims.has(u);
          await add(u, () => true);
          if (!had && (claims.get(u) ?? []).length === 0 && !members.some((m) => m.device.userId === u)) {
            throw new ClientUsageError('no-key-packages', 'a user has no device to talk to');
          }
        }
        break;
      case 'remove-users': {
        const users = new Set(intent.users);
        remove((u) => users.has(u));
        break;
      }
      case 'own-devices': {
        const gone = new Set(intent.remove);
        remove((u, d) => u === this.userId && gone.has(d));
        if (intent.add.length > 0) {
          const wanted = new Set(intent.add);
          await add(this.userId, (d) => wanted.has(d));
        }
        break;
      }
    }
    if (proposals.length === 0) return undefined;
    return { proposals, added, removed };
  }

  /**
   * Commits `intent` on the newest epoch. A commit that loses the race for its epoch
   * (409 stale-epoch) is rebuilt on the epoch that won, after processing it.
   */
  private async commitIntent(groupId: GroupId, intent: Intent): Promise<void> {
    const claims = new Map<string, Candidate[]>();
    const attempts = this.options.commitAttempts ?? 8;
    for (let attempt = 1; ; attempt++) {
      await this.pullGroup(groupId);
      const state = await this.loadState(groupId);
      if (state === undefined) throw new ClientUsageError('unknown-conversation', 'no such conversation on this device');
      const plan = await this.plan(groupId, state, intent, claims);
      if (plan === undefined) return;
      try {
        await this.commitWith(groupId, state, plan.proposals, plan.added, plan.removed);
        return;
      } catch (e) {
        if (!(e instanceof ServerError && e.code === 'stale-epoch') || attempt >= attempts) throw e;
      }
    }
  }

  /**
   * Builds, checks against the group's policy, and sends one commit; once the server
   * accepted it (at log position S), processes what the log holds before S in the old
   * epoch, then enters the new one.
   */
  private async commitWith(groupId: GroupId, state: GroupState, proposals: Proposal[], added: readonly string[], removed: readonly string[]): Promise<void> {
    // By value only: the server's public view knows no proposal sent on its own.
    const created = await createCommit(state, { proposals, proposalRefs: [] });
    const described = describeCommit(state, created.commitMessage);
    const decision = checkCommitAgainstPolicy(policyOf(state), described.description);
    if (!decision.ok) {
      this.warn('policy-violation', `the group’s policy does not allow this change (${decision.reason})`, { groupId });
      throw new ClientUsageError('policy-violation', decision.message);
    }
    // Removals proposed by others and covered here are routed too.
    const routedRemoved = new Set(removed);
    for (const r of described.description.removed) routedRemoved.add(r.device.deviceId);
    const accepted = await this.api.commit(groupId, {
      epoch: Number(state.groupContext.epoch),
      commit: created.commitMessage,
      groupInfo: created.groupInfo,
      ...(created.welcome !== undefined ? { welcome: created.welcome } : {}),
      addedDevices: added,
      removedDevices: [...routedRemoved],
    });
    await this.pullGroup(groupId, accepted.seq - 1);
    const current = (await this.loadState(groupId)) ?? state;
    const next = mergeCommit(current, created.pending);
    await this.options.store.commit({ groupStates: [this.stateRecord(groupId, next)], cursors: { [groupCursor(groupId)]: String(accepted.seq) } });
    this.states.set(groupId, next);
    this.hub.emit({ type: 'membership', groupId, epoch: next.groupContext.epoch, added: added.length, removed: routedRemoved.size });
  }

  // ---- post-compromise security: scheduled key updates (key-update.ts) -----------------

  /** Commits an update of this device's leaf if the group's interval has passed; a failure is reported, not thrown. */
  private async updateKeysIfDue(groupId: GroupId): Promise<boolean> {
    if (await this.isSplit(groupId)) return false;
    const conv = await this.options.store.getConversation(groupId);
    if (conv?.closedAt !== undefined) return false;
    return updateKeysIfDue(this.keyUpdateHost, groupId).catch((e: unknown) => {
      this.states.delete(groupId);
      this.hub.emit({ type: 'error', groupId, code: errorCode(e), message: 'the scheduled key update could not be committed' });
      return false;
    });
  }

  private get keyUpdateHost(): KeyUpdateHost {
    return {
      now: () => this.now,
      store: this.options.store,
      loadState: (g) => this.loadState(g),
      submit: (g, epoch, c) => this.api.commit(g, { epoch, commit: c.commitMessage, groupInfo: c.groupInfo }),
      adopt: async (g, state, seq, cursors) => {
        await this.options.store.commit({ groupStates: [this.stateRecord(g, state)], cursors: { ...cursors, [groupCursor(g)]: String(seq) } });
        this.states.set(g, state);
      },
      catchUp: (g, until) => this.pullGroup(g, until),
    };
  }

  // ---- sending -----------------------------------------------------------------------

  /** Refuses to send to a conversation with a contact whose verified key changed. */
  private async checkVerified(state: GroupState): Promise<void> {
    const users = new Set(membersOf(state).map((m) => m.device.userId));
    for (const u of users) if (u !== this.userId) await this.refuseUnverified(u);
  }

  /** Throws `contact-unverified` if `userId` was verified and their identity key changed since. */
  private async refuseUnverified(userId: string): Promise<void> {
    const c = await this.options.store.getContact(userId);
    if (c !== undefined && c.wasVerified === true && !c.verified) {
      throw new ClientUsageError('contact-unverified', 'a verified contact’s identity key changed: verify it again before sending');
    }
  }

  /** Sends text; resolves with the stored message once the server has it on disk. */
  async sendText(groupId: GroupId, text: string): Promise<StoredMessage> {
    if (typeof text !== 'string') throw new ClientUsageError('invalid-argument', 'text must be a string');
    // In the queue: number, encrypt, persist, and put the frame on the wire, so that
    // frames leave in generation and sequence order. The server's answer is awaited
    // outside the queue when the WebSocket carries it, so sends pipeline.
    const { messageId, accepted } = await this.serial(async () => {
      if (await this.isSplit(groupId)) throw new ClientUsageError('conversation-split', 'this conversation was split by the server (a fork): it cannot be continued');
      await this.updateKeysIfDue(groupId);
      const state = await this.loadState(groupId);
      if (state === undefined) throw new ClientUsageError('unknown-conversation', 'no such conversation on this device');
      const conv = await this.options.store.getConversation(groupId);
      if (conv?.closedAt !== undefined) throw new ClientUsageError('conversation-closed', 'this conversation was left or this device removed from it');
      await this.checkVerified(state);
      const self: SenderRef = { userId: this.userId, deviceId: this.deviceId };
      const seq = ((await this.options.store.getSenderSeq(groupId, self)) ?? 0) + 1;
      const sentAt = this.now;
      const body = { type: 'text', text } as const;
      const idBytes = this.options.crypto.randomBytes(16);
      const id = toBase64Url(idBytes);
      const { state: next, message } = await encryptApplication(state, encodePayload({ v: 1, seq, sentAt, body, id }), await forkCheckAad(state));
      const record: MessageRecord = { groupId, messageId: id, sender: self, senderSeq: seq, sentAt, receivedAt: sentAt, body, status: 'pending', receipts: [] };
      // The ratchet moved: the new state is durable before its ciphertext leaves.
      try {
        await this.options.store.commit({ groupStates: [this.stateRecord(groupId, next)], messages: [record] });
      } catch (e) {
        this.states.delete(groupId);
        throw e;
      }
      this.states.set(groupId, next);
      // Over the WebSocket when it is open (one frame, no HTTP round trip), else HTTP
      // (awaited here: concurrent HTTP requests could reach the server out of order).
      // A retry with the same message id is answered with the first seq by the server.
      if (this.ws?.open === true) return { messageId: id, accepted: this.ws.send(groupId, idBytes, message) };
      // Awaited outside the queue (below) so that a refusal is recorded like a WebSocket one.
      const viaHttp = this.api.sendMessage(groupId, id, message);
      await viaHttp.catch(() => undefined);
      return { messageId: id, accepted: viaHttp };
    });
    try {
      await accepted;
    } catch (e) {
      // A refusal is final (the message stays in history as failed); a network error leaves it pending.
      if (e instanceof ServerError && e.code !== 'network') await this.options.store.commit({ messageUpdates: [{ groupId, messageId, status: 'failed' }] });
      throw e;
    }
    const before = await this.options.store.getMessage(groupId, messageId);
    if (before?.status === 'pending') await this.options.store.commit({ messageUpdates: [{ groupId, messageId, status: 'sent' }] });
    const stored = await this.options.store.getMessage(groupId, messageId);
    if (stored === undefined) throw new ClientUsageError('internal', 'a sent message vanished from the store');
    return stored;
  }

  /** Sends a receipt (an application message without a sequence number; nothing stored but the ratchet). */
  private async sendReceipt(groupId: GroupId, kind: ReceiptKind, ids: readonly string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += MAX_RECEIPT_IDS) {
      const state = await this.loadState(groupId);
      if (state === undefined) return;
      const chunk = ids.slice(i, i + MAX_RECEIPT_IDS);
      const { state: next, message } = await encryptApplication(state, encodeReceipt({ v: 1, sentAt: this.now, receipt: { kind, ids: chunk } }), await forkCheckAad(state));
      await this.options.store.commit({ groupStates: [this.stateRecord(groupId, next)] });
      this.states.set(groupId, next);
      await this.api.sendMessage(groupId, toBase64Url(this.options.crypto.randomBytes(16)), message);
    }
  }

  /**
   * Marks every received message of the conversation read, and tells the senders (a read
   * receipt). With `after` (a store order), only the messages after it are looked at: a
   * caller that marked the conversation read up to there spares decrypting all its history.
   */
  markRead(groupId: GroupId, options: { readonly after?: number } = {}): Promise<void> {
    return this.serial(async () => {
      const unread = (await this.options.store.listMessages(groupId, options.after === undefined ? {} : { after: options.after })).filter((m) => m.status === 'received' && m.sender.deviceId !== EVENT_DEVICE && m.senderSeq > 0);
      if (unread.length === 0) return;
      const ids = unread.map((m) => m.messageId);
      await this.options.store.commit({ messageUpdates: ids.map((messageId) => ({ groupId, messageId, status: 'read' as const })) });
      const conv = await this.options.store.getConversation(groupId);
      if (conv?.closedAt === undefined) await this.sendReceipt(groupId, 'read', ids);
    });
  }

  private async joinedEpoch(groupId: GroupId): Promise<bigint | undefined> {
    const v = await this.options.store.getCursor(joinedEpochCursor(groupId));
    return v !== undefined && /^[0-9]+$/.test(v) ? BigInt(v) : undefined;
  }

  /** Counts a message skipped by design; the counts go out as one event per group and reason once the current step is done. */
  private countSkipped(groupId: GroupId, reason: SkipReason): void {
    const counts = this.skipped.get(groupId) ?? new Map<SkipReason, number>();
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
    this.skipped.set(groupId, counts);
    if (this.skippedScheduled) return;
    this.skippedScheduled = true;
    this.later('reporting skipped messages', () => {
      this.skippedScheduled = false;
      const all = [...this.skipped];
      this.skipped.clear();
      for (const [g, counts] of all) for (const [r, count] of counts) this.hub.emit({ type: 'skipped', groupId: g, reason: r, count });
      return Promise.resolve();
    });
  }

  private scheduleReceipts(): void {
    if (this.receiptsScheduled) return;
    this.receiptsScheduled = true;
    this.later('sending delivery receipts', async () => {
      this.receiptsScheduled = false;
      const all = [...this.pendingDelivered];
      this.pendingDelivered.clear();
      for (const [groupId, ids] of all) await this.sendReceipt(groupId, 'delivered', [...ids]);
    });
  }

  // ---- receiving ---------------------------------------------------------------------

  /**
   * Fetches and processes everything pending (inbox, then every group), in order; adds
   * the user's new devices to its groups; sends the receipts due; rejoins lost groups.
   */
  async sync(): Promise<void> {
    await this.serial(async () => {
      await this.pullInbox();
      for (const groupId of await this.options.store.listGroupIds()) {
        try {
          await this.pullGroup(groupId);
        } catch (e) {
          this.hub.emit({ type: 'error', groupId, code: errorCode(e), message: 'the conversation could not be brought up to date' });
        }
      }
      await this.findLostGroups();
      for (const groupId of await this.options.store.listGroupIds()) await this.updateKeysIfDue(groupId);
    });
    await this.drain();
    await this.serial(() => this.adoptOwnDevices());
    await this.drain();
  }

  private pullInbox(): Promise<void> {
    return this.pulled(() => this.pullInboxBatches());
  }

  private async pullInboxBatches(): Promise<void> {
    for (;;) {
      const after = Number((await this.options.store.getCursor(INBOX)) ?? '0');
      const batch = await this.api.readInbox(after);
      if (batch.length === 0) return;
      for (const m of batch) await this.handle('inbox', m);
    }
  }

  /** Processes the group's log after our cursor, up to `until` if given. */
  private pullGroup(groupId: GroupId, until?: number): Promise<void> {
    return this.pulled(() => this.pullGroupBatches(groupId, until));
  }

  private async pullGroupBatches(groupId: GroupId, until?: number): Promise<void> {
    for (;;) {
      const after = Number((await this.options.store.getCursor(groupCursor(groupId))) ?? '0');
      if (until !== undefined && after >= until) return;
      if ((await this.loadState(groupId)) === undefined) return;
      const batch = await this.api.readGroup(groupId, after);
      const todo = until === undefined ? batch : batch.filter((m) => m.seq <= until);
      if (todo.length === 0) return;
      for (const m of todo) await this.handle('group', m);
      const last = todo[todo.length - 1];
      if (last !== undefined && Number((await this.options.store.getCursor(groupCursor(groupId))) ?? '0') < last.seq) return;
    }
  }

  /**
   * Opens the WebSocket: the server pushes the backlog after our cursors, then live messages.
   * `onClose` is told when this socket, once open, closes (not after close()), so that a long-running
   * caller can reconnect; meanwhile sending and acknowledging fall back to HTTP.
   */
  async connect(options?: { readonly onClose?: (code: number) => void }): Promise<void> {
    const factory = this.options.webSocket ?? ((url: string) => new WebSocket(url));
    const wsUrl = this.options.serverUrl.replace(/^http/, 'ws') + '/v1/ws';
    const token = this.api.sessionToken;
    if (token === undefined) throw new ClientUsageError('not-logged-in', 'no session');
    let opened = false;
    this.ws = await WsConnection.connect(factory, wsUrl, token, {
      onDeliver: (f) => {
        this.serial(() => this.handle(f.stream, this.fromFrame(f))).catch((e: unknown) => {
          this.hub.emit({ type: 'error', groupId: f.groupId, code: errorCode(e), message: 'a delivered message could not be processed' });
        });
      },
      onClose: (code) => {
        if (opened && !this.closed) options?.onClose?.(code); // a failed attempt rejects instead
      },
    });
    opened = true;
  }

  private fromFrame(f: DeliverFrame): WireMessage {
    return { seq: f.seq, messageId: toBase64Url(f.messageId), kind: f.kind, groupId: f.groupId, sender: f.sender, createdAt: f.createdAt, data: f.payload };
  }

  /** Tells the server what is now durable here (during an HTTP pull: once per batch). */
  private async ack(stream: 'group' | 'inbox', m: WireMessage): Promise<void> {
    if (this.pulling > 0) {
      if (stream === 'inbox') this.unacked.inbox = m.seq;
      else this.unacked.groups.set(m.groupId, m.seq);
      return;
    }
    const cursors = stream === 'inbox' ? { inbox: m.seq } : { groups: [{ groupId: m.groupId, seq: m.seq }] };
    if (this.ws?.open === true) this.ws.ack(cursors.groups ?? [], cursors.inbox);
    else await this.api.ack(cursors);
  }

  /** Runs an HTTP pull with its acknowledgements gathered, and sends them in one request. */
  private async pulled<T>(f: () => Promise<T>): Promise<T> {
    this.pulling++;
    try {
      return await f();
    } finally {
      this.pulling--;
      if (this.pulling === 0) await this.flushAcks();
    }
  }

  private async flushAcks(): Promise<void> {
    const groups = [...this.unacked.groups].map(([groupId, seq]) => ({ groupId, seq }));
    const inbox = this.unacked.inbox;
    this.unacked = { groups: new Map() };
    if (groups.length === 0 && inbox === undefined) return;
    if (this.ws?.open === true) this.ws.ack(groups, inbox);
    else await this.api.ack({ ...(groups.length > 0 ? { groups } : {}), ...(inbox !== undefined ? { inbox } : {}) });
  }

  /** Stores `batch` with the stream's new cursor, then acknowledges. */
  private async settle(stream: 'group' | 'inbox', m: WireMessage, batch: WriteBatch): Promise<void> {
    const name = stream === 'inbox' ? INBOX : groupCursor(m.groupId);
    await this.options.store.commit({ ...batch, cursors: { ...batch.cursors, [name]: String(m.seq) } });
    await this.ack(stream, m);
  }

  /**
   * Processes one log or inbox entry. If anything throws (a failed store write, a crash
   * of the engine), nothing was stored or acknowledged, and the cached group state is
   * dropped: the engine consumes message keys as it decrypts, so the next attempt (a
   * redelivery) must start again from the stored state.
   */
  private async handle(stream: 'group' | 'inbox', m: WireMessage): Promise<void> {
    try {
      await this.handleOne(stream, m);
    } catch (e) {
      this.states.delete(m.groupId);
      throw e;
    }
  }

  private async handleOne(stream: 'group' | 'inbox', m: WireMessage): Promise<void> {
    if (this.closed) return;
    const name = stream === 'inbox' ? INBOX : groupCursor(m.groupId);
    if (m.seq <= Number((await this.options.store.getCursor(name)) ?? '0')) return; // already stored
    if (m.kind === 'notice') {
      this.handleNotice(m);
      await this.settle(stream, m, {});
      return;
    }
    if (stream === 'inbox') {
      if (m.kind === 'welcome') await this.handleWelcome(m);
      else if (m.kind === 'commit') await this.handleGroupEntry('inbox', m);
      else await this.settle(stream, m, {});
      return;
    }
    await this.handleGroupEntry('group', m);
  }

  /** `device-removed`: the user's own remaining devices commit the removal in every group. */
  private handleNotice(m: WireMessage): void {
    let notice: { type?: unknown; userId?: unknown; deviceId?: unknown };
    try {
      notice = JSON.parse(decoder.decode(m.data)) as typeof notice;
    } catch {
      return;
    }
    if (notice.type !== 'device-removed' || notice.userId !== this.userId || typeof notice.deviceId !== 'string' || notice.deviceId === this.deviceId) return;
    const gone = notice.deviceId;
    const groups = m.groupId === '' ? undefined : [m.groupId];
    this.later('removing a removed device', async () => {
      for (const groupId of groups ?? (await this.options.store.listGroupIds())) {
        const state = await this.loadState(groupId).catch(() => undefined);
        if (state === undefined || !membersOf(state).some((x) => x.device.userId === this.userId && x.device.deviceId === gone)) continue;
        await this.commitIntent(groupId, { type: 'own-devices', add: [], remove: [gone] });
      }
    });
  }

  private async handleGroupEntry(stream: 'group' | 'inbox', m: WireMessage): Promise<void> {
    let state: GroupState | undefined;
    try {
      state = await this.loadState(m.groupId);
    } catch (e) {
      this.hub.emit({ type: 'error', groupId: m.groupId, code: errorCode(e), message: 'the conversation’s stored state does not load' });
      return; // not settled: processed again after the rejoin
    }
    if (state === undefined) {
      if (stream === 'inbox') await this.settle(stream, m, {});
      return; // not joined yet: the Welcome's handling pulls this group
    }
    // Our own application message coming back (a read over HTTP returns the whole log):
    // its key was used when we sent it, and the message is in the store since then.
    if (m.sender === this.deviceId && m.kind === 'application') {
      await this.settle(stream, m, {});
      return;
    }
    const framing = framingOf(m.data);
    if (framing === undefined) {
      this.hub.emit({ type: 'error', groupId: m.groupId, code: 'malformed-message', message: 'an undecodable message was skipped' });
      await this.settle(stream, m, {});
      return;
    }
    if (!bytesEqual(framing.groupId, state.groupContext.groupId)) {
      // Made for another group and relabelled by the server: not this conversation's to
      // decrypt, count (a receipt) or act on (a later epoch would start a rejoin).
      await this.settle(stream, m, { messages: [this.eventLine(m.groupId, 'message-misrouted')] });
      this.warn('message-misrouted', 'the server delivered a message of another conversation into this one; it was ignored', { groupId: m.groupId });
      return;
    }
    const epoch = state.groupContext.epoch;
    if (framing.epoch > epoch) {
      // Something from an epoch we never entered: a commit was lost to us. Rejoin.
      this.scheduleRejoin(m.groupId);
      await this.settle(stream, m, {});
      return;
    }
    if (framing.epoch < epoch && (framing.commit || framing.wireFormat !== WireFormat.mls_private_message)) {
      await this.settle(stream, m, {}); // our own commit coming back, or one that lost its race
      return;
    }
    if (framing.epoch < epoch && framing.epoch < ((await this.joinedEpoch(m.groupId)) ?? 0n)) {
      // Sealed before this device joined: unreadable here by design, not a fault to report.
      await this.settle(stream, m, { cursors: { [historyBeforeJoinCursor(m.groupId)]: '1' } });
      this.countSkipped(m.groupId, 'before-join');
      return;
    }
    if (framing.commit) {
      const refused = await this.commitRefusal(state, m);
      if (refused !== undefined) {
        await this.settle(stream, m, refused);
        return;
      }
    } else {
      const fork = await checkForkTag(state, m.data);
      if (fork.kind === 'mismatch') {
        // The sender is in another branch of this epoch: the server forked the group.
        const first = !(await this.isSplit(m.groupId));
        await this.settle(stream, m, first ? { cursors: { [splitCursor(m.groupId)]: encodeSplit({ epoch: fork.epoch, detectedAt: this.now }) } } : {});
        if (first) this.warn('fork-detected', 'the server gave members different versions of this conversation; it is split and cannot be continued', { groupId: m.groupId });
        return;
      }
    }
    let processed;
    try {
      processed = await processMessage(state, m.data);
    } catch (e) {
      // `generation-reused` is a second copy of a message processed before (a replay, or a
      // late retry the server stored twice, docs/protocol.md): refused, and reported with
      // its code so that the app can tell it from a fault.
      this.hub.emit({ type: 'error', groupId: m.groupId, code: errorCode(e), message: 'a message could not be decrypted or verified' });
      await this.settle(stream, m, {});
      return;
    }
    const { event } = processed;
    if (event.type === 'proposal') {
      // Parley commits by value only (the server's view could not follow a reference):
      // a proposal sent on its own is not kept, so no commit of ours can cover it.
      this.hub.emit({ type: 'error', groupId: m.groupId, code: 'proposal-ignored', message: 'a proposal sent on its own was ignored' });
      await this.settle(stream, m, {});
      return;
    }
    if (event.type === 'application') {
      await this.handleApplication(stream, m, state, processed.state, event.sender, event.epoch, event.data);
      return;
    }
    if (event.type === 'removed') {
      const conv = await this.options.store.getConversation(m.groupId);
      await this.settle(stream, m, {
        deleteGroupStates: [m.groupId],
        messages: [this.eventLine(m.groupId, 'removed')],
        ...(conv !== undefined ? { conversations: [{ ...conv, closedAt: conv.closedAt ?? this.now }] } : {}),
      });
      this.states.delete(m.groupId);
      this.hub.emit({ type: 'removed', groupId: m.groupId });
      return;
    }
    await this.settle(stream, m, { groupStates: [this.stateRecord(m.groupId, processed.state)] });
    this.states.set(m.groupId, processed.state);
    if (event.type === 'commit') {
      this.hub.emit({ type: 'membership', groupId: m.groupId, epoch: event.epoch, added: event.added.length, removed: event.removed.length });
    }
  }

  /**
   * The policy of the epoch the commit applies to must allow it, and every device it
   * brings in must carry a certificate its user's identity key signed — the key pinned
   * for that user, while a change of it is unacknowledged (deviceRefusal). Returns
   * undefined if the commit may be merged; otherwise warns and returns what to store
   * with the refused commit (the conversation's event line about it, if any). A refused
   * commit is not merged: this device stays at its epoch, with the members it had.
   */
  private async commitRefusal(state: GroupState, m: WireMessage): Promise<WriteBatch | undefined> {
    let described;
    try {
      described = describeCommit(state, m.data);
    } catch (e) {
      this.hub.emit({ type: 'error', groupId: m.groupId, code: errorCode(e), message: 'a commit could not be read' });
      return {};
    }
    const decision = checkCommitAgainstPolicy(policyOf(state), described.description);
    if (!decision.ok) {
      this.warn('policy-violation', `a commit the group’s policy does not allow was refused (${decision.reason})`, { groupId: m.groupId, userId: described.description.committer.userId });
      return {};
    }
    for (const leaf of described.leaves) {
      const refusal = await this.deviceRefusal(leaf.credential, leaf.signatureKey, m.groupId);
      if (refusal === 'identity-key-unacknowledged') return { messages: [this.eventLine(m.groupId, 'device-refused', deviceOf(leaf.credential).userId)] };
      if (refusal !== undefined) return {};
    }
    return undefined;
  }

  /**
   * A member asked to leave: one device commits the removal of all of the member's
   * devices — the device with the lowest leaf among those whose user the policy lets
   * remove others (and that are not the leaver's).
   */
  private leaveRequested(groupId: GroupId, state: GroupState, from: SenderRef, user: string): void {
    if (user !== from.userId || user === this.userId) return; // one may only ask for oneself
    const policy = policyOf(state);
    const may = (u: string): boolean => (policy.remove === 'members' && !policy.admins.includes(user)) || policy.admins.includes(u);
    const designated = membersOf(state).find((x) => x.device.userId !== user && may(x.device.userId));
    if (designated?.index !== Number(state.ownLeaf)) return;
    this.later('committing a member’s leave', () => this.commitIntent(groupId, { type: 'remove-users', users: [user] }), groupId);
  }

  /** Who sent an application message: its leaf in the epoch it was sent in. */
  private senderOf(state: GroupState, next: GroupState, leaf: LeafIndex, epoch: bigint): SenderRef {
    if (epoch === state.groupContext.epoch) {
      const node = state.tree.leaf(leaf);
      if (node === undefined) throw new ClientUsageError('unknown-sender', 'no such leaf');
      return deviceOf(node.credential);
    }
    // A late message from a retained epoch: find its sender's signature key among today's leaves.
    const key = next.retained.find((r) => r.epoch === epoch)?.signatureKeys.get(Number(leaf));
    const now = key === undefined ? undefined : membersOf(state).find((x) => bytesEqual(x.leaf.signatureKey, key));
    if (now === undefined) throw new ClientUsageError('unknown-sender', 'a late message from a device no longer in the group');
    return now.device;
  }

  private async handleApplication(stream: 'group' | 'inbox', m: WireMessage, state: GroupState, next: GroupState, leaf: LeafIndex, epoch: bigint, data: Uint8Array): Promise<void> {
    const keep = async (): Promise<void> => {
      await this.settle(stream, m, { groupStates: [this.stateRecord(m.groupId, next)] });
      this.states.set(m.groupId, next);
    };
    let sender: SenderRef;
    let app;
    try {
      sender = this.senderOf(state, next, leaf, epoch);
      app = decodeAppData(data);
    } catch (e) {
      this.hub.emit({ type: 'error', groupId: m.groupId, code: errorCode(e), message: 'an application message was not understood' });
      await keep();
      return;
    }
    if ('receipt' in app) {
      await this.applyReceipt(stream, m, next, sender, app.receipt.receipt.kind, app.receipt.receipt.ids);
      return;
    }
    if ('leave' in app) {
      await keep();
      this.leaveRequested(m.groupId, next, sender, app.leave.leave.user);
      return;
    }
    const payload = app.message;
    const messageId = payload.id ?? m.messageId;
    const previous = await this.options.store.getSenderSeq(m.groupId, sender);
    const duplicate = (await this.options.store.getMessage(m.groupId, messageId)) !== undefined;
    // sender-order.ts: a number below the highest is late (reordered) if it was missing, else a replay.
    const missingMap = decodeMissing(await this.options.store.getCursor(missingCursor(m.groupId)));
    // A sender first heard from after skipping history from before the join: their count starts here.
    const baseline = previous === undefined && (await this.options.store.getCursor(historyBeforeJoinCursor(m.groupId))) !== undefined ? Math.max(0, payload.seq - 1) : previous;
    const seen = classifySeq(baseline === undefined ? undefined : { highest: baseline, missing: missingOf(missingMap, sender) }, payload.seq);
    const replay = duplicate || seen.verdict === 'replay';
    const gap = !replay && seen.verdict === 'gap';
    if (replay) {
      // Refused: not stored again. Shown once, as the message first stored under this number.
      await keep();
      const first = (await this.options.store.getMessage(m.groupId, messageId)) ?? (await this.findBySeq(m.groupId, sender, payload.seq));
      if (first !== undefined) this.hub.emit({ type: 'message', message: first, gap: false, replay: true });
      return;
    }
    const record: MessageRecord = {
      groupId: m.groupId,
      messageId,
      sender,
      senderSeq: payload.seq,
      sentAt: payload.sentAt,
      receivedAt: this.now,
      body: payload.body,
      status: 'received',
      receipts: [],
    };
    await this.settle(stream, m, {
      groupStates: [this.stateRecord(m.groupId, next)],
      messages: [record],
      cursors: { [missingCursor(m.groupId)]: encodeMissing(withMissing(missingMap, sender, seen.next.missing)) },
    });
    this.states.set(m.groupId, next);
    if (gap) this.warn('message-missing', 'messages of this sender are missing before this one', { groupId: m.groupId, userId: sender.userId });
    if (seen.verdict === 'late') this.warn('reordered', 'the server delivered this sender’s messages out of order; they are shown in the order they were sent', { groupId: m.groupId, userId: sender.userId });
    const stored = await this.options.store.getMessage(m.groupId, messageId);
    if (stored !== undefined) this.hub.emit({ type: 'message', message: stored, gap, replay: false });
    if (sender.userId !== this.userId) {
      const set = this.pendingDelivered.get(m.groupId) ?? new Set<string>();
      set.add(messageId);
      this.pendingDelivered.set(m.groupId, set);
      this.scheduleReceipts();
    }
  }

  private async findBySeq(groupId: GroupId, sender: SenderRef, seq: number): Promise<StoredMessage | undefined> {
    const all = await this.options.store.listMessages(groupId);
    return all.find((x) => x.senderSeq === seq && x.sender.userId === sender.userId && x.sender.deviceId === sender.deviceId);
  }

  /**
   * A receipt from a member device: recorded on our own messages it names (any device
   * of ours sent them), whose status follows the other members; a read receipt from
   * another device of ours marks those messages read here too.
   */
  private async applyReceipt(stream: 'group' | 'inbox', m: WireMessage, next: GroupState, from: SenderRef, kind: ReceiptKind, ids: readonly string[]): Promise<void> {
    const others = new Set(membersOf(next).map((x) => x.device.userId).filter((u) => u !== this.userId));
    const updates: MessageUpdate[] = [];
    const events: ParleyEvent[] = [];
    const at = this.now;
    for (const messageId of new Set(ids)) {
      const msg = await this.options.store.getMessage(m.groupId, messageId);
      if (msg === undefined) continue;
      if (msg.sender.userId === this.userId && from.userId !== this.userId) {
        const receipt: Receipt = { userId: from.userId, deviceId: from.deviceId, state: kind, at };
        const merged = [...msg.receipts.filter((r) => !(r.userId === from.userId && r.deviceId === from.deviceId && (r.state === 'read' || kind === 'delivered'))), receipt];
        const status = statusFrom(msg.status, merged, others);
        updates.push({ groupId: m.groupId, messageId, receipts: [receipt], ...(status !== msg.status ? { status } : {}) });
        events.push({ type: 'receipt', groupId: m.groupId, messageId, userId: from.userId, deviceId: from.deviceId, kind });
      } else if (from.userId === this.userId && kind === 'read' && msg.status === 'received') {
        updates.push({ groupId: m.groupId, messageId, status: 'read' });
      }
    }
    await this.settle(stream, m, { groupStates: [this.stateRecord(m.groupId, next)], messageUpdates: updates });
    this.states.set(m.groupId, next);
    for (const e of events) this.hub.emit(e);
  }

  private async handleWelcome(m: WireMessage): Promise<void> {
    // §12.4.3.1: the Welcome names each new member's KeyPackageRef; pick ours by it.
    let joined: GroupState | undefined;
    let used = -1;
    let failure: unknown;
    try {
      const msg = decode(decodeMLSMessage, m.data);
      if (msg.wireFormat !== WireFormat.mls_welcome) throw new ClientUsageError('not-a-welcome', 'an inbox Welcome entry holds something else');
      const suite = this.options.provider.suite(msg.welcome.cipherSuite);
      const refs = msg.welcome.secrets.map((x) => x.newMember);
      for (let i = 0; i < this.held.length && used < 0; i++) {
        const k = this.held[i];
        if (k === undefined) continue;
        const ref = await makeKeyPackageRef(suite, encode(encodeKeyPackage, k.keyPackage));
        if (refs.some((r) => bytesEqual(r, ref))) used = i;
      }
      const k = this.held[used];
      if (k !== undefined) joined = await joinFromWelcome({ provider: this.options.provider, welcome: msg.welcome, keyPackage: k.keyPackage, privateKeys: k.privateKeys, config: this.config });
    } catch (e) {
      failure = e;
    }
    if (joined === undefined) {
      const code = failure === undefined ? 'welcome-unusable' : errorCode(failure);
      this.hub.emit({ type: 'error', groupId: m.groupId, code, message: 'a Welcome could not be used (no matching key package, or it did not verify)' });
      await this.settle('inbox', m, {});
      return;
    }
    const groupId = decoder.decode(joined.groupContext.groupId);
    let policy: GroupPolicy | undefined;
    try {
      policy = findGroupPolicy(joined.groupContext.extensions);
    } catch {
      policy = undefined;
    }
    const users = new Set(membersOf(joined).map((x) => x.device.userId));
    if (policy === undefined || (policy.kind === 'direct' && users.size > 2)) {
      this.warn('policy-violation', 'a Welcome into a group without a valid Parley policy was refused', { groupId });
      await this.settle('inbox', m, {});
      return;
    }
    // Every member's device certificate must be signed by its user's identity key.
    for (const [index, leaf] of joined.tree.leaves()) {
      if (index === joined.ownLeaf) continue;
      const refusal = await this.deviceRefusal(leaf.credential, leaf.signatureKey, groupId);
      if (refusal !== undefined) {
        this.hub.emit({ type: 'error', groupId, code: refusal, message: 'a Welcome into a group with a member this device does not accept was refused' });
        await this.settle('inbox', m, {});
        return;
      }
    }
    const remaining = this.held.filter((h, i) => i !== used || h.lastResort === true);
    const known = await this.options.store.getConversation(groupId);
    const conversation: ConversationRecord = { groupId, kind: policy.kind, ...(policy.kind === 'group' ? { name: policy.name } : {}), createdAt: known?.createdAt ?? this.now };
    await this.settle('inbox', m, {
      groupStates: [this.stateRecord(groupId, joined)],
      conversations: [conversation],
      cursors: { [HELD_KEY_PACKAGES]: encodeHeld(remaining), [joinedEpochCursor(groupId)]: String(joined.groupContext.epoch) },
    });
    this.held = remaining;
    this.states.set(groupId, joined);
    this.hub.emit({ type: 'conversation', conversation });
    // What the group log holds for us from our epoch on (e.g. messages sent right after the add).
    await this.pullGroup(groupId);
    this.later('replenishing key packages', () => this.replenishKeyPackages());
  }

  // ---- several devices, rejoining ------------------------------------------------------

  /**
   * Adds the user's devices that a group lacks (a new device logged in) and removes
   * those the server no longer lists, in every group of ours. Each device listed must
   * carry a certificate our identity key signed.
   */
  private async adoptOwnDevices(): Promise<void> {
    const me = await this.api.getUser(this.userId);
    const listed = new Set<string>();
    for (const d of me.devices) {
      try {
        await checkDeviceCertificate(this.options.crypto, fromBase64(d.certificate), this.identity.identityPublicKey, { userId: this.userId, deviceId: d.deviceId });
        listed.add(d.deviceId);
      } catch {
        this.warn('unsigned-device', 'the server lists a device of yours that your identity key did not sign', { userId: this.userId });
      }
    }
    for (const groupId of await this.options.store.listGroupIds()) {
      const conv = await this.options.store.getConversation(groupId);
      if (conv?.closedAt !== undefined) continue;
      const state = await this.loadState(groupId).catch(() => undefined);
      if (state === undefined) continue;
      const mine = new Set(membersOf(state).filter((x) => x.device.userId === this.userId).map((x) => x.device.deviceId));
      const add = [...listed].filter((d) => !mine.has(d));
      const remove = [...mine].filter((d) => !listed.has(d) && d !== this.deviceId);
      if (add.length === 0 && remove.length === 0) continue;
      try {
        await this.commitIntent(groupId, { type: 'own-devices', add, remove });
      } catch (e) {
        this.hub.emit({ type: 'error', groupId, code: errorCode(e), message: 'your devices could not be brought into this conversation' });
      }
    }
  }

  /** Conversations we are in (not closed) whose group state is gone: rejoin them. */
  private async findLostGroups(): Promise<void> {
    const have = new Set(await this.options.store.listGroupIds());
    for (const c of await this.options.store.listConversations()) {
      if (c.closedAt === undefined && !have.has(c.groupId)) this.scheduleRejoin(c.groupId);
    }
  }

  private scheduleRejoin(groupId: GroupId): void {
    if (this.rejoining.has(groupId)) return;
    this.rejoining.add(groupId);
    this.later(
      'rejoining a conversation',
      async () => {
        try {
          await this.rejoin(groupId);
        } finally {
          this.rejoining.delete(groupId);
        }
      },
      groupId,
    );
  }

  /**
   * §12.4.3.2 resync: joins the group again from the server's GroupInfo by an external
   * commit that removes our prior leaf. The conversation says so (`rejoined`); what was
   * sent while this device could not decrypt is not recoverable from the server.
   */
  private async rejoin(groupId: GroupId): Promise<void> {
    const attempts = this.options.commitAttempts ?? 8;
    for (let attempt = 1; ; attempt++) {
      const info = await this.api.getGroupInfo(groupId);
      const msg = decode(decodeMLSMessage, info.groupInfo);
      if (msg.wireFormat !== WireFormat.mls_group_info) throw new ClientUsageError('not-a-group-info', 'the server’s GroupInfo is something else');
      const treeExt = msg.groupInfo.extensions.find((e) => e.extensionType === ExtensionType.ratchet_tree);
      if (treeExt === undefined) throw new ClientUsageError('missing-ratchet-tree', 'the server’s GroupInfo has no ratchet tree');
      const nodes = decode(decodeRatchetTree, treeExt.extensionData);
      let prior: LeafIndex | undefined;
      nodes.forEach((n, i) => {
        if (n?.nodeType !== NodeType.leaf || i % 2 !== 0) return;
        try {
          const d = deviceOf(n.leafNode.credential);
          if (d.userId === this.userId && d.deviceId === this.deviceId) prior = (i / 2) as LeafIndex;
        } catch {
          // not a Parley leaf: not ours
        }
      });
      const joined = await joinExternal({
        provider: this.options.provider,
        groupInfo: info.groupInfo,
        credential: this.credential,
        signatureKey: this.signatureKey,
        capabilities: this.capabilities(),
        config: this.config,
        ...(prior !== undefined ? { removePrior: prior } : {}),
      });
      // The joined group's policy and members check out like a Welcome's.
      const policy = findGroupPolicy(joined.state.groupContext.extensions);
      if (policy === undefined) throw new ClientUsageError('policy-violation', 'the group to rejoin has no Parley policy');
      for (const [index, leaf] of joined.state.tree.leaves()) {
        if (index === joined.state.ownLeaf) continue;
        const refusal = await this.deviceRefusal(leaf.credential, leaf.signatureKey, groupId);
        if (refusal !== undefined) throw new VerificationError(refusal, 'the group to rejoin has a member this device does not accept');
      }
      let accepted;
      try {
        accepted = await this.api.commit(groupId, { epoch: info.epoch, commit: joined.commitMessage, groupInfo: await groupInfoOf(joined.state) });
      } catch (e) {
        if (e instanceof ServerError && e.code === 'stale-epoch' && attempt < attempts) continue;
        throw e;
      }
      const conv = await this.options.store.getConversation(groupId);
      const conversation: ConversationRecord = conv ?? { groupId, kind: policy.kind, ...(policy.kind === 'group' ? { name: policy.name } : {}), createdAt: this.now };
      await this.options.store.commit({
        groupStates: [this.stateRecord(groupId, joined.state)],
        conversations: [conversation],
        messages: [this.eventLine(groupId, 'rejoined')],
        cursors: { [groupCursor(groupId)]: String(accepted.seq), [joinedEpochCursor(groupId)]: String(joined.state.groupContext.epoch) },
      });
      this.states.set(groupId, joined.state);
      this.warn('rejoined', 'this device lost the conversation’s state and rejoined it; messages sent meanwhile could not be read here', { groupId });
      return;
    }
  }

  /** Printing a client shows who it is, never its keys or group secrets. */
  toJSON(): { userId: string; deviceId: string } {
    return { userId: this.userId, deviceId: this.deviceId };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `ParleyClient(${this.userId}/${this.deviceId})`;
  }

  /** Closes the WebSocket and the event streams; the store stays the caller's. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    await Promise.allSettled(this.deferred);
    await this.ws?.close();
    this.hub.close();
  }
}

/** An own message's status from its receipts: delivered (read) once every other member user has a device that said so. */
function statusFrom(current: MessageStatus, receipts: readonly Receipt[], others: ReadonlySet<string>): MessageStatus {
  if (current === 'read' || current === 'failed' || others.size === 0) return current;
  const all = (ok: (r: Receipt) => boolean): boolean => [...others].every((u) => receipts.some((r) => r.userId === u && ok(r)));
  if (all((r) => r.state === 'read')) return 'read';
  if (current !== 'delivered' && all(() => true)) return 'delivered';
  return current;
}

export { ServerError, SenderType };
