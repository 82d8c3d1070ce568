// A minimal protocol client for server tests and benches: HTTP JSON calls, an identity
// key, a device certificate, and a WebSocket speaking the frames of @parley/protocol.
// The real SDK is packages/client; this one exists so the server is tested alone.

import { createPrivateKey, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { WebSocket } from 'ws';
import {
  PROTOCOL_VERSION,
  decodeDeliverFrame,
  deviceCertificateSignedBytes,
  encodeDeviceCertificate,
  encodeSendFrame,
  type DeliverFrame,
  type ServerControlFrame,
} from '@parley/protocol';

export interface HttpAnswer<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
}

export async function http<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
  headers: Record<string, string> = {},
): Promise<HttpAnswer<T>> {
  const h: Record<string, string> = { ...headers };
  if (token !== undefined) h.authorization = `Bearer ${token}`;
  let payload: string | Blob | undefined;
  if (body instanceof Uint8Array) {
    payload = new Blob([new Uint8Array(body)]);
    h['content-type'] ??= 'application/octet-stream';
  } else if (typeof body === 'string') {
    payload = body;
    h['content-type'] ??= 'application/json';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    h['content-type'] ??= 'application/json';
  }
  const res = await fetch(base + path, { method, headers: h, body: payload });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? {} : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed as T };
}

export const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

export interface TestDevice {
  readonly userId: string;
  readonly deviceId: string;
  readonly token: string;
}

export interface TestUser {
  readonly userId: string;
  readonly password: string;
  readonly identity: { readonly publicKey: Uint8Array; readonly privateKey: KeyObject };
}

export function ed25519(): { publicKey: Uint8Array; privateKey: KeyObject } {
  // From a random seed, not generateKeyPairSync, whose keys can deadlock an export on
  // Node 20 (packages/mls/src/crypto/node/keys.ts, RawKeys.generate).
  const seed = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), randomBytes(32)]);
  const privateKey = createPrivateKey({ key: seed, format: 'der', type: 'pkcs8' });
  const x = createPublicKey(privateKey).export({ format: 'jwk' }).x!;
  return { publicKey: new Uint8Array(Buffer.from(x, 'base64url')), privateKey };
}

export function deviceCertificate(user: TestUser, deviceId: string, signatureKey = ed25519().publicKey): Uint8Array {
  const tbs = { userId: user.userId, deviceId, signatureKey, cipherSuite: 1, createdAt: Date.now() };
  const signature = new Uint8Array(sign(null, deviceCertificateSignedBytes(tbs), user.identity.privateKey));
  return encodeDeviceCertificate({ ...tbs, signature });
}

let counter = 0;

/** Registers a user (open policy), publishes an identity key. */
export async function newUser(base: string, name = `user${process.pid}x${++counter}`): Promise<TestUser & { token: string }> {
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const r = await http<{ token: string }>(base, 'POST', '/v1/accounts', { username: name, password });
  if (r.status !== 201) throw new Error(`register failed: ${r.status} ${JSON.stringify(r.body)}`);
  const identity = ed25519();
  const k = await http(base, 'PUT', '/v1/users/me/identity-key', { identityKey: b64(identity.publicKey) }, r.body.token);
  if (k.status !== 204) throw new Error(`identity key failed: ${k.status}`);
  return { userId: name, password, identity, token: r.body.token };
}

/** Logs in a new session and registers a device on it. */
export async function newDevice(base: string, user: TestUser, deviceId = `dev-${randomBytes(6).toString('hex')}`): Promise<TestDevice> {
  const s = await http<{ token: string }>(base, 'POST', '/v1/sessions', { username: user.userId, password: user.password });
  if (s.status !== 201) throw new Error(`login failed: ${s.status}`);
  const d = await http(base, 'POST', '/v1/devices', { certificate: b64(deviceCertificate(user, deviceId)) }, s.body.token);
  if (d.status !== 201) throw new Error(`device failed: ${d.status} ${JSON.stringify(d.body)}`);
  return { userId: user.userId, deviceId, token: s.body.token };
}

/** A WebSocket connection that records what it receives. */
export class WsClient {
  readonly delivered: DeliverFrame[] = [];
  readonly controls: ServerControlFrame[] = [];
  private waiters: (() => void)[] = [];
  private readonly pendingSends = new Map<number, (f: ServerControlFrame) => void>();
  private ref = 0;
  closeCode: number | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const buf = data as Buffer;
      if (isBinary) this.delivered.push(decodeDeliverFrame(new Uint8Array(buf)));
      else {
        const f = JSON.parse(buf.toString('utf8')) as ServerControlFrame;
        this.controls.push(f);
        if ((f.type === 'sent' || f.type === 'error') && f.ref !== undefined) {
          this.pendingSends.get(f.ref)?.(f);
          this.pendingSends.delete(f.ref);
        }
      }
      this.wake();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static async connect(wsUrl: string, token: string, via: 'header' | 'frame' = 'frame'): Promise<WsClient> {
    const ws = new WebSocket(wsUrl, via === 'header' ? { headers: { authorization: `Bearer ${token}` } } : {});
    const c = new WsClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => {
        resolve();
      });
      ws.once('error', reject);
    });
    if (via === 'frame') ws.send(JSON.stringify({ type: 'auth', token, version: PROTOCOL_VERSION }));
    await c.until(() => c.controls.some((f) => f.type === 'ready' || f.type === 'error') || c.closeCode !== undefined);
    return c;
  }

  async until(pred: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error('timed out waiting');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  /** Sends an application message; resolves with the server's `sent` or `error` frame. */
  send(groupId: string, payload: Uint8Array, messageId: Uint8Array = new Uint8Array(randomBytes(16))): Promise<ServerControlFrame> {
    const ref = ++this.ref;
    return new Promise((resolve) => {
      this.pendingSends.set(ref, resolve);
      this.ws.send(encodeSendFrame({ ref, groupId, messageId, payload }));
    });
  }

  control(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((r) => {
      this.ws.once('close', () => {
        r();
      });
      this.ws.close();
    });
  }
}
