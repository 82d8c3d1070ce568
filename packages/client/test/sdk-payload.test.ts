// The application payload inside MLS: what is encoded decodes to the same thing, and
// anything else (not JSON, another version, a missing or invalid sequence number, an
// unknown body) is refused with a stable code.
import { describe, expect, it } from 'vitest';
import { decodePayload, encodePayload, type AppPayload } from '../src/sdk/payload.js';

const enc = (x: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(x));

describe('application payload', () => {
  it('round-trips a text message with its sequence number', () => {
    const p: AppPayload = { v: 1, seq: 42, sentAt: 1_800_000_000_000, body: { type: 'text', text: 'héllo 👋' } };
    expect(decodePayload(encodePayload(p))).toEqual(p);
  });

  it.each([
    ['not JSON', new TextEncoder().encode('{nope')],
    ['invalid UTF-8', new Uint8Array([0xff, 0xfe])],
    ['another version', enc({ v: 2, seq: 1, sentAt: 0, body: { type: 'text', text: 'x' } })],
    ['sequence 0', enc({ v: 1, seq: 0, sentAt: 0, body: { type: 'text', text: 'x' } })],
    ['fractional sequence', enc({ v: 1, seq: 1.5, sentAt: 0, body: { type: 'text', text: 'x' } })],
    ['no body', enc({ v: 1, seq: 1, sentAt: 0 })],
    ['unknown body', enc({ v: 1, seq: 1, sentAt: 0, body: { type: 'event', event: 'x' } })],
    ['text not a string', enc({ v: 1, seq: 1, sentAt: 0, body: { type: 'text', text: 5 } })],
  ])('refuses %s', (_what, bytes) => {
    expect(() => decodePayload(bytes)).toThrow(expect.objectContaining({ code: 'malformed-payload' }) as Error);
  });
});
