// A hostile server for attack tests (issue 7): a proxy in front of the real Parley
// server that plays the part of whoever controls the server. Clients talk to the proxy
// as if it were the server; the proxy forwards everything to the real server and lets
// a test script what a malicious operator could do to it on the way:
//
// - HTTP: rewrite any answer (a substituted identity key in the directory, a forged
//   key package in a claim, a GroupInfo of the attacker's choosing, a log read with
//   messages dropped, replayed or reordered) or refuse a request;
// - WebSocket: per device, drop, replay, reorder or substitute the frames the server
//   pushes, and inject frames the real server never sent (a forged commit, a replayed
//   application message, a forged receipt), or swallow what the client sends.
//
// What the proxy cannot do is what a compromised server cannot do either: produce a
// signature with a key it does not hold. Each attack test shows the client refusing
// what the proxy does and, where a person should know, the event the user sees.

import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { decodeDeliverFrame, encodeDeliverFrame, type DeliverFrame } from '@parley/protocol';

/** An HTTP request as the proxy saw it (the body fully read). */
export interface ProxiedRequest {
  readonly method: string;
  /** Path and query, e.g. `/v1/users/bob`. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** An answer, from the real server or made up by the attacker. */
export interface ProxiedResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** What the attacker does with a request: let it through (possibly changed), or answer it alone. */
export type RequestAction = { readonly forward: ProxiedRequest } | { readonly answer: ProxiedResponse };

export type RequestHook = (req: ProxiedRequest) => RequestAction | undefined | Promise<RequestAction | undefined>;
export type ResponseHook = (res: ProxiedResponse, req: ProxiedRequest) => ProxiedResponse | undefined | Promise<ProxiedResponse | undefined>;

/** What to push to the client instead of one frame from the server: nothing, the frame, or others. */
export type DeliverAction = 'pass' | 'drop' | readonly DeliverFrame[];
export type DeliverHook = (frame: DeliverFrame, connection: ProxiedConnection) => DeliverAction;
export type ClientFrameHook = (data: Buffer, isBinary: boolean, connection: ProxiedConnection) => 'pass' | 'drop';

/** One client WebSocket through the proxy. */
export interface ProxiedConnection {
  /** From the server's `ready` frame; undefined until then. */
  readonly deviceId: string | undefined;
  readonly userId: string | undefined;
  /** Every deliver frame the real server pushed on this connection, in order. */
  readonly delivered: readonly DeliverFrame[];
  /** Pushes a frame to the client as if the server had sent it (its seq as given). */
  inject(frame: DeliverFrame): void;
  /**
   * Inserts a frame into the client's view of a stream, as a server that rewrites its
   * own log would: it gets the seq after the last one this client was given on that
   * stream, and every later real frame of the stream is pushed one seq further on (the
   * client's acknowledgements are translated back for the real server). So the client
   * keeps receiving the real log after an injected replay or forgery. Returns the seq.
   */
  insert(frame: Omit<DeliverFrame, 'seq'>): number;
  /** Closes the client's socket (a "network failure" of the attacker's choosing). */
  close(): void;
}

export interface HostileServer {
  /** The URL clients use (http://127.0.0.1:port). */
  readonly url: string;
  /** Called for every request before it is forwarded; hooks run in the order added. */
  onRequest(hook: RequestHook): () => void;
  /** Called for every answer before it reaches the client. */
  onResponse(hook: ResponseHook): () => void;
  /** Called for every deliver frame the server pushes over a WebSocket. */
  onDeliver(hook: DeliverHook): () => void;
  /** Called for every frame a client sends over a WebSocket. */
  onClientFrame(hook: ClientFrameHook): () => void;
  /** Open WebSockets, optionally only those of one device. */
  connections(deviceId?: string): ProxiedConnection[];
  /** Resolves once a device has an open WebSocket through the proxy (its `ready` seen). */
  waitForConnection(deviceId: string): Promise<ProxiedConnection>;
  /** Every HTTP exchange so far, in order (what the attacker learnt). */
  readonly exchanges: readonly { readonly request: ProxiedRequest; readonly response: ProxiedResponse }[];
  close(): Promise<void>;
}

/** Helpers for the common rewrites of JSON answers. */
export const json = {
  parse(res: ProxiedResponse): Record<string, unknown> {
    return JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
  },
  answer(status: number, body: unknown, headers: Record<string, string> = {}): ProxiedResponse {
    const bytes = Buffer.from(JSON.stringify(body));
    return { status, headers: { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(bytes.length) }, body: bytes };
  },
  /** The same answer with a new JSON body. */
  replace(res: ProxiedResponse, body: unknown): ProxiedResponse {
    return json.answer(res.status, body, withoutLength(res.headers));
  },
};

function withoutLength(h: Record<string, string>): Record<string, string> {
  const { 'content-length': _len, 'content-encoding': _enc, 'transfer-encoding': _te, ...rest } = h;
  return rest;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => { resolve(Buffer.concat(chunks)); });
    req.on('error', reject);
  });
}

function forward(upstream: URL, req: ProxiedRequest): Promise<ProxiedResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || HOP_BY_HOP.has(k) || k === 'host' || k === 'content-length' || k === 'accept-encoding') continue;
      headers[k] = v;
    }
    headers['content-length'] = String(req.body.length);
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) {
          if (v === undefined || HOP_BY_HOP.has(k)) continue;
          h[k] = Array.isArray(v) ? v.join(', ') : v;
        }
        resolve({ status: res.statusCode ?? 502, headers: h, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    out.on('error', reject);
    out.end(req.body);
  });
}

function send(res: ServerResponse, r: ProxiedResponse): void {
  const headers = { ...withoutLength(r.headers), 'content-length': String(r.body.length) };
  res.writeHead(r.status, headers);
  res.end(r.body);
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

const streamKey = (stream: string, streamId: string): string => `${stream}\u0000${streamId}`;

class Connection implements ProxiedConnection {
  deviceId: string | undefined;
  userId: string | undefined;
  readonly delivered: DeliverFrame[] = [];
  /** Per stream: the seqs (as the client sees them) of inserted frames, ascending. */
  private readonly inserted = new Map<string, number[]>();
  /** Per stream: the last seq pushed to the client. */
  private readonly lastPushed = new Map<string, number>();

  constructor(
    readonly client: WebSocket,
    readonly upstream: WebSocket,
  ) {}

  inject(frame: DeliverFrame): void {
    const key = streamKey(frame.stream, frame.streamId);
    this.lastPushed.set(key, Math.max(this.lastPushed.get(key) ?? 0, frame.seq));
    if (this.client.readyState === WebSocket.OPEN) this.client.send(encodeDeliverFrame(frame), { binary: true });
  }

  insert(frame: Omit<DeliverFrame, 'seq'>): number {
    const key = streamKey(frame.stream, frame.streamId);
    const seq = (this.lastPushed.get(key) ?? 0) + 1;
    const list = this.inserted.get(key) ?? [];
    list.push(seq);
    this.inserted.set(key, list);
    this.inject({ ...frame, seq });
    return seq;
  }

  /** The seq the client sees for a real frame (shifted past the insertions). */
  shifted(frame: DeliverFrame): DeliverFrame {
    const list = this.inserted.get(streamKey(frame.stream, frame.streamId));
    if (list === undefined || list.length === 0) return frame;
    return { ...frame, seq: frame.seq + list.length };
  }

  /** The real server's seq for a seq the client acknowledges. */
  unshift(stream: string, streamId: string, seq: number): number {
    const list = this.inserted.get(streamKey(stream, streamId)) ?? [];
    return seq - list.filter((s) => s <= seq).length;
  }

  /** A client control frame with its acknowledged seqs translated back, or undefined to pass it as is. */
  translateAck(data: Buffer): Buffer | undefined {
    if (this.inserted.size === 0) return undefined;
    let frame: { type?: unknown; groups?: { groupId: string; seq: number }[]; inbox?: number };
    try {
      frame = JSON.parse(data.toString('utf8')) as typeof frame;
    } catch {
      return undefined;
    }
    if (frame.type !== 'ack') return undefined;
    const userId = this.userId ?? '';
    const groups = frame.groups?.map((g) => ({ groupId: g.groupId, seq: this.unshift('group', g.groupId, g.seq) }));
    const inbox = frame.inbox === undefined ? undefined : this.unshift('inbox', this.deviceId ?? userId, frame.inbox);
    return Buffer.from(JSON.stringify({ ...frame, ...(groups !== undefined ? { groups } : {}), ...(inbox !== undefined ? { inbox } : {}) }));
  }

  close(): void {
    this.client.terminate();
    this.upstream.terminate();
  }
}

/** Starts a hostile proxy on loopback in front of the real server at `upstream`. */
export async function startHostileServer(options: { readonly upstream: string }): Promise<HostileServer> {
  const upstream = new URL(options.upstream);
  const requestHooks: RequestHook[] = [];
  const responseHooks: ResponseHook[] = [];
  const deliverHooks: DeliverHook[] = [];
  const clientHooks: ClientFrameHook[] = [];
  const open = new Set<Connection>();
  const exchanges: { request: ProxiedRequest; response: ProxiedResponse }[] = [];
  const connectionWaiters: { deviceId: string; resolve: (c: Connection) => void }[] = [];

  const add = <T>(list: T[], hook: T): (() => void) => {
    list.push(hook);
    return () => {
      const i = list.indexOf(hook);
      if (i >= 0) list.splice(i, 1);
    };
  };

  const http: Server = createServer((req, res) => {
    void (async () => {
      let proxied: ProxiedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: await readBody(req) };
      let response: ProxiedResponse | undefined;
      for (const hook of requestHooks) {
        const action = await hook(proxied);
        if (action === undefined) continue;
        if ('answer' in action) {
          response = action.answer;
          break;
        }
        proxied = action.forward;
      }
      response ??= await forward(upstream, proxied);
      for (const hook of responseHooks) response = (await hook(response, proxied)) ?? response;
      exchanges.push({ request: proxied, response });
      send(res, response);
    })().catch(() => {
      if (!res.headersSent) send(res, json.answer(502, { error: { code: 'internal', message: 'proxy failure' } }));
    });
  });

  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const headers: Record<string, string> = {};
    if (typeof req.headers.authorization === 'string') headers.authorization = req.headers.authorization;
    const target = `ws://${upstream.host}${req.url ?? '/v1/ws'}`;
    const up = new WebSocket(target, { headers });
    const pending: { data: Buffer; isBinary: boolean }[] = [];
    wss.handleUpgrade(req, socket, head, (client) => {
      const conn = new Connection(client, up);
      open.add(conn);
      const fromClient = (raw: Buffer, isBinary: boolean): void => {
        for (const hook of clientHooks) if (hook(raw, isBinary, conn) === 'drop') return;
        const data = isBinary ? raw : (conn.translateAck(raw) ?? raw);
        if (up.readyState === WebSocket.OPEN) up.send(data, { binary: isBinary });
        else pending.push({ data, isBinary });
      };
      client.on('message', (data, isBinary) => { fromClient(toBuffer(data), isBinary); });
      up.on('open', () => {
        for (const p of pending.splice(0)) up.send(p.data, { binary: p.isBinary });
      });
      up.on('message', (data, isBinary) => {
        const bytes = toBuffer(data);
        if (!isBinary) {
          try {
            const frame = JSON.parse(bytes.toString('utf8')) as { type?: string; deviceId?: string; userId?: string };
            if (frame.type === 'ready') {
              conn.deviceId = frame.deviceId;
              conn.userId = frame.userId;
              for (const w of connectionWaiters.filter((x) => x.deviceId === frame.deviceId)) {
                connectionWaiters.splice(connectionWaiters.indexOf(w), 1);
                w.resolve(conn);
              }
            }
          } catch {
            // not JSON: pass it on unchanged
          }
          if (client.readyState === WebSocket.OPEN) client.send(bytes, { binary: false });
          return;
        }
        let frame: DeliverFrame;
        try {
          frame = decodeDeliverFrame(bytes);
        } catch {
          if (client.readyState === WebSocket.OPEN) client.send(bytes, { binary: true });
          return;
        }
        conn.delivered.push(frame);
        let out: readonly DeliverFrame[] = [frame];
        for (const hook of deliverHooks) {
          const next: DeliverFrame[] = [];
          for (const f of out) {
            const action = hook(f, conn);
            if (action === 'pass') next.push(f);
            else if (action !== 'drop') next.push(...action);
          }
          out = next;
        }
        for (const f of out) conn.inject(conn.shifted(f));
      });
      const end = (): void => {
        open.delete(conn);
        client.terminate();
        up.terminate();
      };
      client.on('close', end);
      up.on('close', (code, reason) => {
        open.delete(conn);
        if (client.readyState === WebSocket.OPEN) client.close(code >= 1000 && code < 5000 && code !== 1005 && code !== 1006 ? code : 1011, reason);
      });
      client.on('error', end);
      up.on('error', end);
    });
  });

  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    onRequest: (hook) => add(requestHooks, hook),
    onResponse: (hook) => add(responseHooks, hook),
    onDeliver: (hook) => add(deliverHooks, hook),
    onClientFrame: (hook) => add(clientHooks, hook),
    connections: (deviceId) => [...open].filter((c) => deviceId === undefined || c.deviceId === deviceId),
    waitForConnection: (deviceId) => {
      const found = [...open].find((c) => c.deviceId === deviceId);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve) => connectionWaiters.push({ deviceId, resolve }));
    },
    exchanges,
    close: async () => {
      for (const c of open) c.close();
      await new Promise<void>((resolve) => { wss.close(() => { resolve(); }); });
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => { resolve(); }));
    },
  };
}
