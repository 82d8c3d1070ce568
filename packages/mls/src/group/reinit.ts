// RFC 9420 §11.2 Reinitialization, step 3: once a ReInit is committed in the old group,
// a member creates the new group it describes (group id, version, cipher suite,
// extensions) and, in the new group's first commit, adds the other members by their new
// key packages together with a PreSharedKey proposal of psktype resumption, usage reinit,
// naming the old group at the epoch after the ReInit. The Welcome carries that PSK id;
// each member joins with joinFromWelcome({ ..., resumeFrom: its old state }), which
// needs the old group's resumption_psk to open the Welcome — so the new group is bound
// to the old one. Both sides check that the new group has the old group's members
// (§11.2 "the same membership"; group/resumption.ts): createCommit refuses key packages
// that leave a member out or bring an outsider in, and a joiner refuses such a Welcome
// (ValidationError 'reinit-membership-mismatch').

import type { CryptoProvider } from '../crypto/provider.js';
import { UsageError } from '../errors.js';
import type { KeyPackage } from '../messages/key-package.js';
import { ProposalType, PSKType, ResumptionPSKUsage, type Proposal } from '../messages/proposal.js';
import { createCommit, type CreatedCommit } from './commit.js';
import { createGroup, type LeafParams, type SignatureKeyPair } from './create.js';
import type { GroupState } from './state.js';

export interface ReinitGroupParams extends Partial<Pick<LeafParams, 'credential' | 'lifetime' | 'capabilities' | 'leafExtensions'>> {
  /** Offers the ReInit's cipher suite. */
  readonly provider: CryptoProvider;
  /** Key packages of the members to bring over (in the ReInit's cipher suite). */
  readonly keyPackages: readonly KeyPackage[];
  /** Our signature key in the new group; by default the old leaf's (same cipher suite only). */
  readonly signatureKey?: SignatureKeyPair;
}

/**
 * §11.2: the new group (at epoch 0, before its first commit is merged) and its first
 * commit — Adds and the reinit PSK — whose `welcome` goes to the members. Merge
 * `created.pending` once the delivery service accepts it, as for any commit.
 */
export async function reinitGroup(old: GroupState, p: ReinitGroupParams): Promise<{ state: GroupState; created: CreatedCommit }> {
  const reinit = old.reinit;
  if (reinit === undefined) throw new UsageError('group-not-reinitialising', 'the old group has no committed ReInit');
  const own = old.tree.leaf(old.ownLeaf);
  if (own === undefined) throw new UsageError('not-a-member', 'our leaf in the old group is blank');
  if (p.signatureKey === undefined && reinit.cipherSuite !== old.suite.id) {
    throw new UsageError('signature-key-required', 'a ReInit to another cipher suite needs a signature key of that suite');
  }
  const signatureKey = p.signatureKey ?? { publicKey: own.signatureKey, privateKey: old.signaturePrivateKey.bytes };
  const state = await createGroup({
    provider: p.provider,
    suite: reinit.cipherSuite,
    groupId: reinit.groupId,
    extensions: reinit.extensions,
    credential: p.credential ?? own.credential,
    signatureKey,
    config: old.config,
    ...(p.lifetime === undefined ? {} : { lifetime: p.lifetime }),
    ...(p.capabilities === undefined ? {} : { capabilities: p.capabilities }),
    ...(p.leafExtensions === undefined ? {} : { leafExtensions: p.leafExtensions }),
  });
  const psk: Proposal = {
    proposalType: ProposalType.psk,
    psk: {
      psk: {
        psktype: PSKType.resumption,
        usage: ResumptionPSKUsage.reinit,
        pskGroupId: old.groupContext.groupId,
        pskEpoch: old.groupContext.epoch,
        pskNonce: state.suite.randomBytes(state.suite.kdf.nh),
      },
    },
  };
  const adds: Proposal[] = p.keyPackages.map((keyPackage) => ({ proposalType: ProposalType.add, add: { keyPackage } }));
  const created = await createCommit(state, { proposals: [...adds, psk], resumeFrom: old });
  return { state, created };
}
