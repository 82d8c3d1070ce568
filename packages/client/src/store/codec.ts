// How a store record becomes bytes (for stores that hold bytes, like the SQLite file)
// and back. JSON with tagged values for what JSON lacks: bytes, bigints, and secret
// bytes (which must be written, unlike SecretBytes.toJSON, which hides them). MLS group
// states, which can be large, are written as raw bytes instead. Web-standard only.

import { StoreError } from '../errors.js';
import { fromBase64, toBase64 } from '../util/bytes.js';
import { SecretBytes } from '../util/secret.js';
import type { GroupStateRecord } from './client-store.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Plain JSON bodies are padded to a multiple of this, so sizes leak less about content. */
const PAD_TO = 32;

function toPlain(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $b: toBase64(value) };
  if (value instanceof SecretBytes) return { $s: toBase64(value.bytes) };
  if (typeof value === 'bigint') return { $n: value.toString() };
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toPlain(v);
    return out;
  }
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    if (typeof o['$b'] === 'string') return fromBase64(o['$b']);
    if (typeof o['$s'] === 'string') return new SecretBytes(fromBase64(o['$s']));
    if (typeof o['$n'] === 'string') return BigInt(o['$n']);
  }
  return value;
}

export function encodeRecord(record: object): Uint8Array {
  const json = JSON.stringify(toPlain(record));
  const padded = json.length % PAD_TO === 0 ? json : json + ' '.repeat(PAD_TO - (json.length % PAD_TO));
  return encoder.encode(padded);
}

/** The record as written; callers cast it to the record type of the namespace they read. */
export function decodeRecord(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(bytes), reviver);
  } catch (cause) {
    throw new StoreError('corrupt-record', 'a stored record does not decode', { cause });
  }
}

const GROUP_STATE_FORMAT = 1;

/** uint8 format || uint64 epoch || opaque state (no copy of the state beyond one). */
export function encodeGroupState(r: GroupStateRecord): Uint8Array {
  const idBytes = encoder.encode(r.groupId);
  const out = new Uint8Array(1 + 8 + 4 + idBytes.length + r.state.length);
  const view = new DataView(out.buffer);
  out[0] = GROUP_STATE_FORMAT;
  view.setBigUint64(1, r.epoch);
  view.setUint32(9, idBytes.length);
  out.set(idBytes, 13);
  out.set(r.state, 13 + idBytes.length);
  return out;
}

export function decodeGroupState(bytes: Uint8Array): GroupStateRecord {
  if (bytes.length < 13 || bytes[0] !== GROUP_STATE_FORMAT) throw new StoreError('corrupt-record', 'a stored group state does not decode');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const epoch = view.getBigUint64(1);
  const idLength = view.getUint32(9);
  if (13 + idLength > bytes.length) throw new StoreError('corrupt-record', 'a stored group state does not decode');
  const groupId = decoder.decode(bytes.subarray(13, 13 + idLength));
  return { groupId, epoch, state: bytes.slice(13 + idLength) };
}
