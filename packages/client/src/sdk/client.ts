// ParleyClient: one device's conversations over a Parley server (issue 6 item 1). Every
// conversation is an MLS group (RFC 9420); the server orders each group's commits and
// relays bytes it cannot read. The client:
// - registers (identity key, device certificate signed by it, key packages) or logs in
//   again from its profile store;
// - opens a 1:1 conversation: claims the peer's key packages (one per device), checks
//   each leaf's device certificate against the peer's identity key, creates the group,
//   adds them by a commit the server sequences, whose Welcome the server routes;
// - sends text as MLS application messages (§6.3.1) with a per-sender sequence number;
// - processes the group logs and the inbox strictly in order, one thing at a time, and
//   writes the new group state, the decrypted message and the server cursor in ONE store
//   batch before acknowledging anything to the server.

import {
  CredentialType,
  createCommit,
  createGroup,
  decode,
  decodeKeyPackage,
  decodeMLSMessage,
  deserializeState,
  encode,
  encodeKeyPackage,
  encryptApplication,
  generateKeyPackage,
  joinFromWelcome,
  makeKeyPackageRef,
  mergeCommit,
  processMessage,
  serializeState,
  WireFormat,
  type Credential,
  type CryptoProvider,
  type GroupConfig,
  type GroupState,
  type KeyPackage,
  type KeyPackagePrivateKeys,
} from '@parley/mls';
import { decodeDeviceCertificate, type DeliverFrame } from '@parley/protocol';
import type { ClientCrypto } from '../crypto/client-crypto.js';
import { ClientUsageError, VerificationError } from '../errors.js';
import { checkDeviceCertificate, createDevice, generateIdentityKey } from '../identity/identity.js';
import type { ClientStore, ContactRecord, ConversationRecord, GroupId, IdentityRecord, ListMessagesOptions, MessageRecord, SenderRef, StoredMessage, WriteBatch } from '../store/client-store.js';
import { bytesEqual, fromBase64, toBase64 } from '../util/bytes.js';
import { HttpApi, ServerError, toBase64Url, type FetchLike, type WireMessage } from '../transport/http.js';
import { WsConnection, type WebSocketFactory } from '../transport/ws.js';
import { EventHub, type ParleyEvent, type ParleyListener } from './events.js';
import { decodePayload, encodePayload } from './payload.js';
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
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Who a leaf is: the device certificate carried as its basic credential's identity. */
function senderOf(credential: Credential): SenderRef {
  if (credential.credentialType !== CredentialType.basic) throw new ClientUsageError('unexpected-credential', 'a leaf without a Parley device certificate');
  const cert = decodeDeviceCertificate(credential.identity);
  return { userId: cert.userId, deviceId: cert.deviceId };
}

/** §5.3.1: a leaf's credential must be a device certificate naming the leaf's own signature key. */
function validateCredential(credential: Credential, signatureKey: Uint8Array): boolean {
  if (credential.credentialType !== CredentialType.basic) return false;
  try {
    return bytesEqual(decodeDeviceCertificate(credential.identity).signatureKey, signatureKey);
  } catch {
    return false;
  }
}

function epochOfMessage(bytes: Uint8Array): bigint | undefined {
  const m = decode(decodeMLSMessage, bytes);
  if (m.wireFormat === WireFormat.mls_public_message) return m.publicMessage.content.epoch;
  if (m.wireFormat === WireFormat.mls_private_message) return m.privateMessage.epoch;
  return undefined;
}

function errorCode(e: unknown): string {
  if (typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string') return (e as { code: string }).code;
  return 'internal';
}

interface HeldKeyPackage {
  readonly keyPackage: KeyPackage;
  readonly privateKeys: KeyPackagePrivateKeys;
}

function encodeHeld(held: readonly HeldKeyPackage[]): string {
  return JSON.stringify(
    held.map((h) => [toBase64(encode(encodeKeyPackage, h.keyPackage)), toBase64(h.privateKeys.initPrivateKey), toBase64(h.privateKeys.encryptionPrivateKey)]),
  );
}

function decodeHeld(value: string | undefined, signaturePrivateKey: Uint8Array): HeldKeyPackage[] {
  if (value === undefined) return [];
  const rows = JSON.parse(value) as [string, string, string][];
  return rows.map(([kp, init, enc]) => ({
    keyPackage: decode(decodeKeyPackage, fromBase64(kp)),
    privateKeys: { initPrivateKey: fromBase64(init), encryptionPrivateKey: fromBase64(enc), signaturePrivateKey },
  }));
}

export class ParleyClient {
  private readonly api: HttpApi;
  private readonly hub = new EventHub();
  private readonly states = new Map<GroupId, GroupState>();
  /** Key packages uploaded and not used yet (mirrors the store's HELD_KEY_PACKAGES). */
  private held: HeldKeyPackage[] = [];
  private readonly config: GroupConfig;
  private queue: Promise<unknown> = Promise.resolve();
  private ws: WsConnection | undefined;
  private closed = false;

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
   * signed by the identity key), stores them, and uploads key packages.
   */
  static async register(options: ParleyClientOptions, username: string, password: string, invite?: string): Promise<ParleyClient> {
    if ((await options.store.getAccount()) !== undefined) throw new ClientUsageError('profile-in-use', 'this profile already holds an account');
    const api = new HttpApi(options.serverUrl, options.fetch);
    const session = await api.register(username, password, invite);
    api.setToken(session.token);
    const identityKey = await generateIdentityKey(options.crypto);
    await api.setIdentityKey(identityKey.publicKey);
    const now = (options.now ?? Date.now)();
    const device = await createDevice(options.crypto, { userId: session.userId, identity: identityKey, now });
    await api.registerDevice(device.certificate);
    await options.store.commit({
      account: { userId: session.userId, deviceId: device.deviceId, serverUrl: options.serverUrl, createdAt: now },
      identity: device.identity,
    });
    const client = new ParleyClient(options, session.userId, device.deviceId, device.identity, session.token);
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

  // ---- the serial queue --------------------------------------------------------------

  /** Runs `f` after everything queued before it: group states change one step at a time. */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async loadState(groupId: GroupId): Promise<GroupState | undefined> {
    const cached = this.states.get(groupId);
    if (cached !== undefined) return cached;
    const rec = await this.options.store.getGroupState(groupId);
    if (rec === undefined) return undefined;
    const state = deserializeState(rec.state, this.options.provider, this.config);
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

  // ---- key packages ------------------------------------------------------------------

  /** Tops the server's stock of this device's key packages up to `options.keyPackages`. */
  async replenishKeyPackages(): Promise<number> {
    const want = this.options.keyPackages ?? 10;
    const have = await this.api.keyPackageCount();
    const missing = Math.max(0, want - have.regular);
    if (missing === 0) return 0;
    const suite = this.options.provider.suite(this.identity.cipherSuite);
    const made: HeldKeyPackage[] = [];
    for (let i = 0; i < missing; i++) made.push(await generateKeyPackage({ suite, credential: this.credential, signatureKey: this.signatureKey }));
    // Private keys are durable before their public halves are handed out.
    const held = [...this.held, ...made];
    await this.options.store.commit({ cursors: { [HELD_KEY_PACKAGES]: encodeHeld(held) } });
    this.held = held;
    await this.api.uploadKeyPackages(made.map((k) => encode(encodeKeyPackage, k.keyPackage)));
    return missing;
  }

  // ---- conversations -----------------------------------------------------------------

  /**
   * Opens a 1:1 conversation with `peer`: a new MLS group with every device of theirs
   * (each one's certificate checked against their identity key). Returns its id.
   */
  openDirect(peer: string): Promise<GroupId> {
    return this.serial(async () => {
      if (peer === this.userId) throw new ClientUsageError('self-conversation', 'a 1:1 conversation needs another user');
      const user = await this.api.getUser(peer);
      if (user.identityKey === null) throw new ClientUsageError('no-identity-key', 'this user has no identity key yet');
      const identityKey = fromBase64(user.identityKey);
      const claimed = await this.api.claimKeyPackages(peer);
      if (claimed.length === 0) throw new ClientUsageError('no-key-packages', 'this user has no device to talk to');
      const adds: KeyPackage[] = [];
      for (const c of claimed) {
        const kp = decode(decodeKeyPackage, c.keyPackage);
        const cred = kp.leafNode.credential;
        if (cred.credentialType !== CredentialType.basic) throw new ClientUsageError('unexpected-credential', 'a key package without a device certificate');
        await checkDeviceCertificate(this.options.crypto, cred.identity, identityKey, { userId: peer, deviceId: c.deviceId, signatureKey: kp.leafNode.signatureKey });
        adds.push(kp);
      }
      const groupId = toBase64Url(this.options.crypto.randomBytes(16));
      const provider = this.options.provider;
      const created = await createGroup({ provider, suite: this.identity.cipherSuite, groupId: encoder.encode(groupId), credential: this.credential, signatureKey: this.signatureKey, config: this.config });
      // The server starts a group from a signed GroupInfo; the engine emits one per commit,
      // so the creator commits once alone (epoch 0 -> 1) and registers epoch 1.
      const first = await createCommit(created, { withPath: true });
      const alone = mergeCommit(created, first.pending);
      await this.api.createGroup(groupId, Number(alone.groupContext.epoch), first.groupInfo);
      const add = await createCommit(alone, { proposals: adds.map((keyPackage) => ({ proposalType: 1 as const, add: { keyPackage } })) });
      if (add.welcome === undefined) throw new ClientUsageError('internal', 'an add commit without a Welcome');
      const accepted = await this.api.commit(groupId, {
        epoch: Number(alone.groupContext.epoch),
        commit: add.commitMessage,
        groupInfo: add.groupInfo,
        welcome: add.welcome,
        addedDevices: claimed.map((c) => c.deviceId),
      });
      const state = mergeCommit(alone, add.pending);
      const conversation: ConversationRecord = { groupId, kind: 'direct', createdAt: this.now };
      const known = await this.options.store.getContact(peer);
      await this.options.store.commit({
        groupStates: [this.stateRecord(groupId, state)],
        conversations: [conversation],
        cursors: { [groupCursor(groupId)]: String(accepted.seq) },
        ...(known === undefined ? { contacts: [{ userId: peer, identityKey, verified: false, firstSeenAt: this.now }] } : {}),
      });
      this.states.set(groupId, state);
      this.hub.emit({ type: 'conversation', conversation });
      return groupId;
    });
  }

  /** Sends text; resolves with the stored message once the server has it on disk. */
  async sendText(groupId: GroupId, text: string): Promise<StoredMessage> {
    // In the queue: number, encrypt, persist, and put the frame on the wire, so that
    // frames leave in generation and sequence order. The server's answer is awaited
    // outside the queue when the WebSocket carries it, so sends pipeline.
    const { messageId, accepted } = await this.serial(async () => {
      if (await this.isSplit(groupId)) throw new ClientUsageError('conversation-split', 'this conversation was split by the server (a fork): it cannot be continued');
      await this.updateKeysIfDue(groupId);
      const state = await this.loadState(groupId);
      if (state === undefined) throw new ClientUsageError('unknown-conversation', 'no such conversation on this device');
      const self: SenderRef = { userId: this.userId, deviceId: this.deviceId };
      const seq = ((await this.options.store.getSenderSeq(groupId, self)) ?? 0) + 1;
      const sentAt = this.now;
      const body = { type: 'text', text } as const;
      const { state: next, message } = await encryptApplication(state, encodePayload({ v: 1, seq, sentAt, body }), await forkCheckAad(state));
      const idBytes = this.options.crypto.randomBytes(16);
      const id = toBase64Url(idBytes);
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
      await this.api.sendMessage(groupId, id, message);
      return { messageId: id, accepted: Promise.resolve() };
    });
    await accepted;
    await this.options.store.commit({ messageUpdates: [{ groupId, messageId, status: 'sent' }] });
    const stored = await this.options.store.getMessage(groupId, messageId);
    if (stored === undefined) throw new ClientUsageError('internal', 'a sent message vanished from the store');
    return stored;
  }

  // ---- receiving ---------------------------------------------------------------------

  /** Fetches and processes everything pending (inbox, then every group), in order. */
  sync(): Promise<void> {
    return this.serial(async () => {
      await this.pullInbox();
      for (const groupId of await this.options.store.listGroupIds()) await this.pullGroup(groupId);
      for (const groupId of await this.options.store.listGroupIds()) await this.updateKeysIfDue(groupId);
    });
  }

  // ---- post-compromise security: scheduled key updates (key-update.ts) -----------------

  /** Commits an update of this device's leaf if the group's interval has passed; a failure is reported, not thrown. */
  private async updateKeysIfDue(groupId: GroupId): Promise<void> {
    if (await this.isSplit(groupId)) return;
    await updateKeysIfDue(this.keyUpdateHost, groupId).catch((e: unknown) => {
      this.states.delete(groupId);
      this.hub.emit({ type: 'error', groupId, code: errorCode(e), message: 'the scheduled key update could not be committed' });
    });
  }

  private get keyUpdateHost(): KeyUpdateHost {
    return {
      now: () => this.now,
      store: this.options.store,
      loadState: (g) => this.loadState(g),
      submit: async (g, epoch, c) => {
        await this.api.commit(g, { epoch, commit: c.commitMessage, groupInfo: c.groupInfo });
      },
      adopt: async (g, state, cursors) => {
        await this.options.store.commit({ groupStates: [this.stateRecord(g, state)], cursors });
        this.states.set(g, state);
      },
      catchUp: (g) => this.pullGroup(g),
    };
  }

  private async pullInbox(): Promise<void> {
    for (;;) {
      const after = Number((await this.options.store.getCursor(INBOX)) ?? '0');
      const batch = await this.api.readInbox(after);
      if (batch.length === 0) return;
      for (const m of batch) await this.handle('inbox', m);
    }
  }

  private async pullGroup(groupId: GroupId): Promise<void> {
    for (;;) {
      const after = Number((await this.options.store.getCursor(groupCursor(groupId))) ?? '0');
      const batch = await this.api.readGroup(groupId, after);
      if (batch.length === 0) return;
      for (const m of batch) await this.handle('group', m);
      const last = batch[batch.length - 1];
      if (last !== undefined && Number((await this.options.store.getCursor(groupCursor(groupId))) ?? '0') < last.seq) return;
    }
  }

  /** Opens the WebSocket: the server pushes the backlog after our cursors, then live messages. */
  async connect(): Promise<void> {
    const factory = this.options.webSocket ?? ((url: string) => new WebSocket(url));
    const wsUrl = this.options.serverUrl.replace(/^http/, 'ws') + '/v1/ws';
    const token = this.api.sessionToken;
    if (token === undefined) throw new ClientUsageError('not-logged-in', 'no session');
    this.ws = await WsConnection.connect(factory, wsUrl, token, {
      onDeliver: (f) => {
        this.serial(() => this.handle(f.stream, this.fromFrame(f))).catch((e: unknown) => {
          this.hub.emit({ type: 'error', groupId: f.groupId, code: errorCode(e), message: 'a delivered message could not be processed' });
        });
      },
    });
  }

  private fromFrame(f: DeliverFrame): WireMessage {
    return { seq: f.seq, messageId: toBase64Url(f.messageId), kind: f.kind, groupId: f.groupId, sender: f.sender, createdAt: f.createdAt, data: f.payload };
  }

  /** Tells the server what is now durable here. */
  private async ack(stream: 'group' | 'inbox', m: WireMessage): Promise<void> {
    const cursors = stream === 'inbox' ? { inbox: m.seq } : { groups: [{ groupId: m.groupId, seq: m.seq }] };
    if (this.ws?.open === true) this.ws.ack(cursors.groups ?? [], cursors.inbox);
    else await this.api.ack(cursors);
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
    if (stream === 'inbox') {
      if (m.kind === 'welcome') await this.handleWelcome(m);
      else await this.settle(stream, m, {}); // notices and removal commits: later issue
      return;
    }
    const state = await this.loadState(m.groupId);
    if (state === undefined) return; // not joined yet: the Welcome's handling pulls this group
    let epoch: bigint | undefined;
    try {
      epoch = epochOfMessage(m.data);
    } catch {
      epoch = undefined;
    }
    if (epoch === undefined || epoch < state.groupContext.epoch) {
      // Our own commit coming back, or something from before we joined.
      if (epoch === undefined) this.hub.emit({ type: 'error', groupId: m.groupId, code: 'malformed-message', message: 'an undecodable message was skipped' });
      await this.settle(stream, m, {});
      return;
    }
    const fork = await checkForkTag(state, m.data);
    if (fork.kind === 'mismatch') {
      // The sender is in another branch of this epoch: the server forked the group.
      const first = !(await this.isSplit(m.groupId));
      await this.settle(stream, m, first ? { cursors: { [splitCursor(m.groupId)]: encodeSplit({ epoch: fork.epoch, detectedAt: this.now }) } } : {});
      if (first) this.hub.emit({ type: 'warning', groupId: m.groupId, code: 'fork-detected', message: 'the server gave members different versions of this conversation; it is split and cannot be continued' });
      return;
    }
    let processed;
    try {
      processed = await processMessage(state, m.data);
    } catch (e) {
      this.hub.emit({ type: 'error', groupId: m.groupId, code: errorCode(e), message: 'a message could not be decrypted or verified' });
      await this.settle(stream, m, {});
      return;
    }
    const { event } = processed;
    if (event.type === 'application') {
      const leaf = state.tree.leaf(event.sender);
      let payload;
      let sender: SenderRef;
      try {
        if (leaf === undefined) throw new ClientUsageError('unknown-sender', 'no such leaf');
        sender = senderOf(leaf.credential);
        payload = decodePayload(event.data);
      } catch (e) {
        this.hub.emit({ type: 'error', groupId: m.groupId, code: errorCode(e), message: 'an application message was not understood' });
        await this.settle(stream, m, { groupStates: [this.stateRecord(m.groupId, processed.state)] });
        this.states.set(m.groupId, processed.state);
        return;
      }
      const previous = await this.options.store.getSenderSeq(m.groupId, sender);
      const missingMap = decodeMissing(await this.options.store.getCursor(missingCursor(m.groupId)));
      const seen = classifySeq(previous === undefined ? undefined : { highest: previous, missing: missingOf(missingMap, sender) }, payload.seq);
      const replay = seen.verdict === 'replay';
      const gap = seen.verdict === 'gap';
      const record: MessageRecord = {
        groupId: m.groupId,
        messageId: m.messageId,
        sender,
        senderSeq: payload.seq,
        sentAt: payload.sentAt,
        receivedAt: this.now,
        body: payload.body,
        status: 'received',
        receipts: [],
      };
      await this.settle(stream, m, {
        groupStates: [this.stateRecord(m.groupId, processed.state)],
        messages: [record],
        cursors: { [missingCursor(m.groupId)]: encodeMissing(withMissing(missingMap, sender, seen.next.missing)) },
      });
      this.states.set(m.groupId, processed.state);
      const stored = await this.options.store.getMessage(m.groupId, m.messageId);
      if (stored !== undefined) this.hub.emit({ type: 'message', message: stored, gap, replay });
      if (seen.verdict === 'gap') this.hub.emit({ type: 'warning', groupId: m.groupId, userId: sender.userId, code: 'message-missing', message: `${String(seen.newlyMissing.length)} message(s) of this sender did not arrive (the server held back or dropped them)` });
      if (seen.verdict === 'late') this.hub.emit({ type: 'warning', groupId: m.groupId, userId: sender.userId, code: 'reordered', message: 'the server delivered this sender’s messages out of order; they are shown in the order they were sent' });
      return;
    }
    if (event.type === 'removed') {
      const conv = await this.options.store.getConversation(m.groupId);
      await this.settle(stream, m, {
        deleteGroupStates: [m.groupId],
        ...(conv !== undefined ? { conversations: [{ ...conv, closedAt: this.now }] } : {}),
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
    let contacts: ContactRecord[];
    try {
      contacts = await this.checkMembers(joined);
    } catch (e) {
      // A member whose device certificate its user's identity key did not sign: stay out.
      this.hub.emit({ type: 'error', groupId, code: errorCode(e), message: 'a Welcome into a group with an unverifiable member was refused' });
      await this.settle('inbox', m, {});
      return;
    }
    const remaining = this.held.filter((_, i) => i !== used);
    const conversation: ConversationRecord = { groupId, kind: 'direct', createdAt: this.now };
    await this.settle('inbox', m, {
      groupStates: [this.stateRecord(groupId, joined)],
      conversations: [conversation],
      cursors: { [HELD_KEY_PACKAGES]: encodeHeld(remaining) },
      ...(contacts.length > 0 ? { contacts } : {}),
    });
    this.held = remaining;
    this.states.set(groupId, joined);
    this.hub.emit({ type: 'conversation', conversation });
    // What the group log holds for us from our epoch on (e.g. messages sent right after the add).
    await this.pullGroup(groupId);
    await this.replenishKeyPackages().catch((e: unknown) => {
      this.hub.emit({ type: 'error', code: errorCode(e), message: 'key packages could not be replenished' });
    });
  }

  /**
   * Checks every other leaf's device certificate against its user's identity key from
   * the directory (first seen keys become contacts; a known contact's key must match).
   * Returns the contacts seen for the first time.
   */
  private async checkMembers(state: GroupState): Promise<ContactRecord[]> {
    const keys = new Map<string, Uint8Array>();
    const fresh: ContactRecord[] = [];
    for (const [index, leaf] of state.tree.leaves()) {
      if (index === state.ownLeaf || leaf.credential.credentialType !== CredentialType.basic) continue;
      const { userId } = senderOf(leaf.credential);
      let key = keys.get(userId);
      if (key === undefined) {
        const known = await this.options.store.getContact(userId);
        const entry = await this.api.getUser(userId);
        if (entry.identityKey === null) throw new VerificationError('no-identity-key', 'a member has no identity key');
        key = fromBase64(entry.identityKey);
        if (known === undefined) {
          if (userId !== this.userId) fresh.push({ userId, identityKey: key, verified: false, firstSeenAt: this.now });
        } else if (!bytesEqual(known.identityKey, key)) {
          throw new VerificationError('identity-key-changed', 'a member’s identity key differs from the one seen before');
        }
        keys.set(userId, key);
      }
      await checkDeviceCertificate(this.options.crypto, leaf.credential.identity, key, { userId, signatureKey: leaf.signatureKey });
    }
    return fresh;
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
    await this.ws?.close();
    this.hub.close();
  }
}

export { ServerError };
