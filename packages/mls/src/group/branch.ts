// RFC 9420 §11.3 Subgroup branching: a member starts a new group (new group id, the old
// group's version and cipher suite) with some of the old group's members. Its first
// commit adds them by fresh key packages together with a PreSharedKey proposal of
// psktype resumption, usage branch, naming the old group at its current epoch (with a
// fresh KDF.Nh nonce). Each member joins with joinFromWelcome({ ..., branchFrom: its
// state of the old group }), which checks the PSK, the parameters and that every member
// of the subgroup is a member of the old group.

import type { CryptoProvider } from '../crypto/provider.js';
import { UsageError } from '../errors.js';
import type { Extension } from '../messages/extension.js';
import type { KeyPackage } from '../messages/key-package.js';
import { ProposalType, PSKType, ResumptionPSKUsage, type Proposal } from '../messages/proposal.js';
import { createCommit, type CreatedCommit } from './commit.js';
import { createGroup } from './create.js';
import type { GroupState } from './state.js';

export interface BranchGroupParams {
  readonly provider: CryptoProvider;
  /** The subgroup's id; must differ from the old group's. */
  readonly groupId: Uint8Array;
  /** Fresh key packages of the members to bring along (each a member of the old group). */
  readonly keyPackages: readonly KeyPackage[];
  /** GroupContext extensions of the subgroup; the old group's by default. */
  readonly extensions?: readonly Extension[];
}

/**
 * §11.3: the subgroup (at epoch 0, before its first commit is merged) and its first
 * commit — Adds and the branch PSK — whose `welcome` goes to the members. Merge
 * `created.pending` once the delivery service accepts it. Refused: a group id equal to
 * the old one (UsageError 'not-a-branch'), a key package of someone not in the old group
 * (ValidationError 'branch-membership-mismatch').
 */
export async function branchGroup(old: GroupState, p: BranchGroupParams): Promise<{ state: GroupState; created: CreatedCommit }> {
  const own = old.tree.leaf(old.ownLeaf);
  if (own === undefined) throw new UsageError('not-a-member', 'our leaf in the old group is blank');
  const state = await createGroup({
    provider: p.provider,
    suite: old.suite.id,
    groupId: p.groupId,
    extensions: p.extensions ?? old.groupContext.extensions,
    credential: own.credential,
    signatureKey: { publicKey: own.signatureKey, privateKey: old.signaturePrivateKey.bytes },
    capabilities: own.capabilities,
    leafExtensions: own.extensions,
    config: old.config,
  });
  const psk: Proposal = {
    proposalType: ProposalType.psk,
    psk: {
      psk: {
        psktype: PSKType.resumption,
        usage: ResumptionPSKUsage.branch,
        pskGroupId: old.groupContext.groupId,
        pskEpoch: old.groupContext.epoch,
        pskNonce: state.suite.randomBytes(state.suite.kdf.nh),
      },
    },
  };
  const adds: Proposal[] = p.keyPackages.map((keyPackage) => ({ proposalType: ProposalType.add, add: { keyPackage } }));
  const created = await createCommit(state, { proposals: [...adds, psk], branchFrom: old });
  return { state, created };
}
