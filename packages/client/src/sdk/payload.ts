// What a Parley application message carries inside MLS (RFC 9420 §6.3.1 application
// data): a versioned JSON object with the sender's per-conversation sequence number, so
// that a gap or a replay is visible to the receiver, the sender's clock, and the body.
// Receipts (delivered, read) are payloads too, so only a member can produce one: the
// server cannot forge them. They carry no sequence number (losing one costs a tick mark,
// not a message) and name the message ids the sender put inside its own payloads.

import { ClientUsageError } from '../errors.js';
import type { MessageBody } from '../store/client-store.js';

export interface AppPayload {
  readonly v: 1;
  /** The sender's per-conversation sequence number, from 1. */
  readonly seq: number;
  /** Milliseconds since the Unix epoch, as the sender's clock had it. */
  readonly sentAt: number;
  readonly body: MessageBody;
  /** The message id, as the sender chose it (base64url of 16 bytes): bound to the content, unlike the server's copy. */
  readonly id?: string;
}

export type ReceiptKind = 'delivered' | 'read';

export interface ReceiptPayload {
  readonly v: 1;
  readonly sentAt: number;
  readonly receipt: { readonly kind: ReceiptKind; readonly ids: readonly string[] };
}

/** A member asks to be removed (MLS lets nobody commit their own removal, RFC 9420 §12.4). */
export interface LeavePayload {
  readonly v: 1;
  readonly sentAt: number;
  readonly leave: { readonly user: string };
}

export function encodeLeave(p: LeavePayload): Uint8Array {
  return encoder.encode(JSON.stringify(p));
}

/** At most this many message ids per receipt. */
export const MAX_RECEIPT_IDS = 500;
const MESSAGE_ID = /^[A-Za-z0-9_-]{22}$/;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodePayload(p: AppPayload): Uint8Array {
  return encoder.encode(JSON.stringify(p));
}

/** Throws ClientUsageError('malformed-payload') for anything but a well-formed v1 payload. */
export function decodePayload(bytes: Uint8Array): AppPayload {
  let x: unknown;
  try {
    x = JSON.parse(decoder.decode(bytes));
  } catch (e) {
    throw new ClientUsageError('malformed-payload', 'the application message is not a Parley payload', { cause: e });
  }
  const bad = (): never => {
    throw new ClientUsageError('malformed-payload', 'the application message is not a Parley payload');
  };
  if (typeof x !== 'object' || x === null) return bad();
  const o = x as Record<string, unknown>;
  if (o.id !== undefined && (typeof o.id !== 'string' || !MESSAGE_ID.test(o.id))) return bad();
  const id = typeof o.id === 'string' ? { id: o.id } : {};
  if (o.v !== 1 || !Number.isSafeInteger(o.seq) || (o.seq as number) < 1 || typeof o.sentAt !== 'number') return bad();
  const body = o.body as Record<string, unknown> | null | undefined;
  if (typeof body !== 'object' || body === null) return bad();
  if (body.type === 'text' && typeof body.text === 'string') return { v: 1, seq: o.seq as number, sentAt: o.sentAt, body: { type: 'text', text: body.text }, ...id };
  return bad();
}

export function encodeReceipt(p: ReceiptPayload): Uint8Array {
  return encoder.encode(JSON.stringify(p));
}

/** A message payload or a receipt; throws ClientUsageError('malformed-payload') for anything else. */
export function decodeAppData(bytes: Uint8Array): { readonly message: AppPayload } | { readonly receipt: ReceiptPayload } | { readonly leave: LeavePayload } {
  let x: unknown;
  try {
    x = JSON.parse(decoder.decode(bytes));
  } catch (e) {
    throw new ClientUsageError('malformed-payload', 'the application message is not a Parley payload', { cause: e });
  }
  if (typeof x === 'object' && x !== null && 'leave' in x) {
    const o = x as Record<string, unknown>;
    const l = o.leave as Record<string, unknown> | null;
    if (o.v !== 1 || typeof o.sentAt !== 'number' || typeof l !== 'object' || l === null || typeof l.user !== 'string' || l.user.length === 0) {
      throw new ClientUsageError('malformed-payload', 'a malformed leave request');
    }
    return { leave: { v: 1, sentAt: o.sentAt, leave: { user: l.user } } };
  }
  if (typeof x === 'object' && x !== null && 'receipt' in x) {
    const o = x as Record<string, unknown>;
    const r = o.receipt as Record<string, unknown> | null;
    const ok =
      o.v === 1 &&
      typeof o.sentAt === 'number' &&
      typeof r === 'object' &&
      r !== null &&
      (r.kind === 'delivered' || r.kind === 'read') &&
      Array.isArray(r.ids) &&
      r.ids.length >= 1 &&
      r.ids.length <= MAX_RECEIPT_IDS &&
      r.ids.every((i) => typeof i === 'string' && MESSAGE_ID.test(i));
    if (!ok) throw new ClientUsageError('malformed-payload', 'a malformed receipt');
    return { receipt: { v: 1, sentAt: o.sentAt as number, receipt: { kind: r.kind as ReceiptKind, ids: r.ids as string[] } } };
  }
  return { message: decodePayload(bytes) };
}
