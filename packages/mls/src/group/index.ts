// RFC 9420 §10–§12: the group layer's public surface.
export type { GroupConfig, GroupState, CredentialValidator, CachedProposal } from './state.js';
export { DEFAULT_RESUMPTION_PSK_EPOCHS, RESUMPTION_PSK_EPOCHS_MAX } from './state.js';
export { generateKeyPackage, createGroup, LAST_RESORT_EXTENSION, type SignatureKeyPair, type GenerateKeyPackageParams, type CreateGroupParams } from './create.js';
export { joinFromWelcome, type JoinFromWelcomeParams, type KeyPackagePrivateKeys } from './welcome.js';
export {
  proposeAdd,
  proposeRemove,
  proposeUpdate,
  proposeExternalPsk,
  proposeResumptionPsk,
  proposeGroupContextExtensions,
  createCommit,
  mergeCommit,
  type Proposed,
  type StagedCommit,
  type CreateCommitOptions,
  type CreatedCommit,
} from './commit.js';
export type { OmittedProposal, OmitReason } from './commit-selection.js';
export { processMessage, type GroupEvent, type Processed } from './process.js';
export { encryptApplication, exportSecret, epochAuthenticator, epochOf } from './application.js';
export { serializeState, deserializeState } from './persist.js';
export { joinExternal, type JoinExternalParams } from './external.js';
export { createExternalProposal, EXTERNAL_PROPOSAL_TYPES, type ExternalProposalParams } from './external-proposal.js';
export { groupInfoOf } from './group-info.js';
export { reinitGroup, type ReinitGroupParams } from './reinit.js';
export { branchGroup, type BranchGroupParams } from './branch.js';
