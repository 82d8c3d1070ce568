// The app's one connection to Parley: the encrypted profile in IndexedDB, the ParleyClient
// over it (WebCrypto MLS backend), the WebSocket with visible reconnection, and a small
// view model (conversations with last message and unread count) that React reads.
// Nothing here logs, and errors shown to the user carry only their stable code.

import {
  AttachmentApi,
  ParleyClient,
  attachmentText,
  parseAttachmentText,
  type AttachmentRef,
  type FetchLike,
  formatSafetyNumber,
  markVerified,
  safetyNumberWith,
  type ClientStore,
  type ContactRecord,
  type ConversationRecord,
  type GroupId,
  type MemberInfo,
  type MessageSummary,
  type ParleyEvent,
  type StoredMessage,
  type WebSocketLike,
} from '@parley/client';
import { deleteIndexedDbStore, indexedDbStoreExists, openIndexedDbStore, webClientCrypto, webCryptoProvider } from '@parley/client/browser';

/** One account per browser profile: its IndexedDB database is `parley-profile:main`. */
const PROFILE = 'main';
/**
 * The account password, kept inside the encrypted profile so that unlocking needs only
 * the passphrase (ParleyClient.open logs in with it). INTERIM: it rides in a cursor
 * record until the ClientStore has a settings namespace.
 */
const PASSWORD_RECORD = 'web:account-password';
const USER_KEY = 'parley.profile.user';
// The app's own small records ride in the encrypted profile too (cursor records named
// `web:…`), so who you talk to and what you read never sit in clear in localStorage;
// only the user name (for the unlock screen) and the language do.
const SEEN_KEY = 'web:seen:';
const PEER_KEY = 'web:peer:';
const REPLACED_KEY = 'web:replaced';
const ACK_KEY = 'web:key-change-ack:';
/** Per conversation: the messages the client flagged (gap before, replay), as [id, gap, replay][]. */
const FLAGS_KEY = 'web:flags:';

/** Directory search results shown at a time. */
const SEARCH_LIMIT = 8;

/** Messages read at a time when looking back through a history. */
const HISTORY_PAGE = 300;

/** Client warnings the conversation lists (the others have their own line or badge). */
const SHOWN_WARNINGS: ReadonlySet<string> = new Set(['identity-key-unacknowledged', 'message-misrouted']);

/** Attachments larger than this are refused before upload (the server's default limit is 100 MiB). */
export const MAX_ATTACHMENT = 25 << 20;

export type Connection = 'connecting' | 'online' | 'offline';

export interface ConversationView {
  readonly record: ConversationRecord;
  /** The other person of a 1:1, when known. */
  readonly peer: string | undefined;
  readonly title: string;
  readonly last: StoredMessage | undefined;
  readonly unread: number;
  readonly activity: number;
}

/** Flags the client raised for a message (gap before it, or a replay), kept for display. */
export interface MessageFlags {
  readonly gap: boolean;
  readonly replay: boolean;
}

/** A stable code for any failure, for translated messages (never the error's text). */
export function codeOf(e: unknown): string {
  if (typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string') return (e as { code: string }).code;
  if (e instanceof TypeError) return 'network';
  return 'internal';
}

/** The attachment a text body refers to; undefined for plain text or a malformed reference. */
export function attachmentOf(text: string): AttachmentRef | undefined {
  try {
    return parseAttachmentText(text);
  } catch {
    return undefined;
  }
}

export function savedUser(): string | undefined {
  return localStorage.getItem(USER_KEY) ?? undefined;
}

export async function hasProfile(): Promise<boolean> {
  return savedUser() !== undefined && (await indexedDbStoreExists(PROFILE));
}

export async function forgetProfile(): Promise<void> {
  await deleteIndexedDbStore(PROFILE);
  for (const k of Object.keys(localStorage)) if (k.startsWith('parley.') && k !== 'parley.language') localStorage.removeItem(k);
}

export interface DeviceView {
  readonly deviceId: string;
  readonly createdAt: number;
  readonly current: boolean;
}

export interface ServerInfo {
  readonly registration: 'open' | 'invite' | 'domains';
  /** The e-mail domains that may register, when the server lists them (policy `domains`). */
  readonly domains: readonly string[] | undefined;
}

/** A domain name as the server compares it (lower case, at least two labels). */
const DOMAIN = /^[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})+$/;

/** The server's registration policy (`GET /v1/server`); anything unexpected reads as the strictest policy. */
export async function serverInfo(): Promise<ServerInfo> {
  const r = await fetch('/v1/server');
  const body = (await r.json()) as { registration?: unknown; domains?: unknown };
  const registration = body.registration === 'open' || body.registration === 'invite' || body.registration === 'domains' ? body.registration : 'invite';
  const domains = Array.isArray(body.domains) ? body.domains.filter((d): d is string => typeof d === 'string' && DOMAIN.test(d.toLowerCase())).map((d) => d.toLowerCase()) : undefined;
  return { registration, domains };
}

/** The domain of an e-mail address (lower case), or undefined if it is not one; the server's own rule. */
export function emailDomain(email: string): string | undefined {
  const m = /^[^\s@]{1,64}@([A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+)$/.exec(email);
  return m?.[1]?.toLowerCase();
}

type Listener = () => void;

/**
 * What the user has seen of a conversation: everything up to `order`, and how many
 * messages of others there were up to it (so the unread count is a subtraction from the
 * store's summary, with no message decoded). Kept as JSON; an older plain order has no count.
 */
interface Seen {
  readonly order: number;
  readonly incoming?: number;
}

function parseSeen(raw: string | undefined): Seen {
  if (raw === undefined) return { order: 0, incoming: 0 };
  if (/^\d+$/.test(raw)) return { order: Number(raw) };
  try {
    const v = JSON.parse(raw) as { order?: unknown; incoming?: unknown };
    if (Number.isSafeInteger(v.order) && Number.isSafeInteger(v.incoming)) return { order: v.order as number, incoming: v.incoming as number };
  } catch {
    // Unreadable: counted from the history below.
  }
  return { order: 0 };
}

/** Messages of others in the conversation (the summary counts per sender). */
const incomingOf = (summary: MessageSummary, self: string): number => summary.count - (summary.senders.find((s) => s.userId === self)?.count ?? 0);

/** What the client's callbacks need before and after the Session exists. */
interface Holder {
  current: Session | undefined;
  /** The client's session token, read from the requests it makes. */
  token: string | undefined;
}

export class Session {
  connection: Connection = 'connecting';
  conversations: ConversationView[] = [];
  readonly flags = new Map<string, MessageFlags>();
  /** What the client could not process, per conversation (stable codes only, never content). */
  problems = new Map<GroupId, readonly string[]>();
  private readonly listeners = new Set<Listener>();
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private attempts = 0;
  private closed = false;
  private unsubscribe: (() => void) | undefined;

  private readonly attachmentApi: AttachmentApi;
  private readonly inFlight = new Map<GroupId, number>();
  /** Grows whenever a conversation's messages change, so views reload only then. */
  private readonly versions = new Map<GroupId, number>();
  /** Own messages that never left and were sent again (a retry makes a new message). */
  private readonly replaced = new Set<string>();
  private readonly opened = new Map<string, Promise<Blob>>();
  /** Per conversation: the store order up to which it was marked read in this session. */
  private readonly readUpTo = new Map<GroupId, number>();

  /** Set once the device has logged in to the server (until then, the store is shown). */
  private client: ParleyClient | undefined;
  private readonly waiting: ((c: ParleyClient) => void)[] = [];

  private constructor(
    readonly store: ClientStore,
    readonly userId: string,
    private readonly deviceId: string,
    holder: Holder,
  ) {
    this.attachmentApi = new AttachmentApi(location.origin, () => holder.token);
    this.holder = holder;
  }

  private readonly holder: Holder;

  /** An authenticated JSON call to the server (the routes the SDK does not wrap yet). */
  private async call(method: string, path: string): Promise<unknown> {
    const token = this.holder.token;
    if (token === undefined) throw Object.assign(new Error('no session'), { code: 'unauthenticated' });
    let res: Response;
    try {
      res = await fetch(path, { method, headers: { authorization: `Bearer ${token}` } });
    } catch {
      throw Object.assign(new Error('network'), { code: 'network' });
    }
    const text = await res.text();
    const body: unknown = text === '' ? undefined : JSON.parse(text);
    if (!res.ok) {
      const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
      throw Object.assign(new Error('refused'), { code: typeof code === 'string' ? code : 'internal' });
    }
    return body;
  }

  /** This user's devices, as the server lists them (this one first). */
  async devices(): Promise<DeviceView[]> {
    const client = await this.ready();
    // Looking at the list brings every conversation in line with it: a device that just
    // logged in is added (and one gone is removed) before the list shows it.
    await client.sync().catch(() => undefined);
    const listed = await client.devices();
    return [...listed].sort((a, b) => (a.current !== b.current ? (a.current ? -1 : 1) : b.createdAt - a.createdAt));
  }

  /** Removes another device of this user: it is taken out of every conversation (commits), then off the server. */
  async removeDevice(deviceId: string): Promise<void> {
    if (deviceId === this.deviceId) throw Object.assign(new Error('own device'), { code: 'own-device' });
    await (await this.ready()).removeDevice(deviceId);
    await this.refresh();
  }

  private static options(store: ClientStore, session: Holder, email?: string) {
    // The attachment routes use the same session as the client: read its token from the
    // requests it makes (the SDK keeps it private).
    const watch: FetchLike = async (input, init) => {
      const auth = init.headers.authorization;
      if (auth?.startsWith('Bearer ') === true) session.token = auth.slice('Bearer '.length);
      // INTERIM: ParleyClient.register takes no e-mail address yet; a server whose policy
      // is `domains` needs one in the account request, so it is added here, to that request only.
      if (email !== undefined && init.method === 'POST' && new URL(input, location.origin).pathname === '/v1/accounts' && typeof init.body === 'string') {
        const body = JSON.parse(init.body) as Record<string, unknown>;
        return fetch(input, { ...init, body: JSON.stringify({ ...body, email }) });
      }
      return fetch(input, init);
    };
    return {
      serverUrl: location.origin,
      fetch: watch,
      store,
      crypto: webClientCrypto(),
      provider: webCryptoProvider(),
      // Wraps the browser's WebSocket to see it close: the status shows, and we reconnect.
      webSocket: (url: string): WebSocketLike => {
        const ws = new WebSocket(url);
        ws.addEventListener('open', () => session.current?.setConnection('online'));
        ws.addEventListener('close', () => session.current?.lost());
        return ws;
      },
    };
  }

  static async register(username: string, password: string, passphrase: string, proof: { readonly invite?: string; readonly email?: string }): Promise<Session> {
    await deleteIndexedDbStore(PROFILE);
    const store = await openIndexedDbStore({ name: PROFILE, passphrase });
    const holder: Holder = { current: undefined, token: undefined };
    try {
      // The identity backup is sealed under the passphrase, which the server never sees (a
      // new device opens it with the same one, see `login`).
      const client = await ParleyClient.register(Session.options(store, holder, proof.email), username, password, proof.invite, passphrase);
      await store.commit({ cursors: { [PASSWORD_RECORD]: password } });
      localStorage.setItem(USER_KEY, client.userId);
      holder.current = new Session(store, client.userId, client.deviceId, holder);
      await holder.current.refresh();
      holder.current.online(client);
      return holder.current;
    } catch (e) {
      await store.close();
      await deleteIndexedDbStore(PROFILE);
      throw e;
    }
  }

  static async unlock(passphrase: string): Promise<Session> {
    const store = await openIndexedDbStore({ name: PROFILE, passphrase });
    // For bench:web (bench/web-first-screen.ts): where the first screen's time goes.
    performance.mark('parley:unlock:store-open');
    const holder: Holder = { current: undefined, token: undefined };
    try {
      const password = await store.getCursor(PASSWORD_RECORD);
      const account = await store.getAccount();
      if (password === undefined || account === undefined) throw Object.assign(new Error('no account'), { code: 'no-account' });
      // The first screen comes from the store alone; logging in to the server follows.
      const session = new Session(store, account.userId, account.deviceId, holder);
      holder.current = session;
      await session.loadReplaced();
      await session.refresh();
      performance.mark('parley:unlock:list-ready');
      void session.logIn(() => ParleyClient.open(Session.options(store, holder), password));
      return session;
    } catch (e) {
      await store.close();
      throw e;
    }
  }

  /** Logs in (again after a network failure, with back-off), then goes online. */
  private async logIn(open: () => Promise<ParleyClient>): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const client = await open();
        if (this.closed) {
          await client.close();
          return;
        }
        this.online(client);
        return;
      } catch (e) {
        // A refused password or a removed device will not get better by retrying.
        if (codeOf(e) !== 'network') {
          this.loginError = codeOf(e);
          this.setConnection('offline');
          return;
        }
        this.setConnection('offline');
        await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * 2 ** attempt)));
      }
    }
  }

  /** Why logging in failed for good (shown to the user), if it did. */
  loginError: string | undefined;

  /** The client is logged in: listen to it, connect (the server pushes the backlog). */
  private online(client: ParleyClient): void {
    this.client = client;
    this.unsubscribe = client.on((e) => {
      this.onEvent(e);
    });
    for (const w of this.waiting.splice(0)) w(client);
    void this.connect();
  }

  /** The logged-in client; actions wait for it. */
  private ready(): Promise<ParleyClient> {
    if (this.client !== undefined) return Promise.resolve(this.client);
    if (this.loginError !== undefined) return Promise.reject(Object.assign(new Error('not logged in'), { code: this.loginError }));
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /**
   * For work started without waiting on it (a refresh after an event, saving flags,
   * marking read): once the session is locked its store is closed, and what was still
   * running then fails with `store-closed`. That is expected and dropped; any other
   * error is thrown on, so it still shows as a page error.
   */
  readonly ignoreAfterClose = (e: unknown): void => {
    if (this.closed && codeOf(e) === 'store-closed') return;
    throw e;
  };

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }

  setConnection(c: Connection): void {
    if (c === 'online') this.attempts = 0;
    this.connection = c;
    this.changed();
  }

  private lost(): void {
    if (this.closed) return;
    this.setConnection('offline');
    if (this.reconnectTimer !== undefined) return;
    // Back off 1 s, 2 s, 4 s … up to 30 s; a reconnect delivers what was missed.
    const delay = Math.min(30_000, 1000 * 2 ** this.attempts++);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, delay);
  }

  private async connect(): Promise<void> {
    if (this.closed || this.client === undefined) return;
    try {
      await this.client.connect();
      this.setConnection('online');
      // What happened while away that the push does not carry: devices of ours that
      // logged in or were removed meanwhile join or leave our conversations (weba).
      void this.client.sync().catch(() => undefined);
    } catch {
      this.lost();
    }
  }

  /** The version of a conversation's messages (see `versions`). */
  version(groupId: GroupId): number {
    return this.versions.get(groupId) ?? 0;
  }

  private bump(groupId: GroupId): void {
    this.versions.set(groupId, this.version(groupId) + 1);
  }

  private onEvent(e: ParleyEvent): void {
    // Errors, and the warnings that say something was refused here, are listed on the conversation.
    if ((e.type === 'error' || (e.type === 'warning' && SHOWN_WARNINGS.has(e.code))) && e.groupId !== undefined) {
      const next = new Map(this.problems);
      next.set(e.groupId, [...(this.problems.get(e.groupId) ?? []), e.code]);
      this.problems = next;
    }
    if (e.type === 'message') this.bump(e.message.groupId);
    // A receipt changes an own message's state (delivered, read): the view reads it again.
    else if (e.type === 'membership' || e.type === 'removed' || e.type === 'receipt') this.bump(e.groupId);
    if (e.type === 'message') {
      if (e.gap || e.replay) {
        this.flags.set(`${e.message.groupId}\u0000${e.message.messageId}`, { gap: e.gap, replay: e.replay });
        void this.saveFlags(e.message.groupId).catch(this.ignoreAfterClose);
      }
    }
    void this.refresh().catch(this.ignoreAfterClose);
  }

  private async loadReplaced(): Promise<void> {
    for (const id of JSON.parse((await this.store.getCursor(REPLACED_KEY)) ?? '[]') as string[]) this.replaced.add(id);
  }

  /** Keeps what the client flagged, so a reload still shows the gap or the replay. */
  private async saveFlags(groupId: GroupId): Promise<void> {
    const prefix = `${groupId}\u0000`;
    const rows = [...this.flags].filter(([k]) => k.startsWith(prefix)).map(([k, f]) => [k.slice(prefix.length), f.gap, f.replay]);
    await this.store.commit({ cursors: { [FLAGS_KEY + groupId]: JSON.stringify(rows) } });
  }

  /** Loads the saved flags of a conversation (once per session). */
  async loadFlags(groupId: GroupId): Promise<void> {
    const saved = await this.store.getCursor(FLAGS_KEY + groupId);
    if (saved === undefined) return;
    for (const row of JSON.parse(saved) as unknown[]) {
      if (!Array.isArray(row) || typeof row[0] !== 'string') continue;
      const key = `${groupId}\u0000${row[0]}`;
      if (!this.flags.has(key)) this.flags.set(key, { gap: row[1] === true, replay: row[2] === true });
    }
  }

  peerOf(groupId: GroupId): Promise<string | undefined> {
    return this.store.getCursor(PEER_KEY + groupId);
  }

  /** Whether the user acknowledged this key change of `userId` (the warning then stays closed). */
  async keyChangeAcknowledged(userId: string, changedAt: number): Promise<boolean> {
    return (await this.store.getCursor(ACK_KEY + userId)) === String(changedAt);
  }

  async acknowledgeKeyChange(userId: string, changedAt: number): Promise<void> {
    await this.store.commit({ cursors: { [ACK_KEY + userId]: String(changedAt) } });
  }

  /**
   * Accepts `contact`'s changed identity key without verifying it (the user confirmed it in
   * the key-change warning): the client ends the pin, so devices the new key certifies may
   * join again, but only if the key is still the one shown (the safety number is checked,
   * else VerificationError 'identity-key-changed'). Then the warning is closed for good.
   */
  async acceptNewKey(contact: ContactRecord): Promise<void> {
    const client = await this.ready();
    await client.acknowledgeKeyChange(contact.userId, await this.safetyNumber(contact));
    await this.acknowledgeKeyChange(contact.userId, contact.keyChangedAt ?? 0);
    this.changed();
  }

  /** Rebuilds the conversation list (sorted by last activity) and tells the views. */
  async refresh(): Promise<void> {
    const records = await this.store.listConversations();
    const contacts = await this.store.listContacts();
    const views: ConversationView[] = [];
    for (const record of records) {
      // Only the last message is decoded; the unread count comes from the store's summary.
      const summary = await this.store.getMessageSummary(record.groupId);
      const last = summary.count === 0 ? undefined : (await this.store.listMessages(record.groupId, { limit: 1 }))[0];
      const seen = parseSeen(await this.store.getCursor(SEEN_KEY + record.groupId));
      const unread =
        seen.incoming !== undefined
          ? Math.max(0, incomingOf(summary, this.userId) - seen.incoming)
          : (await this.store.listMessages(record.groupId, { after: seen.order })).filter((m) => m.sender.userId !== this.userId).length;
      let peer = await this.peerOf(record.groupId);
      if (peer === undefined && record.kind === 'direct') {
        // Joined by a Welcome: the other person is whoever else wrote, or the contact
        // first seen when the conversation was created.
        const wrote = summary.senders.find((x) => x.userId !== this.userId)?.userId;
        peer = wrote ?? contacts.find((c) => c.firstSeenAt === record.createdAt)?.userId;
        if (peer !== undefined) await this.store.commit({ cursors: { [PEER_KEY + record.groupId]: peer } });
      }
      views.push({ record, peer, title: record.name ?? peer ?? '…', last, unread, activity: Math.max(record.createdAt, last?.receivedAt ?? 0) });
    }
    views.sort((a, b) => b.activity - a.activity);
    this.conversations = views;
    this.changed();
  }

  /** Everything before `order` was seen (the unread count drops). */
  markSeen(groupId: GroupId, order: number): void {
    const key = SEEN_KEY + groupId;
    void this.store.getCursor(key).then(async (raw) => {
      const seen = parseSeen(raw);
      if (seen.order >= order && seen.incoming !== undefined) return;
      // Others' messages up to `order`: the summary's count less those after it (usually none).
      const upTo = Math.max(order, seen.order);
      const summary = await this.store.getMessageSummary(groupId);
      const after = summary.lastOrder > upTo ? await this.store.listMessages(groupId, { after: upTo }) : [];
      const later = after.filter((m) => m.order <= summary.lastOrder && m.sender.userId !== this.userId).length;
      const next: Seen = { order: upTo, incoming: incomingOf(summary, this.userId) - later };
      await this.store.commit({ cursors: { [key]: JSON.stringify(next) } });
      await this.refresh();
    }).catch(this.ignoreAfterClose);
  }

  /**
   * The conversation is on screen: its received messages are read, and their senders are
   * told (a read receipt). Only while the page is visible, and once logged in; a failure
   * (offline) leaves them unread, to be marked the next time.
   */
  markRead(groupId: GroupId, newest: StoredMessage): void {
    // The newest message shown tells whether anything is unread (the SDK then finds all of it).
    if (newest.status !== 'received' || newest.sender.userId === this.userId) return;
    if (this.client === undefined || document.visibilityState !== 'visible') return;
    const client = this.client;
    void (async () => {
      // The first time in this session the whole conversation is looked at; then only what came after.
      await client.markRead(groupId, { after: this.readUpTo.get(groupId) });
      this.readUpTo.set(groupId, Math.max(this.readUpTo.get(groupId) ?? 0, newest.order));
      this.bump(groupId);
      this.changed();
    })().catch(() => undefined);
  }

  /** Users whose name starts with `prefix` (the server's directory search), this user left out. */
  async searchUsers(prefix: string): Promise<string[]> {
    const p = prefix.trim().toLowerCase();
    if (!/^[a-z0-9][a-z0-9._-]{1,63}$/.test(p)) return [];
    await this.ready();
    const body = (await this.call('GET', `/v1/users?prefix=${encodeURIComponent(p)}&limit=${String(SEARCH_LIMIT)}`)) as { users?: unknown };
    const users = Array.isArray(body.users) ? body.users : [];
    return users.map((u) => (u as { userId?: unknown }).userId).filter((u): u is string => typeof u === 'string' && u !== this.userId);
  }

  async openDirect(peer: string): Promise<GroupId> {
    const existing = this.conversations.find((c) => c.record.kind === 'direct' && c.peer === peer && c.record.closedAt === undefined);
    if (existing !== undefined) return existing.record.groupId;
    const groupId = await (await this.ready()).openDirect(peer);
    await this.store.commit({ cursors: { [PEER_KEY + groupId]: peer } });
    await this.refresh();
    return groupId;
  }

  /** The last `limit` messages of a conversation (all of them without a limit). */
  history(groupId: GroupId, limit?: number): Promise<StoredMessage[]> {
    return this.store.listMessages(groupId, limit === undefined ? {} : { limit });
  }

  async send(groupId: GroupId, text: string): Promise<void> {
    this.inFlight.set(groupId, (this.inFlight.get(groupId) ?? 0) + 1);
    try {
      await (await this.ready()).sendText(groupId, text);
    } finally {
      this.inFlight.set(groupId, (this.inFlight.get(groupId) ?? 1) - 1);
      this.bump(groupId);
      await this.refresh();
    }
  }

  /** An own message still pending while nothing is being sent did not leave: it can be retried. */
  failed(m: StoredMessage): boolean {
    return m.status === 'pending' && m.sender.userId === this.userId && (this.inFlight.get(m.groupId) ?? 0) === 0;
  }

  isReplaced(messageId: string): boolean {
    return this.replaced.has(messageId);
  }

  /** Sends a failed message's text again; the failed copy is hidden once the new one is sent. */
  async retry(m: StoredMessage): Promise<void> {
    if (m.body.type !== 'text') return;
    await this.send(m.groupId, m.body.text);
    this.replaced.add(m.messageId);
    await this.store.commit({ cursors: { [REPLACED_KEY]: JSON.stringify([...this.replaced]) } });
    this.bump(m.groupId);
    this.changed();
  }

  /** Encrypts and uploads a file, then sends its reference in the conversation. */
  async sendFile(groupId: GroupId, file: File): Promise<void> {
    if (file.size > MAX_ATTACHMENT) throw Object.assign(new Error('too large'), { code: 'body-too-large' });
    const data = new Uint8Array(await file.arrayBuffer());
    const ref = await this.attachmentApi.send(webClientCrypto(), groupId, data, file.name, file.type === '' ? 'application/octet-stream' : file.type);
    await this.send(groupId, attachmentText(ref));
  }

  /** The decrypted file a message refers to (downloaded once per session). */
  openAttachment(ref: AttachmentRef): Promise<Blob> {
    let p = this.opened.get(ref.attachmentId);
    if (p === undefined) {
      p = this.attachmentApi.open(webClientCrypto(), ref).then((bytes) => new Blob([new Uint8Array(bytes)], { type: ref.mediaType }));
      p.catch(() => this.opened.delete(ref.attachmentId));
      this.opened.set(ref.attachmentId, p);
    }
    return p;
  }

  contact(userId: string): Promise<ContactRecord | undefined> {
    return this.store.getContact(userId);
  }

  /** The 60-digit safety number with `contact`, grouped by five. */
  async safetyNumber(contact: ContactRecord): Promise<string> {
    const own = await this.store.getIdentity();
    if (own === undefined) throw Object.assign(new Error('no identity'), { code: 'no-account' });
    return formatSafetyNumber(await safetyNumberWith(webClientCrypto(), { userId: this.userId, identityPublicKey: own.identityPublicKey }, contact));
  }

  async verify(contact: ContactRecord): Promise<void> {
    await markVerified(this.store, contact.userId, contact.identityKey);
    this.changed();
  }

  // ---- groups and a second device (weba) ------------------------------------------

  /**
   * A NEW device of an existing account, on this browser's empty profile: logs in, opens the
   * identity backup with `passphrase` (which also seals this profile), and enrols the device.
   */
  static async login(username: string, password: string, passphrase: string): Promise<Session> {
    await deleteIndexedDbStore(PROFILE);
    const store = await openIndexedDbStore({ name: PROFILE, passphrase });
    const holder: Holder = { current: undefined, token: undefined };
    try {
      const client = await ParleyClient.login(Session.options(store, holder), username, password, passphrase);
      await store.commit({ cursors: { [PASSWORD_RECORD]: password } });
      localStorage.setItem(USER_KEY, client.userId);
      holder.current = new Session(store, client.userId, client.deviceId, holder);
      await holder.current.refresh();
      holder.current.online(client);
      return holder.current;
    } catch (e) {
      await store.close();
      await deleteIndexedDbStore(PROFILE);
      throw e;
    }
  }

  /** Whether the directory knows `userId` (the server looks users up by exact name). */
  async userExists(userId: string): Promise<boolean> {
    try {
      await this.call('GET', `/v1/users/${encodeURIComponent(userId)}`);
      return true;
    } catch (e) {
      if (codeOf(e) === 'unknown-user' || codeOf(e) === 'not-found') return false;
      throw e;
    }
  }

  /** Creates a named group with `members`; this user administers it. */
  async createGroup(name: string, members: readonly string[]): Promise<GroupId> {
    const groupId = await (await this.ready()).createGroup(name, members);
    await this.refresh();
    return groupId;
  }

  /** The group's users with their roles (from the MLS state on this device). */
  async members(groupId: GroupId): Promise<readonly MemberInfo[]> {
    return (await this.ready()).members(groupId);
  }

  async addMembers(groupId: GroupId, users: readonly string[]): Promise<void> {
    await (await this.ready()).addMembers(groupId, users);
    this.bump(groupId);
    await this.refresh();
  }

  async removeMembers(groupId: GroupId, users: readonly string[]): Promise<void> {
    await (await this.ready()).removeMembers(groupId, users);
    this.bump(groupId);
    await this.refresh();
  }

  async leave(groupId: GroupId): Promise<void> {
    await (await this.ready()).leave(groupId);
    this.bump(groupId);
    await this.refresh();
  }

  /** Why a closed conversation closed: this user was removed, or left. */
  async closedBecause(groupId: GroupId): Promise<'removed' | 'left' | undefined> {
    // The last event is near the end: read back a page at a time, not the whole history.
    for (let before: number | undefined; ; ) {
      const page = await this.store.listMessages(groupId, { limit: HISTORY_PAGE, ...(before !== undefined ? { before } : {}) });
      const last = page.filter((m) => m.body.type === 'event').pop();
      if (last?.body.type === 'event') return last.body.event === 'removed' ? 'removed' : last.body.event === 'left' ? 'left' : undefined;
      if (page.length < HISTORY_PAGE || page[0] === undefined) return undefined;
      before = page[0].order;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.unsubscribe?.();
    await this.client?.close();
    await this.store.close();
  }
}
