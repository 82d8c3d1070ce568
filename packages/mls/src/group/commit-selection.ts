// RFC 9420 §12.2 (the committer's choices) and §12.4.1: which of the proposals received
// this epoch a committer includes by reference, so that the list it commits passes the
// proposal list validation every member runs. Received proposals that could not be
// committed together are left out, deterministically, as §12.2 says:
//
// - an Update from the committer (its UpdatePath refreshes its leaf instead);
// - a Remove of the committer (another member must commit it);
// - for one leaf, every Update once a Remove of it is included ("prefer any Remove"),
//   else all Updates but the most recently received; a second Remove of that leaf;
// - a second Add of a client (same client, signature key or encryption key), and an Add
//   of a member that stays in the group;
// - a second PreSharedKey proposal naming the same PSK;
// - all but the most recently received GroupContextExtensions;
// - a ReInit when anything else is committed (it can be sent again in the next epoch),
//   and all but the most recently received ReInit otherwise.
//
// The proposals given by value are the caller's own and are never left out: a received
// proposal that conflicts with one of them yields to it. A client is recognised by its
// credential and config.clientKey; config.isSameClient is not asked here (pair by pair),
// so an Add it would refuse still fails createCommit with duplicate-member.

import { encode } from '../codec/index.js';
import { SenderType } from '../messages/framing.js';
import { encodePreSharedKeyID, ProposalType, type Proposal } from '../messages/proposal.js';
import { KeySet } from '../tree/public-tree.js';
import { toHex } from '../util/bytes.js';
import { clientIds } from './proposals.js';
import type { CachedProposal, GroupState } from './state.js';

/** Why a received proposal was left out of our commit (§12.2). */
export type OmitReason =
  | 'duplicate-reference'
  | 'own-update'
  | 'removes-committer'
  | 'leaf-removed'
  | 'superseded-update'
  | 'duplicate-remove'
  | 'duplicate-add'
  | 'already-member'
  | 'duplicate-psk'
  | 'superseded-group-context-extensions'
  | 'reinit-with-other-proposals'
  | 'superseded-reinit'
  // Fails its own checks (a forged key package, a leaf node that does not validate…): `error` says which.
  | 'invalid';

export interface OmittedProposal {
  readonly ref: Uint8Array;
  readonly reason: OmitReason;
  /** For `invalid`: the ValidationError code the proposal failed with. */
  readonly error?: string;
}

export interface ProposalSelection {
  /** The received proposals to commit by reference, in the order asked for. */
  readonly included: readonly CachedProposal[];
  /** The others, in the order asked for. */
  readonly omitted: readonly OmittedProposal[];
}

type Kind<T extends Proposal['proposalType']> = Extract<Proposal, { proposalType: T }>;

const pskKey = (p: Kind<typeof ProposalType.psk>): string => toHex(encode(encodePreSharedKeyID, { ...p.psk.psk, pskNonce: new Uint8Array(0) }));

/**
 * §12.2: the subset of `candidates` (received proposals, in the order the caller asked
 * for them) that `state`'s member can commit together with `byValue`, and why each other
 * one is left out. Received order (state.proposals) decides which is "most recent".
 */
export function selectProposals(state: GroupState, candidates: readonly CachedProposal[], byValue: readonly Proposal[]): ProposalSelection {
  const omitted: (OmittedProposal & { readonly at: number })[] = [];
  const position = new Map<CachedProposal, number>();
  for (const [i, c] of candidates.entries()) if (!position.has(c)) position.set(c, i);
  const out = new Set<CachedProposal>();
  const omit = (c: CachedProposal, reason: OmitReason): void => {
    if (out.has(c)) return;
    out.add(c);
    omitted.push({ ref: c.ref, reason, at: position.get(c)! });
  };
  const receivedAt = new Map<CachedProposal, number>(state.proposals.map((c, i) => [c, i]));
  const newest = (list: readonly CachedProposal[]): CachedProposal | undefined =>
    list.reduce<CachedProposal | undefined>((best, c) => (best === undefined || receivedAt.get(c)! > receivedAt.get(best)! ? c : best), undefined);

  const seenRefs = new Set<string>();
  const unique: CachedProposal[] = [];
  for (const [at, c] of candidates.entries()) {
    const key = toHex(c.ref);
    if (seenRefs.has(key)) {
      // The same proposal asked for twice: the later copy is left out, not the first.
      omitted.push({ ref: c.ref, reason: 'duplicate-reference', at });
      continue;
    }
    seenRefs.add(key);
    unique.push(c);
  }
  const of = <T extends Proposal['proposalType']>(t: T): (CachedProposal & { proposal: Kind<T> })[] =>
    unique.filter((c): c is CachedProposal & { proposal: Kind<T> } => c.proposal.proposalType === t);
  const ownLeaf = state.ownLeaf;

  // Removes first: they decide what happens to the Updates and Adds.
  const removed = new Set<number>();
  for (const p of byValue) if (p.proposalType === ProposalType.remove) removed.add(p.remove.removed);
  for (const c of of(ProposalType.remove)) {
    const leaf = c.proposal.remove.removed;
    if (leaf === ownLeaf) omit(c, 'removes-committer');
    else if (removed.has(leaf)) omit(c, 'duplicate-remove');
    else removed.add(leaf);
  }

  // Updates: none from us, none for a removed leaf, the newest one per leaf.
  const updatesByLeaf = new Map<number, CachedProposal[]>();
  for (const c of of(ProposalType.update)) {
    const sender = c.sender;
    const leaf = sender.senderType === SenderType.member ? sender.leafIndex : undefined;
    if (leaf === undefined) continue; // not a member's Update: invalid, left to validation
    if (leaf === ownLeaf) omit(c, 'own-update');
    else if (removed.has(leaf)) omit(c, 'leaf-removed');
    else updatesByLeaf.set(leaf, [...(updatesByLeaf.get(leaf) ?? []), c]);
  }
  for (const list of updatesByLeaf.values()) {
    const keep = newest(list);
    for (const c of list) if (c !== keep) omit(c, 'superseded-update');
  }

  // Adds: our own (by value) first, then the received ones in order; the first Add of a
  // client or key wins, and a client that stays a member is not added again.
  const receivedAdds = of(ProposalType.add);
  const members = new Set<string>();
  const memberKeys = new KeySet();
  // Only when there is a received Add to check (config.clientKey is asked per member).
  if (receivedAdds.length > 0) {
    for (const [i, leaf] of state.tree.leaves()) {
      if (removed.has(i)) continue;
      for (const id of clientIds(state.config, leaf.credential)) members.add(id);
      memberKeys.add(leaf.signatureKey);
    }
  }
  const addClients = new Set<string>();
  const addSignatureKeys = new KeySet();
  const addEncryptionKeys = new KeySet();
  const claim = (p: Kind<typeof ProposalType.add>): 'duplicate-add' | 'already-member' | undefined => {
    const leaf = p.add.keyPackage.leafNode;
    const ids = clientIds(state.config, leaf.credential);
    if (ids.some((id) => members.has(id)) || memberKeys.has(leaf.signatureKey)) return 'already-member';
    if (ids.some((id) => addClients.has(id)) || addSignatureKeys.has(leaf.signatureKey) || addEncryptionKeys.has(leaf.encryptionKey)) return 'duplicate-add';
    for (const id of ids) addClients.add(id);
    addSignatureKeys.add(leaf.signatureKey);
    addEncryptionKeys.add(leaf.encryptionKey);
    return undefined;
  };
  if (receivedAdds.length > 0) for (const p of byValue) if (p.proposalType === ProposalType.add) claim(p);
  for (const c of receivedAdds) {
    const refused = claim(c.proposal);
    if (refused !== undefined) omit(c, refused);
  }

  // PSKs: one per PreSharedKeyID (nonces aside, as validation compares them).
  const psks = new Set<string>();
  for (const p of byValue) if (p.proposalType === ProposalType.psk) psks.add(pskKey(p));
  for (const c of of(ProposalType.psk)) {
    const key = pskKey(c.proposal);
    if (psks.has(key)) omit(c, 'duplicate-psk');
    else psks.add(key);
  }

  // GroupContextExtensions: ours if we give one, else the newest received.
  const gces = of(ProposalType.group_context_extensions);
  const ownGce = byValue.some((p) => p.proposalType === ProposalType.group_context_extensions);
  const keepGce = ownGce ? undefined : newest(gces);
  for (const c of gces) if (c !== keepGce) omit(c, 'superseded-group-context-extensions');

  // ReInit: only alone; the other proposals are preferred.
  const reinits = of(ProposalType.reinit);
  if (reinits.length > 0) {
    const others = byValue.length > 0 || unique.some((c) => c.proposal.proposalType !== ProposalType.reinit && !out.has(c));
    const keepReinit = others ? undefined : newest(reinits);
    for (const c of reinits) if (c !== keepReinit) omit(c, others ? 'reinit-with-other-proposals' : 'superseded-reinit');
  }

  omitted.sort((x, y) => x.at - y.at);
  return { included: unique.filter((c) => !out.has(c)), omitted: omitted.map(({ ref, reason }) => ({ ref, reason })) };
}
