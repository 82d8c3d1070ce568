// RFC 9420 §12.4.2 (second half) and §8: from a commit's new tree, GroupContext
// extensions and commit secret to the next epoch — transcript hashes, key schedule,
// confirmation tag — shared by the committer (§12.4.1) and every receiver (§12.4.2).

import { encode } from '../codec/index.js';
import { InternalError, ValidationError } from '../errors.js';
import { encodeFramedContent, type FramedContent, type WireFormat } from '../messages/framing.js';
import { encodeGroupContext, type GroupContext } from '../messages/group-context.js';
import type { Extension } from '../messages/extension.js';
import type { PreSharedKeyID, ReInit } from '../messages/proposal.js';
import { runKeySchedule, zeroSecret, type KeyScheduleEpoch } from '../schedule/key-schedule.js';
import { asSecret, type CommitSecret } from '../schedule/secrets.js';
import { confirmationTag, confirmedTranscriptHashOf, nextInterimTranscriptHash } from '../schedule/transcript.js';
import type { PublicTree } from '../tree/public-tree.js';
import type { TreePrivateKeys } from '../tree/private.js';
import type { LeafIndex } from '../util/brand.js';
import { constantTimeEqual } from '../util/bytes.js';
import { epochKeysFrom, pskSecretFor, type PskSource } from './epoch.js';
import { resumptionPskEpochCount, retainedEpochCount, type GroupState, type RetainedEpoch } from './state.js';

export interface EpochChange {
  readonly tree: PublicTree;
  readonly extensions: readonly Extension[];
  readonly psks: readonly PreSharedKeyID[];
  /** The commit secret from the UpdatePath; all-zero when the commit has none. */
  readonly commitSecret: CommitSecret | undefined;
  readonly privateKeys: TreePrivateKeys;
  readonly ownLeaf: LeafIndex;
  /** The commit's framing, for the confirmed transcript hash. */
  readonly wireFormat: WireFormat;
  readonly content: FramedContent;
  /** `content` encoded, when the caller has it (a received PublicMessage holds it); encoded here otherwise. */
  readonly contentBytes?: Uint8Array | undefined;
  readonly signature: Uint8Array;
  /** The received confirmation tag to check; absent when we are the committer (we compute it). */
  readonly confirmationTag?: Uint8Array | undefined;
  /** For an external commit: init_secret from the ExternalInit instead of the epoch's. */
  readonly initSecretOverride?: Uint8Array | undefined;
  /** §11.2: the committed ReInit; the new epoch then only serves the re-initialisation. */
  readonly reinit?: ReInit | undefined;
  /** §11.2: the old group whose reinit PSK the new group's first commit names. */
  readonly resumeFrom?: PskSource | undefined;
}

export interface NextEpoch {
  readonly state: GroupState;
  readonly schedule: KeyScheduleEpoch;
  readonly confirmationTag: Uint8Array;
}

/** The state a commit starts from; `keys` is absent for an external joiner (§12.4.3.2), who knows no secret of the old epoch. */
export type EpochBefore = Omit<GroupState, 'keys'> & { readonly keys: GroupState['keys'] | undefined };

export async function advanceEpoch(state: EpochBefore, change: EpochChange): Promise<NextEpoch> {
  const { suite } = state;
  const contentBytes = change.contentBytes ?? encode(encodeFramedContent, change.content);
  const confirmed = await confirmedTranscriptHashOf(suite, state.interimTranscriptHash, change.wireFormat, contentBytes, change.signature);
  const groupContext: GroupContext = {
    ...state.groupContext,
    epoch: state.groupContext.epoch + 1n,
    treeHash: await change.tree.treeHash(),
    confirmedTranscriptHash: confirmed,
    extensions: change.extensions,
  };
  const groupContextBytes = encode(encodeGroupContext, groupContext);
  const pskSecret = await pskSecretFor(suite, change.psks, state.config, state, change.resumeFrom);
  const commitSecret = change.commitSecret ?? asSecret<'commit_secret'>(zeroSecret(suite));
  const initSecret = change.initSecretOverride !== undefined ? asSecret<'init_secret'>(change.initSecretOverride) : state.keys?.initSecret;
  if (initSecret === undefined) throw new InternalError('no-init-secret', 'an external commit needs the init secret from its ExternalInit');
  const schedule = await runKeySchedule(suite, { initSecret, commitSecret, pskSecret, groupContext: groupContextBytes });
  pskSecret.destroy();
  const tag = await confirmationTag(suite, schedule.confirmationKey, confirmed);
  if (change.confirmationTag !== undefined && !constantTimeEqual(tag, change.confirmationTag)) {
    throw new ValidationError('invalid-confirmation-tag', 'the commit confirmation tag does not verify');
  }
  const interim = await nextInterimTranscriptHash(suite, confirmed, tag);
  const keys = epochKeysFrom(suite, schedule, change.tree.leafCount, state.config);
  const retained: RetainedEpoch[] = [];
  const keep = retainedEpochCount(state.config);
  if (keep > 0 && state.keys !== undefined) {
    const signatureKeys = new Map<number, Uint8Array>();
    for (const [i, leaf] of state.tree.leaves()) signatureKeys.set(i, leaf.signatureKey);
    retained.push({
      epoch: state.groupContext.epoch,
      senderDataSecret: state.keys.senderDataSecret,
      secretTree: state.keys.secretTree,
      groupContext: state.groupContext,
      signatureKeys,
    });
    retained.push(...state.retained.slice(0, keep - 1));
  }
  const next: GroupState = {
    suite,
    config: state.config,
    groupContext,
    groupContextBytes,
    tree: change.tree,
    ownLeaf: change.ownLeaf,
    privateKeys: change.privateKeys.prune(change.tree),
    signaturePrivateKey: state.signaturePrivateKey,
    interimTranscriptHash: interim,
    confirmationTag: tag,
    keys,
    proposals: [],
    resumptionPsks: state.keys === undefined ? [] : [{ epoch: state.groupContext.epoch, psk: state.keys.resumptionPsk }, ...state.resumptionPsks].slice(0, resumptionPskEpochCount(state.config)),
    retained,
    ...(change.reinit === undefined ? {} : { reinit: change.reinit }),
  };
  return { state: next, schedule, confirmationTag: tag };
}
