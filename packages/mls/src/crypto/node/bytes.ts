// Node Buffers leave this backend as plain Uint8Array views (no copy), so callers and
// tests see one byte type whatever the backend.

import { randomBytes, randomFillSync } from 'node:crypto';
import { UsageError } from '../../errors.js';

export function u8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** A Map key for key bytes. Keys are never printed; the cache is bounded. */
export function bytesKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/**
 * A small least-recently-used cache: imported KeyObjects and ECDH contexts, so hot
 * paths (verifying a member's signature, decrypting to a known HPKE key) do not
 * re-import the same key on every call.
 */
export class LruCache<V> {
  private readonly map = new Map<string, V>();
  /**
   * A front cache by array identity: the engine passes the same key array on every
   * message of a sender (its leaf's signature key), so a hit skips building the string
   * key. The entry keeps a copy of the bytes and is used only while they still match,
   * so an array changed in place never reaches a stale key.
   */
  private readonly byArray = new WeakMap<Uint8Array, { readonly bytes: Uint8Array; readonly value: V }>();
  private readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  getOrCreate(bytes: Uint8Array, create: () => V): V {
    const front = this.byArray.get(bytes);
    if (front !== undefined && sameBytes(front.bytes, bytes)) return front.value;
    const value = this.lookup(bytes, create);
    this.byArray.set(bytes, { bytes: bytes.slice(), value });
    return value;
  }

  private lookup(bytes: Uint8Array, create: () => V): V {
    const k = bytesKey(bytes);
    const hit = this.map.get(k);
    if (hit !== undefined) {
      // Refresh recency only once the cache is under pressure; otherwise a hit is one lookup.
      if (this.map.size >= this.capacity) {
        this.map.delete(k);
        this.map.set(k, hit);
      }
      return hit;
    }
    const v = create();
    if (this.map.size >= this.capacity) {
      const oldest = this.map.keys().next();
      if (oldest.done !== true) this.map.delete(oldest.value);
    }
    this.map.set(k, v);
    return v;
  }

  /** Entries of the bounded map (the front cache holds only keys of live arrays). */
  get size(): number {
    return this.map.size;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Small requests (a PrivateMessage's 4-byte reuse guard, every message; a fresh private
// key, one per HPKE seal) are cut from a pool filled by one OpenSSL call, as Node does
// for randomUUID; each byte is handed out once, as a copy, and the pool is refilled
// when used up.
const POOL_SIZE = 4096;
const SMALL = 64;
const pool = new Uint8Array(POOL_SIZE);
let poolAt = POOL_SIZE;

export function random(length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0) throw new UsageError('bad-length', 'a random byte count is a non-negative integer');
  if (length > SMALL) return u8(randomBytes(length));
  if (poolAt + length > POOL_SIZE) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const out = pool.slice(poolAt, poolAt + length);
  pool.fill(0, poolAt, poolAt + length);
  poolAt += length;
  return out;
}
