// RFC 9420 §4.1, §7.5: the private half of the ratchet tree that one member holds —
// the HPKE private key of its own leaf and of the parent nodes on its direct path
// whose path secrets it learned. An immutable value; every key is a Secret, so the
// whole object prints as placeholders.

import { type LeafIndex, type NodeIndex } from '../util/brand.js';
import { Secret } from '../util/secret.js';
import { directPath, leafToNode } from './math.js';
import type { PublicTree } from './public-tree.js';

export type HpkePrivateKey = Secret<'hpke-private-key'>;

const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

export class TreePrivateKeys {
  readonly #keys: ReadonlyMap<NodeIndex, HpkePrivateKey>;

  constructor(
    readonly leafIndex: LeafIndex,
    keys: ReadonlyMap<NodeIndex, HpkePrivateKey>,
  ) {
    this.#keys = keys;
  }

  /** A member that knows only its own leaf's private key (a new joiner's start). */
  static forLeaf(leafIndex: LeafIndex, leafPrivateKey: Uint8Array): TreePrivateKeys {
    return new TreePrivateKeys(leafIndex, new Map([[leafToNode(leafIndex), new Secret(leafPrivateKey)]]));
  }

  privateKey(x: NodeIndex): HpkePrivateKey | undefined {
    return this.#keys.get(x);
  }

  has(x: NodeIndex): boolean {
    return this.#keys.has(x);
  }

  get size(): number {
    return this.#keys.size;
  }

  /** The nodes we hold keys for, with the keys. */
  entries(): IterableIterator<[NodeIndex, HpkePrivateKey]> {
    return this.#keys.entries();
  }

  /** A copy with `x`'s key set (or replaced). */
  with(x: NodeIndex, key: HpkePrivateKey): TreePrivateKeys {
    const next = new Map(this.#keys);
    next.set(x, key);
    return new TreePrivateKeys(this.leafIndex, next);
  }

  /**
   * Keeps only keys that still have a use in `tree`: our leaf, and non-blank nodes on
   * our direct path (§7.5: outdated key pairs are deleted). Call after applying
   * proposals, which may blank nodes or truncate the tree.
   */
  prune(tree: PublicTree): TreePrivateKeys {
    const me = leafToNode(this.leafIndex);
    const keep = new Set<number>([me]);
    if (this.leafIndex < tree.leafCount) for (const p of directPath(me, tree.leafCount)) if (!tree.isBlank(p)) keep.add(p);
    const next = new Map<NodeIndex, HpkePrivateKey>();
    for (const [x, k] of this.#keys) if (keep.has(x)) next.set(x, k);
    return next.size === this.#keys.size ? this : new TreePrivateKeys(this.leafIndex, next);
  }

  toString(): string {
    return `[TreePrivateKeys leaf ${this.leafIndex}, ${this.#keys.size} keys]`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspectCustom](): string {
    return this.toString();
  }
}
