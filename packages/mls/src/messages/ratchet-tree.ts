// RFC 9420 §7.1 ParentNode, §7.6 HPKECiphertext / UpdatePathNode / UpdatePath, and
// §12.4.3.3 the ratchet_tree extension: `optional<Node> ratchet_tree<V>`, the tree
// in array representation (Appendix C) with blank nodes as `undefined`.

import type { Decoder, Encoder } from '../codec/index.js';
import type { Reader } from '../codec/reader.js';
import type { Writer } from '../codec/writer.js';
import { leafIndex, type LeafIndex } from '../util/brand.js';
import { checkEnum } from './common.js';
import { decodeLeafNode, encodeLeafNode, type LeafNode } from './leaf-node.js';

/** §7.1 `struct { HPKEPublicKey encryption_key; opaque parent_hash<V>; uint32 unmerged_leaves<V>; } ParentNode`. */
export interface ParentNode {
  readonly encryptionKey: Uint8Array;
  readonly parentHash: Uint8Array;
  readonly unmergedLeaves: readonly LeafIndex[];
}

function writeU32(w: Writer, v: number): void {
  w.u32(v);
}
function readLeafIndex(r: Reader): LeafIndex {
  return leafIndex(r.u32());
}

export const encodeParentNode: Encoder<ParentNode> = (w, p) => {
  w.opaque(p.encryptionKey).opaque(p.parentHash);
  w.vector(p.unmergedLeaves, writeU32);
};

export const decodeParentNode: Decoder<ParentNode> = (r) => ({
  encryptionKey: r.opaque(),
  parentHash: r.opaque(),
  unmergedLeaves: r.vector(readLeafIndex),
});

/** §7.8 `enum { reserved(0), leaf(1), parent(2), (255) } NodeType`. */
export const NodeType = { leaf: 1, parent: 2 } as const;
export type NodeType = (typeof NodeType)[keyof typeof NodeType];

/** §7.8 Node: `select (node_type) { case leaf: LeafNode leaf_node; case parent: ParentNode parent_node; }`. */
export type Node =
  | { readonly nodeType: typeof NodeType.leaf; readonly leafNode: LeafNode }
  | { readonly nodeType: typeof NodeType.parent; readonly parentNode: ParentNode };

export const encodeNode: Encoder<Node> = (w, n) => {
  w.u8(n.nodeType);
  if (n.nodeType === NodeType.leaf) encodeLeafNode(w, n.leafNode);
  else encodeParentNode(w, n.parentNode);
};

export const decodeNode: Decoder<Node> = (r) => {
  const nodeType = checkEnum(NodeType, r.u8(), 'NodeType');
  return nodeType === NodeType.leaf
    ? { nodeType, leafNode: decodeLeafNode(r) }
    : { nodeType, parentNode: decodeParentNode(r) };
};

/** §12.4.3.3 `optional<Node> ratchet_tree<V>`: index i is node i; `undefined` is a blank node. */
export type RatchetTree = readonly (Node | undefined)[];

function writeOptionalNode(w: Writer, n: Node | undefined): void {
  w.optional(n, encodeNode);
}
function readOptionalNode(r: Reader): Node | undefined {
  return r.optional(decodeNode);
}

/**
 * Encodes the ratchet_tree extension body. Only the structure is written; the
 * caller is responsible for having truncated trailing blank nodes (§12.4.3.3).
 */
export const encodeRatchetTree: Encoder<RatchetTree> = (w, tree) => {
  w.vector(tree, writeOptionalNode);
};

/** Decodes the ratchet_tree extension body (structure only; tree validity is checked by src/tree). */
export const decodeRatchetTree: Decoder<(Node | undefined)[]> = (r) => r.vector(readOptionalNode);

/** §7.6 `struct { opaque kem_output<V>; opaque ciphertext<V>; } HPKECiphertext`. */
export interface HPKECiphertext {
  readonly kemOutput: Uint8Array;
  readonly ciphertext: Uint8Array;
}

export const encodeHPKECiphertext: Encoder<HPKECiphertext> = (w, c) => {
  w.opaque(c.kemOutput).opaque(c.ciphertext);
};
export const decodeHPKECiphertext: Decoder<HPKECiphertext> = (r) => ({ kemOutput: r.opaque(), ciphertext: r.opaque() });

/** §7.6 `struct { HPKEPublicKey encryption_key; HPKECiphertext encrypted_path_secret<V>; } UpdatePathNode`. */
export interface UpdatePathNode {
  readonly encryptionKey: Uint8Array;
  readonly encryptedPathSecret: readonly HPKECiphertext[];
}

export const encodeUpdatePathNode: Encoder<UpdatePathNode> = (w, n) => {
  w.opaque(n.encryptionKey);
  w.vector(n.encryptedPathSecret, encodeHPKECiphertext);
};
export const decodeUpdatePathNode: Decoder<UpdatePathNode> = (r) => ({
  encryptionKey: r.opaque(),
  encryptedPathSecret: r.vector(decodeHPKECiphertext),
});

/** §7.6 `struct { LeafNode leaf_node; UpdatePathNode nodes<V>; } UpdatePath`. */
export interface UpdatePath {
  readonly leafNode: LeafNode;
  readonly nodes: readonly UpdatePathNode[];
}

export const encodeUpdatePath: Encoder<UpdatePath> = (w, p) => {
  encodeLeafNode(w, p.leafNode);
  w.vector(p.nodes, encodeUpdatePathNode);
};
export const decodeUpdatePath: Decoder<UpdatePath> = (r) => ({
  leafNode: decodeLeafNode(r),
  nodes: r.vector(decodeUpdatePathNode),
});
