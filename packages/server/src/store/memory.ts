// In-memory Store for unit tests: the same semantics as SqliteStore (the conformance
// suite checks both), nothing durable. Values are copied in and out so callers cannot
// alias stored bytes.

import {
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
import type { MessageKind } from '@parley/protocol';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface DeviceState {
  record: DeviceRecord;
  inboxSeq: number;
  inboxCursor: number;
  inbox: StoredMessage[];
  keyPackages: { id: number; data: Uint8Array; lastResort: boolean }[];
}

interface GroupState {
  record: Omit<GroupRecord, 'lastSeq'>;
  lastSeq: number;
  members: Map<string, number>;
  log: StoredMessage[];
}

export class MemoryStore implements Store {
  private readonly users = new Map<string, UserRecord>();
  private readonly invites = new Map<string, InviteRecord>();
  private readonly identityBackups = new Map<string, Uint8Array>();
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly devices = new Map<string, DeviceState>();
  private readonly groups = new Map<string, GroupState>();
  private readonly attachments = new Map<string, AttachmentRecord>();
  private kpId = 0;

  async createUser(user: UserRecord, invite?: { codeHash: Uint8Array; now: number }): Promise<void> {
    if (invite !== undefined) {
      const i = this.invites.get(hex(invite.codeHash));
      if (i === undefined || i.uses >= i.maxUses || i.expiresAt <= invite.now) throw new StoreConflictError('invalid-invite');
      if (this.users.has(user.id)) throw new StoreConflictError('exists');
      this.invites.set(hex(invite.codeHash), { ...i, uses: i.uses + 1 });
    }
    if (this.users.has(user.id)) throw new StoreConflictError('exists');
    this.users.set(user.id, structuredClone(user));
  }

  async getUser(id: string): Promise<UserRecord | null> {
    const u = this.users.get(id);
    return u === undefined ? null : structuredClone(u);
  }

  async listUsers(): Promise<UserRecord[]> {
    return [...this.users.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((u) => structuredClone(u));
  }

  async searchUsers(prefix: string, limit: number): Promise<string[]> {
    return [...this.users.values()]
      .filter((u) => u.active && u.id.startsWith(prefix))
      .map((u) => u.id)
      .sort()
      .slice(0, Math.max(0, limit));
  }

  async setUserActive(id: string, active: boolean): Promise<boolean> {
    const u = this.users.get(id);
    if (u === undefined) return false;
    this.users.set(id, { ...u, active });
    if (!active) for (const [k, s] of this.sessions) if (s.userId === id) this.sessions.delete(k);
    return true;
  }

  async setIdentityKey(userId: string, key: Uint8Array): Promise<boolean> {
    const u = this.users.get(userId);
    if (u?.identityKey !== null) return false;
    this.users.set(userId, { ...u, identityKey: key.slice() });
    return true;
  }

  async putIdentityBackup(userId: string, backup: Uint8Array): Promise<void> {
    if (!this.users.has(userId)) throw new Error(`no such user: ${userId}`);
    this.identityBackups.set(userId, backup.slice());
  }

  async getIdentityBackup(userId: string): Promise<Uint8Array | null> {
    return this.identityBackups.get(userId)?.slice() ?? null;
  }

  async createInvite(invite: InviteRecord): Promise<void> {
    this.invites.set(hex(invite.codeHash), structuredClone(invite));
  }

  async listInvites(): Promise<InviteRecord[]> {
    return [...this.invites.values()].sort((a, b) => a.createdAt - b.createdAt).map((i) => structuredClone(i));
  }

  async deleteInvite(codeHash: Uint8Array): Promise<boolean> {
    return this.invites.delete(hex(codeHash));
  }

  async listSessions(userId: string): Promise<SessionRecord[]> {
    return [...this.sessions.values()]
      .filter((s) => s.userId === userId)
      .sort((a, b) => (a.createdAt !== b.createdAt ? a.createdAt - b.createdAt : hex(a.tokenHash).localeCompare(hex(b.tokenHash))))
      .map((s) => structuredClone(s));
  }

  async createSession(session: SessionRecord): Promise<void> {
    this.sessions.set(hex(session.tokenHash), structuredClone(session));
  }

  async getSession(tokenHash: Uint8Array): Promise<SessionRecord | null> {
    const s = this.sessions.get(hex(tokenHash));
    return s === undefined ? null : structuredClone(s);
  }

  async deleteSession(tokenHash: Uint8Array): Promise<void> {
    this.sessions.delete(hex(tokenHash));
  }

  async addDevice(device: DeviceRecord, sessionTokenHash: Uint8Array): Promise<void> {
    if (this.devices.has(device.id)) throw new StoreConflictError('exists');
    this.devices.set(device.id, { record: structuredClone(device), inboxSeq: 0, inboxCursor: 0, inbox: [], keyPackages: [] });
    const s = this.sessions.get(hex(sessionTokenHash));
    if (s?.deviceId === null) this.sessions.set(hex(sessionTokenHash), { ...s, deviceId: device.id });
  }

  async getDevice(id: string): Promise<DeviceRecord | null> {
    const d = this.devices.get(id);
    return d === undefined ? null : structuredClone(d.record);
  }

  async listDevices(userId: string): Promise<DeviceRecord[]> {
    return [...this.devices.values()]
      .filter((d) => d.record.userId === userId)
      .sort((a, b) => (a.record.createdAt !== b.record.createdAt ? a.record.createdAt - b.record.createdAt : a.record.id < b.record.id ? -1 : 1))
      .map((d) => structuredClone(d.record));
  }

  async removeDevice(
    id: string,
    notice: (groupId: string) => NewGroupMessage,
    inboxNotice: NewInboxMessage,
  ): Promise<{ groups: StoredMessage[]; inbox: { deviceId: string; message: StoredMessage }[] } | null> {
    const d = this.devices.get(id);
    if (d === undefined) return null;
    this.devices.delete(id);
    for (const [k, s] of this.sessions) if (s.deviceId === id) this.sessions.delete(k);
    const groups: StoredMessage[] = [];
    for (const g of [...this.groups.values()].sort((a, b) => (a.record.id < b.record.id ? -1 : 1))) {
      if (g.members.delete(id)) groups.push(this.appendOne(g, notice(g.record.id), 'notice'));
    }
    const inbox = (await this.listDevices(d.record.userId)).map((o) => ({ deviceId: o.id, message: this.inboxOne(o.id, inboxNotice) }));
    return { groups, inbox };
  }

  async addKeyPackages(deviceId: string, packages: readonly { data: Uint8Array; lastResort: boolean }[], maxRegular = Infinity): Promise<KeyPackageCount | null> {
    const d = this.devices.get(deviceId);
    if (d === undefined) throw new Error('unknown device');
    // No await between the count and the insert: atomic on the event loop.
    const regular = d.keyPackages.filter((k) => !k.lastResort).length;
    if (regular + packages.filter((k) => !k.lastResort).length > maxRegular) return null;
    if (packages.some((k) => k.lastResort)) d.keyPackages = d.keyPackages.filter((k) => !k.lastResort);
    for (const k of packages) d.keyPackages.push({ id: ++this.kpId, data: k.data.slice(), lastResort: k.lastResort });
    return this.countKeyPackages(deviceId);
  }

  async claimKeyPackages(userId: string): Promise<ClaimedKeyPackageRecord[]> {
    const out: ClaimedKeyPackageRecord[] = [];
    for (const rec of await this.listDevices(userId)) {
      const d = this.devices.get(rec.id)!;
      const i = d.keyPackages.findIndex((k) => !k.lastResort);
      if (i >= 0) {
        const [k] = d.keyPackages.splice(i, 1);
        out.push({ deviceId: rec.id, data: k!.data.slice(), lastResort: false });
        continue;
      }
      const last = d.keyPackages.filter((k) => k.lastResort).at(-1);
      if (last !== undefined) out.push({ deviceId: rec.id, data: last.data.slice(), lastResort: true });
    }
    return out;
  }

  async countKeyPackages(deviceId: string): Promise<KeyPackageCount> {
    const kps = this.devices.get(deviceId)?.keyPackages ?? [];
    const lastResort = kps.filter((k) => k.lastResort).length;
    return { regular: kps.length - lastResort, lastResort };
  }

  async createGroup(group: Omit<GroupRecord, 'lastSeq'>, creatorDevice: string): Promise<void> {
    if (this.groups.has(group.id)) throw new StoreConflictError('exists');
    this.groups.set(group.id, { record: structuredClone(group), lastSeq: 0, members: new Map([[creatorDevice, 0]]), log: [] });
  }

  async getGroup(id: string): Promise<GroupRecord | null> {
    const g = this.groups.get(id);
    return g === undefined ? null : { ...structuredClone(g.record), lastSeq: g.lastSeq };
  }

  async listMembers(groupId: string): Promise<MemberCursor[]> {
    const g = this.groups.get(groupId);
    if (g === undefined) return [];
    return [...g.members].sort(([a], [b]) => (a < b ? -1 : 1)).map(([deviceId, cursor]) => ({ groupId, deviceId, cursor }));
  }

  async groupsOfDevice(deviceId: string): Promise<MemberCursor[]> {
    const out: MemberCursor[] = [];
    for (const g of this.groups.values()) {
      const cursor = g.members.get(deviceId);
      if (cursor !== undefined) out.push({ groupId: g.record.id, deviceId, cursor });
    }
    return out.sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
  }

  private appendOne(g: GroupState, m: NewGroupMessage, kind: MessageKind): StoredMessage {
    g.lastSeq += 1;
    const stored: StoredMessage = { seq: g.lastSeq, id: m.id.slice(), kind, groupId: m.groupId, sender: m.sender, createdAt: m.createdAt, data: m.data.slice() };
    g.log.push(stored);
    return stored;
  }

  private inboxOne(deviceId: string, m: NewInboxMessage): StoredMessage {
    const d = this.devices.get(deviceId)!;
    d.inboxSeq += 1;
    const stored: StoredMessage = { seq: d.inboxSeq, id: m.id.slice(), kind: m.kind, groupId: m.groupId, sender: m.sender, createdAt: m.createdAt, data: m.data.slice() };
    d.inbox.push(stored);
    return stored;
  }

  async appendMessagesCommitted(messages: readonly NewGroupMessage[]): Promise<{ results: AppendResult[]; durable: Promise<void> }> {
    // Nothing here outlives the process: committed and "durable" are the same moment.
    return { results: await this.appendMessages(messages), durable: Promise.resolve() };
  }

  async appendMessages(messages: readonly NewGroupMessage[]): Promise<AppendResult[]> {
    return messages.map((m): AppendResult => {
      const g = this.groups.get(m.groupId);
      if (g === undefined) return { ok: false, reason: 'unknown-group' };
      if (!g.members.has(m.sender)) return { ok: false, reason: 'not-a-member' };
      const idHex = hex(m.id);
      const dup = g.log.find((x) => hex(x.id) === idHex);
      if (dup !== undefined) return { ok: true, seq: dup.seq, duplicate: true, message: dup };
      const message = this.appendOne(g, m, 'application');
      return { ok: true, seq: message.seq, duplicate: false, message };
    });
  }

  async applyCommit(c: CommitApplication): Promise<CommitResult> {
    const g = this.groups.get(c.groupId);
    if (g === undefined) return { ok: false, reason: 'unknown-group' };
    if (c.external !== true && !g.members.has(c.message.sender)) return { ok: false, reason: 'not-a-member' };
    if (g.record.epoch !== c.fromEpoch) return { ok: false, reason: 'stale-epoch', currentEpoch: g.record.epoch };
    if (c.addDevices.some((d) => !this.devices.has(d))) return { ok: false, reason: 'unknown-device' };
    const message = this.appendOne(g, c.message, 'commit');
    g.record = { ...g.record, epoch: c.toEpoch, groupInfo: c.groupInfo.slice(), ratchetTree: c.ratchetTree?.slice() ?? g.record.ratchetTree };
    const inbox: { deviceId: string; message: StoredMessage }[] = [];
    for (const d of c.removeDevices) {
      if (g.members.delete(d)) inbox.push({ deviceId: d, message: this.inboxOne(d, { ...c.message, kind: 'commit' }) });
    }
    for (const d of c.addDevices) {
      if (!g.members.has(d)) g.members.set(d, message.seq);
      if (c.welcome !== null) inbox.push({ deviceId: d, message: this.inboxOne(d, c.welcome) });
    }
    return { ok: true, message, inbox };
  }

  async readGroup(groupId: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    return (this.groups.get(groupId)?.log ?? []).filter((m) => m.seq > afterSeq).slice(0, limit);
  }

  async ackGroup(deviceId: string, groupId: string, seq: number): Promise<void> {
    const g = this.groups.get(groupId);
    const cur = g?.members.get(deviceId);
    if (g === undefined || cur === undefined || cur >= seq) return;
    g.members.set(deviceId, Math.min(seq, g.lastSeq));
  }

  async ackBatch(acks: readonly { deviceId: string; groupId: string; seq: number }[]): Promise<void> {
    for (const a of acks) await this.ackGroup(a.deviceId, a.groupId, a.seq);
  }

  async readInbox(deviceId: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    return (this.devices.get(deviceId)?.inbox ?? []).filter((m) => m.seq > afterSeq).slice(0, limit);
  }

  async inboxCursor(deviceId: string): Promise<number> {
    return this.devices.get(deviceId)?.inboxCursor ?? 0;
  }

  async ackInbox(deviceId: string, seq: number): Promise<void> {
    const d = this.devices.get(deviceId);
    if (d !== undefined && d.inboxCursor < seq) d.inboxCursor = Math.min(seq, d.inboxSeq);
  }

  async prune(olderThan: number): Promise<number> {
    let n = 0;
    for (const g of this.groups.values()) {
      const keep = g.log.filter((m) => {
        if (m.createdAt < olderThan) return false;
        for (const [dev, cursor] of g.members) if (dev !== m.sender && cursor < m.seq) return true;
        return false;
      });
      n += g.log.length - keep.length;
      g.log = keep;
    }
    for (const d of this.devices.values()) {
      const keep = d.inbox.filter((m) => m.createdAt >= olderThan && m.seq > d.inboxCursor);
      n += d.inbox.length - keep.length;
      d.inbox = keep;
    }
    return n;
  }

  async addAttachment(a: AttachmentRecord): Promise<void> {
    this.attachments.set(a.id, { ...a });
  }

  async getAttachment(id: string): Promise<AttachmentRecord | null> {
    const a = this.attachments.get(id);
    return a === undefined ? null : { ...a };
  }

  // Attachment deletion, quota and expiry (AttachmentAdmin in http/attachments.ts).
  async deleteAttachment(id: string): Promise<boolean> {
    return this.attachments.delete(id);
  }

  async attachmentBytes(uploaders: readonly string[]): Promise<number> {
    const set = new Set(uploaders);
    let n = 0;
    for (const a of this.attachments.values()) if (set.has(a.uploader)) n += a.size;
    return n;
  }

  async expiredAttachments(olderThan: number, limit: number): Promise<AttachmentRecord[]> {
    return [...this.attachments.values()].filter((a) => a.createdAt < olderThan).slice(0, limit).map((a) => ({ ...a }));
  }

  async check(): Promise<void> {
    // Always answers.
  }

  async externalVersion(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {
    // Nothing to release.
  }
}
