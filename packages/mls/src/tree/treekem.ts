// RFC 9420 §7.4–§7.6 TreeKEM: creating an UpdatePath (path secrets, node key pairs,
// parent-hash chain, the committer's re-signed leaf, path secrets encrypted to the
// copath resolutions) and processing a received one (merging its public keys into
// the tree, decrypting the one path secret addressed to us, deriving the rest and
// checking that they give the public keys the committer sent).
//
// Both sides work in two steps, because the HPKE context is the provisional
// GroupContext, whose tree_hash is that of the tree *after* the path is merged:
//   sender:    generateUpdatePath -> (caller builds GroupContext) -> encryptUpdatePath
//   receiver:  mergeUpdatePath    -> (caller builds GroupContext) -> decryptUpdatePath

import type { CipherSuite } from '../crypto/provider.js';
import { decryptWithLabel, deriveSecret, encryptWithLabelMany } from '../crypto/labeled.js';
import { CryptoError, InternalError, UsageError, ValidationError } from '../errors.js';
import { LeafNodeSource, type LeafNode } from '../messages/leaf-node.js';
import type { HPKECiphertext, ParentNode, UpdatePath, UpdatePathNode } from '../messages/ratchet-tree.js';
import { type LeafIndex, type NodeIndex } from '../util/brand.js';
import { bytesEqual } from '../util/bytes.js';
import type { CommitSecret } from '../schedule/secrets.js';
import { Secret } from '../util/secret.js';
import { signLeafNode, verifyLeafNodeSignature } from './leaf-signature.js';
import { commonAncestor, directPath, isInSubtree, leafToNode } from './math.js';
import { parentHashInput as parentHashInputBytes, type PublicTree, type TreeEditor } from './public-tree.js';
import { TreePrivateKeys, type HpkePrivateKey } from './private.js';

export type PathSecret = Secret<'path-secret'>;
/**
 * §8: the commit_secret the key schedule consumes. It is the schedule's own type, so the
 * value TreeKEM derives goes into the key schedule as is, with no re-wrap under another tag.
 */
export type { CommitSecret };

const UPDATE_PATH_NODE = 'UpdatePathNode';

/** §7.4 node_secret = DeriveSecret(path_secret, "node"); (priv, pub) = KEM.DeriveKeyPair(node_secret). */
export async function deriveNodeKeyPair(suite: CipherSuite, pathSecret: Uint8Array): Promise<{ publicKey: Uint8Array; privateKey: HpkePrivateKey }> {
  const nodeSecret = await deriveSecret(suite, pathSecret, 'node');
  const kp = await suite.hpke.deriveKeyPair(nodeSecret);
  nodeSecret.fill(0);
  return { publicKey: kp.publicKey, privateKey: new Secret(kp.privateKey) };
}

/** §7.4 path_secret[n] = DeriveSecret(path_secret[n-1], "path"). */
export async function nextPathSecret(suite: CipherSuite, pathSecret: Uint8Array): Promise<Uint8Array> {
  return deriveSecret(suite, pathSecret, 'path');
}

/** One node of the committer's filtered direct path, with its new key and secret. */
export interface PathStep {
  readonly node: NodeIndex;
  /** The child on the committer's copath, whose resolution receives the path secret. */
  readonly copathChild: NodeIndex;
  readonly encryptionKey: Uint8Array;
  readonly pathSecret: PathSecret;
}

/** The committer's side of an UpdatePath before encryption (§7.5 steps 1–4). */
export interface GeneratedPath {
  /** The tree with the path merged: the new leaf, new parent keys and parent hashes. */
  readonly tree: PublicTree;
  readonly leafIndex: LeafIndex;
  readonly leafNode: LeafNode;
  readonly steps: readonly PathStep[];
  readonly commitSecret: CommitSecret;
  /** The committer's private keys after the commit: new leaf key and every path node key. */
  readonly privateKeys: TreePrivateKeys;
}

export interface GenerateUpdatePathParams {
  /** The tree after the commit's proposals were applied (§12.4.2). */
  readonly tree: PublicTree;
  readonly leafIndex: LeafIndex;
  readonly groupId: Uint8Array;
  /** The committer's signature private key (for the new leaf's signature). */
  readonly signaturePrivateKey: Uint8Array;
  /**
   * Fields of the new leaf; defaults to the committer's current leaf. Its
   * `encryptionKey`, `leafNodeSource`, `parentHash` and `signature` are replaced.
   */
  readonly leafNode?: LeafNode;
  /** Test hook: the first path secret and the leaf key pair instead of fresh randomness. */
  readonly randomness?: { readonly pathSecret0: Uint8Array; readonly leafKeyPair?: { publicKey: Uint8Array; privateKey: Uint8Array } };
}

/**
 * §7.4–§7.5, §7.9: refreshes the committer's leaf and its filtered direct path, and
 * returns the new tree (public part) with the secrets needed to encrypt the path.
 */
export async function generateUpdatePath(p: GenerateUpdatePathParams): Promise<GeneratedPath> {
  const { tree, leafIndex } = p;
  const suite = tree.suite;
  const current = tree.leaf(leafIndex);
  const base = p.leafNode ?? current;
  if (base === undefined) throw new UsageError('committer-leaf-blank', `leaf ${leafIndex} is blank and no leaf node was given`);

  const fdp = tree.filteredDirectPathWithCopath(leafIndex);
  const leafKeyPair = p.randomness?.leafKeyPair ?? (await suite.hpke.generateKeyPair());
  let secret = p.randomness?.pathSecret0 ?? suite.randomBytes(suite.kdf.nh);
  const steps: PathStep[] = [];
  const keys = new Map<NodeIndex, HpkePrivateKey>();
  keys.set(leafToNode(leafIndex), new Secret(leafKeyPair.privateKey));
  for (const { node, copathChild } of fdp) {
    const kp = await deriveNodeKeyPair(suite, secret);
    steps.push({ node, copathChild, encryptionKey: kp.publicKey, pathSecret: new Secret(secret) });
    keys.set(node, kp.privateKey);
    secret = await nextPathSecret(suite, secret);
  }
  const commitSecret: CommitSecret = new Secret(secret);

  const editor = tree.edit();
  const leafParentHash = await writePath(tree, editor, leafIndex, steps.map((s) => ({ node: s.node, copathChild: s.copathChild, encryptionKey: s.encryptionKey })));
  const leafNode = await signLeafNode(
    suite,
    {
      encryptionKey: leafKeyPair.publicKey,
      signatureKey: base.signatureKey,
      credential: base.credential,
      capabilities: base.capabilities,
      leafNodeSource: LeafNodeSource.commit,
      parentHash: leafParentHash,
      extensions: base.extensions,
    },
    p.signaturePrivateKey,
    { groupId: p.groupId, leafIndex },
  );
  editor.setLeaf(leafIndex, leafNode);
  const newTree = editor.finish();
  return { tree: newTree, leafIndex, leafNode, steps, commitSecret, privateKeys: new TreePrivateKeys(leafIndex, keys) };
}

/**
 * §7.6: encrypts each path secret to every node in the resolution of the matching
 * copath child, leaving out the leaves in `excludeLeaves` (members added by the
 * same commit). `groupContext` is the encoded provisional GroupContext.
 */
export async function encryptUpdatePath(path: GeneratedPath, groupContext: Uint8Array, excludeLeaves?: ReadonlySet<number>): Promise<UpdatePath> {
  const { tree } = path;
  const suite = tree.suite;
  const nodes: UpdatePathNode[] = [];
  for (const step of path.steps) {
    const targets = tree.resolution(step.copathChild, excludeLeaves);
    const recipients = targets.map((t) => {
      const key = tree.slot(t)?.encryptionKey;
      if (key === undefined) throw new InternalError('blank-in-resolution', `resolution node ${t} is blank`);
      return { publicKey: key, plaintext: step.pathSecret.bytes };
    });
    const sealed = await encryptWithLabelMany(suite, UPDATE_PATH_NODE, groupContext, recipients);
    const encryptedPathSecret: HPKECiphertext[] = sealed.map((ct) => ({ kemOutput: ct.kemOutput, ciphertext: ct.ciphertext }));
    nodes.push({ encryptionKey: step.encryptionKey, encryptedPathSecret });
  }
  return { leafNode: path.leafNode, nodes };
}

/**
 * Writes new public keys on the filtered direct path of `leaf` into `editor` (after
 * blanking the whole direct path), with their parent hashes computed from the root
 * down (§7.9), and returns the parent hash the leaf must carry. The copath subtrees
 * are read from `before`: the path never changes them.
 */
async function writePath(
  before: PublicTree,
  editor: TreeEditor,
  leaf: LeafIndex,
  path: readonly { node: NodeIndex; copathChild: NodeIndex; encryptionKey: Uint8Array }[],
): Promise<Uint8Array> {
  const suite = before.suite;
  editor.blankDirectPath(leaf);
  let parentHash: Uint8Array = new Uint8Array(0);
  for (let i = path.length - 1; i >= 0; i--) {
    const { node, copathChild, encryptionKey } = path[i]!;
    const parentNode: ParentNode = { encryptionKey, parentHash, unmergedLeaves: [] };
    editor.setParent(node, parentNode);
    // This node's unmerged_leaves are empty, so the original sibling tree hash is
    // the current tree hash of the copath child.
    const siblingHash = await before.nodeTreeHash(copathChild);
    parentHash = await suite.hash.digest(parentHashInputBytes(encryptionKey, parentHash, siblingHash));
  }
  return parentHash;
}

/** What merging a received UpdatePath gives: the new public tree. */
export interface MergedPath {
  readonly tree: PublicTree;
  readonly sender: LeafIndex;
  /** Filtered direct path of the sender, bottom-up, paired with the UpdatePath nodes. */
  readonly steps: readonly { node: NodeIndex; copathChild: NodeIndex }[];
  readonly updatePath: UpdatePath;
}

/**
 * §7.5 "merges UpdatePath into the tree", §12.4.2: checks the path's shape, that
 * the new leaf's source is `commit`, its signature (context `groupId`, sender's leaf
 * index), that none of its public keys is already in the tree, and that the
 * leaf's parent_hash is the one the new path gives. `tree` is the tree after the
 * commit's proposals (and, for an external commit, with the sender's leaf placed).
 */
export async function mergeUpdatePath(tree: PublicTree, sender: LeafIndex, updatePath: UpdatePath, groupId: Uint8Array): Promise<MergedPath> {
  const suite = tree.suite;
  const leaf = updatePath.leafNode;
  if (leaf.leafNodeSource !== LeafNodeSource.commit) throw new ValidationError('invalid-leaf-node-source', 'the UpdatePath leaf must have source commit');
  const fdp = tree.filteredDirectPathWithCopath(sender);
  if (updatePath.nodes.length !== fdp.length) {
    throw new ValidationError('update-path-length', `UpdatePath has ${updatePath.nodes.length} nodes, the filtered direct path ${fdp.length}`);
  }
  if (!(await verifyLeafNodeSignature(suite, leaf, { groupId, leafIndex: sender }))) {
    throw new ValidationError('invalid-leaf-signature', `the UpdatePath leaf of sender ${sender} has a bad signature`);
  }
  // A committer that keeps its leaf encryption key is refused below: its current leaf is in `tree`.
  const fresh = [leaf.encryptionKey, ...updatePath.nodes.map((n) => n.encryptionKey)];
  for (let i = 0; i < fresh.length; i++) {
    for (let j = 0; j < i; j++) {
      if (bytesEqual(fresh[i]!, fresh[j]!)) throw new ValidationError('duplicate-encryption-key', 'the UpdatePath repeats a public key');
    }
  }
  if (tree.findEncryptionKey(fresh) !== undefined) {
    throw new ValidationError('duplicate-encryption-key', 'a public key of the UpdatePath is already in the tree');
  }
  const steps = fdp.map((s, i) => ({ ...s, encryptionKey: updatePath.nodes[i]!.encryptionKey }));
  const editor = tree.edit();
  const expected = await writePath(tree, editor, sender, steps);
  if (!bytesEqual(leaf.parentHash, expected)) {
    throw new ValidationError('parent-hash-mismatch', `the UpdatePath leaf of sender ${sender} does not carry the path's parent hash`);
  }
  editor.setLeaf(sender, leaf);
  return { tree: editor.finish(), sender, steps: fdp, updatePath };
}

/** What decrypting a received UpdatePath gives this member. */
export interface DecryptedPath {
  readonly commitSecret: CommitSecret;
  /** Our private keys after the commit. */
  readonly privateKeys: TreePrivateKeys;
  /** The path secret we decrypted, and the node it belongs to. */
  readonly pathSecret: PathSecret;
  readonly pathSecretNode: NodeIndex;
}

/**
 * §7.5 "decrypts the path secrets": finds the path node whose copath child covers
 * us, the resolution node we hold a private key for (from the keys we held before
 * the commit), decrypts that path secret with the provisional GroupContext, derives
 * the rest up to the commit secret and checks every derived public key against the
 * UpdatePath. `excludeLeaves` are the members added by the same commit.
 */
export async function decryptUpdatePath(
  merged: MergedPath,
  own: TreePrivateKeys,
  groupContext: Uint8Array,
  excludeLeaves?: ReadonlySet<number>,
): Promise<DecryptedPath> {
  const { tree, steps, updatePath, sender } = merged;
  const suite = tree.suite;
  const me = leafToNode(own.leafIndex);
  if (own.leafIndex === sender) throw new UsageError('own-commit', 'the committer does not decrypt its own UpdatePath');
  const at = steps.findIndex((s) => isInSubtree(me, s.copathChild));
  if (at < 0) throw new InternalError('not-covered', `leaf ${own.leafIndex} is under no copath node of sender ${sender}`);
  const step = steps[at]!;
  const resolution = tree.resolution(step.copathChild, excludeLeaves);
  const ciphertexts = updatePath.nodes[at]!.encryptedPathSecret;
  if (ciphertexts.length !== resolution.length) {
    throw new ValidationError('update-path-ciphertext-count', `UpdatePath node ${step.node} has ${ciphertexts.length} ciphertexts for a resolution of ${resolution.length}`);
  }
  let j = -1;
  let key: HpkePrivateKey | undefined;
  for (let i = 0; i < resolution.length; i++) {
    key = own.privateKey(resolution[i]!);
    if (key !== undefined) {
      j = i;
      break;
    }
  }
  if (key === undefined || j < 0) throw new UsageError('no-private-key', `no private key for the resolution of node ${step.copathChild}`);
  const ct = ciphertexts[j]!;
  let secret: Uint8Array;
  try {
    secret = await decryptWithLabel(suite, key.bytes, UPDATE_PATH_NODE, groupContext, ct.kemOutput, ct.ciphertext);
  } catch (error) {
    if (error instanceof CryptoError) throw new ValidationError('path-secret-decrypt-failed', `path secret for node ${step.node} does not decrypt`, { cause: error });
    throw error;
  }
  if (secret.length !== suite.kdf.nh) throw new ValidationError('bad-path-secret', 'a path secret has the wrong length');
  const pathSecret: PathSecret = new Secret(secret.slice());

  // Keys of ours that the commit blanked are dropped; new ones are added.
  const blanked = new Set<number>(directPath(leafToNode(sender), tree.leafCount));
  const newKeys = new Map<NodeIndex, HpkePrivateKey>();
  for (const [x, k] of own.entries()) if (!blanked.has(x) && x < tree.nodeCount) newKeys.set(x, k);
  for (let i = at; i < steps.length; i++) {
    const kp = await deriveNodeKeyPair(suite, secret);
    if (!bytesEqual(kp.publicKey, updatePath.nodes[i]!.encryptionKey)) {
      throw new ValidationError('path-key-mismatch', `the public key of node ${steps[i]!.node} does not match its path secret`);
    }
    newKeys.set(steps[i]!.node, kp.privateKey);
    const next = await nextPathSecret(suite, secret);
    secret.fill(0);
    secret = next;
  }
  return { commitSecret: new Secret(secret), privateKeys: new TreePrivateKeys(own.leafIndex, newKeys), pathSecret, pathSecretNode: step.node };
}

/**
 * §12.4.3.1: the path secret a member added by this commit receives in its Welcome's
 * GroupSecrets — that of the lowest node of the committer's filtered direct path
 * above the new leaf. Undefined when the committer sent no path covering it.
 */
export function pathSecretForNewMember(path: GeneratedPath, newLeaf: LeafIndex): PathSecret | undefined {
  const x = leafToNode(newLeaf);
  return path.steps.find((s) => isInSubtree(x, s.copathChild))?.pathSecret;
}

/**
 * §12.4.3.1 joining: our leaf's private key, plus — when the GroupSecrets carry a
 * path secret — the keys of the lowest common ancestor of our leaf and the
 * committer's (`signer`) and of every non-blank node above it, each derived from
 * the next path secret and checked against the node's public key.
 */
export async function joinerPrivateKeys(
  tree: PublicTree,
  ownLeaf: LeafIndex,
  leafPrivateKey: Uint8Array,
  signer: LeafIndex,
  pathSecret?: Uint8Array,
): Promise<TreePrivateKeys> {
  const suite = tree.suite;
  const keys = new Map<NodeIndex, HpkePrivateKey>([[leafToNode(ownLeaf), new Secret(leafPrivateKey.slice())]]);
  if (pathSecret !== undefined) {
    if (signer === ownLeaf) throw new ValidationError('bad-path-secret', 'a joiner cannot be the committer');
    const start = commonAncestor(leafToNode(ownLeaf), leafToNode(signer));
    const nodes = [start, ...directPath(start, tree.leafCount)].filter((x) => !tree.isBlank(x));
    if (nodes[0] !== start) throw new ValidationError('bad-path-secret', `the common ancestor ${start} of the joiner and the committer is blank`);
    let secret: Uint8Array = pathSecret.slice();
    for (const x of nodes) {
      const kp = await deriveNodeKeyPair(suite, secret);
      if (!bytesEqual(kp.publicKey, tree.slot(x)!.encryptionKey)) {
        throw new ValidationError('path-key-mismatch', `the path secret does not give the public key of node ${x}`);
      }
      keys.set(x, kp.privateKey);
      const next = await nextPathSecret(suite, secret);
      secret.fill(0);
      secret = next;
    }
    secret.fill(0);
  }
  return new TreePrivateKeys(ownLeaf, keys);
}
