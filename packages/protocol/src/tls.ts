// A small reader and writer for the TLS presentation language of RFC 9420 §2.1
// (big-endian integers; opaque<V> with the §2.1.2 minimal varint length prefix), for
// the Parley structures that ride inside MLS (the group policy). Errors are raised
// through the caller's factory, so each structure reports its own stable code.

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export type TlsErrorFactory = (why: string) => Error;

/** Largest vector length the §2.1.2 varint can carry (30 bits). */
const MAX_VECTOR = 0x3fff_ffff;

export class TlsWriter {
  private buf = new Uint8Array(64);
  private at = 0;

  constructor(private readonly fail: TlsErrorFactory) {}

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.at + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
  }

  u8(n: number): void {
    this.room(1);
    this.buf[this.at++] = n & 0xff;
  }

  u16(n: number): void {
    this.u8(n >>> 8);
    this.u8(n);
  }

  u32(n: number): void {
    this.u16(n >>> 16);
    this.u16(n & 0xffff);
  }

  raw(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }

  varint(n: number): void {
    if (n < 0x40) this.u8(n);
    else if (n < 0x4000) this.u16(0x4000 | n);
    else if (n <= MAX_VECTOR) this.u32((0x8000_0000 | n) >>> 0);
    else throw this.fail('vector too long');
  }

  /** opaque<V> */
  vector(b: Uint8Array): void {
    this.varint(b.length);
    this.raw(b);
  }

  /** A vector of items, each written by `item`: the length prefix counts bytes (§2.1.2). */
  vectorOf<T>(items: readonly T[], item: (w: TlsWriter, x: T) => void): void {
    const inner = new TlsWriter(this.fail);
    for (const x of items) item(inner, x);
    this.vector(inner.finish());
  }

  utf8(s: string): void {
    this.vector(utf8Encoder.encode(s));
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.at);
  }
}

export class TlsReader {
  private at = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly fail: TlsErrorFactory,
  ) {}

  private take(n: number): Uint8Array {
    if (this.at + n > this.bytes.length) throw this.fail('truncated');
    const v = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }

  u8(): number {
    return this.take(1)[0]!;
  }

  u16(): number {
    const b = this.take(2);
    return (b[0]! << 8) | b[1]!;
  }

  u32(): number {
    const b = this.take(4);
    return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  }

  varint(): number {
    const first = this.u8();
    switch (first >>> 6) {
      case 0:
        return first;
      case 1: {
        const n = ((first & 0x3f) << 8) | this.u8();
        if (n < 0x40) throw this.fail('non-minimal length');
        return n;
      }
      case 2: {
        const rest = this.take(3);
        const n = (((first & 0x3f) << 24) | (rest[0]! << 16) | (rest[1]! << 8) | rest[2]!) >>> 0;
        if (n < 0x4000) throw this.fail('non-minimal length');
        return n;
      }
      default:
        throw this.fail('invalid length prefix');
    }
  }

  /** opaque<V> of at most `max` bytes (a view into the input). */
  vector(max: number): Uint8Array {
    const n = this.varint();
    if (n > max) throw this.fail('field too long');
    return this.take(n);
  }

  /** A vector of items of at most `maxBytes` bytes, each read by `item` until it is used up. */
  vectorOf<T>(maxBytes: number, item: (r: TlsReader) => T): T[] {
    const inner = new TlsReader(this.vector(maxBytes), this.fail);
    const out: T[] = [];
    while (!inner.done()) out.push(item(inner));
    return out;
  }

  utf8(max: number): string {
    try {
      return utf8Decoder.decode(this.vector(max));
    } catch (e) {
      if (e instanceof TypeError) throw this.fail('invalid UTF-8');
      throw e;
    }
  }

  done(): boolean {
    return this.at === this.bytes.length;
  }

  /** Throws unless every byte was read. */
  end(): void {
    if (!this.done()) throw this.fail('trailing bytes');
  }
}
