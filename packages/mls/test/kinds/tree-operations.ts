// tree-operations.json (RFC 9420 §12.1.1–§12.1.3, §7.7): the tree hash of
// `tree_before`; applying `proposal` from leaf `proposal_sender` gives `tree_after`
// byte for byte, with tree hash `tree_hash_after`.
import { decode, encode } from '../../src/codec/index.js';
import { decodeProposal } from '../../src/messages/proposal.js';
import { decodeRatchetTree, encodeRatchetTree } from '../../src/messages/ratchet-tree.js';
import { applyProposalsToTree } from '../../src/tree/proposals.js';
import { PublicTree } from '../../src/tree/public-tree.js';
import { leafIndex } from '../../src/util/brand.js';
import { expectBytes, hex, PASSED, suiteOrSkip, type VectorKind } from './harness.js';

interface Case {
  cipher_suite: number;
  tree_before: string;
  tree_hash_before: string;
  proposal: string;
  proposal_sender: number;
  tree_after: string;
  tree_hash_after: string;
}

const kind: VectorKind<Case> = {
  describe: (c, i) => `case ${i} (suite ${c.cipher_suite}, proposal type ${parseInt(c.proposal.slice(0, 4), 16)})`,
  async run(c, provider) {
    const suite = suiteOrSkip(provider, c.cipher_suite);
    const before = PublicTree.fromNodes(suite, decode(decodeRatchetTree, hex(c.tree_before)));
    expectBytes(await before.treeHash(), c.tree_hash_before, 'tree_hash_before');
    const proposal = decode(decodeProposal, hex(c.proposal));
    const { tree } = applyProposalsToTree(before, [{ proposal, sender: leafIndex(c.proposal_sender) }]);
    expectBytes(encode(encodeRatchetTree, tree.toNodes()), c.tree_after, 'tree_after');
    expectBytes(await tree.treeHash(), c.tree_hash_after, 'tree_hash_after');
    // The input tree is a value: applying proposals must not have changed it.
    expectBytes(encode(encodeRatchetTree, before.toNodes()), c.tree_before, 'tree_before unchanged');
    expectBytes(await before.treeHash(), c.tree_hash_before, 'tree_hash_before unchanged');
    return PASSED;
  },
};
export default kind;
