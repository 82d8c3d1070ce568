// RFC 9420 §2.1 Presentation language: the decoding side. Every read is bounds-checked
// and every failure is a DecodeError with a stable code; nothing else escapes.

import { DecodeError } from '../errors.js';

export class Reader {
  private readonly view: DataView;
  private pos: number;

  constructor(
    private readonly bytes: Uint8Array,
    start = 0,
    private readonly end = bytes.length,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): number {
    if (this.end - this.pos < n) throw new DecodeError('truncated', `need ${n} bytes, ${this.end - this.pos} left`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(): number {
    return this.bytes[this.need(1)]!;
  }

  u16(): number {
    return this.view.getUint16(this.need(2));
  }

  u32(): number {
    return this.view.getUint32(this.need(4));
  }

  u64(): bigint {
    return this.view.getBigUint64(this.need(8));
  }

  /** Fixed-size bytes (a copy: decoded values never alias the input). */
  raw(n: number): Uint8Array {
    const at = this.need(n);
    return this.bytes.slice(at, at + n);
  }

  /** §2.1.2 variable-size length header; non-minimal encodings and the `11` prefix are refused. */
  varint(): number {
    const first = this.u8();
    const prefix = first >> 6;
    if (prefix === 0) return first;
    if (prefix === 1) {
      const v = ((first & 0x3f) << 8) | this.u8();
      if (v < 0x40) throw new DecodeError('varint-not-minimal', 'length header is not minimally encoded');
      return v;
    }
    if (prefix === 2) {
      const rest = this.view.getUint32(this.need(3) - 1) & 0x00ff_ffff;
      const v = ((first & 0x3f) * 0x100_0000) + rest;
      if (v < 0x4000) throw new DecodeError('varint-not-minimal', 'length header is not minimally encoded');
      return v;
    }
    throw new DecodeError('varint-invalid', 'length header uses the reserved prefix 0b11');
  }

  /** `opaque data<V>`. */
  opaque(): Uint8Array {
    const n = this.varint();
    return this.raw(n);
  }

  /** `T items<V>`: decodes items until the header's byte length is used up exactly. */
  vector<T>(decodeItem: (r: Reader) => T): T[] {
    const n = this.varint();
    const at = this.need(n);
    const sub = new Reader(this.bytes, at, at + n);
    const items: T[] = [];
    while (sub.remaining > 0) items.push(decodeItem(sub));
    return items;
  }

  /** `optional<T>`. */
  optional<T>(decodeValue: (r: Reader) => T): T | undefined {
    const present = this.u8();
    if (present === 0) return undefined;
    if (present === 1) return decodeValue(this);
    throw new DecodeError('invalid-optional', `presence octet must be 0 or 1, got ${present}`);
  }

  /** Fails unless every byte was consumed. */
  assertDone(): void {
    if (this.pos !== this.end) throw new DecodeError('trailing-bytes', `${this.end - this.pos} bytes left over`);
  }
}
