// RFC 9420 §4.1, Appendix C: array representation of a left-balanced binary tree.
// Leaves sit at even node indices (leaf i at node 2i), parents at odd ones; a node's
// level is the number of trailing one bits of its index. RFC 9420 trees always have a
// power-of-two number of leaves (§7.7 extends and truncates by halves/doublings), so
// every function here assumes `nLeaves` is a power of two. All arithmetic stays within
// 31 bits (at most 2^30 leaves), so plain bit operators are exact.

import { UsageError } from '../errors.js';
import { type LeafIndex, type NodeIndex, leafIndex, nodeIndex } from '../util/brand.js';

/** Largest supported tree: 2^30 leaves keeps every node index inside int32. */
export const MAX_LEAVES = 2 ** 30;

/** floor(log2(x)) for x > 0; 0 for x = 0 (Appendix C `log2`). */
export function log2(x: number): number {
  return x === 0 ? 0 : 31 - Math.clz32(x);
}

/** Number of trailing one bits of x: 0 for leaves. */
export function level(x: NodeIndex): number {
  if ((x & 1) === 0) return 0;
  let k = 0;
  while (((x >> k) & 1) === 1) k++;
  return k;
}

export function isLeaf(x: NodeIndex): boolean {
  return (x & 1) === 0;
}

/** Node of leaf `i` (2i). */
export function leafToNode(i: LeafIndex): NodeIndex {
  return nodeIndex(i * 2);
}

/** Leaf at node `x`; `x` must be even. */
export function nodeToLeaf(x: NodeIndex): LeafIndex {
  if ((x & 1) !== 0) throw new UsageError('not-a-leaf', `node ${x} is not a leaf`);
  return leafIndex(x >> 1);
}

/** Number of nodes of a tree with `nLeaves` leaves (Appendix C `node_width`). */
export function nodeWidth(nLeaves: number): number {
  return nLeaves === 0 ? 0 : 2 * (nLeaves - 1) + 1;
}

function checkLeafCount(nLeaves: number): void {
  if (!Number.isInteger(nLeaves) || nLeaves < 1 || nLeaves > MAX_LEAVES || (nLeaves & (nLeaves - 1)) !== 0) {
    throw new UsageError('bad-leaf-count', `a tree has a power-of-two number of leaves, not ${nLeaves}`);
  }
}

/** Root node of a tree with `nLeaves` leaves. */
export function root(nLeaves: number): NodeIndex {
  checkLeafCount(nLeaves);
  return nodeIndex((1 << log2(nodeWidth(nLeaves))) - 1);
}

/** Left child of an intermediate node; undefined for a leaf. */
export function left(x: NodeIndex): NodeIndex | undefined {
  const k = level(x);
  if (k === 0) return undefined;
  return nodeIndex(x ^ (1 << (k - 1)));
}

/** Right child of an intermediate node; undefined for a leaf. */
export function right(x: NodeIndex): NodeIndex | undefined {
  const k = level(x);
  if (k === 0) return undefined;
  return nodeIndex(x ^ (3 << (k - 1)));
}

/** Parent of `x`; undefined for the root. */
export function parent(x: NodeIndex, nLeaves: number): NodeIndex | undefined {
  if (x === root(nLeaves)) return undefined;
  const k = level(x);
  const b = (x >> (k + 1)) & 1;
  return nodeIndex((x | (1 << k)) ^ (b << (k + 1)));
}

/** The other child of `x`'s parent; undefined for the root. */
export function sibling(x: NodeIndex, nLeaves: number): NodeIndex | undefined {
  const p = parent(x, nLeaves);
  if (p === undefined) return undefined;
  return x < p ? right(p) : left(p);
}

/** §4.1 direct path: the parents from `x`'s parent up to the root (empty for the root). */
export function directPath(x: NodeIndex, nLeaves: number): NodeIndex[] {
  const r = root(nLeaves);
  const path: NodeIndex[] = [];
  if (x === r) return path;
  let p = x;
  while (p !== r) {
    p = parent(p, nLeaves)!;
    path.push(p);
  }
  return path;
}

/** §4.1 copath: the siblings of `x` and of each node of its direct path but the root. */
export function copath(x: NodeIndex, nLeaves: number): NodeIndex[] {
  const r = root(nLeaves);
  const out: NodeIndex[] = [];
  let n = x;
  while (n !== r) {
    out.push(sibling(n, nLeaves)!);
    n = parent(n, nLeaves)!;
  }
  return out;
}

/** Lowest common ancestor of two nodes (Appendix C `common_ancestor_semantic`, via bits). */
export function commonAncestor(x: NodeIndex, y: NodeIndex): NodeIndex {
  const lx = level(x) + 1;
  const ly = level(y) + 1;
  if (lx <= ly && x >> ly === y >> ly) return y;
  if (ly <= lx && x >> lx === y >> lx) return x;
  let xn = x as number;
  let yn = y as number;
  let k = 0;
  while (xn !== yn) {
    xn >>= 1;
    yn >>= 1;
    k++;
  }
  return nodeIndex((xn << k) + (1 << (k - 1)) - 1);
}

/** Whether `x` lies in the subtree rooted at `ancestor` (including `ancestor` itself). */
export function isInSubtree(x: NodeIndex, ancestor: NodeIndex): boolean {
  const k = level(ancestor);
  return x >> (k + 1) === ancestor >> (k + 1);
}
