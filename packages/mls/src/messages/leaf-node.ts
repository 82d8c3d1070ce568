// RFC 9420 §7.2 Leaf node contents: LeafNode, its source (key package, update or
// commit) with Lifetime or parent_hash, and LeafNodeTBS, the bytes its signature covers.

import { encode, type Decoder, type Encoder } from '../codec/index.js';
import { Writer } from '../codec/writer.js';
import { UsageError } from '../errors.js';
import type { LeafIndex } from '../util/brand.js';
import { decodeCapabilities, encodeCapabilities, type Capabilities } from './capabilities.js';
import { checkEnum } from './common.js';
import { decodeCredential, encodeCredential, type Credential } from './credential.js';
import { decodeExtensions, encodeExtensions, type Extension } from './extension.js';

/** §7.2 `enum { reserved(0), key_package(1), update(2), commit(3), (255) } LeafNodeSource`. */
export const LeafNodeSource = { key_package: 1, update: 2, commit: 3 } as const;
export type LeafNodeSource = (typeof LeafNodeSource)[keyof typeof LeafNodeSource];

/** §7.2 `struct { uint64 not_before; uint64 not_after; } Lifetime` (seconds since the Unix epoch). */
export interface Lifetime {
  readonly notBefore: bigint;
  readonly notAfter: bigint;
}

export const encodeLifetime: Encoder<Lifetime> = (w, l) => {
  w.u64(l.notBefore).u64(l.notAfter);
};
export const decodeLifetime: Decoder<Lifetime> = (r) => ({ notBefore: r.u64(), notAfter: r.u64() });

interface LeafNodeCommon {
  readonly encryptionKey: Uint8Array;
  readonly signatureKey: Uint8Array;
  readonly credential: Credential;
  readonly capabilities: Capabilities;
  readonly extensions: readonly Extension[];
}

/** The `select (leaf_node_source)` part of a LeafNode. */
export type LeafNodeSourceFields =
  | { readonly leafNodeSource: typeof LeafNodeSource.key_package; readonly lifetime: Lifetime }
  | { readonly leafNodeSource: typeof LeafNodeSource.update }
  | { readonly leafNodeSource: typeof LeafNodeSource.commit; readonly parentHash: Uint8Array };

/** A LeafNode before it is signed: every field the signature covers (except the TBS context). */
export type UnsignedLeafNode = LeafNodeCommon & LeafNodeSourceFields;

export type LeafNode = UnsignedLeafNode & { readonly signature: Uint8Array };

function encodeLeafNodeBody(w: Writer, leaf: UnsignedLeafNode): void {
  w.opaque(leaf.encryptionKey).opaque(leaf.signatureKey);
  encodeCredential(w, leaf.credential);
  encodeCapabilities(w, leaf.capabilities);
  w.u8(leaf.leafNodeSource);
  if (leaf.leafNodeSource === LeafNodeSource.key_package) encodeLifetime(w, leaf.lifetime);
  else if (leaf.leafNodeSource === LeafNodeSource.commit) w.opaque(leaf.parentHash);
  encodeExtensions(w, leaf.extensions);
}

export const encodeLeafNode: Encoder<LeafNode> = (w, leaf) => {
  encodeLeafNodeBody(w, leaf);
  w.opaque(leaf.signature);
};

export const decodeLeafNode: Decoder<LeafNode> = (r) => {
  const encryptionKey = r.opaque();
  const signatureKey = r.opaque();
  const credential = decodeCredential(r);
  const capabilities = decodeCapabilities(r);
  const source = checkEnum(LeafNodeSource, r.u8(), 'LeafNodeSource');
  let sourceFields: LeafNodeSourceFields;
  if (source === LeafNodeSource.key_package) sourceFields = { leafNodeSource: source, lifetime: decodeLifetime(r) };
  else if (source === LeafNodeSource.commit) sourceFields = { leafNodeSource: source, parentHash: r.opaque() };
  else sourceFields = { leafNodeSource: source };
  const extensions = decodeExtensions(r);
  const signature = r.opaque();
  return { encryptionKey, signatureKey, credential, capabilities, ...sourceFields, extensions, signature };
};

/** The group a leaf belongs to, which LeafNodeTBS includes for update and commit leaves. */
export interface LeafNodeTbsContext {
  readonly groupId: Uint8Array;
  readonly leafIndex: LeafIndex;
}

/**
 * §7.2 LeafNodeTBS: the leaf's fields without its signature, then — for update and
 * commit leaves — `opaque group_id<V>; uint32 leaf_index;`. The context is required
 * for those sources and ignored for key_package leaves.
 */
export function encodeLeafNodeTbs(leaf: UnsignedLeafNode, ctx?: LeafNodeTbsContext): Uint8Array {
  const w = new Writer(256);
  encodeLeafNodeBody(w, leaf);
  if (leaf.leafNodeSource !== LeafNodeSource.key_package) {
    if (ctx === undefined) throw new UsageError('missing-leaf-context', 'LeafNodeTBS of an update or commit leaf needs group_id and leaf_index');
    w.opaque(ctx.groupId).u32(ctx.leafIndex);
  }
  return w.finish();
}

/** The encoding of a whole LeafNode (convenience for hashing and comparisons). */
export function leafNodeBytes(leaf: LeafNode): Uint8Array {
  return encode(encodeLeafNode, leaf);
}
