// The WebSocket half of the client–server protocol (docs/protocol.md "WebSocket"): auth
// by first frame (a token never goes in a URL), then deliver frames in order, JSON
// control frames beside them. Written against the web-standard WebSocket interface; in
// Node the `ws` package provides one (src/node-transport/ws.ts).

import { PROTOCOL_VERSION, decodeDeliverFrame, encodeSendFrame, type DeliverFrame, type GroupCursor, type ServerControlFrame } from '@parley/protocol';
import { ServerError } from './http.js';

/** The part of the WHATWG WebSocket this transport uses. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'close' | 'error' | 'message', listener: (ev: { data?: unknown; code?: number }) => void): void;
}

export type WebSocketFactory = (url: string) => WebSocketLike;

export interface WsHandlers {
  /** Called for every deliver frame, in arrival order. */
  readonly onDeliver: (frame: DeliverFrame) => void;
  readonly onControl?: (frame: ServerControlFrame) => void;
  readonly onClose?: (code: number) => void;
}

const OPEN = 1;

function toBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

export class WsConnection {
  private ref = 0;
  private readonly pending = new Map<number, { resolve: (r: { seq: number; duplicate: boolean }) => void; reject: (e: Error) => void }>();

  private constructor(private readonly ws: WebSocketLike) {}

  private settle(frame: ServerControlFrame): void {
    if ((frame.type !== 'sent' && frame.type !== 'error') || frame.ref === undefined) return;
    const p = this.pending.get(frame.ref);
    if (p === undefined) return;
    this.pending.delete(frame.ref);
    if (frame.type === 'sent') p.resolve({ seq: frame.seq, duplicate: frame.duplicate });
    else p.reject(new ServerError(frame.code, frame.message, 0));
  }

  private failAll(): void {
    for (const p of this.pending.values()) p.reject(new ServerError('network', 'the WebSocket closed before the server answered', 0));
    this.pending.clear();
  }

  /** Sends an application message; resolves once the server has it on disk (`sent`). */
  send(groupId: string, messageId: Uint8Array, payload: Uint8Array): Promise<{ seq: number; duplicate: boolean }> {
    if (!this.open) return Promise.reject(new ServerError('network', 'the WebSocket is not open', 0));
    const ref = (this.ref = (this.ref + 1) >>> 0);
    return new Promise((resolve, reject) => {
      this.pending.set(ref, { resolve, reject });
      this.ws.send(encodeSendFrame({ ref, groupId, messageId, payload }));
    });
  }

  /** Opens the socket, authenticates and resolves once the server said `ready`. */
  static connect(factory: WebSocketFactory, wsUrl: string, token: string, handlers: WsHandlers): Promise<WsConnection> {
    const ws = factory(wsUrl);
    ws.binaryType = 'arraybuffer';
    const conn = new WsConnection(ws);
    return new Promise((resolve, reject) => {
      let ready = false;
      ws.addEventListener('open', () => {
        ws.send(JSON.stringify({ type: 'auth', token, version: PROTOCOL_VERSION }));
      });
      ws.addEventListener('error', () => {
        if (!ready) reject(new ServerError('network', 'the WebSocket failed', 0));
      });
      ws.addEventListener('close', (ev) => {
        const code = ev.code ?? 1006;
        if (!ready) reject(new ServerError(code === 4001 ? 'unauthenticated' : 'network', `the WebSocket closed (${String(code)})`, 0));
        conn.failAll();
        handlers.onClose?.(code);
      });
      ws.addEventListener('message', (ev) => {
        const bytes = toBytes(ev.data);
        if (bytes !== undefined) {
          handlers.onDeliver(decodeDeliverFrame(bytes));
          return;
        }
        if (typeof ev.data !== 'string') return;
        const frame = JSON.parse(ev.data) as ServerControlFrame;
        if (!ready && frame.type === 'ready') {
          ready = true;
          resolve(conn);
        } else if (!ready && frame.type === 'error') {
          reject(new ServerError(frame.code, frame.message, 0));
        }
        conn.settle(frame);
        handlers.onControl?.(frame);
      });
    });
  }

  get open(): boolean {
    return this.ws.readyState === OPEN;
  }

  /** Durable acknowledgement: this device has stored everything up to these seqs. */
  ack(groups: readonly GroupCursor[], inbox?: number): void {
    if (!this.open) return;
    this.ws.send(JSON.stringify(inbox === undefined ? { type: 'ack', groups } : { type: 'ack', groups, inbox }));
  }

  close(): Promise<void> {
    if (this.ws.readyState >= 2) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.addEventListener('close', () => {
        resolve();
      });
      this.ws.close(1000);
    });
  }
}
