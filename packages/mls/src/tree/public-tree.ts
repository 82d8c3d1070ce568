// RFC 9420 §4.1, §7: the ratchet tree held in memory — resolutions, filtered direct
// paths, tree hashes (§7.8) and parent hashes (§7.9) — as an immutable value.
//
// Representation, and why: a flat array of node slots in the Appendix C order (leaf i
// at 2i, parents at odd indices, always a full tree of a power-of-two number of
// leaves), next to an array of memoised tree hashes. Nodes (LeafNode / ParentNode) are
// immutable and shared between tree versions. A change goes through `TreeEditor`:
// it copies the two arrays once (a pointer copy; 20k slots for a 10,000-member group
// take microseconds, far below one signature), applies any number of changes in
// place, and clears the memoised hashes only along the direct path of each changed
// node, so a commit rehashes O(log n) nodes, never the whole tree. A persistent
// (path-copying) tree would save the O(n) pointer copy but make every lookup
// O(log n); with groups capped at tens of thousands of members the flat array is
// both simpler and faster.

import { Writer } from '../codec/writer.js';
import type { CipherSuite } from '../crypto/provider.js';
import { InternalError, UsageError, ValidationError } from '../errors.js';
import { encodeLeafNode, LeafNodeSource, type LeafNode } from '../messages/leaf-node.js';
import { encodeParentNode, NodeType, type Node, type ParentNode } from '../messages/ratchet-tree.js';
import { type LeafIndex, leafIndex, type NodeIndex, nodeIndex } from '../util/brand.js';
import { bytesEqual } from '../util/bytes.js';
import { directPath, isInSubtree, isLeaf, left, leafToNode, level, MAX_LEAVES, nodeToLeaf, nodeWidth, parent, right, root, sibling } from './math.js';

/** A slot of the array: a LeafNode at even indices, a ParentNode at odd ones, or blank. */
export type TreeSlot = LeafNode | ParentNode | undefined;


export class PublicTree {
  /** Number of leaves (a power of two). */
  readonly leafCount: number;
  readonly #slots: readonly TreeSlot[];
  /** Memoised tree hashes per node; filled lazily, owned by this instance only. */
  readonly #hashes: (Uint8Array | undefined)[];

  /** @internal Use `PublicTree.fromNodes`, `PublicTree.single` or `TreeEditor`. */
  constructor(readonly suite: CipherSuite, slots: readonly TreeSlot[], hashes: (Uint8Array | undefined)[]) {
    const n = (slots.length + 1) / 2;
    if (slots.length === 0 || (n & (n - 1)) !== 0 || hashes.length !== slots.length) {
      throw new InternalError('tree-shape', 'a ratchet tree has 2^(d+1) - 1 slots');
    }
    this.leafCount = n;
    this.#slots = slots;
    this.#hashes = hashes;
  }

  /** A one-member tree (a group's creator). */
  static single(suite: CipherSuite, leaf: LeafNode): PublicTree {
    return new PublicTree(suite, [leaf], [undefined]);
  }

  /**
   * §12.4.3.3: the `ratchet_tree` vector as received. The last entry must be
   * non-blank; the array is extended with blanks to the next full width; a leaf
   * must sit at an even index and a parent at an odd one.
   */
  static fromNodes(suite: CipherSuite, nodes: readonly (Node | undefined)[]): PublicTree {
    if (nodes.length === 0) throw new ValidationError('empty-tree', 'the ratchet tree has no nodes');
    if (nodes[nodes.length - 1] === undefined) throw new ValidationError('tree-not-truncated', 'the last node of a ratchet tree must be non-blank');
    let leaves = 1;
    while (nodeWidth(leaves) < nodes.length) {
      leaves *= 2;
      if (leaves > MAX_LEAVES) throw new ValidationError('tree-too-large', 'the ratchet tree is too large');
    }
    const width = nodeWidth(leaves);
    const slots: TreeSlot[] = new Array<TreeSlot>(width).fill(undefined);
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i];
      if (node === undefined) continue;
      if (node.nodeType === NodeType.leaf) {
        if (i % 2 !== 0) throw new ValidationError('leaf-at-parent-position', `node ${i} is a leaf at a parent position`);
        slots[i] = node.leafNode;
      } else {
        if (i % 2 !== 1) throw new ValidationError('parent-at-leaf-position', `node ${i} is a parent at a leaf position`);
        slots[i] = node.parentNode;
      }
    }
    return new PublicTree(suite, slots, new Array<Uint8Array | undefined>(width).fill(undefined));
  }

  /** The `ratchet_tree` vector to send: blank nodes after the last non-blank one are left out. */
  toNodes(): (Node | undefined)[] {
    let last = this.#slots.length - 1;
    while (last > 0 && this.#slots[last] === undefined) last--;
    const out: (Node | undefined)[] = [];
    for (let i = 0; i <= last; i++) {
      const slot = this.#slots[i];
      if (slot === undefined) out.push(undefined);
      else if (i % 2 === 0) out.push({ nodeType: NodeType.leaf, leafNode: slot as LeafNode });
      else out.push({ nodeType: NodeType.parent, parentNode: slot as ParentNode });
    }
    return out;
  }

  get nodeCount(): number {
    return this.#slots.length;
  }

  get root(): NodeIndex {
    return root(this.leafCount);
  }

  /** The slot at node `x` (undefined if blank or out of range). */
  slot(x: NodeIndex): TreeSlot {
    return this.#slots[x];
  }

  isBlank(x: NodeIndex): boolean {
    return this.#slots[x] === undefined;
  }

  leaf(i: LeafIndex): LeafNode | undefined {
    if (!Number.isInteger(i) || i < 0 || i >= this.leafCount) return undefined;
    return this.#slots[2 * i] as LeafNode | undefined;
  }

  parentNode(x: NodeIndex): ParentNode | undefined {
    if ((x & 1) !== 1) return undefined;
    return this.#slots[x] as ParentNode | undefined;
  }

  /** The non-blank leaves, in index order. */
  *leaves(): Generator<[LeafIndex, LeafNode]> {
    for (let i = 0; i < this.leafCount; i++) {
      const leaf = this.#slots[2 * i] as LeafNode | undefined;
      if (leaf !== undefined) yield [leafIndex(i), leaf];
    }
  }

  /** Number of non-blank leaves. */
  get memberCount(): number {
    let n = 0;
    for (let i = 0; i < this.#slots.length; i += 2) if (this.#slots[i] !== undefined) n++;
    return n;
  }

  /** Leftmost blank leaf, or undefined if every leaf is occupied. */
  leftmostBlankLeaf(): LeafIndex | undefined {
    for (let i = 0; i < this.#slots.length; i += 2) if (this.#slots[i] === undefined) return leafIndex(i / 2);
    return undefined;
  }

  /**
   * §4.1.1 resolution of node `x`: non-blank nodes covering its subtree; a non-blank
   * parent is followed by its unmerged leaves. Leaves in `exclude` are left out
   * (§7.6: new members added by the same commit).
   */
  resolution(x: NodeIndex, exclude?: ReadonlySet<number>): NodeIndex[] {
    const out: NodeIndex[] = [];
    this.#resolve(x, out, exclude);
    return out;
  }

  #resolve(x: NodeIndex, out: NodeIndex[], exclude: ReadonlySet<number> | undefined): void {
    const slot = this.#slots[x];
    if (isLeaf(x)) {
      if (slot !== undefined && exclude?.has(x >> 1) !== true) out.push(x);
      return;
    }
    if (slot !== undefined) {
      out.push(x);
      for (const u of (slot as ParentNode).unmergedLeaves) {
        if (exclude?.has(u) !== true) out.push(nodeIndex(2 * u));
      }
      return;
    }
    this.#resolve(left(x)!, out, exclude);
    this.#resolve(right(x)!, out, exclude);
  }

  /** Whether node `x`'s resolution is empty (cheaper than computing it). */
  #resolutionEmpty(x: NodeIndex): boolean {
    if (this.#slots[x] !== undefined) return false;
    if (isLeaf(x)) return true;
    return this.#resolutionEmpty(left(x)!) && this.#resolutionEmpty(right(x)!);
  }

  /** §4.1.2 filtered direct path: direct-path nodes whose copath child has a non-empty resolution. */
  filteredDirectPath(leaf: LeafIndex): NodeIndex[] {
    const out: NodeIndex[] = [];
    const r = this.root;
    let x = leafToNode(leaf);
    while (x !== r) {
      const s = sibling(x, this.leafCount)!;
      x = parent(x, this.leafCount)!;
      if (!this.#resolutionEmpty(s)) out.push(x);
    }
    return out;
  }

  /** Pairs of (filtered direct path node, its copath child), bottom-up. */
  filteredDirectPathWithCopath(leaf: LeafIndex): { node: NodeIndex; copathChild: NodeIndex }[] {
    const out: { node: NodeIndex; copathChild: NodeIndex }[] = [];
    const r = this.root;
    let x = leafToNode(leaf);
    while (x !== r) {
      const s = sibling(x, this.leafCount)!;
      x = parent(x, this.leafCount)!;
      if (!this.#resolutionEmpty(s)) out.push({ node: x, copathChild: s });
    }
    return out;
  }

  /** §7.8 tree hash of the whole tree (the root's tree hash). */
  treeHash(): Promise<Uint8Array> {
    return this.nodeTreeHash(this.root);
  }

  /**
   * §7.8 tree hash of the subtree rooted at `x`, memoised. Missing hashes are filled
   * bottom-up, level by level, so a fresh tree costs one digest per node and no
   * recursion; after an edit only the cleared path is recomputed.
   */
  async nodeTreeHash(x: NodeIndex): Promise<Uint8Array> {
    const cached = this.#hashes[x];
    if (cached !== undefined) return cached;
    const k = level(x);
    const lo = x - (2 ** k - 1);
    const hi = x + (2 ** k - 1);
    for (let l = 0; l <= k; l++) {
      const step = 2 ** (l + 1);
      for (let y = lo + 2 ** l - 1; y <= hi; y += step) {
        if (this.#hashes[y] !== undefined) continue;
        const n = nodeIndex(y);
        this.#hashes[y] = await this.suite.hash.digest(
          l === 0
            ? leafHashInput(n, this.#slots[y] as LeafNode | undefined)
            : parentHashInputForTreeHash(this.#slots[y] as ParentNode | undefined, this.#hashes[left(n)!]!, this.#hashes[right(n)!]!),
        );
      }
    }
    return this.#hashes[x]!;
  }

  /**
   * §7.9 tree hash of `x` in the tree where each leaf of `removed` is blanked and
   * taken out of every `unmerged_leaves` list. Uses the memoised hash for any
   * subtree that contains none of `removed`.
   */
  async treeHashWithout(x: NodeIndex, removed: readonly number[]): Promise<Uint8Array> {
    if (!removed.some((u) => isInSubtree(nodeIndex(2 * u), x))) return this.nodeTreeHash(x);
    const gone = new Set(removed);
    if (isLeaf(x)) return this.suite.hash.digest(leafHashInput(x, undefined));
    const [l, r] = await Promise.all([this.treeHashWithout(left(x)!, removed), this.treeHashWithout(right(x)!, removed)]);
    let node = this.#slots[x] as ParentNode | undefined;
    if (node !== undefined) node = { ...node, unmergedLeaves: node.unmergedLeaves.filter((u) => !gone.has(u)) };
    return this.suite.hash.digest(parentHashInputForTreeHash(node, l, r));
  }

  /**
   * §7.9 parent hash of the parent node `p` with copath child `s`:
   * Hash(ParentHashInput{ encryption_key, parent_hash, original_sibling_tree_hash }).
   */
  async parentHash(p: NodeIndex, s: NodeIndex): Promise<Uint8Array> {
    const node = this.parentNode(p);
    if (node === undefined) throw new InternalError('blank-parent', `parent hash of blank node ${p}`);
    const siblingHash = await this.treeHashWithout(s, node.unmergedLeaves);
    return this.suite.hash.digest(parentHashInput(node.encryptionKey, node.parentHash, siblingHash));
  }

  /**
   * §7.9.2 top-down: every non-blank parent node P must have exactly one child C
   * whose resolution, less P's unmerged leaves, is a single node D whose
   * `parent_hash` is P's parent hash with copath child S (the other child), and
   * P's unmerged leaves under C must be exactly the rest of that resolution.
   * Throws ValidationError('parent-hash-mismatch') naming the first node that fails.
   */
  async verifyParentHashes(): Promise<void> {
    for (let x = 1; x < this.#slots.length; x += 2) {
      const p = nodeIndex(x);
      const node = this.#slots[p] as ParentNode | undefined;
      if (node === undefined) continue;
      let valid = 0;
      for (const [c, s] of [[left(p)!, right(p)!], [right(p)!, left(p)!]] as const) {
        if (await this.#parentHashValidVia(p, node, c, s)) valid++;
      }
      if (valid !== 1) throw new ValidationError('parent-hash-mismatch', `parent node ${p} is not parent-hash valid`);
    }
  }

  async #parentHashValidVia(p: NodeIndex, node: ParentNode, c: NodeIndex, s: NodeIndex): Promise<boolean> {
    const res = this.resolution(c);
    const unmergedUnderC = new Set<number>(node.unmergedLeaves.filter((u) => isInSubtree(nodeIndex(2 * u), c)));
    const rest = res.filter((n) => !(isLeaf(n) && unmergedUnderC.has(n >> 1)));
    if (rest.length !== 1) return false;
    // Every unmerged leaf of P under C must be in C's resolution.
    if (res.length - rest.length !== unmergedUnderC.size) return false;
    const d = rest[0]!;
    const dSlot = this.#slots[d];
    const dParentHash = isLeaf(d) ? leafParentHash(dSlot as LeafNode) : (dSlot as ParentNode).parentHash;
    if (dParentHash === undefined) return false;
    return bytesEqual(dParentHash, await this.parentHash(p, s));
  }

  /**
   * §12.4.3.1 structural checks of a received tree: each unmerged leaf of a parent
   * is a non-blank leaf below it, listed by every non-blank parent in between; no
   * HPKE encryption key or signature key appears twice.
   */
  verifyStructure(): void {
    const encryptionKeys = new KeySet();
    const signatureKeys = new KeySet();
    const unique = (set: KeySet, key: Uint8Array, code: string, x: number): void => {
      if (!set.add(key)) throw new ValidationError(code, `node ${x} repeats a key used elsewhere in the tree`);
    };
    for (let x = 0; x < this.#slots.length; x++) {
      const slot = this.#slots[x];
      if (slot === undefined) continue;
      unique(encryptionKeys, slot.encryptionKey, 'duplicate-encryption-key', x);
      if (x % 2 === 0) {
        unique(signatureKeys, (slot as LeafNode).signatureKey, 'duplicate-signature-key', x);
        continue;
      }
      const p = nodeIndex(x);
      const seen = new Set<number>();
      for (const u of (slot as ParentNode).unmergedLeaves) {
        if (seen.has(u)) throw new ValidationError('invalid-unmerged-leaf', `node ${x} lists leaf ${u} twice`);
        seen.add(u);
        const ux = nodeIndex(2 * u);
        if (u >= this.leafCount || !isInSubtree(ux, p) || ux === p) {
          throw new ValidationError('invalid-unmerged-leaf', `unmerged leaf ${u} of node ${x} is not below it`);
        }
        if (this.#slots[ux] === undefined) throw new ValidationError('invalid-unmerged-leaf', `unmerged leaf ${u} of node ${x} is blank`);
        for (const between of directPath(ux, this.leafCount)) {
          if (between === p) break;
          const b = this.#slots[between] as ParentNode | undefined;
          if (b !== undefined && !b.unmergedLeaves.includes(u)) {
            throw new ValidationError('invalid-unmerged-leaf', `node ${between} does not list unmerged leaf ${u} of node ${x}`);
          }
        }
      }
    }
  }

  /** Starts a batch of changes; the result is a new tree, this one is unchanged. */
  edit(): TreeEditor {
    return new TreeEditor(this.suite, this.#slots.slice(), this.#hashes.slice());
  }

  /**
   * The first node whose encryption key equals one of `keys`, if any. One pass over
   * the tree with a 4-byte prefix filter, so checking a commit's path keys costs
   * about one comparison per node even in large groups.
   */
  findEncryptionKey(keys: readonly Uint8Array[]): NodeIndex | undefined {
    const prefixes = new Set<number>(keys.map(prefix32));
    for (let x = 0; x < this.#slots.length; x++) {
      const slot = this.#slots[x];
      if (slot === undefined || !prefixes.has(prefix32(slot.encryptionKey))) continue;
      for (const k of keys) if (bytesEqual(slot.encryptionKey, k)) return nodeIndex(x);
    }
    return undefined;
  }
}

/**
 * A set of byte strings keyed by their first four bytes, with a full comparison only
 * on a shared prefix: public keys are uniformly random, so adding n keys costs about n
 * comparisons, without building a hex string per key.
 */
export class KeySet {
  readonly #buckets = new Map<number, Uint8Array[]>();

  /** Adds `key`; false if an equal key was already there. */
  add(key: Uint8Array): boolean {
    const p = prefix32(key);
    const bucket = this.#buckets.get(p);
    if (bucket === undefined) {
      this.#buckets.set(p, [key]);
      return true;
    }
    for (const k of bucket) if (bytesEqual(k, key)) return false;
    bucket.push(key);
    return true;
  }

  has(key: Uint8Array): boolean {
    const bucket = this.#buckets.get(prefix32(key));
    return bucket !== undefined && bucket.some((k) => bytesEqual(k, key));
  }
}

/** The first four bytes of a key as a number (shorter keys are padded with zeros). */
function prefix32(key: Uint8Array): number {
  return (((key[0] ?? 0) << 24) | ((key[1] ?? 0) << 16) | ((key[2] ?? 0) << 8) | (key[3] ?? 0)) >>> 0;
}

/** The parent hash a LeafNode carries (only when its source is `commit`). */
export function leafParentHash(leaf: LeafNode): Uint8Array | undefined {
  return leaf.leafNodeSource === LeafNodeSource.commit ? leaf.parentHash : undefined;
}

/** TreeHashInput for a leaf: node_type, uint32 leaf_index, optional<LeafNode>. */
function leafHashInput(x: NodeIndex, leaf: LeafNode | undefined): Uint8Array {
  const w = new Writer(512).u8(NodeType.leaf).u32(nodeToLeaf(x));
  w.optional(leaf, encodeLeafNode);
  return w.finish();
}

/** TreeHashInput for a parent: node_type, optional<ParentNode>, left_hash<V>, right_hash<V>. */
function parentHashInputForTreeHash(node: ParentNode | undefined, l: Uint8Array, r: Uint8Array): Uint8Array {
  const w = new Writer(256).u8(NodeType.parent);
  w.optional(node, encodeParentNode);
  return w.opaque(l).opaque(r).finish();
}

/** §7.9 ParentHashInput. */
export function parentHashInput(encryptionKey: Uint8Array, parentHash: Uint8Array, originalSiblingTreeHash: Uint8Array): Uint8Array {
  return new Writer(64 + encryptionKey.length + parentHash.length + originalSiblingTreeHash.length)
    .opaque(encryptionKey)
    .opaque(parentHash)
    .opaque(originalSiblingTreeHash)
    .finish();
}

/**
 * A batch of changes to a PublicTree (§7.4–§7.7, §12.1). The editor owns copies of
 * the slot and hash arrays; every change clears the memoised hashes of the changed
 * node and its ancestors. `finish()` hands the arrays to a new PublicTree, after
 * which the editor refuses further use.
 */
export class TreeEditor {
  #slots: TreeSlot[] | undefined;
  #hashes: (Uint8Array | undefined)[];
  #leafCount: number;
  /** No leaf below this index is blank: where `addLeaf` starts looking (n Adds stay O(n), not O(n²)). */
  #firstMaybeBlank = 0;

  /** @internal Use `PublicTree.edit()`. */
  constructor(readonly suite: CipherSuite, slots: TreeSlot[], hashes: (Uint8Array | undefined)[]) {
    this.#slots = slots;
    this.#hashes = hashes;
    this.#leafCount = (slots.length + 1) / 2;
  }

  get leafCount(): number {
    return this.#leafCount;
  }

  #live(): TreeSlot[] {
    if (this.#slots === undefined) throw new UsageError('editor-finished', 'this tree editor was already finished');
    return this.#slots;
  }

  #invalidate(x: NodeIndex): void {
    this.#hashes[x] = undefined;
    for (const p of directPath(x, this.#leafCount)) this.#hashes[p] = undefined;
  }

  slot(x: NodeIndex): TreeSlot {
    return this.#live()[x];
  }

  leaf(i: LeafIndex): LeafNode | undefined {
    if (i < 0 || i >= this.#leafCount) return undefined;
    return this.#live()[2 * i] as LeafNode | undefined;
  }

  setLeaf(i: LeafIndex, leaf: LeafNode | undefined): this {
    const slots = this.#live();
    if (!Number.isInteger(i) || i < 0 || i >= this.#leafCount) throw new UsageError('bad-leaf-index', `leaf ${i} is outside the tree`);
    slots[2 * i] = leaf;
    if (leaf === undefined && i < this.#firstMaybeBlank) this.#firstMaybeBlank = i;
    this.#invalidate(leafToNode(i));
    return this;
  }

  setParent(x: NodeIndex, node: ParentNode | undefined): this {
    const slots = this.#live();
    if ((x & 1) !== 1 || x >= slots.length) throw new UsageError('bad-node-index', `node ${x} is not a parent node of the tree`);
    slots[x] = node;
    this.#invalidate(x);
    return this;
  }

  /** Blanks every node on the direct path of leaf `i` (§12.1.2, §12.1.3, §7.5). */
  blankDirectPath(i: LeafIndex): this {
    const slots = this.#live();
    const path = directPath(leafToNode(i), this.#leafCount);
    for (const p of path) {
      slots[p] = undefined;
      this.#hashes[p] = undefined;
    }
    return this;
  }

  /** §7.7 extension: doubles the leaves; the old tree becomes the left subtree of a new blank root. */
  extend(): this {
    const slots = this.#live();
    if (this.#leafCount * 2 > MAX_LEAVES) throw new UsageError('tree-too-large', 'the tree cannot grow further');
    const width = nodeWidth(this.#leafCount * 2);
    for (let i = slots.length; i < width; i++) {
      slots.push(undefined);
      this.#hashes.push(undefined);
    }
    this.#leafCount *= 2;
    return this;
  }

  /** §7.7 truncation: halves the tree while its right half is all blank (never below one leaf). */
  truncate(): this {
    const slots = this.#live();
    while (this.#leafCount > 1) {
      const half = this.#leafCount / 2;
      let rightBlank = true;
      for (let x = nodeWidth(half); x < slots.length; x++) {
        if (x % 2 === 0 && slots[x] !== undefined) {
          rightBlank = false;
          break;
        }
      }
      if (!rightBlank) break;
      const width = nodeWidth(half);
      slots.length = width;
      this.#hashes.length = width;
      this.#leafCount = half;
    }
    return this;
  }

  /**
   * §12.1.1 Add: puts `leaf` in the leftmost blank leaf (extending the tree when
   * there is none) and lists it as unmerged at every non-blank parent above it.
   */
  addLeaf(leaf: LeafNode): LeafIndex {
    let slots = this.#live();
    let at = -1;
    for (let i = 2 * this.#firstMaybeBlank; i < slots.length; i += 2) {
      if (slots[i] === undefined) {
        at = i / 2;
        break;
      }
    }
    if (at < 0) {
      at = this.#leafCount;
      this.extend();
      slots = this.#live();
    }
    const li = leafIndex(at);
    slots[2 * at] = leaf;
    this.#firstMaybeBlank = at + 1;
    for (const p of directPath(leafToNode(li), this.#leafCount)) {
      const node = slots[p] as ParentNode | undefined;
      if (node !== undefined) slots[p] = { ...node, unmergedLeaves: [...node.unmergedLeaves, li] };
    }
    this.#invalidate(leafToNode(li));
    return li;
  }

  /** §12.1.2 Update: replaces the sender's leaf and blanks its direct path. */
  updateLeaf(i: LeafIndex, leaf: LeafNode): this {
    if (this.leaf(i) === undefined) throw new ValidationError('update-of-blank-leaf', `leaf ${i} is blank`);
    this.setLeaf(i, leaf);
    return this.blankDirectPath(i);
  }

  /** §12.1.3 Remove: blanks the leaf and its direct path, then truncates the tree. */
  removeLeaf(i: LeafIndex): this {
    if (this.leaf(i) === undefined) throw new ValidationError('remove-of-blank-leaf', `leaf ${i} is blank`);
    this.setLeaf(i, undefined);
    this.blankDirectPath(i);
    return this.truncate();
  }

  /** Ends the batch: the new tree takes over the editor's arrays. */
  finish(): PublicTree {
    const slots = this.#live();
    this.#slots = undefined;
    return new PublicTree(this.suite, slots, this.#hashes);
  }
}
