// The HTTP half of the client–server protocol (docs/protocol.md "HTTP"), over the
// web-standard `fetch`. Byte fields travel as standard base64; every failure becomes a
// ServerError carrying the server's stable error code (packages/protocol/src/errors.ts).

import type {
  ClaimedKeyPackage,
  CommitRequest,
  CommitResponse,
  IdentityBackupResponse,
  MessageKind,
  SessionResponse,
  UserDirectoryEntry,
} from '@parley/protocol';
import { fromBase64, toBase64 } from '../util/bytes.js';

/** The server refused a request, or could not be reached (`code` = `network`). */
export class ServerError extends Error {
  constructor(
    /** Stable code from the server (`stale-epoch`, `unknown-user`…) or `network`. */
    readonly code: string,
    message: string,
    readonly status: number,
    readonly currentEpoch?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ServerError';
  }
}

/** One entry of a group log or inbox, as the server hands it out (bytes decoded). */
export interface WireMessage {
  readonly seq: number;
  /** base64url, 22 characters. */
  readonly messageId: string;
  readonly kind: MessageKind;
  readonly groupId: string;
  /** Sending device id; empty for the server. */
  readonly sender: string;
  readonly createdAt: number;
  readonly data: Uint8Array;
}

interface RawWireMessage extends Omit<WireMessage, 'data'> {
  readonly data: string;
}

export const b64 = toBase64;
export const unb64 = fromBase64;

export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export type FetchLike = (input: string, init: { method: string; headers: Record<string, string>; body?: string }) => Promise<{
  readonly status: number;
  text(): Promise<string>;
}>;

export class HttpApi {
  private token: string | undefined;

  constructor(
    readonly baseUrl: string,
    private readonly fetchImpl: FetchLike = (input, init) => fetch(input, init),
  ) {}

  /** The session token (sent as `Authorization: Bearer`); never logged. */
  setToken(token: string | undefined): void {
    this.token = token;
  }

  get sessionToken(): string | undefined {
    return this.token;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    let payload: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    let res: { status: number; text(): Promise<string> };
    try {
      res = await this.fetchImpl(this.baseUrl + path, payload === undefined ? { method, headers } : { method, headers, body: payload });
    } catch (e) {
      throw new ServerError('network', `cannot reach the server (${method} ${path.split('?')[0] ?? ''})`, 0, undefined, { cause: e });
    }
    const text = await res.text();
    if (res.status >= 200 && res.status < 300) return (text === '' ? undefined : JSON.parse(text)) as T;
    let code = 'http-' + String(res.status);
    let message = `the server answered ${String(res.status)}`;
    let currentEpoch: number | undefined;
    try {
      const err = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown; currentEpoch?: unknown } }).error;
      if (typeof err?.code === 'string') code = err.code;
      if (typeof err?.message === 'string') message = err.message;
      if (typeof err?.currentEpoch === 'number') currentEpoch = err.currentEpoch;
    } catch {
      // not JSON: keep the status
    }
    throw new ServerError(code, message, res.status, currentEpoch);
  }

  register(username: string, password: string, invite?: string): Promise<SessionResponse> {
    return this.call('POST', '/v1/accounts', invite === undefined ? { username, password } : { username, password, invite });
  }

  login(username: string, password: string, deviceId?: string): Promise<SessionResponse> {
    return this.call('POST', '/v1/sessions', deviceId === undefined ? { username, password } : { username, password, deviceId });
  }

  setIdentityKey(identityKey: Uint8Array): Promise<void> {
    return this.call('PUT', '/v1/users/me/identity-key', { identityKey: b64(identityKey) });
  }

  /** Stores (replaces) the user's identity-key backup, already encrypted by the caller; the server keeps it opaquely. */
  putIdentityBackup(backup: Uint8Array): Promise<void> {
    return this.call('PUT', '/v1/identity-backup', { backup: b64(backup) });
  }

  /** The user's encrypted identity-key backup, or null if none is stored (`no-identity-backup`). */
  async getIdentityBackup(): Promise<Uint8Array | null> {
    try {
      const r = await this.call<IdentityBackupResponse>('GET', '/v1/identity-backup');
      return fromBase64(r.backup);
    } catch (e) {
      if (e instanceof ServerError && e.code === 'no-identity-backup') return null;
      throw e;
    }
  }

  registerDevice(certificate: Uint8Array): Promise<unknown> {
    return this.call('POST', '/v1/devices', { certificate: b64(certificate) });
  }

  removeDevice(deviceId: string): Promise<void> {
    return this.call('DELETE', `/v1/devices/${encodeURIComponent(deviceId)}`);
  }

  /** The group's latest GroupInfo (an MLSMessage), for a device that must rejoin by an external commit. */
  async getGroupInfo(groupId: string): Promise<{ epoch: number; groupInfo: Uint8Array }> {
    const r = await this.call<{ epoch: number; groupInfo: string }>('GET', `/v1/groups/${encodeURIComponent(groupId)}/group-info`);
    return { epoch: r.epoch, groupInfo: unb64(r.groupInfo) };
  }

  getUser(userId: string): Promise<UserDirectoryEntry> {
    return this.call('GET', `/v1/users/${encodeURIComponent(userId)}`);
  }

  /** Uploads regular key packages and, optionally, the device's (new) last-resort one. */
  uploadKeyPackages(keyPackages: readonly Uint8Array[], lastResort?: Uint8Array): Promise<{ regular: number; lastResort: number }> {
    return this.call('POST', '/v1/devices/me/key-packages', { keyPackages: keyPackages.map(b64), ...(lastResort !== undefined ? { lastResort: b64(lastResort) } : {}) });
  }

  keyPackageCount(): Promise<{ regular: number; lastResort: number }> {
    return this.call('GET', '/v1/devices/me/key-packages');
  }

  async claimKeyPackages(userId: string): Promise<{ deviceId: string; keyPackage: Uint8Array; lastResort: boolean }[]> {
    const r = await this.call<{ keyPackages: ClaimedKeyPackage[] }>('POST', `/v1/users/${encodeURIComponent(userId)}/key-packages/claim`);
    return r.keyPackages.map((k) => ({ deviceId: k.deviceId, keyPackage: unb64(k.keyPackage), lastResort: k.lastResort }));
  }

  createGroup(groupId: string, epoch: number, groupInfo: Uint8Array): Promise<{ groupId: string; epoch: number }> {
    return this.call('POST', '/v1/groups', { groupId, epoch, groupInfo: b64(groupInfo) });
  }

  commit(groupId: string, c: { epoch: number; commit: Uint8Array; groupInfo: Uint8Array; welcome?: Uint8Array; addedDevices?: readonly string[]; removedDevices?: readonly string[] }): Promise<CommitResponse> {
    const body: CommitRequest = {
      epoch: c.epoch,
      commit: b64(c.commit),
      groupInfo: b64(c.groupInfo),
      ...(c.welcome !== undefined ? { welcome: b64(c.welcome) } : {}),
      ...(c.addedDevices !== undefined && c.addedDevices.length > 0 ? { addedDevices: c.addedDevices } : {}),
      ...(c.removedDevices !== undefined && c.removedDevices.length > 0 ? { removedDevices: c.removedDevices } : {}),
    };
    return this.call('POST', `/v1/groups/${encodeURIComponent(groupId)}/commits`, body);
  }

  sendMessage(groupId: string, messageId: string, message: Uint8Array): Promise<{ seq: number; duplicate: boolean }> {
    return this.call('POST', `/v1/groups/${encodeURIComponent(groupId)}/messages`, { messageId, message: b64(message) });
  }

  async readGroup(groupId: string, after: number, limit = 500): Promise<WireMessage[]> {
    const r = await this.call<{ messages: RawWireMessage[] }>('GET', `/v1/groups/${encodeURIComponent(groupId)}/messages?after=${String(after)}&limit=${String(limit)}`);
    return r.messages.map((m) => ({ ...m, data: unb64(m.data) }));
  }

  async readInbox(after: number, limit = 500): Promise<WireMessage[]> {
    const r = await this.call<{ messages: RawWireMessage[] }>('GET', `/v1/inbox?after=${String(after)}&limit=${String(limit)}`);
    return r.messages.map((m) => ({ ...m, data: unb64(m.data) }));
  }

  ack(cursors: { groups?: readonly { groupId: string; seq: number }[]; inbox?: number }): Promise<void> {
    return this.call('POST', '/v1/acks', cursors);
  }
}
