// The WebSocket gateway (docs/protocol.md "WebSocket"): authenticated connections that
// receive every stored message of their device's groups and inbox, pushed in order
// from the device's cursor, and send application messages as binary frames.
//
// Each connection keeps, per stream (a group log or its inbox), the last seq it sent.
// A pushed message that follows it is sent at once; a gap (reconnect, missed event)
// triggers a catch-up read from the Store. So resumption, backlog and live delivery are
// one mechanism. Backpressure: a connection whose unsent bytes exceed the bound, be they
// deliveries or control frames (acknowledgements, pongs, errors), is cut (the metric
// parley_ws_slow_disconnects_total counts it); its cursor is durable, it catches up when
// it reconnects. Heartbeats cut a dead peer; caps bound the sockets per device and in all.
// Every error frame carries the `ref` of the frame it answers, whenever that frame had one.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  ERROR_STATUS,
  FRAME_ERROR_CODES,
  FrameError,
  PROTOCOL_VERSION,
  decodeSendFrame,
  encodeDeliverFrame,
  parseClientControlFrame,
  peekFrameRef,
  peekFrameType,
  type ClientControlFrame,
  type ErrorCode,
  type ErrorFrameSource,
  type ServerControlFrame,
  type Stream,
} from '@parley/protocol';
import type { BusEvent } from '../bus.js';
import { authenticateDevice, bearer, limit, sessionStillValid, type AuthenticatedDevice, type Ctx } from '../context.js';
import { ApiError } from '../errors.js';
import type { StoredMessage } from '../store/store.js';

const PAGE = 256;
const STALL_MS = 30_000;
export const CLOSE_SLOW_CONSUMER = 4008;
export const CLOSE_AUTH = 4001;
export const CLOSE_REVOKED = 4003;
export const CLOSE_BAD_FRAME = 4000;
export const CLOSE_TOO_MANY = 4029;

interface StreamState {
  sent: number;
  fetching: boolean;
  pending: boolean;
}

const INBOX = '\u0000inbox';

class Connection {
  readonly streams = new Map<string, StreamState>();
  alive = true;
  closed = false;

  /** True while this tick's frames are held in the socket, to leave in one write. */
  private corked = false;

  constructor(
    readonly gw: Gateway,
    readonly ws: WebSocket,
    /** The TCP socket under `ws`: corked per tick, so N frames cost one syscall, not N. */
    private readonly socket: Duplex,
    readonly auth: AuthenticatedDevice,
    readonly address: string,
  ) {}

  /** Holds this tick's writes and flushes them together once the tick's work is done. */
  private cork(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  get deviceId(): string {
    return this.auth.deviceId;
  }

  /** Sends a control frame unless the buffer is over its bound (then the connection is cut). */
  control(frame: ServerControlFrame): void {
    if (this.closed || this.overBound()) return;
    this.cork();
    this.ws.send(JSON.stringify(frame));
  }

  /** An error answering a client frame (of kind `source`): with that frame's ref, when it had one. */
  error(source: ErrorFrameSource, code: ErrorCode, message: string, ref: number | undefined, retryAfter?: number): void {
    this.gw.checkDeclared(source, code);
    this.control({ type: 'error', code, message, ...(ref === undefined ? {} : { ref }), ...(retryAfter === undefined ? {} : { retryAfter }) });
  }

  /** Sends bytes unless the buffer is over its bound, in which case the connection is cut. */
  sendBinary(bytes: Uint8Array): boolean {
    if (this.closed || this.overBound()) return false;
    this.cork();
    this.ws.send(bytes);
    this.gw.ctx.metrics.deliveries.inc();
    return true;
  }

  /** True (and the connection cut) if the peer has let its unsent bytes pass the bound. */
  overBound(): boolean {
    if (this.ws.bufferedAmount <= this.gw.ctx.config.wsMaxBufferedBytes) return false;
    this.gw.ctx.metrics.wsSlowDisconnects.inc();
    // Its buffer is full: a close frame would queue behind it. Cut it; it catches up later.
    this.closed = true;
    this.ws.terminate();
    this.gw.drop(this);
    return true;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.close(code, reason);
    this.gw.drop(this);
    // A peer that does not answer the close handshake is cut.
    setTimeout(() => { this.ws.terminate(); }, 2000).unref();
  }

  track(key: string, cursor: number): void {
    if (!this.streams.has(key)) this.streams.set(key, { sent: cursor, fetching: false, pending: false });
    this.catchUp(key);
  }

  /** A live message for one of this connection's streams. */
  offer(key: string, m: StoredMessage, frame: () => Uint8Array): void {
    const s = this.streams.get(key);
    if (s === undefined || this.closed) return;
    if (s.fetching) {
      s.pending = true;
      return;
    }
    if (m.seq <= s.sent) return;
    if (m.seq === s.sent + 1) {
      s.sent = m.seq;
      if (m.sender !== this.deviceId || key === INBOX) this.sendBinary(frame());
      return;
    }
    this.catchUp(key);
  }

  catchUp(key: string): void {
    const s = this.streams.get(key);
    if (s === undefined || s.fetching || this.closed) return;
    s.fetching = true;
    void this.fetchLoop(key, s).catch((e: unknown) => {
      this.gw.ctx.log.warn({ err: e, deviceId: this.deviceId }, 'catch-up failed');
      this.close(1011, 'internal error');
    });
  }

  private async fetchLoop(key: string, s: StreamState): Promise<void> {
    const { store } = this.gw.ctx;
    for (;;) {
      s.pending = false;
      const page = key === INBOX ? await store.readInbox(this.deviceId, s.sent, PAGE) : await store.readGroup(key, s.sent, PAGE);
      for (const m of page) {
        if (this.closed) return;
        if (m.seq <= s.sent) continue;
        s.sent = m.seq;
        if (key !== INBOX && m.sender === this.deviceId) continue;
        // Catch-up paces itself on the socket: it waits for the buffer to drain rather than
        // overflow it, and gives up on a peer that stays stalled.
        const stalledSince = Date.now();
        while (!this.closed && this.ws.bufferedAmount > this.gw.ctx.config.wsMaxBufferedBytes / 2) {
          if (Date.now() - stalledSince > STALL_MS) {
            this.gw.ctx.metrics.wsSlowDisconnects.inc();
            this.closed = true;
            this.ws.terminate();
            this.gw.drop(this);
            return;
          }
          await new Promise((r) => setTimeout(r, 5));
        }
        if (!this.sendBinary(encodeFrame(key, m))) return;
      }
      if (page.length < PAGE && !s.pending) break;
    }
    s.fetching = false;
  }
}

function encodeFrame(key: string, m: StoredMessage): Uint8Array {
  const stream: Stream = key === INBOX ? 'inbox' : 'group';
  return encodeDeliverFrame({
    stream,
    streamId: stream === 'inbox' ? '' : key,
    seq: m.seq,
    messageId: m.id,
    kind: m.kind,
    groupId: m.groupId,
    sender: m.sender,
    createdAt: m.createdAt,
    payload: m.data,
  });
}

export class Gateway {
  private readonly wss: WebSocketServer;
  private readonly byDevice = new Map<string, Set<Connection>>();
  private readonly byGroup = new Map<string, Set<Connection>>();
  private readonly all = new Set<Connection>();
  private readonly unsubscribe: () => void;
  private readonly heartbeat: NodeJS.Timeout;
  private closing = false;
  private readonly pendingAcks = new Map<string, { deviceId: string; groupId: string; seq: number }>();
  private ackFlush: NodeJS.Timeout | undefined;
  /** Open sockets, authenticated or not yet: what the server-wide cap counts. */
  private sockets = 0;

  constructor(readonly ctx: Ctx) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: ctx.config.limits.message + 1024, perMessageDeflate: false });
    this.unsubscribe = ctx.bus.subscribe((e) => {
      this.onEvent(e);
    });
    this.heartbeat = setInterval(() => {
      for (const c of this.all) {
        if (!c.alive) {
          // No pong and no frame for a whole interval: a dead peer. Its cursor is durable.
          c.closed = true;
          c.ws.terminate();
          this.drop(c);
          continue;
        }
        c.alive = false;
        if (!c.overBound()) c.ws.ping();
      }
    }, ctx.config.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Authenticated connections. */
  get connections(): number {
    return this.all.size;
  }

  /** Open sockets, authenticated or not yet (what `wsMaxConnections` caps). */
  get openSockets(): number {
    return this.sockets;
  }

  /** The http server's 'upgrade' event, for GET /v1/ws. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = req.url ?? '';
    if (this.closing || !(url === '/v1/ws' || url.startsWith('/v1/ws?'))) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    if (this.sockets >= this.ctx.config.wsMaxConnections) {
      const body = JSON.stringify({ error: { code: 'too-many-connections', message: 'the server has reached its connection limit; retry later', retryAfter: 5 } });
      socket.end(`HTTP/1.1 ${ERROR_STATUS['too-many-connections']} Too Many Requests\r\nconnection: close\r\nretry-after: 5\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      return;
    }
    this.sockets++;
    let counted = true;
    const uncount = (): void => {
      if (counted) this.sockets--;
      counted = false;
    };
    socket.once('close', uncount);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      ws.once('close', uncount);
      this.accept(ws, req);
    });
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const address = req.socket.remoteAddress ?? '';
    // Before authentication every error answers the auth step (`auth` in FRAME_ERROR_CODES).
    const fail = (code: ErrorCode, message: string, close: number, ref?: number): void => {
      this.checkDeclared('auth', code);
      ws.send(JSON.stringify({ type: 'error', code, message, ...(ref === undefined ? {} : { ref }) } satisfies ServerControlFrame));
      ws.close(close, code);
    };
    ws.on('error', () => {
      ws.terminate();
    });
    const start = (token: string | undefined, ref?: number): void => {
      authenticateDevice(this.ctx, token).then(
        (auth) => {
          void this.ready(ws, req.socket, auth, address);
        },
        (e: unknown) => {
          if (e instanceof ApiError) fail(e.code, e.message, CLOSE_AUTH, ref);
          else fail('internal', 'internal error', 1011, ref);
        },
      );
    };
    const header = bearer(req.headers.authorization);
    if (header !== undefined) {
      start(header);
      return;
    }
    // Otherwise the first frame must be {type:'auth'} — never a token in the URL.
    const timer = setTimeout(() => {
      fail('unauthenticated', `authenticate within ${this.ctx.config.wsAuthTimeoutMs} ms`, CLOSE_AUTH);
    }, this.ctx.config.wsAuthTimeoutMs);
    ws.once('close', () => {
      clearTimeout(timer);
    });
    ws.once('message', (data, isBinary) => {
      clearTimeout(timer);
      let frame: ClientControlFrame;
      const raw = isBinary ? rawBytes(data) : rawText(data);
      try {
        if (isBinary) throw new FrameError('authenticate first');
        frame = parseClientControlFrame(raw as string);
      } catch (e) {
        fail('bad-request', e instanceof FrameError ? e.message : 'invalid frame', CLOSE_BAD_FRAME, peekFrameRef(raw));
        return;
      }
      if (frame.type !== 'auth') {
        fail('unauthenticated', 'the first frame must be auth', CLOSE_AUTH, frame.ref);
        return;
      }
      if (frame.version !== PROTOCOL_VERSION) {
        fail('unsupported-protocol-version', `this server speaks version ${PROTOCOL_VERSION}`, CLOSE_BAD_FRAME, frame.ref);
        return;
      }
      start(frame.token, frame.ref);
    });
  }

  private async ready(ws: WebSocket, socket: Duplex, auth: AuthenticatedDevice, address: string): Promise<void> {
    if (ws.readyState !== ws.OPEN) return;
    const c = new Connection(this, ws, socket, auth, address);
    // Per-device cap: the newest connection wins (a device that reconnects after a network
    // change must not wait for the heartbeat to clear its dead one); the oldest is closed.
    const mine = this.byDevice.get(auth.deviceId);
    while (mine !== undefined && mine.size >= this.ctx.config.wsMaxConnectionsPerDevice) {
      const oldest = mine.values().next().value!;
      oldest.error('connection', 'too-many-connections', `at most ${this.ctx.config.wsMaxConnectionsPerDevice} connections per device; this one is the oldest`, undefined);
      oldest.close(CLOSE_TOO_MANY, 'too-many-connections');
    }
    this.all.add(c);
    this.ctx.metrics.wsConnections.inc();
    addTo(this.byDevice, auth.deviceId, c);
    ws.on('pong', () => {
      c.alive = true;
    });
    // `ws` answers a peer's pings by itself: a peer that pings without reading grows the buffer too.
    ws.on('ping', () => {
      c.alive = true;
      c.overBound();
    });
    ws.on('message', (data, isBinary) => {
      this.onFrame(c, data, isBinary);
    });
    ws.on('close', () => {
      c.closed = true;
      this.drop(c);
    });
    c.control({ type: 'ready', deviceId: auth.deviceId, userId: auth.user.id, version: PROTOCOL_VERSION });
    const [groups, inbox] = await Promise.all([this.ctx.store.groupsOfDevice(auth.deviceId), this.ctx.store.inboxCursor(auth.deviceId)]);
    if (c.closed) return;
    c.track(INBOX, inbox);
    for (const g of groups) {
      addTo(this.byGroup, g.groupId, c);
      c.track(g.groupId, g.cursor);
    }
  }

  /** An error code outside FRAME_ERROR_CODES for what it answers is a bug: counted and logged, still sent. */
  checkDeclared(source: ErrorFrameSource, code: ErrorCode): void {
    if (FRAME_ERROR_CODES[source].includes(code)) return;
    this.ctx.metrics.wsUndeclaredErrors.inc({ frame: source, code });
    this.ctx.log.error({ frame: source, code }, 'error code not declared for this frame');
  }

  /** Forgets a connection (idempotent). */
  drop(c: Connection): void {
    if (!this.all.delete(c)) return;
    this.ctx.metrics.wsConnections.dec();
    removeFrom(this.byDevice, c.deviceId, c);
    for (const key of c.streams.keys()) if (key !== INBOX) removeFrom(this.byGroup, key, c);
  }

  private onFrame(c: Connection, data: RawData, isBinary: boolean): void {
    c.alive = true;
    let ref: number | undefined;
    const raw = isBinary ? rawBytes(data) : rawText(data);
    try {
      if (typeof raw !== 'string') {
        this.onSend(c, raw);
        return;
      }
      const f = parseClientControlFrame(raw);
      ref = f.ref;
      switch (f.type) {
        case 'ping':
          c.control(f.ref === undefined ? { type: 'pong' } : { type: 'pong', ref: f.ref });
          return;
        case 'auth':
          throw new FrameError('already authenticated');
        case 'ack':
          void this.onAck(c, f).catch(() => {
            c.error('ack', 'internal', 'ack failed', f.ref);
          });
          return;
        case 'sync':
          // Resumption from the client's own cursors: resend what follows them.
          for (const g of f.groups ?? []) {
            const s = c.streams.get(g.groupId);
            if (s !== undefined && !s.fetching) {
              s.sent = g.seq;
              c.catchUp(g.groupId);
            }
          }
          if (f.inbox !== undefined) {
            const s = c.streams.get(INBOX);
            if (s !== undefined && !s.fetching) {
              s.sent = f.inbox;
              c.catchUp(INBOX);
            }
          }
          return;
      }
    } catch (e) {
      ref ??= peekFrameRef(raw);
      // Only on this error path: what the frame was, for its list of error codes.
      const source: ErrorFrameSource = typeof raw !== 'string' ? 'send' : (peekFrameType(raw) ?? 'frame');
      if (e instanceof ApiError) c.error(source, e.code, e.message, ref, e.extra.retryAfter);
      else if (e instanceof FrameError) c.error(source, e.code, e.message, ref);
      else c.error(source, 'internal', 'internal error', ref);
    }
  }

  private async onAck(c: Connection, f: { groups?: readonly { groupId: string; seq: number }[]; inbox?: number }): Promise<void> {
    // Group acknowledgements are coalesced into one write per tick: losing one in a crash
    // only means a redelivery, which clients de-duplicate.
    for (const g of f.groups ?? []) {
      const key = `${c.deviceId}\u0000${g.groupId}`;
      const prev = this.pendingAcks.get(key);
      if (prev === undefined || prev.seq < g.seq) this.pendingAcks.set(key, { deviceId: c.deviceId, groupId: g.groupId, seq: g.seq });
    }
    if (this.pendingAcks.size > 0 && this.ackFlush === undefined) {
      this.ackFlush = setTimeout(() => {
        void this.flushAcks();
      }, 20);
    }
    if (f.inbox !== undefined) await this.ctx.store.ackInbox(c.deviceId, f.inbox);
  }

  private async flushAcks(): Promise<void> {
    this.ackFlush = undefined;
    if (this.pendingAcks.size === 0) return;
    const batch = [...this.pendingAcks.values()];
    this.pendingAcks.clear();
    try {
      await this.ctx.store.ackBatch(batch);
    } catch (e) {
      this.ctx.log.warn({ err: e }, 'ack write failed');
    }
  }

  private onSend(c: Connection, bytes: Uint8Array): void {
    const f = decodeSendFrame(bytes, this.ctx.config.limits.message);
    limit(this.ctx.limiters?.sendPerAccount, c.auth.user.id);
    limit(this.ctx.limiters?.sendPerAddress, c.address);
    this.ctx.delivery
      .submit({ groupId: f.groupId, id: f.messageId.slice(), sender: c.deviceId, data: f.payload.slice(), createdAt: this.ctx.now() })
      .then(
        (r) => {
          if (r.ok) c.control({ type: 'sent', ref: f.ref, groupId: f.groupId, seq: r.seq, duplicate: r.duplicate });
          else c.error('send', r.reason, r.reason === 'unknown-group' ? 'no such group' : 'not a member of the group', f.ref);
        },
        () => {
          c.error('send', 'internal', 'the message was not stored', f.ref);
        },
      );
  }

  private onEvent(e: BusEvent): void {
    switch (e.type) {
      case 'group-message': {
        const conns = this.byGroup.get(e.message.groupId);
        if (conns === undefined) return;
        let frame: Uint8Array | undefined;
        const get = (): Uint8Array => (frame ??= encodeFrame(e.message.groupId, e.message));
        for (const c of conns) c.offer(e.message.groupId, e.message, get);
        return;
      }
      case 'inbox-message': {
        let frame: Uint8Array | undefined;
        const get = (): Uint8Array => (frame ??= encodeFrame(INBOX, e.message));
        for (const c of this.byDevice.get(e.deviceId) ?? []) c.offer(INBOX, e.message, get);
        return;
      }
      case 'membership': {
        for (const d of e.added) {
          for (const c of this.byDevice.get(d) ?? []) {
            void this.ctx.store.groupsOfDevice(d).then((gs) => {
              const g = gs.find((x) => x.groupId === e.groupId);
              if (g === undefined || c.closed) return;
              addTo(this.byGroup, e.groupId, c);
              c.track(e.groupId, g.cursor);
              c.control({ type: 'membership', groupId: e.groupId, member: true });
            });
          }
        }
        for (const d of e.removed) {
          for (const c of this.byDevice.get(d) ?? []) {
            c.streams.delete(e.groupId);
            removeFrom(this.byGroup, e.groupId, c);
            c.control({ type: 'membership', groupId: e.groupId, member: false });
          }
        }
        return;
      }
      case 'device-removed':
        for (const c of this.byDevice.get(e.deviceId) ?? []) c.close(CLOSE_REVOKED, 'device removed');
        return;
      case 'user-deactivated':
        for (const c of this.all) if (c.auth.user.id === e.userId) c.close(CLOSE_REVOKED, 'account deactivated');
        return;
      case 'session-revoked':
        for (const c of this.all) if (Buffer.from(c.auth.session.tokenHash).equals(e.tokenHash)) c.close(CLOSE_REVOKED, 'session revoked');
        return;
    }
  }

  /**
   * Checks every open connection's session against the store again and closes those no
   * longer valid (4003): for writes the bus never saw, made by another process on the
   * database (`parley admin deactivate-user`). One check per session, not per connection.
   */
  async revalidate(): Promise<void> {
    const verdicts = new Map<string, Promise<'ok' | 'revoked' | 'deactivated'>>();
    for (const c of [...this.all]) {
      const key = Buffer.from(c.auth.session.tokenHash).toString('hex');
      let v = verdicts.get(key);
      if (v === undefined) verdicts.set(key, (v = sessionStillValid(this.ctx, c.auth.session)));
      const verdict = await v;
      if (verdict !== 'ok') c.close(CLOSE_REVOKED, verdict === 'deactivated' ? 'account deactivated' : 'session revoked');
    }
  }

  /** Closes every connection (1001 going away) and stops accepting new ones. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.heartbeat);
    if (this.ackFlush !== undefined) clearTimeout(this.ackFlush);
    await this.flushAcks();
    this.unsubscribe();
    for (const c of this.all) c.close(1001, 'server shutting down');
    const deadline = Date.now() + 2000;
    while (this.all.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const c of this.all) c.ws.terminate();
    await new Promise<void>((r) => {
      this.wss.close(() => {
        r();
      });
    });
  }
}

function addTo(map: Map<string, Set<Connection>>, key: string, c: Connection): void {
  let s = map.get(key);
  if (s === undefined) map.set(key, (s = new Set()));
  s.add(c);
}

function removeFrom(map: Map<string, Set<Connection>>, key: string, c: Connection): void {
  const s = map.get(key);
  if (s === undefined) return;
  s.delete(c);
  if (s.size === 0) map.delete(key);
}

function rawBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function rawText(data: RawData): string {
  return Buffer.from(rawBytes(data)).toString('utf8');
}
