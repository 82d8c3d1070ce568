// treekem.json (RFC 9420 §7.4–§7.6, §7.9): load the private leaves (their leaf key
// and the path secrets they know); for each `update_paths` entry merge the
// UpdatePath (its leaf's parent hash checks, every parent node parent-hash valid,
// tree hash `tree_hash_after`), and every other private leaf decrypts its
// `path_secrets` entry and the `commit_secret`. Then one private leaf generates a fresh
// UpdatePath that every other private leaf processes to the same commit secret.
import { decode, encode } from '../../src/codec/index.js';
import type { CipherSuite } from '../../src/crypto/provider.js';
import { encodeGroupContext } from '../../src/messages/group-context.js';
import { decodeRatchetTree, decodeUpdatePath, encodeUpdatePath } from '../../src/messages/ratchet-tree.js';
import { leafToNode } from '../../src/tree/math.js';
import { TreePrivateKeys, type HpkePrivateKey } from '../../src/tree/private.js';
import { PublicTree } from '../../src/tree/public-tree.js';
import { decryptUpdatePath, deriveNodeKeyPair, encryptUpdatePath, generateUpdatePath, mergeUpdatePath } from '../../src/tree/treekem.js';
import { leafIndex, nodeIndex, type NodeIndex } from '../../src/util/brand.js';
import { Secret } from '../../src/util/secret.js';
import { expectBytes, expectEqual, hex, PASSED, suiteOrSkip, type VectorKind } from './harness.js';

interface LeafPrivate {
  index: number;
  encryption_priv: string;
  signature_priv: string;
  path_secrets: { node: number; path_secret: string }[];
}

interface Case {
  cipher_suite: number;
  group_id: string;
  epoch: number;
  confirmed_transcript_hash: string;
  ratchet_tree: string;
  leaves_private: LeafPrivate[];
  update_paths: {
    sender: number;
    update_path: string;
    path_secrets: (string | null)[];
    commit_secret: string;
    tree_hash_after: string;
  }[];
}

async function privateKeys(suite: CipherSuite, leaf: LeafPrivate): Promise<TreePrivateKeys> {
  const keys = new Map<NodeIndex, HpkePrivateKey>([[leafToNode(leafIndex(leaf.index)), new Secret(hex(leaf.encryption_priv))]]);
  for (const ps of leaf.path_secrets) keys.set(nodeIndex(ps.node), (await deriveNodeKeyPair(suite, hex(ps.path_secret))).privateKey);
  return new TreePrivateKeys(leafIndex(leaf.index), keys);
}

const kind: VectorKind<Case> = {
  describe: (c, i) => `case ${i} (suite ${c.cipher_suite}, ${c.leaves_private.length} private leaves)`,
  async run(c, provider) {
    const suite = suiteOrSkip(provider, c.cipher_suite);
    const groupId = hex(c.group_id);
    const tree = PublicTree.fromNodes(suite, decode(decodeRatchetTree, hex(c.ratchet_tree)));
    const own = await Promise.all(c.leaves_private.map((l) => privateKeys(suite, l)));
    const groupContext = (treeHash: Uint8Array): Uint8Array =>
      encode(encodeGroupContext, {
        version: 1,
        cipherSuite: c.cipher_suite,
        groupId,
        epoch: BigInt(c.epoch),
        treeHash,
        confirmedTranscriptHash: hex(c.confirmed_transcript_hash),
        extensions: [],
      });

    for (const [u, up] of c.update_paths.entries()) {
      const sender = leafIndex(up.sender);
      const merged = await mergeUpdatePath(tree, sender, decode(decodeUpdatePath, hex(up.update_path)), groupId);
      expectBytes(await merged.tree.treeHash(), up.tree_hash_after, `update_paths[${u}] tree_hash_after`);
      await merged.tree.verifyParentHashes();
      const ctx = groupContext(hex(up.tree_hash_after));
      for (const keys of own) {
        if (keys.leafIndex === sender) continue;
        const got = await decryptUpdatePath(merged, keys, ctx);
        const expected = up.path_secrets[keys.leafIndex];
        if (expected === null || expected === undefined) throw new Error(`update_paths[${u}]: no path secret listed for leaf ${keys.leafIndex}`);
        expectBytes(got.pathSecret.bytes, expected, `update_paths[${u}] path secret of leaf ${keys.leafIndex}`);
        expectBytes(got.commitSecret.bytes, up.commit_secret, `update_paths[${u}] commit secret at leaf ${keys.leafIndex}`);
      }
    }

    // A fresh UpdatePath from one private leaf (which one varies between cases),
    // processed by all the others.
    {
      const s = c.epoch % c.leaves_private.length;
      const sender = c.leaves_private[s]!;
      const generated = await generateUpdatePath({ tree, leafIndex: leafIndex(sender.index), groupId, signaturePrivateKey: hex(sender.signature_priv) });
      await generated.tree.verifyParentHashes();
      const treeHash = await generated.tree.treeHash();
      const ctx = groupContext(treeHash);
      const wire = encode(encodeUpdatePath, await encryptUpdatePath(generated, ctx));
      const merged = await mergeUpdatePath(tree, leafIndex(sender.index), decode(decodeUpdatePath, wire), groupId);
      expectBytes(await merged.tree.treeHash(), Buffer.from(treeHash).toString('hex'), `fresh path ${s}: merged tree hash`);
      for (const [r, keys] of own.entries()) {
        if (r === s) continue;
        const got = await decryptUpdatePath(merged, keys, ctx);
        expectEqual(Buffer.from(got.commitSecret.bytes).toString('hex'), Buffer.from(generated.commitSecret.bytes).toString('hex'), `fresh path ${s}: commit secret at leaf ${keys.leafIndex}`);
        // The receiver now holds the keys of every path node above the one it decrypted.
        for (const step of generated.steps) {
          if (got.privateKeys.has(step.node)) {
            const mine = await suite.hpke.publicKeyOf(got.privateKeys.privateKey(step.node)!.bytes);
            expectBytes(mine, Buffer.from(step.encryptionKey).toString('hex'), `fresh path ${s}: key of node ${step.node} at leaf ${keys.leafIndex}`);
          }
        }
      }
    }
    return PASSED;
  },
};
export default kind;
