// RFC 9420 §12.4 Commit: the proposals it applies (inline or by reference) and an
// optional UpdatePath.

import type { Decoder, Encoder } from '../codec/index.js';
import { decodeProposalOrRef, encodeProposalOrRef, type ProposalOrRef } from './proposal.js';
import { decodeUpdatePath, encodeUpdatePath, type UpdatePath } from './ratchet-tree.js';

/** `struct { ProposalOrRef proposals<V>; optional<UpdatePath> path; } Commit`. */
export interface Commit {
  readonly proposals: readonly ProposalOrRef[];
  readonly path: UpdatePath | undefined;
}

export const encodeCommit: Encoder<Commit> = (w, c) => {
  w.vector(c.proposals, encodeProposalOrRef);
  w.optional(c.path, encodeUpdatePath);
};

export const decodeCommit: Decoder<Commit> = (r) => ({
  proposals: r.vector(decodeProposalOrRef),
  path: r.optional(decodeUpdatePath),
});
