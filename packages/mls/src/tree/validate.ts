// RFC 9420 §12.4.3.1 "Verify the integrity of the ratchet tree", the tree part of
// joining a group: the tree hash the GroupInfo announces, every non-blank parent
// parent-hash valid (§7.9.2), every leaf's signature (§7.2), unmerged leaves
// consistent, and no encryption or signature key used twice. Checks of a leaf
// against the group's policy (credentials, capabilities, lifetime) belong to the
// group layer, which knows the GroupContext and the clock.

import { ValidationError } from '../errors.js';
import { bytesEqual } from '../util/bytes.js';
import { verifyWithLabelMany } from '../crypto/labeled.js';
import { leafNodeSignatureCheck } from './leaf-signature.js';
import type { PublicTree } from './public-tree.js';

export interface TreeValidationParams {
  /** The group's id: the signature context of leaves with source update or commit. */
  readonly groupId: Uint8Array;
  /** The `tree_hash` the GroupInfo carries; checked when given. */
  readonly treeHash?: Uint8Array;
}

/** Throws ValidationError with a stable code on the first failing check. */
export async function validateRatchetTree(tree: PublicTree, p: TreeValidationParams): Promise<void> {
  if (p.treeHash !== undefined && !bytesEqual(await tree.treeHash(), p.treeHash)) {
    throw new ValidationError('tree-hash-mismatch', 'the ratchet tree does not have the announced tree hash');
  }
  tree.verifyStructure();
  // Leaves first: a forged leaf also breaks the parent hashes above it, and the
  // leaf's own error says more.
  await verifyLeafSignatures(tree, p.groupId);
  await tree.verifyParentHashes();
}

/** §7.2: every non-blank leaf's signature verifies under its own signature key. */
export async function verifyLeafSignatures(tree: PublicTree, groupId: Uint8Array): Promise<void> {
  const leaves = [...tree.leaves()];
  // One batch: the backend may check it in parallel (crypto/labeled.ts verifyWithLabelMany).
  const verdicts = await verifyWithLabelMany(tree.suite, leaves.map(([leafIndex, leaf]) => leafNodeSignatureCheck(leaf, { groupId, leafIndex })));
  // Report the lowest failing leaf, deterministically.
  const bad = verdicts.indexOf(false);
  if (bad >= 0) throw new ValidationError('invalid-leaf-signature', `leaf ${leaves[bad]![0]} has an invalid signature`);
}
