// RFC 9420 §6 / §17.1: small pieces shared by the message structures — the protocol
// version, uint16 code-point lists (capabilities, required capabilities) and enum
// checks on decode.

import type { Decoder, Encoder } from '../codec/index.js';
import type { Reader } from '../codec/reader.js';
import type { Writer } from '../codec/writer.js';
import { DecodeError } from '../errors.js';

/** §6 `enum { reserved(0), mls10(1), (65535) } ProtocolVersion`. */
export const ProtocolVersion = { mls10: 1 } as const;
export type ProtocolVersion = (typeof ProtocolVersion)[keyof typeof ProtocolVersion];

/** A cipher suite code point (§17.1); open registry, so any uint16 decodes. */
export type CipherSuiteValue = number;

export const encodeProtocolVersion: Encoder<ProtocolVersion> = (w, v) => {
  w.u16(v);
};

/** Only mls10 is defined; another version may change every structure, so it is refused here. */
export const decodeProtocolVersion: Decoder<ProtocolVersion> = (r) => {
  const v = r.u16();
  if (v !== ProtocolVersion.mls10) throw new DecodeError('unknown-value', `unknown ProtocolVersion ${v}`);
  return v;
};

export function encodeU16List(w: Writer, values: readonly number[]): void {
  w.vector(values, writeU16);
}

export function decodeU16List(r: Reader): number[] {
  return r.vector(readU16);
}

export function encodeOpaqueList(w: Writer, values: readonly Uint8Array[]): void {
  w.vector(values, writeOpaque);
}

export function decodeOpaqueList(r: Reader): Uint8Array[] {
  return r.vector(readOpaque);
}

function writeU16(w: Writer, v: number): void {
  w.u16(v);
}
function readU16(r: Reader): number {
  return r.u16();
}
function writeOpaque(w: Writer, v: Uint8Array): void {
  w.opaque(v);
}
function readOpaque(r: Reader): Uint8Array {
  return r.opaque();
}

/** Checks a decoded code point against an enum's values (unknown → `unknown-value`). */
export function checkEnum<E extends Record<string, number>>(e: E, value: number, what: string): E[keyof E] {
  for (const k in e) if (e[k] === value) return value as E[keyof E];
  throw new DecodeError('unknown-value', `unknown ${what} ${value}`);
}
