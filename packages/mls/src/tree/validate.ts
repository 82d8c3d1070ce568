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

/**
 * Throws ValidationError with a stable code on the first failing check, in this order:
 * tree hash, structure, leaf signatures, parent hashes. The leaf signatures are handed
 * to the backend first, as one batch that it may check on other threads while this one
 * computes the tree and parent hashes; the verdicts are awaited before a parent-hash
 * failure is reported, so the error is the same as checking one after the other.
 */
export async function validateRatchetTree(tree: PublicTree, p: TreeValidationParams): Promise<void> {
  const leafFailure = leafSignatureFailure(tree, p.groupId).catch((error: unknown) => ({ error }));
  if (p.treeHash !== undefined && !bytesEqual(await tree.treeHash(), p.treeHash)) {
    throw new ValidationError('tree-hash-mismatch', 'the ratchet tree does not have the announced tree hash');
  }
  tree.verifyStructure();
  let parentHashFailure: { error: unknown } | undefined;
  try {
    await tree.verifyParentHashes();
  } catch (error) {
    parentHashFailure = { error };
  }
  // Leaves first: a forged leaf also breaks the parent hashes above it, and the
  // leaf's own error says more.
  const leaf = await leafFailure;
  if (leaf !== undefined) throw leaf.error;
  if (parentHashFailure !== undefined) throw parentHashFailure.error;
}

/** §7.2: every non-blank leaf's signature verifies under its own signature key. */
export async function verifyLeafSignatures(tree: PublicTree, groupId: Uint8Array): Promise<void> {
  const failure = await leafSignatureFailure(tree, groupId);
  if (failure !== undefined) throw failure.error;
}

/** The lowest leaf whose signature does not verify, as its error; checked as one batch (crypto/labeled.ts verifyWithLabelMany). */
async function leafSignatureFailure(tree: PublicTree, groupId: Uint8Array): Promise<{ error: ValidationError } | undefined> {
  const leaves = [...tree.leaves()];
  const verdicts = await verifyWithLabelMany(tree.suite, leaves.map(([leafIndex, leaf]) => leafNodeSignatureCheck(leaf, { groupId, leafIndex })));
  const bad = verdicts.indexOf(false);
  return bad < 0 ? undefined : { error: new ValidationError('invalid-leaf-signature', `leaf ${leaves[bad]![0]} has an invalid signature`) };
}
