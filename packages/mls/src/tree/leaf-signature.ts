// RFC 9420 §7.2: a LeafNode's signature, SignWithLabel(., "LeafNodeTBS", LeafNodeTBS),
// where LeafNodeTBS adds group_id and leaf_index for leaves of source update or commit.

import { signWithLabel, verifyWithLabel, type LabeledSignatureCheck } from '../crypto/labeled.js';
import type { CipherSuite } from '../crypto/provider.js';
import { encodeLeafNodeTbs, type LeafNode, type LeafNodeTbsContext, type UnsignedLeafNode } from '../messages/leaf-node.js';

const LABEL = 'LeafNodeTBS';

/** Signs a leaf node; `ctx` is needed for update and commit leaves. */
export async function signLeafNode(suite: CipherSuite, leaf: UnsignedLeafNode, signaturePrivateKey: Uint8Array, ctx?: LeafNodeTbsContext): Promise<LeafNode> {
  const signature = await signWithLabel(suite, signaturePrivateKey, LABEL, encodeLeafNodeTbs(leaf, ctx));
  return { ...leaf, signature };
}

/** Whether the leaf's signature verifies under its own `signature_key` (never throws for a bad signature). */
export function verifyLeafNodeSignature(suite: CipherSuite, leaf: LeafNode, ctx?: LeafNodeTbsContext): Promise<boolean> {
  return verifyWithLabel(suite, leaf.signatureKey, LABEL, encodeLeafNodeTbs(leaf, ctx), leaf.signature);
}

/** The leaf's signature check, for a batch (crypto/labeled.ts verifyWithLabelMany). */
export function leafNodeSignatureCheck(leaf: LeafNode, ctx?: LeafNodeTbsContext): LabeledSignatureCheck {
  return { verificationKey: leaf.signatureKey, label: LABEL, content: encodeLeafNodeTbs(leaf, ctx), signature: leaf.signature };
}
