// What a Parley application message carries inside MLS (RFC 9420 §6.3.1 application
// data): a versioned JSON object with the sender's per-conversation sequence number, so
// that a gap or a replay is visible to the receiver, the sender's clock, and the body.

import { ClientUsageError } from '../errors.js';
import type { MessageBody } from '../store/client-store.js';

export interface AppPayload {
  readonly v: 1;
  /** The sender's per-conversation sequence number, from 1. */
  readonly seq: number;
  /** Milliseconds since the Unix epoch, as the sender's clock had it. */
  readonly sentAt: number;
  readonly body: MessageBody;
}

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
  if (o.v !== 1 || !Number.isSafeInteger(o.seq) || (o.seq as number) < 1 || typeof o.sentAt !== 'number') return bad();
  const body = o.body as Record<string, unknown> | null | undefined;
  if (typeof body !== 'object' || body === null) return bad();
  if (body.type === 'text' && typeof body.text === 'string') return { v: 1, seq: o.seq as number, sentAt: o.sentAt, body: { type: 'text', text: body.text } };
  return bad();
}
