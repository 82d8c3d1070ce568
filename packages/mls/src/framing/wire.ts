// RFC 9420 §2.1 encodings on the PrivateMessage hot path, written into buffers of a
// length computed beforehand (no growth, no final copy). Every message of a member
// encodes the same few structures — the AEAD associated data (§6.3.1, §6.3.2),
// SenderData, the application PrivateMessageContent and the FramedContentTBS inside
// SignContent (§5.1.2, §6.1) — so they are laid out here field by field, next to the
// RFC's struct definitions, rather than through the general Writer. framing.test.ts
// checks each against the general codec (src/messages/framing.ts).

import { InternalError, UsageError } from '../errors.js';
import { ProtocolVersion } from '../messages/common.js';
import { ContentType, type PrivateMessage, SenderType, WireFormat } from '../messages/framing.js';
import type { LeafIndex } from '../util/brand.js';
import { utf8Bytes } from '../util/bytes.js';

/** Length of the §2.1.2 variable-size header for `n`. */
export function varintSize(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 0x3fff_ffff) throw new UsageError('vector-too-long', 'length does not fit a variable-size header');
  return n < 0x40 ? 1 : n < 0x4000 ? 2 : 4;
}

/** Encoded length of `opaque data<V>`. */
export function opaqueSize(bytes: Uint8Array): number {
  return varintSize(bytes.length) + bytes.length;
}

/** The 8 bytes of a uint64 (an epoch). */
export function u64Bytes(value: bigint): Uint8Array {
  if (value < 0n || value > 0xffff_ffff_ffff_ffffn) throw new UsageError('bad-integer', 'uint64 out of range');
  const out = new Uint8Array(8);
  const hi = Number(value >> 32n);
  const lo = Number(value & 0xffff_ffffn);
  out[0] = hi >>> 24;
  out[1] = (hi >>> 16) & 0xff;
  out[2] = (hi >>> 8) & 0xff;
  out[3] = hi & 0xff;
  out[4] = lo >>> 24;
  out[5] = (lo >>> 16) & 0xff;
  out[6] = (lo >>> 8) & 0xff;
  out[7] = lo & 0xff;
  return out;
}

// Every message of an epoch encodes the same epoch two or three times: its last
// encoding is kept (a bigint shift per call costs more than the rest of the field).
let lastEpoch = -1n;
let lastEpochBytes: Uint8Array = new Uint8Array(8);

/**
 * `u64Bytes(epoch)` shared between calls with the same value: the hot path only copies it
 * into a buffer (Out.raw). Never change the returned bytes.
 */
export function epochBytes(epoch: bigint): Uint8Array {
  if (epoch !== lastEpoch) {
    lastEpochBytes = u64Bytes(epoch);
    lastEpoch = epoch;
  }
  return lastEpochBytes;
}

/** A buffer of a known final length, filled front to back. */
export class Out {
  readonly bytes: Uint8Array;
  #at = 0;

  constructor(length: number) {
    this.bytes = new Uint8Array(length);
  }

  u8(v: number): this {
    this.bytes[this.#at++] = v;
    return this;
  }

  u16(v: number): this {
    this.bytes[this.#at++] = v >>> 8;
    this.bytes[this.#at++] = v & 0xff;
    return this;
  }

  u32(v: number): this {
    this.bytes[this.#at++] = v >>> 24;
    this.bytes[this.#at++] = (v >>> 16) & 0xff;
    this.bytes[this.#at++] = (v >>> 8) & 0xff;
    this.bytes[this.#at++] = v & 0xff;
    return this;
  }

  raw(b: Uint8Array): this {
    this.bytes.set(b, this.#at);
    this.#at += b.length;
    return this;
  }

  varint(n: number): this {
    const size = varintSize(n);
    if (size === 1) return this.u8(n);
    if (size === 2) return this.u16(n | 0x4000);
    return this.u32((n | 0x8000_0000) >>> 0);
  }

  opaque(b: Uint8Array): this {
    return this.varint(b.length).raw(b);
  }

  /** Skips `n` bytes, left zero (padding). */
  zeros(n: number): this {
    this.#at += n;
    return this;
  }

  /** The buffer, once exactly filled (a mismatch is a bug in a size computation). */
  done(): Uint8Array {
    if (this.#at !== this.bytes.length) throw new InternalError('encoding-size-mismatch', `wrote ${this.#at} of ${this.bytes.length} bytes`);
    return this.bytes;
  }
}

/**
 * §6.3.1 PrivateContentAAD: `opaque group_id<V>; uint64 epoch; ContentType content_type;
 * opaque authenticated_data<V>;`. Its first `senderDataAadLength` bytes are exactly
 * §6.3.2 SenderDataAAD (`group_id`, `epoch`, `content_type`), so one buffer serves both.
 */
export function privateContentAad(
  groupId: Uint8Array,
  epoch: Uint8Array,
  contentType: ContentType,
  authenticatedData: Uint8Array,
): { readonly contentAad: Uint8Array; readonly senderDataAad: Uint8Array } {
  const senderDataAadLength = opaqueSize(groupId) + 8 + 1;
  const contentAad = new Out(senderDataAadLength + opaqueSize(authenticatedData)).opaque(groupId).raw(epoch).u8(contentType).opaque(authenticatedData).done();
  return { contentAad, senderDataAad: contentAad.subarray(0, senderDataAadLength) };
}

/** §6.3.2 `struct { uint32 leaf_index; uint32 generation; opaque reuse_guard[4]; } SenderData`. */
export const SENDER_DATA_LENGTH = 12;

export function senderDataBytes(leaf: LeafIndex, generation: number, reuseGuard: Uint8Array): Uint8Array {
  if (reuseGuard.length !== 4) throw new UsageError('bad-reuse-guard', 'reuse_guard is 4 bytes');
  return new Out(SENDER_DATA_LENGTH).u32(leaf).u32(generation).raw(reuseGuard).done();
}

/** SenderData from its 12 decrypted bytes (any other length goes through the general decoder, which refuses it). */
export function readSenderData(bytes: Uint8Array): { readonly leafIndex: LeafIndex; readonly generation: number; readonly reuseGuard: Uint8Array } {
  if (bytes.length !== SENDER_DATA_LENGTH) throw new InternalError('sender-data-length', 'SenderData is 12 bytes');
  return { leafIndex: readU32(bytes, 0) as LeafIndex, generation: readU32(bytes, 4), reuseGuard: bytes.slice(8, 12) };
}

/**
 * §6.3.1 PrivateMessageContent of application content: `opaque application_data<V>;
 * FramedContentAuthData auth` (the signature) and zero padding up to a multiple of `block`.
 */
export function applicationPlaintext(applicationData: Uint8Array, signature: Uint8Array, block: number): Uint8Array {
  const length = opaqueSize(applicationData) + opaqueSize(signature);
  const rem = block > 1 ? length % block : 0;
  const padding = rem === 0 ? 0 : block - rem;
  return new Out(length + padding).opaque(applicationData).opaque(signature).zeros(padding).done();
}

const FRAMED_CONTENT_TBS = utf8Bytes('MLS 1.0 FramedContentTBS');

/**
 * §5.1.2 SignContent `{ opaque label<V> = "MLS 1.0 FramedContentTBS"; opaque content<V>; }`
 * around §6.1 FramedContentTBS of application content from a member:
 * `version; wire_format; FramedContent content; GroupContext context;`, with FramedContent
 * `opaque group_id<V>; uint64 epoch; Sender sender; opaque authenticated_data<V>;
 * ContentType content_type; opaque application_data<V>;`.
 */
export function applicationSignContent(
  wireFormat: WireFormat,
  groupId: Uint8Array,
  epoch: Uint8Array,
  leaf: LeafIndex,
  authenticatedData: Uint8Array,
  applicationData: Uint8Array,
  groupContextBytes: Uint8Array,
): Uint8Array {
  const tbsLength = 2 + 2 + opaqueSize(groupId) + 8 + 5 + opaqueSize(authenticatedData) + 1 + opaqueSize(applicationData) + groupContextBytes.length;
  return new Out(opaqueSize(FRAMED_CONTENT_TBS) + varintSize(tbsLength) + tbsLength)
    .opaque(FRAMED_CONTENT_TBS)
    .varint(tbsLength)
    .u16(ProtocolVersion.mls10)
    .u16(wireFormat)
    .opaque(groupId)
    .raw(epoch)
    .u8(SenderType.member)
    .u32(leaf)
    .opaque(authenticatedData)
    .u8(ContentType.application)
    .opaque(applicationData)
    .raw(groupContextBytes)
    .done();
}

/** SignContent around an already encoded FramedContentTBS (other content types). */
export function framedContentSignContent(tbs: Uint8Array): Uint8Array {
  return new Out(opaqueSize(FRAMED_CONTENT_TBS) + opaqueSize(tbs)).opaque(FRAMED_CONTENT_TBS).opaque(tbs).done();
}

/**
 * §6 MLSMessage `{ ProtocolVersion version = mls10; WireFormat wire_format = mls_private_message;
 * PrivateMessage private_message; }`, PrivateMessage being `opaque group_id<V>; uint64 epoch;
 * ContentType content_type; opaque authenticated_data<V>; opaque encrypted_sender_data<V>;
 * opaque ciphertext<V>;`.
 */
export function privateMessageMLSMessage(m: PrivateMessage): Uint8Array {
  const length =
    2 + 2 + opaqueSize(m.groupId) + 8 + 1 + opaqueSize(m.authenticatedData) + opaqueSize(m.encryptedSenderData) + opaqueSize(m.ciphertext);
  return new Out(length)
    .u16(ProtocolVersion.mls10)
    .u16(WireFormat.mls_private_message)
    .opaque(m.groupId)
    .raw(epochBytes(m.epoch))
    .u8(m.contentType)
    .opaque(m.authenticatedData)
    .opaque(m.encryptedSenderData)
    .opaque(m.ciphertext)
    .done();
}

/**
 * The PrivateMessage of an MLSMessage carrying application content, read in one pass
 * (the inverse of `privateMessageMLSMessage`), or undefined for anything else — another
 * wire format or content type, a non-minimal length header, a truncation, bytes left
 * over — which the general decoder then handles (and refuses as it does). Like the
 * general decoder's, the fields are copies: processing may pause (an async backend, a
 * sender's first message), and a caller reusing its buffer meanwhile must change nothing.
 */
export function readApplicationPrivateMessage(bytes: Uint8Array): PrivateMessage | undefined {
  const end = bytes.length;
  if (end < 4 || bytes[0] !== 0 || bytes[1] !== ProtocolVersion.mls10 || bytes[2] !== 0 || bytes[3] !== WireFormat.mls_private_message) return undefined;
  const at = { pos: 4 };
  const groupId = readOpaqueView(bytes, at);
  if (groupId === undefined || end - at.pos < 9) return undefined;
  const epoch = (BigInt(readU32(bytes, at.pos)) << 32n) | BigInt(readU32(bytes, at.pos + 4));
  at.pos += 8;
  if (bytes[at.pos++] !== ContentType.application) return undefined;
  const authenticatedData = readOpaqueView(bytes, at);
  const encryptedSenderData = readOpaqueView(bytes, at);
  const ciphertext = readOpaqueView(bytes, at);
  if (authenticatedData === undefined || encryptedSenderData === undefined || ciphertext === undefined || at.pos !== end) return undefined;
  return {
    groupId: groupId.slice(),
    epoch,
    contentType: ContentType.application,
    authenticatedData: authenticatedData.slice(),
    encryptedSenderData: encryptedSenderData.slice(),
    ciphertext: ciphertext.slice(),
  };
}

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/** `opaque data<V>` at `at.pos` as a view, moving `at.pos` past it; undefined when truncated or the length header is not minimal. */
function readOpaqueView(bytes: Uint8Array, at: { pos: number }): Uint8Array | undefined {
  const end = bytes.length;
  let p = at.pos;
  if (p >= end) return undefined;
  const first = bytes[p]!;
  const prefix = first >> 6;
  let n: number;
  if (prefix === 0) {
    n = first;
    p += 1;
  } else if (prefix === 1 && p + 2 <= end) {
    n = ((first & 0x3f) << 8) | bytes[p + 1]!;
    if (n < 0x40) return undefined;
    p += 2;
  } else if (prefix === 2 && p + 4 <= end) {
    n = (first & 0x3f) * 0x100_0000 + ((bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!);
    if (n < 0x4000) return undefined;
    p += 4;
  } else {
    return undefined;
  }
  if (end - p < n) return undefined;
  at.pos = p + n;
  return bytes.subarray(p, p + n);
}
