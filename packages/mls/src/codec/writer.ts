// RFC 9420 §2.1 Presentation language: the encoding side. Integers are big-endian;
// variable-length vectors carry the §2.1.2 variable-size length header.

import { UsageError } from '../errors.js';

/** Largest length a §2.1.2 header can carry (30 bits). */
export const MAX_VARINT = 0x3fff_ffff;

export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.len;
  }

  private ensure(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new UsageError('bad-integer', 'uint8 out of range');
    this.ensure(1);
    this.buf[this.len++] = value;
    return this;
  }

  u16(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff) throw new UsageError('bad-integer', 'uint16 out of range');
    this.ensure(2);
    this.view.setUint16(this.len, value);
    this.len += 2;
    return this;
  }

  u32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new UsageError('bad-integer', 'uint32 out of range');
    this.ensure(4);
    this.view.setUint32(this.len, value);
    this.len += 4;
    return this;
  }

  u64(value: bigint): this {
    if (value < 0n || value > 0xffff_ffff_ffff_ffffn) throw new UsageError('bad-integer', 'uint64 out of range');
    this.ensure(8);
    this.view.setBigUint64(this.len, value);
    this.len += 8;
    return this;
  }

  /** Raw bytes, no length prefix (fixed-size fields). */
  raw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    return this;
  }

  /** §2.1.2 variable-size length header, minimal encoding. */
  varint(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > MAX_VARINT) {
      throw new UsageError('vector-too-long', 'length does not fit a variable-size header');
    }
    if (value < 0x40) return this.u8(value);
    if (value < 0x4000) return this.u16(value | 0x4000);
    return this.u32((value | 0x8000_0000) >>> 0);
  }

  /** `opaque data<V>`: a length header, then the bytes. */
  opaque(bytes: Uint8Array): this {
    this.varint(bytes.length);
    return this.raw(bytes);
  }

  /**
   * `T items<V>`: a length header giving the byte length of the encoded items.
   * Items are written in place after a 4-byte reservation, then moved back if a
   * shorter header suffices, so nothing is encoded twice.
   */
  vector<T>(items: readonly T[], encodeItem: (w: Writer, item: T) => void): this {
    this.ensure(4);
    const start = this.len;
    this.len += 4;
    for (const item of items) encodeItem(this, item);
    const bodyLen = this.len - start - 4;
    if (bodyLen > MAX_VARINT) throw new UsageError('vector-too-long', 'vector does not fit a variable-size header');
    const headerLen = bodyLen < 0x40 ? 1 : bodyLen < 0x4000 ? 2 : 4;
    if (headerLen !== 4) this.buf.copyWithin(start + headerLen, start + 4, this.len);
    this.len = start;
    this.varint(bodyLen);
    this.len = start + headerLen + bodyLen;
    return this;
  }

  /** `optional<T>`: a presence octet, then the value. */
  optional<T>(value: T | undefined, encodeValue: (w: Writer, value: T) => void): this {
    if (value === undefined) return this.u8(0);
    this.u8(1);
    encodeValue(this, value);
    return this;
  }

  /** The bytes written so far (a copy, so the writer may be reused). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
