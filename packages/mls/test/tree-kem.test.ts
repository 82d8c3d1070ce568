// RFC 9420 §7 ratchet tree and TreeKEM, as scenarios: a group grows, commits, shrinks;
// every member agrees on the commit secret; trees stay values; a tampered tree or
// UpdatePath is refused with a stable code; private keys never print.
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { decode, encode } from '../src/codec/index.js';
import { nodeCryptoProvider } from '../src/crypto/node/index.js';
import type { CipherSuite } from '../src/crypto/provider.js';
import { encodeGroupContext } from '../src/messages/group-context.js';
import { LeafNodeSource, type LeafNode } from '../src/messages/leaf-node.js';
import { decodeRatchetTree, decodeUpdatePath, encodeRatchetTree, encodeUpdatePath, NodeType, type Node, type ParentNode, type UpdatePath } from '../src/messages/ratchet-tree.js';
import { leafToNode } from '../src/tree/math.js';
import { signLeafNode } from '../src/tree/leaf-signature.js';
import { TreePrivateKeys } from '../src/tree/private.js';
import { PublicTree } from '../src/tree/public-tree.js';
import {
  decryptUpdatePath,
  encryptUpdatePath,
  generateUpdatePath,
  joinerPrivateKeys,
  mergeUpdatePath,
  pathSecretForNewMember,
  type GeneratedPath,
} from '../src/tree/treekem.js';
import { validateRatchetTree } from '../src/tree/validate.js';
import { leafIndex, nodeIndex, type LeafIndex } from '../src/util/brand.js';
import { toHex, utf8Bytes } from '../src/util/bytes.js';

const groupId = utf8Bytes('tree-kem test group');

interface Member {
  readonly name: string;
  readonly signaturePrivateKey: Uint8Array;
  /** The KeyPackage-source leaf the member joins with, and its HPKE private key. */
  readonly leaf: LeafNode;
  readonly leafPrivateKey: Uint8Array;
}

let suite: CipherSuite;

async function newMember(name: string): Promise<Member> {
  const sig = await suite.signature.generateKeyPair();
  const hpke = await suite.hpke.generateKeyPair();
  const leaf = await signLeafNode(
    suite,
    {
      encryptionKey: hpke.publicKey,
      signatureKey: sig.publicKey,
      credential: { credentialType: 1, identity: utf8Bytes(name) },
      capabilities: { versions: [1], cipherSuites: [1], extensions: [], proposals: [], credentials: [1] },
      leafNodeSource: LeafNodeSource.key_package,
      lifetime: { notBefore: 0n, notAfter: 2n ** 63n },
      extensions: [],
    },
    sig.privateKey,
  );
  return { name, signaturePrivateKey: sig.privateKey, leaf, leafPrivateKey: hpke.privateKey };
}

function context(tree: Uint8Array, epoch: bigint): Uint8Array {
  return encode(encodeGroupContext, {
    version: 1,
    cipherSuite: 1,
    groupId,
    epoch,
    treeHash: tree,
    confirmedTranscriptHash: new Uint8Array(32),
    extensions: [],
  });
}

/** The group state each test starts from: what every member holds. */
interface Group {
  tree: PublicTree;
  keys: Map<number, TreePrivateKeys>;
  members: Map<number, Member>;
  epoch: bigint;
}

/** A commit from `committer` (after the tree changes already applied) that every other member processes. */
async function commit(g: Group, committer: LeafIndex, added: readonly LeafIndex[] = []): Promise<{ path: GeneratedPath; updatePath: UpdatePath }> {
  const m = g.members.get(committer)!;
  const exclude = new Set<number>(added);
  const path = await generateUpdatePath({ tree: g.tree, leafIndex: committer, groupId, signaturePrivateKey: m.signaturePrivateKey });
  const epoch = g.epoch + 1n;
  const ctx = context(await path.tree.treeHash(), epoch);
  // Receivers see the UpdatePath as it comes off the wire.
  const updatePath = decode(decodeUpdatePath, encode(encodeUpdatePath, await encryptUpdatePath(path, ctx, exclude)));

  const nextKeys = new Map<number, TreePrivateKeys>();
  nextKeys.set(committer, path.privateKeys);
  for (const [leaf, keys] of g.keys) {
    if (leaf === committer) continue;
    if (exclude.has(leaf)) continue;
    const merged = await mergeUpdatePath(g.tree, committer, updatePath, groupId);
    expect(toHex(await merged.tree.treeHash())).toBe(toHex(await path.tree.treeHash()));
    const got = await decryptUpdatePath(merged, keys.prune(g.tree), ctx, exclude);
    expect(toHex(got.commitSecret.bytes)).toBe(toHex(path.commitSecret.bytes));
    nextKeys.set(leaf, got.privateKeys);
  }
  for (const leaf of added) {
    const m2 = g.members.get(leaf)!;
    const secret = pathSecretForNewMember(path, leaf);
    expect(secret).toBeDefined();
    nextKeys.set(leaf, await joinerPrivateKeys(path.tree, leaf, m2.leafPrivateKey, committer, secret!.bytes));
  }
  g.tree = path.tree;
  g.keys = nextKeys;
  g.epoch = epoch;
  return { path, updatePath };
}

/** Every private key a member holds matches the public key at that node. */
async function expectKeysMatch(g: Group): Promise<void> {
  for (const keys of g.keys.values()) {
    for (const [x, k] of keys.entries()) {
      const pub = g.tree.slot(x)?.encryptionKey;
      expect(pub).toBeDefined();
      expect(toHex(await suite.hpke.publicKeyOf(k.bytes))).toBe(toHex(pub!));
    }
  }
}

async function growGroup(n: number): Promise<Group> {
  const creator = await newMember('m0');
  const g: Group = {
    tree: PublicTree.single(suite, creator.leaf),
    keys: new Map([[0, TreePrivateKeys.forLeaf(leafIndex(0), creator.leafPrivateKey)]]),
    members: new Map([[0, creator]]),
    epoch: 0n,
  };
  // Add members two at a time, each batch committed by the lowest member.
  for (let next = 1; next < n; next += 2) {
    const editor = g.tree.edit();
    const added: LeafIndex[] = [];
    for (let j = next; j < Math.min(n, next + 2); j++) {
      const m = await newMember(`m${j}`);
      const at = editor.addLeaf(m.leaf);
      g.members.set(at, m);
      added.push(at);
    }
    g.tree = editor.finish();
    await commit(g, leafIndex(0), added);
  }
  return g;
}

beforeAll(() => {
  suite = nodeCryptoProvider.suite(1);
});

describe('TreeKEM scenarios', () => {
  it('a group of 7 agrees on every commit secret, and its tree validates', async () => {
    const g = await growGroup(7);
    expect(g.tree.memberCount).toBe(7);
    expect(g.tree.leafCount).toBe(8);
    await expectKeysMatch(g);
    // Every member commits once, in turn.
    for (const leaf of [3, 6, 1, 4].map(leafIndex)) await commit(g, leaf);
    await expectKeysMatch(g);
    await validateRatchetTree(g.tree, { groupId, treeHash: await g.tree.treeHash() });
  });

  it('removes blank the path, truncate the tree, and leave unmerged leaves consistent', async () => {
    const g = await growGroup(6);
    const m = await newMember('late');
    const editor = g.tree.edit();
    const at = editor.addLeaf(m.leaf);
    expect(at).toBe(6);
    const afterAdd = editor.finish();
    // Leaf 6 sits unmerged under the root, which leaf 0's last commit set.
    expect(afterAdd.parentNode(afterAdd.root)?.unmergedLeaves).toEqual([6]);
    expect(afterAdd.resolution(afterAdd.root).map(Number)).toEqual([7, 12]);
    expect(afterAdd.filteredDirectPath(leafIndex(0)).map(Number)).toEqual([1, 3, 7]);
    await validateRatchetTree(afterAdd, { groupId });

    const shrink = afterAdd.edit().removeLeaf(leafIndex(6)).removeLeaf(leafIndex(5)).removeLeaf(leafIndex(4)).finish();
    expect(shrink.leafCount).toBe(4);
    expect(shrink.toNodes().length).toBe(7);
    // The old left child (node 3, set by leaf 0's commits) becomes the root and keeps its key.
    expect(shrink.root).toBe(3);
    expect(shrink.isBlank(shrink.root)).toBe(false);
    expect(afterAdd.leafCount).toBe(8);
    await validateRatchetTree(shrink, { groupId });
  });

  it('memoised tree hashes equal a fresh computation after edits', async () => {
    const g = await growGroup(5);
    await commit(g, leafIndex(2));
    const edited = g.tree.edit().removeLeaf(leafIndex(1)).finish();
    const fresh = PublicTree.fromNodes(suite, decode(decodeRatchetTree, encode(encodeRatchetTree, edited.toNodes())));
    for (let x = 0; x < edited.nodeCount; x++) {
      expect(toHex(await edited.nodeTreeHash(nodeIndex(x)))).toBe(toHex(await fresh.nodeTreeHash(nodeIndex(x))));
    }
  });

  it('editing returns a new tree and leaves the input unchanged', async () => {
    const g = await growGroup(4);
    const bytesBefore = toHex(encode(encodeRatchetTree, g.tree.toNodes()));
    const hashBefore = toHex(await g.tree.treeHash());
    const before = g.tree;
    await commit(g, leafIndex(1));
    const removed = before.edit().removeLeaf(leafIndex(3)).finish();
    expect(toHex(await removed.treeHash())).not.toBe(hashBefore);
    expect(toHex(encode(encodeRatchetTree, before.toNodes()))).toBe(bytesBefore);
    expect(toHex(await before.treeHash())).toBe(hashBefore);
    const editor = before.edit();
    editor.finish();
    expect(() => editor.removeLeaf(leafIndex(0))).toThrow(expect.objectContaining({ code: 'editor-finished' }));
  });
});

describe('a tampered tree is refused', () => {
  let valid: PublicTree;
  let nodes: (Node | undefined)[];

  beforeAll(async () => {
    const g = await growGroup(5);
    await commit(g, leafIndex(3));
    valid = g.tree;
    nodes = valid.toNodes();
    await validateRatchetTree(valid, { groupId });
  });

  const withNode = (x: number, node: Node | undefined): PublicTree => {
    const copy = nodes.slice();
    copy[x] = node;
    return PublicTree.fromNodes(suite, copy);
  };
  const parentAt = (x: number): ParentNode => {
    const n = nodes[x];
    if (n?.nodeType !== NodeType.parent) throw new Error(`node ${x} is not a parent`);
    return n.parentNode;
  };
  const leafAt = (x: number): LeafNode => {
    const n = nodes[x];
    if (n?.nodeType !== NodeType.leaf) throw new Error(`node ${x} is not a leaf`);
    return n.leafNode;
  };
  const flip = (b: Uint8Array): Uint8Array => {
    const c = b.slice();
    c[c.length - 1]! ^= 1;
    return c;
  };

  it('with a wrong tree hash', async () => {
    await expect(validateRatchetTree(valid, { groupId, treeHash: flip(await valid.treeHash()) })).rejects.toMatchObject({ code: 'tree-hash-mismatch', kind: 'validation' });
  });

  it('with a parent node whose key was swapped', async () => {
    const p = parentAt(valid.root);
    const other = await suite.hpke.generateKeyPair();
    const tree = withNode(valid.root, { nodeType: NodeType.parent, parentNode: { ...p, encryptionKey: other.publicKey } });
    await expect(validateRatchetTree(tree, { groupId })).rejects.toMatchObject({ code: 'parent-hash-mismatch' });
  });

  it('with a parent node whose parent_hash was changed', async () => {
    const x = [1, 3, 5].find((i) => nodes[i] !== undefined)!;
    const p = parentAt(x);
    const tree = withNode(x, { nodeType: NodeType.parent, parentNode: { ...p, parentHash: flip(p.parentHash) } });
    await expect(validateRatchetTree(tree, { groupId })).rejects.toMatchObject({ code: 'parent-hash-mismatch' });
  });

  it('with a forged leaf signature', async () => {
    const leaf = leafAt(2);
    const tree = withNode(2, { nodeType: NodeType.leaf, leafNode: { ...leaf, signature: flip(leaf.signature) } });
    await expect(validateRatchetTree(tree, { groupId })).rejects.toMatchObject({ code: 'invalid-leaf-signature' });
  });

  it('with a commit leaf checked against another group', async () => {
    await expect(validateRatchetTree(valid, { groupId: utf8Bytes('another group') })).rejects.toMatchObject({ code: 'invalid-leaf-signature' });
  });

  it('with an unmerged leaf that is not below its parent', () => {
    const p = parentAt(valid.root);
    const tree = withNode(valid.root, { nodeType: NodeType.parent, parentNode: { ...p, unmergedLeaves: [leafIndex(40)] } });
    expect(() => {
      tree.verifyStructure();
    }).toThrow(expect.objectContaining({ code: 'invalid-unmerged-leaf' }));
  });

  it('with an encryption key used twice', () => {
    const a = leafAt(0);
    const b = leafAt(2);
    const tree = withNode(2, { nodeType: NodeType.leaf, leafNode: { ...b, encryptionKey: a.encryptionKey } });
    expect(() => {
      tree.verifyStructure();
    }).toThrow(expect.objectContaining({ code: 'duplicate-encryption-key' }));
  });

  it('with trailing blank nodes or a node in the wrong position', () => {
    expect(() => PublicTree.fromNodes(suite, [...nodes, undefined])).toThrow(expect.objectContaining({ code: 'tree-not-truncated' }));
    expect(() => PublicTree.fromNodes(suite, [nodes[0], nodes[0]!, nodes[0]])).toThrow(expect.objectContaining({ code: 'leaf-at-parent-position' }));
    expect(() => PublicTree.fromNodes(suite, [])).toThrow(expect.objectContaining({ code: 'empty-tree' }));
  });
});

describe('a tampered UpdatePath is refused', () => {
  let g: Group;
  let updatePath: UpdatePath;
  let path: GeneratedPath;
  const committer = leafIndex(1);

  beforeAll(async () => {
    g = await growGroup(6);
    path = await generateUpdatePath({ tree: g.tree, leafIndex: committer, groupId, signaturePrivateKey: g.members.get(1)!.signaturePrivateKey });
    updatePath = await encryptUpdatePath(path, context(await path.tree.treeHash(), 9n));
  });

  it('when a path key was replaced', async () => {
    const other = await suite.hpke.generateKeyPair();
    const nodes = updatePath.nodes.map((n, i) => (i === 1 ? { ...n, encryptionKey: other.publicKey } : n));
    await expect(mergeUpdatePath(g.tree, committer, { ...updatePath, nodes }, groupId)).rejects.toMatchObject({ code: 'parent-hash-mismatch' });
  });

  it('when its leaf signature is forged, or it has the wrong number of nodes', async () => {
    const leafNode = { ...updatePath.leafNode, signature: updatePath.leafNode.signature.map((b, i) => (i === 0 ? b ^ 1 : b)) };
    await expect(mergeUpdatePath(g.tree, committer, { ...updatePath, leafNode }, groupId)).rejects.toMatchObject({ code: 'invalid-leaf-signature' });
    await expect(mergeUpdatePath(g.tree, committer, { ...updatePath, nodes: updatePath.nodes.slice(1) }, groupId)).rejects.toMatchObject({ code: 'update-path-length' });
  });

  it('when it reuses a key already in the tree', async () => {
    const existing = g.tree.leaf(leafIndex(4))!.encryptionKey;
    const nodes = updatePath.nodes.map((n, i) => (i === 0 ? { ...n, encryptionKey: existing } : n));
    await expect(mergeUpdatePath(g.tree, committer, { ...updatePath, nodes }, groupId)).rejects.toMatchObject({ code: 'duplicate-encryption-key' });
  });

  it('when decrypted under another GroupContext, or with a swapped ciphertext', async () => {
    const merged = await mergeUpdatePath(g.tree, committer, updatePath, groupId);
    const receiver = g.keys.get(4)!;
    await expect(decryptUpdatePath(merged, receiver, context(await path.tree.treeHash(), 10n))).rejects.toMatchObject({ code: 'path-secret-decrypt-failed' });
    const ctx = context(await path.tree.treeHash(), 9n);
    const ok = await decryptUpdatePath(merged, receiver, ctx);
    expect(toHex(ok.commitSecret.bytes)).toBe(toHex(path.commitSecret.bytes));
    const top = updatePath.nodes.length - 1;
    const other = await encryptUpdatePath({ ...path, steps: path.steps.map((s) => ({ ...s, pathSecret: path.steps[0]!.pathSecret })) }, ctx);
    const nodes = updatePath.nodes.map((n, i) => (i === top ? other.nodes[top]! : n));
    const forged = { ...merged, updatePath: { ...updatePath, nodes } };
    await expect(decryptUpdatePath(forged, receiver, ctx)).rejects.toMatchObject({ code: 'path-key-mismatch' });
  });

  it('a joiner refuses a path secret that does not give the tree keys', async () => {
    const m = g.members.get(5)!;
    await expect(joinerPrivateKeys(path.tree, leafIndex(5), m.leafPrivateKey, committer, suite.randomBytes(32))).rejects.toMatchObject({ code: 'path-key-mismatch' });
  });
});

describe('private key material does not print', () => {
  it('TreePrivateKeys and generated path secrets show placeholders', async () => {
    const g = await growGroup(3);
    const { path } = await commit(g, leafIndex(1));
    const secrets = [path.commitSecret.bytes, ...path.steps.map((s) => s.pathSecret.bytes)];
    for (const [, k] of path.privateKeys.entries()) secrets.push(k.bytes);
    const shown = [inspect(path, { depth: 10 }), JSON.stringify(path), String(path.privateKeys), inspect(g.keys, { depth: 10 })].join('\n');
    for (const s of secrets) {
      expect(shown).not.toContain(toHex(s));
      expect(shown).not.toContain(Buffer.from(s).toString('base64'));
    }
    expect(shown).toContain('[secret]');
    expect(path.privateKeys.has(leafToNode(leafIndex(1)))).toBe(true);
  });
});
