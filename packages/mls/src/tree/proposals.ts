// RFC 9420 §12.1.1–§12.1.3, §12.3: the tree part of applying a commit's proposals —
// Updates, then Removes, then Adds, each group in list order — as one batch on a
// PublicTree. Validating the leaf nodes against the group's policy (§7.3, §12.2)
// is the group layer's job before it calls this; here only what the tree itself
// needs is checked (the target leaves exist).

import { UsageError } from '../errors.js';
import type { Proposal } from '../messages/proposal.js';
import { ProposalType } from '../messages/proposal.js';
import type { LeafIndex } from '../util/brand.js';
import type { PublicTree } from './public-tree.js';

/** A proposal with the leaf of the member who sent it (an Update applies to its sender's leaf). */
export interface SentProposal {
  readonly proposal: Proposal;
  /** The sender's leaf, for member senders; required for Update. */
  readonly sender?: LeafIndex;
}

export interface TreeAfterProposals {
  readonly tree: PublicTree;
  /** Leaves given to the Adds, in proposal order (§12.4.2: excluded from UpdatePath encryption). */
  readonly addedLeaves: readonly LeafIndex[];
}

/** Applies the tree-changing proposals in §12.3 order; other proposal types are ignored. */
export function applyProposalsToTree(tree: PublicTree, proposals: readonly SentProposal[]): TreeAfterProposals {
  const editor = tree.edit();
  for (const { proposal, sender } of proposals) {
    if (proposal.proposalType !== ProposalType.update) continue;
    if (sender === undefined) throw new UsageError('update-without-sender', 'an Update proposal needs its sender leaf');
    editor.updateLeaf(sender, proposal.update.leafNode);
  }
  for (const { proposal } of proposals) {
    if (proposal.proposalType === ProposalType.remove) editor.removeLeaf(proposal.remove.removed);
  }
  const addedLeaves: LeafIndex[] = [];
  for (const { proposal } of proposals) {
    if (proposal.proposalType === ProposalType.add) addedLeaves.push(editor.addLeaf(proposal.add.keyPackage.leafNode));
  }
  return { tree: editor.finish(), addedLeaves };
}
