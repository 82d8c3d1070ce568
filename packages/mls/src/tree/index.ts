// RFC 9420 §4.1, §7, §12.1: the ratchet tree and TreeKEM — the tree folder's public surface.

export * as treeMath from './math.js';
export { PublicTree, TreeEditor, leafParentHash, type TreeSlot } from './public-tree.js';
export { TreePrivateKeys, type HpkePrivateKey } from './private.js';
export { signLeafNode, verifyLeafNodeSignature } from './leaf-signature.js';
export { validateRatchetTree, verifyLeafSignatures, type TreeValidationParams } from './validate.js';
export { applyProposalsToTree, type SentProposal, type TreeAfterProposals } from './proposals.js';
export {
  decryptUpdatePath,
  deriveNodeKeyPair,
  encryptUpdatePath,
  generateUpdatePath,
  joinerPrivateKeys,
  mergeUpdatePath,
  pathSecretForNewMember,
  type CommitSecret,
  type DecryptedPath,
  type GeneratedPath,
  type GenerateUpdatePathParams,
  type MergedPath,
  type PathSecret,
  type PathStep,
} from './treekem.js';
