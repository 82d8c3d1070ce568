// An immutable map from tree indices (leaf or node numbers below a fixed bound) to
// values, stored as a 32-way trie. `set` returns a new map that copies only the arrays on
// the path to the changed entry (a few arrays of 32 slots even for 10^5 indices) and
// shares all others, so a new version of an epoch's secret tree costs a few small
// copies per message, not a copy of every sender's ratchet.

import { InternalError } from '../errors.js';

const BITS = 5;
const WIDTH = 1 << BITS;
const MASK = WIDTH - 1;

/** A trie level: the leaves hold values, the inner levels hold child arrays. */
type Level = readonly unknown[];

export class IndexMap<T> {
  /** Number of indices the map can hold: 0 … capacity-1. */
  readonly capacity: number;
  /** Number of indices that hold a value. */
  readonly size: number;
  readonly #shift: number;
  readonly #root: Level | undefined;

  private constructor(capacity: number, shift: number, root: Level | undefined, size: number) {
    this.capacity = capacity;
    this.#shift = shift;
    this.#root = root;
    this.size = size;
  }

  /** An empty map for indices below `capacity`. */
  static empty<T>(capacity: number): IndexMap<T> {
    if (!Number.isInteger(capacity) || capacity < 0) throw new InternalError('bad-capacity', 'an IndexMap capacity is a non-negative integer');
    let shift = 0;
    while (WIDTH ** (shift / BITS + 1) < capacity) shift += BITS;
    return new IndexMap<T>(capacity, shift, undefined, 0);
  }

  get(index: number): T | undefined {
    if (!this.#inRange(index)) return undefined;
    let level = this.#root;
    for (let shift = this.#shift; level !== undefined && shift > 0; shift -= BITS) {
      level = level[(index >>> shift) & MASK] as Level | undefined;
    }
    return level?.[index & MASK] as T | undefined;
  }

  /** A map equal to this one except at `index` (`undefined` removes the entry). */
  set(index: number, value: T | undefined): IndexMap<T> {
    if (!this.#inRange(index)) throw new InternalError('index-out-of-range', `index ${index} is outside an IndexMap of ${this.capacity}`);
    const had = this.get(index) !== undefined;
    const root = put(this.#root, this.#shift, index, value);
    const size = this.size + (value === undefined ? 0 : 1) - (had ? 1 : 0);
    return new IndexMap<T>(this.capacity, this.#shift, root, size);
  }

  /** The entries in increasing index order. */
  *entries(): IterableIterator<[number, T]> {
    function* walk(level: Level | undefined, shift: number, base: number): IterableIterator<[number, T]> {
      if (level === undefined) return;
      for (let i = 0; i < WIDTH; i++) {
        const x = level[i];
        if (x === undefined) continue;
        const at = base + i * 2 ** shift;
        if (shift === 0) yield [at, x as T];
        else yield* walk(x as Level, shift - BITS, at);
      }
    }
    yield* walk(this.#root, this.#shift, 0);
  }

  #inRange(index: number): boolean {
    return Number.isInteger(index) && index >= 0 && index < this.capacity;
  }
}

/** The level with `value` at `index`, copying only the arrays on the way; undefined when left empty. */
function put(level: Level | undefined, shift: number, index: number, value: unknown): Level | undefined {
  const slot = (index >>> shift) & MASK;
  const copy = level === undefined ? new Array<unknown>(WIDTH).fill(undefined) : level.slice();
  copy[slot] = shift === 0 ? value : put(copy[slot] as Level | undefined, shift - BITS, index, value);
  // Only a removal can leave a level empty.
  if (copy[slot] !== undefined) return copy;
  return copy.every((x) => x === undefined) ? undefined : copy;
}
