// tree-validation.json (RFC 9420 §4.1.1, §7.8, §7.9.2, §7.2): for a received tree,
// each node's resolution and tree hash, every parent node parent-hash valid, and
// every leaf's signature valid with `group_id` as context.
import { decode } from '../../src/codec/index.js';
import { decodeRatchetTree } from '../../src/messages/ratchet-tree.js';
import { PublicTree } from '../../src/tree/public-tree.js';
import { validateRatchetTree } from '../../src/tree/validate.js';
import { nodeIndex } from '../../src/util/brand.js';
import { expectBytes, expectEqual, hex, PASSED, suiteOrSkip, type VectorKind } from './harness.js';

interface Case {
  cipher_suite: number;
  tree: string;
  group_id: string;
  tree_hashes: string[];
  resolutions: number[][];
}

const kind: VectorKind<Case> = {
  describe: (c, i) => `case ${i} (suite ${c.cipher_suite}, ${c.tree_hashes.length} nodes)`,
  async run(c, provider) {
    const suite = suiteOrSkip(provider, c.cipher_suite);
    const tree = PublicTree.fromNodes(suite, decode(decodeRatchetTree, hex(c.tree)));
    expectEqual(tree.nodeCount, c.tree_hashes.length, 'node count');
    for (let x = 0; x < tree.nodeCount; x++) {
      expectEqual(tree.resolution(nodeIndex(x)).join(','), c.resolutions[x]!.join(','), `resolution(${x})`);
      expectBytes(await tree.nodeTreeHash(nodeIndex(x)), c.tree_hashes[x]!, `tree hash(${x})`);
    }
    await validateRatchetTree(tree, { groupId: hex(c.group_id), treeHash: hex(c.tree_hashes[tree.root]!) });
    return PASSED;
  },
};
export default kind;
