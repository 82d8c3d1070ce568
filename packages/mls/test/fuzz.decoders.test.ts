// Fuzzing of every decoder of src/messages (RFC 9420 §2.1: bytes off the wire are
// untrusted). Whatever the input — random bytes, a valid encoding truncated, extended
// with trailing bytes or randomly mutated, or a real message from messages.json mutated —
// decode() either returns a value or throws DecodeError, never another exception type;
// anything it accepts re-encodes to exactly the input (the encoding is canonical).
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, encode, type Decoder, type Encoder } from '../src/codec/index.js';
import { DecodeError } from '../src/errors.js';
import * as m from '../src/messages/index.js';
import * as arb from './codec.arbitraries.js';
import { vectorsDir } from './kinds/harness.js';

const RUNS = 150;

/** Decodes; on success the value must re-encode to the input, on failure the error must be a DecodeError. */
function decodeOrDecodeError<T>(decoder: Decoder<T>, encoder: Encoder<T>, bytes: Uint8Array): string {
  let value: T;
  try {
    value = decode(decoder, bytes);
  } catch (error) {
    if (!(error instanceof DecodeError)) throw new Error(`decoder threw ${String(error)} instead of a DecodeError`, { cause: error });
    // decode() turns a stray exception into DecodeError('malformed'): here that would be a decoder bug.
    expect(error.code).not.toBe('malformed');
    return error.code;
  }
  expect(encode(encoder, value)).toEqual(bytes);
  return 'ok';
}

/** A valid encoding with some bytes overwritten. */
const mutated = (valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> =>
  valid
    .filter((b) => b.length > 0)
    .chain((b) =>
      fc.array(fc.tuple(fc.nat({ max: b.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((edits) => {
        const out = b.slice();
        for (const [at, v] of edits) out[at] = v;
        return out;
      }),
    );

interface Target {
  readonly name: string;
  readonly decoder: Decoder<unknown>;
  readonly encoder: Encoder<unknown>;
  readonly valid: fc.Arbitrary<Uint8Array>;
  /** Trailing bytes are part of the structure (PrivateMessageContent padding). */
  readonly ownsTail?: boolean;
}

const targets: Target[] = arb.STRUCTURES.map((s) => ({
  name: s.name,
  decoder: s.decoder,
  encoder: s.encoder,
  valid: s.arbitrary.map((v) => encode(s.encoder, v)),
}));
for (const [name, contentType] of Object.entries(m.ContentType)) {
  targets.push({
    name: `PrivateMessageContent(${name})`,
    decoder: m.decodePrivateMessageContent(contentType),
    encoder: m.encodePrivateMessageContent as Encoder<unknown>,
    valid: arb.privateMessageContent.filter((c) => c.contentType === contentType).map((c) => encode(m.encodePrivateMessageContent, c)),
    ownsTail: true,
  });
}

describe.each(targets)('fuzz $name', (t) => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        decodeOrDecodeError(t.decoder, t.encoder, bytes);
      }),
      { numRuns: RUNS },
    );
  });

  it('truncated valid encodings', () => {
    fc.assert(
      fc.property(
        t.valid.filter((b) => b.length > 0).chain((b) => fc.nat({ max: b.length - 1 }).map((n) => b.subarray(0, n))),
        (bytes) => {
          decodeOrDecodeError(t.decoder, t.encoder, bytes);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('valid encodings with trailing bytes are refused', () => {
    fc.assert(
      fc.property(t.valid, fc.uint8Array({ minLength: 1, maxLength: 8 }), (b, tail) => {
        const bytes = new Uint8Array(b.length + tail.length);
        bytes.set(b);
        bytes.set(tail, b.length);
        const outcome = decodeOrDecodeError(t.decoder, t.encoder, bytes);
        if (t.ownsTail !== true) expect(outcome).toBe('trailing-bytes');
        else expect(outcome).toBe(tail.every((x) => x === 0) ? 'ok' : 'nonzero-padding');
      }),
      { numRuns: RUNS },
    );
  });

  it('randomly mutated valid encodings', () => {
    fc.assert(
      fc.property(mutated(t.valid), (bytes) => {
        decodeOrDecodeError(t.decoder, t.encoder, bytes);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz real messages (messages.json)', () => {
  const cases = JSON.parse(readFileSync(`${vectorsDir}messages.json`, 'utf8')) as Record<string, string>[];
  const fields: [string, Decoder<unknown>, Encoder<unknown>][] = [
    ['mls_welcome', m.decodeMLSMessage, m.encodeMLSMessage as Encoder<unknown>],
    ['mls_group_info', m.decodeMLSMessage, m.encodeMLSMessage as Encoder<unknown>],
    ['mls_key_package', m.decodeMLSMessage, m.encodeMLSMessage as Encoder<unknown>],
    ['public_message_commit', m.decodeMLSMessage, m.encodeMLSMessage as Encoder<unknown>],
    ['private_message', m.decodeMLSMessage, m.encodeMLSMessage as Encoder<unknown>],
    ['ratchet_tree', m.decodeRatchetTree, m.encodeRatchetTree as Encoder<unknown>],
    ['commit', m.decodeCommit, m.encodeCommit as Encoder<unknown>],
    ['group_secrets', m.decodeGroupSecrets, m.encodeGroupSecrets as Encoder<unknown>],
  ];
  it.each(fields)('%s', (name, decoder, encoder) => {
    const samples = cases.slice(0, 40).map((c) => Uint8Array.from(Buffer.from(c[name] ?? '', 'hex')));
    const valid = fc.constantFrom(...samples);
    fc.assert(
      fc.property(mutated(valid), (bytes) => {
        decodeOrDecodeError(decoder, encoder, bytes);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(valid.chain((b) => fc.nat({ max: b.length - 1 }).map((n) => b.subarray(0, n))), (bytes) => {
        expect(decodeOrDecodeError(decoder, encoder, bytes)).not.toBe('ok');
      }),
      { numRuns: 100 },
    );
  });
});
