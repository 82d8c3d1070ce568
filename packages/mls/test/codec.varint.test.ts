// RFC 9420 §2.1.2 variable-size length headers: boundaries, minimal encoding, the
// reserved 0b11 prefix and the 2^30-1 maximum.
import { describe, expect, it } from 'vitest';
import { decode, MAX_VARINT, Reader, Writer } from '../src/codec/index.js';
import { DecodeError, UsageError } from '../src/errors.js';

const header = (n: number): number[] => [...new Writer().varint(n).finish()];
const read = (bytes: number[]): number => {
  const r = new Reader(new Uint8Array(bytes));
  const v = r.varint();
  r.assertDone();
  return v;
};
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(DecodeError);
    return (error as DecodeError).code;
  }
  return undefined;
};

describe('§2.1.2 varint', () => {
  it.each([
    [0, [0x00]],
    [37, [0x25]],
    [63, [0x3f]],
    [64, [0x40, 0x40]],
    [15293, [0x7b, 0xbd]],
    [16383, [0x7f, 0xff]],
    [16384, [0x80, 0x00, 0x40, 0x00]],
    [494878333, [0x9d, 0x7f, 0x3e, 0x7d]],
    [MAX_VARINT, [0xbf, 0xff, 0xff, 0xff]],
  ])('%i encodes minimally and decodes back', (n, bytes) => {
    expect(header(n)).toEqual(bytes);
    expect(read(bytes)).toBe(n);
  });

  it('MAX_VARINT is 2^30 - 1, and anything larger cannot be written', () => {
    expect(MAX_VARINT).toBe(2 ** 30 - 1);
    expect(() => new Writer().varint(2 ** 30)).toThrow(UsageError);
    expect(() => new Writer().varint(-1)).toThrow(UsageError);
    expect(() => new Writer().varint(1.5)).toThrow(UsageError);
  });

  it.each([
    [[0x40, 0x00]],
    [[0x40, 0x3f]],
    [[0x80, 0x00, 0x00, 0x00]],
    [[0x80, 0x00, 0x3f, 0xff]],
  ])('refuses the non-minimal header %j', (bytes) => {
    expect(codeOf(() => read(bytes))).toBe('varint-not-minimal');
  });

  it.each([[[0xc0]], [[0xc0, 0, 0, 0, 0, 0, 0, 0x01]], [[0xff, 0xff, 0xff, 0xff]]])('refuses the reserved 0b11 prefix %j', (bytes) => {
    expect(codeOf(() => read(bytes))).toBe('varint-invalid');
  });

  it('reports truncated headers and bodies as truncated', () => {
    expect(codeOf(() => read([0x40]))).toBe('truncated');
    expect(codeOf(() => read([0x80, 0x00, 0x40]))).toBe('truncated');
    expect(codeOf(() => new Reader(new Uint8Array([0x05, 1, 2])).opaque())).toBe('truncated');
    expect(codeOf(() => new Reader(new Uint8Array([0xbf, 0xff, 0xff, 0xff])).opaque())).toBe('truncated');
  });

  it('vectors whose items overrun the header length are refused', () => {
    // header says 3 bytes, the items are two uint16s (4 bytes)
    expect(codeOf(() => decode((r) => r.vector((x) => x.u16()), new Uint8Array([3, 0, 1, 0, 2])))).toBe('truncated');
  });

  it('decode() refuses trailing bytes', () => {
    expect(codeOf(() => decode((r) => r.opaque(), new Uint8Array([1, 7, 0])))).toBe('trailing-bytes');
  });

  it('vector headers are rewritten to the minimal size after the body is known', () => {
    for (const n of [0, 63, 64, 16383, 16384]) {
      const body = new Uint8Array(n).fill(7);
      const viaVector = new Writer(4).vector([...body], (w, b) => w.u8(b)).finish();
      expect(viaVector).toEqual(new Writer().opaque(body).finish());
    }
  });
});
