// WebSocket frames of the client–server protocol (docs/protocol.md "WebSocket").
//
// Control frames are JSON text frames; MLS bytes travel in binary frames, never as
// base64 inside JSON. Binary layout, in the TLS presentation language of RFC 9420 §2.1
// (opaque<V> with the §2.1.2 minimal varint prefix; integers big-endian):
//
//   enum { send(1), deliver(2), (255) } BinaryFrameType;
//
//   struct {                          // client -> server: an application message
//     uint8  type = send;
//     uint32 ref;                     // echoed in the `sent` acknowledgement
//     opaque group_id<V>;             // ASCII, the group's id
//     opaque message_id[16];          // chosen by the client: retries are idempotent
//     opaque payload<V>;              // MLS PrivateMessage bytes, opaque to the server
//   } SendFrame;
//
//   enum { group(0), inbox(1) } Stream;
//   enum { application(1), commit(2), welcome(3), notice(4) } MessageKind;
//
//   struct {                          // server -> client: one stored message
//     uint8  type = deliver;
//     uint8  stream;                  // group log, or the device's own inbox
//     opaque stream_id<V>;            // the group id, or empty for the inbox
//     uint64 seq;                     // server sequence number within that stream
//     opaque message_id[16];
//     uint8  kind;
//     opaque group_id<V>;             // the group the message is about (empty if none)
//     opaque sender<V>;               // sender device id, or empty for the server
//     uint64 created_at;              // milliseconds since the Unix epoch
//     opaque payload<V>;
//   } DeliverFrame;

import type { ErrorCode } from './errors.js';

export const FRAME_SEND = 1;
export const FRAME_DELIVER = 2;
export const MESSAGE_ID_LENGTH = 16;

export type Stream = 'group' | 'inbox';
export const MESSAGE_KINDS = { application: 1, commit: 2, welcome: 3, notice: 4 } as const;
export type MessageKind = keyof typeof MESSAGE_KINDS;
const kindByNumber = new Map<number, MessageKind>(Object.entries(MESSAGE_KINDS).map(([k, v]) => [v, k as MessageKind]));

export interface SendFrame {
  readonly ref: number;
  readonly groupId: string;
  readonly messageId: Uint8Array;
  readonly payload: Uint8Array;
}

export interface DeliverFrame {
  readonly stream: Stream;
  readonly streamId: string;
  readonly seq: number;
  readonly messageId: Uint8Array;
  readonly kind: MessageKind;
  readonly groupId: string;
  readonly sender: string;
  readonly createdAt: number;
  readonly payload: Uint8Array;
}

export class FrameError extends Error {
  readonly code = 'bad-request';

  constructor(message: string) {
    super(`invalid frame: ${message}`);
    this.name = 'FrameError';
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

function varintSize(n: number): number {
  if (n < 0x40) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x40000000) return 4;
  throw new FrameError('field too long');
}

class W {
  readonly out: Uint8Array;
  private readonly view: DataView;
  at = 0;
  constructor(n: number) {
    this.out = new Uint8Array(n);
    this.view = new DataView(this.out.buffer);
  }
  u8(n: number): void {
    this.view.setUint8(this.at, n);
    this.at += 1;
  }
  u32(n: number): void {
    this.view.setUint32(this.at, n);
    this.at += 4;
  }
  u64(n: number): void {
    this.view.setUint32(this.at, Math.floor(n / 0x1_0000_0000));
    this.view.setUint32(this.at + 4, n >>> 0);
    this.at += 8;
  }
  raw(b: Uint8Array): void {
    this.out.set(b, this.at);
    this.at += b.length;
  }
  vec(b: Uint8Array): void {
    const n = b.length;
    const s = varintSize(n);
    if (s === 1) this.u8(n);
    else if (s === 2) {
      this.view.setUint16(this.at, 0x4000 | n);
      this.at += 2;
    } else this.u32((0x80000000 | n) >>> 0);
    this.raw(b);
  }
}

class R {
  private readonly view: DataView;
  at = 0;
  constructor(private readonly b: Uint8Array) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  private need(n: number): void {
    if (this.at + n > this.b.length) throw new FrameError('truncated');
  }
  u8(): number {
    this.need(1);
    return this.view.getUint8(this.at++);
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.at);
    this.at += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const hi = this.view.getUint32(this.at);
    const lo = this.view.getUint32(this.at + 4);
    if (hi > 0x1fffff) throw new FrameError('integer out of range');
    this.at += 8;
    return hi * 0x1_0000_0000 + lo;
  }
  raw(n: number): Uint8Array {
    this.need(n);
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  vec(max: number): Uint8Array {
    const first = this.u8();
    let n: number;
    switch (first >>> 6) {
      case 0:
        n = first;
        break;
      case 1:
        n = ((first & 0x3f) << 8) | this.u8();
        if (n < 0x40) throw new FrameError('non-minimal length');
        break;
      case 2:
        this.at -= 1;
        n = this.u32() & 0x3fffffff;
        if (n < 0x4000) throw new FrameError('non-minimal length');
        break;
      default:
        throw new FrameError('invalid length prefix');
    }
    if (n > max) throw new FrameError('field too long');
    return this.raw(n);
  }
  ascii(max: number): string {
    const b = this.vec(max);
    try {
      return dec.decode(b);
    } catch {
      throw new FrameError('invalid UTF-8');
    }
  }
  done(): void {
    if (this.at !== this.b.length) throw new FrameError('trailing bytes');
  }
}

/** Largest group id, in bytes (matches the HTTP schema's pattern). */
export const MAX_GROUP_ID = 128;
export const MAX_DEVICE_ID = 64;

export function encodeSendFrame(f: SendFrame): Uint8Array {
  const g = enc.encode(f.groupId);
  if (f.messageId.length !== MESSAGE_ID_LENGTH) throw new FrameError('message id must be 16 bytes');
  const w = new W(1 + 4 + varintSize(g.length) + g.length + MESSAGE_ID_LENGTH + varintSize(f.payload.length) + f.payload.length);
  w.u8(FRAME_SEND);
  w.u32(f.ref >>> 0);
  w.vec(g);
  w.raw(f.messageId);
  w.vec(f.payload);
  return w.out;
}

/** Parses a client's binary frame. `maxPayload` bounds the MLS bytes. Views into `bytes`. */
export function decodeSendFrame(bytes: Uint8Array, maxPayload: number): SendFrame {
  const r = new R(bytes);
  if (r.u8() !== FRAME_SEND) throw new FrameError('unknown binary frame type');
  const ref = r.u32();
  const groupId = r.ascii(MAX_GROUP_ID);
  const messageId = r.raw(MESSAGE_ID_LENGTH);
  const payload = r.vec(maxPayload);
  r.done();
  return { ref, groupId, messageId, payload };
}

export function encodeDeliverFrame(f: DeliverFrame): Uint8Array {
  const sid = enc.encode(f.streamId);
  const gid = f.groupId === f.streamId ? sid : enc.encode(f.groupId);
  const snd = enc.encode(f.sender);
  const n =
    1 + 1 + varintSize(sid.length) + sid.length + 8 + MESSAGE_ID_LENGTH + 1 + varintSize(gid.length) + gid.length +
    varintSize(snd.length) + snd.length + 8 + varintSize(f.payload.length) + f.payload.length;
  const w = new W(n);
  w.u8(FRAME_DELIVER);
  w.u8(f.stream === 'group' ? 0 : 1);
  w.vec(sid);
  w.u64(f.seq);
  w.raw(f.messageId);
  w.u8(MESSAGE_KINDS[f.kind]);
  w.vec(gid);
  w.vec(snd);
  w.u64(f.createdAt);
  w.vec(f.payload);
  return w.out;
}

export function decodeDeliverFrame(bytes: Uint8Array): DeliverFrame {
  const r = new R(bytes);
  if (r.u8() !== FRAME_DELIVER) throw new FrameError('unknown binary frame type');
  const s = r.u8();
  if (s > 1) throw new FrameError('unknown stream');
  const streamId = r.ascii(MAX_GROUP_ID);
  const seq = r.u64();
  const messageId = r.raw(MESSAGE_ID_LENGTH).slice();
  const kind = kindByNumber.get(r.u8());
  if (kind === undefined) throw new FrameError('unknown message kind');
  const groupId = r.ascii(MAX_GROUP_ID);
  const sender = r.ascii(MAX_DEVICE_ID);
  const createdAt = r.u64();
  const payload = r.vec(0x3fffffff).slice();
  r.done();
  return { stream: s === 0 ? 'group' : 'inbox', streamId, seq, messageId, kind, groupId, sender, createdAt, payload };
}

// ---- control frames (JSON text) ---------------------------------------------------

export interface GroupCursor {
  readonly groupId: string;
  readonly seq: number;
}

/**
 * Client -> server control frames. Each may carry a `ref` (uint32) chosen by the client;
 * the server echoes it in the `error` (or `pong`) frame that answers it.
 */
export type ClientControlFrame = (
  | { readonly type: 'auth'; readonly token: string; readonly version: number }
  | { readonly type: 'ack'; readonly groups?: readonly GroupCursor[]; readonly inbox?: number }
  | { readonly type: 'sync'; readonly groups?: readonly GroupCursor[]; readonly inbox?: number }
  | { readonly type: 'ping' }
) & { readonly ref?: number };

/** Server -> client control frames. */
export type ServerControlFrame =
  | { readonly type: 'ready'; readonly deviceId: string; readonly userId: string; readonly version: number }
  | { readonly type: 'sent'; readonly ref: number; readonly groupId: string; readonly seq: number; readonly duplicate: boolean }
  | { readonly type: 'error'; readonly code: string; readonly message: string; readonly ref?: number; readonly retryAfter?: number }
  | { readonly type: 'pong'; readonly ref?: number }
  | { readonly type: 'membership'; readonly groupId: string; readonly member: boolean };

/**
 * What an `error` frame answers: a client frame type, the binary `send` frame, or
 * `connection` for the one error the server sends unasked (a newer connection of the
 * same device closed this one). A frame that does not parse far enough to have a type
 * is answered as `frame`.
 */
export type ErrorFrameSource = ClientControlFrame['type'] | 'send' | 'connection' | 'frame';

/**
 * The codes an `error` frame may carry, per what it answers (docs/protocol.md lists the
 * same). A code outside its list is a server bug: the server counts it
 * (`parley_ws_undeclared_errors_total`) and the test server fails the test that saw it.
 * Adding a code to a list is compatible; removing one is not.
 */
export const FRAME_ERROR_CODES: Readonly<Record<ErrorFrameSource, readonly ErrorCode[]>> = {
  // Before authentication: a bad first frame, no auth in time, a wrong version, a bad token.
  auth: ['bad-request', 'unauthenticated', 'unsupported-protocol-version', 'device-required', 'internal'],
  ack: ['bad-request', 'internal'],
  sync: ['bad-request'],
  ping: ['bad-request'],
  send: ['bad-request', 'rate-limited', 'unknown-group', 'not-a-member', 'internal'],
  connection: ['too-many-connections'],
  frame: ['bad-request'],
};

export const MAX_CONTROL_FRAME = 64 * 1024;
const MAX_CURSORS = 10_000;

/**
 * The subset of JSON Schema (2020-12) that describes client control frames. The parser
 * below checks exactly this subset, so the schema is the one description of the frames:
 * the hostile-input tests (packages/server/test/hostile.test.ts) derive their values from
 * it and check, with Ajv, that the parser agrees with it.
 */
export type FrameSchema =
  | { readonly const: string }
  | { readonly type: 'string'; readonly pattern: string }
  | { readonly type: 'integer'; readonly minimum?: number; readonly maximum?: number }
  | { readonly type: 'array'; readonly items: FrameSchema; readonly maxItems: number }
  | { readonly type: 'object'; readonly properties: Readonly<Record<string, FrameSchema>>; readonly required: readonly string[]; readonly additionalProperties: false };

const seqSchema = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
const cursorSchema = {
  type: 'object',
  properties: { groupId: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' }, seq: seqSchema },
  required: ['groupId', 'seq'],
  additionalProperties: false,
} as const;
const cursorsSchema = { type: 'array', items: cursorSchema, maxItems: MAX_CURSORS } as const;

function frameSchema(type: string, properties: Record<string, FrameSchema>, required: readonly string[] = []): FrameSchema {
  // Every frame may carry `ref` (uint32), echoed in the answer.
  return { type: 'object', properties: { type: { const: type }, ref: { type: 'integer', minimum: 0, maximum: 0xffff_ffff }, ...properties }, required: ['type', ...required], additionalProperties: false };
}

/** The schema of each client control frame type: the one description the parser checks. */
export const CLIENT_CONTROL_FRAME_SCHEMAS: Readonly<Record<ClientControlFrame['type'], FrameSchema>> = {
  auth: frameSchema('auth', { token: { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' }, version: { type: 'integer' } }, ['token', 'version']),
  ack: frameSchema('ack', { groups: cursorsSchema, inbox: seqSchema }),
  sync: frameSchema('sync', { groups: cursorsSchema, inbox: seqSchema }),
  ping: frameSchema('ping', {}),
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isRef(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;
}

const patterns = new Map<string, RegExp>();
function matches(pattern: string, s: string): boolean {
  let re = patterns.get(pattern);
  if (re === undefined) patterns.set(pattern, (re = new RegExp(pattern, 'u')));
  return re.test(s);
}

/** Checks `v` against `s`; throws FrameError naming the field (`at`: schema names and indices only, never input). */
function check(s: FrameSchema, v: unknown, at: string): void {
  if ('const' in s) {
    if (v !== s.const) throw new FrameError(`bad ${at}`);
    return;
  }
  switch (s.type) {
    case 'string':
      if (typeof v !== 'string' || !matches(s.pattern, v)) throw new FrameError(`bad ${at}`);
      return;
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v) || (s.minimum !== undefined && v < s.minimum) || (s.maximum !== undefined && v > s.maximum)) throw new FrameError(`bad ${at}`);
      return;
    case 'array':
      if (!Array.isArray(v) || v.length > s.maxItems) throw new FrameError(`${at} must be an array of at most ${s.maxItems} items`);
      v.forEach((x, i) => {
        check(s.items, x, `${at}[${i}]`);
      });
      return;
    case 'object': {
      if (!isRecord(v)) throw new FrameError(`${at} must be an object`);
      for (const k of Object.keys(v)) {
        // The name is echoed only when it is plain ASCII: never the peer's control or bidi characters.
        if (!Object.hasOwn(s.properties, k)) throw new FrameError(/^[A-Za-z0-9_-]{1,32}$/.test(k) ? `unexpected field "${k}"` : 'unexpected field');
      }
      for (const k of s.required) if (!Object.hasOwn(v, k)) throw new FrameError(`missing ${at === 'frame' ? k : `${at}.${k}`}`);
      for (const [k, sub] of Object.entries(s.properties)) if (Object.hasOwn(v, k)) check(sub, v[k], at === 'frame' ? k : `${at}.${k}`);
    }
  }
}

/**
 * The `ref` of a client frame, read as far as the frame is readable: a binary send frame's
 * uint32 after its type byte, a control frame's `ref` field. So an error answering a frame
 * that does not parse still names the frame it answers, whenever the frame named itself.
 */
export function peekFrameRef(frame: string | Uint8Array): number | undefined {
  if (typeof frame !== 'string') {
    if (frame.length < 5 || frame[0] !== FRAME_SEND) return undefined;
    return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(1);
  }
  if (frame.length > MAX_CONTROL_FRAME) return undefined;
  try {
    const v: unknown = JSON.parse(frame);
    return isRecord(v) && isRef(v.ref) ? v.ref : undefined;
  } catch {
    return undefined;
  }
}

/** The `type` of a control frame that may not parse otherwise, if it names a known one (for its error codes). */
export function peekFrameType(frame: string): ClientControlFrame['type'] | undefined {
  if (frame.length > MAX_CONTROL_FRAME) return undefined;
  try {
    const v: unknown = JSON.parse(frame);
    return isRecord(v) && typeof v.type === 'string' && Object.hasOwn(CLIENT_CONTROL_FRAME_SCHEMAS, v.type) ? (v.type as ClientControlFrame['type']) : undefined;
  } catch {
    return undefined;
  }
}

/** Parses a client control frame against CLIENT_CONTROL_FRAME_SCHEMAS: returns the typed frame or throws FrameError. */
export function parseClientControlFrame(text: string): ClientControlFrame {
  if (text.length > MAX_CONTROL_FRAME) throw new FrameError('control frame too large');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new FrameError('not JSON');
  }
  if (!isRecord(v)) throw new FrameError('not an object');
  const type = v.type;
  if (typeof type !== 'string' || !Object.hasOwn(CLIENT_CONTROL_FRAME_SCHEMAS, type)) throw new FrameError('unknown control frame type');
  check(CLIENT_CONTROL_FRAME_SCHEMAS[type as ClientControlFrame['type']], v, 'frame');
  // Checked against its type's schema: exactly the fields of that frame, each valid.
  return v as ClientControlFrame;
}
