// RFC 9420 §6.2–§6.3 (receiving), §12.1.8 (external senders), §12.4.2 processing a
// commit: `processMessage(state, bytes)` returns the next state and what happened.

import { decode } from '../codec/index.js';
import { CryptoError, InternalError, UsageError, ValidationError } from '../errors.js';
import { decodeExternalSenders, ExtensionType } from '../messages/extension.js';
import { ContentType, SenderType, WireFormat, type FramedContent, type FramedContentAuthData, type PublicMessage, type Sender } from '../messages/framing.js';
import type { Commit } from '../messages/commit.js';
import { encode } from '../codec/index.js';
import { encodeGroupContext } from '../messages/group-context.js';
import { LeafNodeSource } from '../messages/leaf-node.js';
import { ProposalOrRefType, ProposalType, type Proposal } from '../messages/proposal.js';
import { externalKeyPair } from '../schedule/key-schedule.js';
import type { CommitSecret } from '../schedule/secrets.js';
import { decryptUpdatePath, mergeUpdatePath } from '../tree/treekem.js';
import { leafToNode } from '../tree/math.js';
import type { LeafIndex } from '../util/brand.js';
import { bytesEqual } from '../util/bytes.js';
import { advanceEpoch } from './advance.js';
import { verifyContentSignature, verifyMembershipTag } from '../framing/authentication.js';
import { proposalRef } from './content-auth.js';
import { unprotectPrivateMessage } from './private-message.js';
import { applyContextOf, applyProposals, type ProposalWithSender } from './proposals.js';
import { assertNotReinitialising, type GroupState } from './state.js';
import { validateLeafPolicy } from './validation.js';
import { EXTERNAL_PROPOSAL_TYPES } from './external-proposal.js';
import { decodeMLSMessage, type MLSMessage } from '../messages/mls-message.js';
import { ProtocolVersion } from '../messages/common.js';
import { readApplicationPrivateMessage } from '../framing/wire.js';

export type GroupEvent =
  | { readonly type: 'application'; readonly sender: LeafIndex; readonly data: Uint8Array; readonly authenticatedData: Uint8Array; readonly epoch: bigint }
  | { readonly type: 'proposal'; readonly ref: Uint8Array; readonly proposal: Proposal; readonly sender: Sender }
  | {
      readonly type: 'commit';
      readonly sender: Sender;
      readonly epoch: bigint;
      readonly added: readonly LeafIndex[];
      readonly removed: readonly LeafIndex[];
    }
  /** A commit removed us: the returned state is the old one and should be deleted. */
  | { readonly type: 'removed'; readonly sender: Sender };

export interface Processed {
  readonly state: GroupState;
  readonly event: GroupEvent;
}

/** Decodes an MLSMessage carrying a PublicMessage or PrivateMessage and processes it. */
export async function processMessage(state: GroupState, bytes: Uint8Array): Promise<Processed> {
  assertNotReinitialising(state);
  // Application messages (nearly every message) skip the general decoder.
  const application = bytes instanceof Uint8Array ? readApplicationPrivateMessage(bytes) : undefined;
  const message: MLSMessage =
    application !== undefined ? { version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_private_message, privateMessage: application } : decode(decodeMLSMessage, bytes);
  if (message.wireFormat === WireFormat.mls_public_message) {
    const m = message.publicMessage;
    checkGroupAndEpoch(state, m.content);
    if (m.content.contentType === ContentType.application) {
      throw new ValidationError('application-in-public-message', 'application data must be sent as a PrivateMessage');
    }
    await authenticatePublic(state, m.content, m.auth, m.membershipTag);
    return processContent(state, WireFormat.mls_public_message, m.content, m.auth, publicMessageContentBytes(bytes, m));
  }
  if (message.wireFormat === WireFormat.mls_private_message) {
    // The state without the message's key (§9.2): the one to continue from.
    const { content, auth, epoch, state: unprotected } = await unprotectPrivateMessage(state, message.privateMessage);
    if (content.contentType === ContentType.application) {
      return {
        state: unprotected,
        event: {
          type: 'application',
          sender: (content.sender as { leafIndex: LeafIndex }).leafIndex,
          data: content.applicationData,
          authenticatedData: content.authenticatedData,
          epoch,
        },
      };
    }
    return processContent(unprotected, WireFormat.mls_private_message, content, auth);
  }
  throw new UsageError('not-a-group-message', 'processMessage takes a PublicMessage or PrivateMessage');
}

/** Length of a §2.1.2 variable-size length header for `n`. */
function varintSize(n: number): number {
  return n < 0x40 ? 1 : n < 0x4000 ? 2 : 4;
}

/**
 * The encoded FramedContent inside a received MLSMessage carrying `message`: the bytes
 * after the 4-byte MLSMessage header (version, wire_format), less the auth data and
 * membership tag that follow it. The decoder accepts only minimal length headers and
 * nothing left over, so these are exactly the bytes re-encoding `message.content` would
 * give, without a pass over a commit as large as its UpdatePath.
 */
export function publicMessageContentBytes(bytes: Uint8Array, message: PublicMessage): Uint8Array {
  const opaqueSize = (b: Uint8Array): number => varintSize(b.length) + b.length;
  let tail = opaqueSize(message.auth.signature);
  if (message.auth.confirmationTag !== undefined) tail += opaqueSize(message.auth.confirmationTag);
  if (message.membershipTag !== undefined) tail += opaqueSize(message.membershipTag);
  const end = bytes.length - tail;
  if (end < 4) throw new InternalError('public-message-layout', 'the PublicMessage is shorter than its auth data');
  return bytes.subarray(4, end);
}

function checkGroupAndEpoch(state: GroupState, content: { groupId: Uint8Array; epoch: bigint }): void {
  if (!bytesEqual(content.groupId, state.groupContext.groupId)) throw new ValidationError('wrong-group', 'the message belongs to another group');
  if (content.epoch !== state.groupContext.epoch) {
    throw new ValidationError('wrong-epoch', `the message is for epoch ${content.epoch}, the group is at ${state.groupContext.epoch}`);
  }
}

/** The signature key that authenticates `content`'s sender (§6.1). */
export function senderSignatureKey(state: Pick<GroupState, 'tree' | 'groupContext'>, content: FramedContent): Uint8Array {
  const s = content.sender;
  switch (s.senderType) {
    case SenderType.member: {
      const leaf = state.tree.leaf(s.leafIndex);
      if (leaf === undefined) throw new ValidationError('unknown-sender', `leaf ${s.leafIndex} is not a member`);
      return leaf.signatureKey;
    }
    case SenderType.external: {
      const ext = state.groupContext.extensions.find((e) => e.extensionType === ExtensionType.external_senders);
      const senders = ext === undefined ? [] : decode(decodeExternalSenders, ext.extensionData);
      const sender = senders[s.senderIndex];
      if (sender === undefined) throw new ValidationError('unknown-sender', `no external sender ${s.senderIndex}`);
      return sender.signatureKey;
    }
    case SenderType.new_member_proposal:
      if (content.contentType !== ContentType.proposal || content.proposal.proposalType !== ProposalType.add) {
        throw new ValidationError('invalid-proposal-sender', 'a new_member_proposal sender can only propose Add');
      }
      return content.proposal.add.keyPackage.leafNode.signatureKey;
    case SenderType.new_member_commit:
      if (content.contentType !== ContentType.commit || content.commit.path === undefined) {
        throw new ValidationError('invalid-external-commit', 'a new_member_commit sender must send a commit with a path');
      }
      return content.commit.path.leafNode.signatureKey;
  }
}

async function authenticatePublic(state: GroupState, content: FramedContent, auth: FramedContentAuthData, tag: Uint8Array | undefined): Promise<void> {
  if (content.sender.senderType === SenderType.member) {
    if (tag === undefined) throw new ValidationError('missing-membership-tag', 'a member sender needs a membership tag');
    await verifyMembershipTag(state, state.keys.membershipKey, content, auth, tag);
  }
  const key = senderSignatureKey(state, content);
  await verifyContentSignature(state, { wireFormat: WireFormat.mls_public_message, content, auth }, key);
}

export { EXTERNAL_PROPOSAL_TYPES };

async function processContent(state: GroupState, wireFormat: WireFormat, content: FramedContent, auth: FramedContentAuthData, contentBytes?: Uint8Array): Promise<Processed> {
  if (content.contentType === ContentType.proposal) {
    const s = content.sender;
    if (s.senderType === SenderType.external && !EXTERNAL_PROPOSAL_TYPES.has(content.proposal.proposalType)) {
      throw new ValidationError('invalid-proposal-sender', `an external sender cannot propose type ${content.proposal.proposalType}`);
    }
    if (s.senderType === SenderType.new_member_commit) throw new ValidationError('invalid-proposal-sender', 'a new_member_commit sender cannot send proposals');
    if (s.senderType === SenderType.member && s.leafIndex === state.ownLeaf) throw new UsageError('own-message', 'our own proposal is already cached');
    const ref = await proposalRef(state.suite, wireFormat, content, auth);
    const cached = { ref, proposal: content.proposal, sender: s };
    return { state: { ...state, proposals: [...state.proposals, cached] }, event: { type: 'proposal', ...cached } };
  }
  if (content.contentType === ContentType.commit) {
    if (content.sender.senderType === SenderType.member && content.sender.leafIndex === state.ownLeaf) {
      throw new UsageError('own-commit', 'merge our own commit with mergeCommit');
    }
    if (content.sender.senderType !== SenderType.member && content.sender.senderType !== SenderType.new_member_commit) {
      throw new ValidationError('invalid-commit-sender', 'a commit comes from a member or a new member');
    }
    if (content.sender.senderType === SenderType.new_member_commit && wireFormat !== WireFormat.mls_public_message) {
      throw new ValidationError('invalid-external-commit', 'an external commit is a PublicMessage');
    }
    return processCommit(state, wireFormat, content, content.commit, auth, contentBytes);
  }
  throw new ValidationError('application-in-public-message', 'application data must be sent as a PrivateMessage');
}

/** Resolves a commit's ProposalOrRef list against the proposals cached this epoch. */
export function resolveProposals(state: Pick<GroupState, 'proposals'>, commit: Commit, committer: Sender): ProposalWithSender[] {
  return commit.proposals.map((p) => {
    if (p.type === ProposalOrRefType.proposal) return { proposal: p.proposal, sender: committer };
    // §12.4.3.2: an external joiner cannot know which proposals the group sent.
    if (committer.senderType === SenderType.new_member_commit) {
      throw new ValidationError('external-commit-by-reference', 'an external commit cannot include proposals by reference');
    }
    const cached = state.proposals.find((c) => bytesEqual(c.ref, p.reference));
    if (cached === undefined) throw new ValidationError('unknown-proposal-ref', 'the commit references a proposal we did not receive');
    return { proposal: cached.proposal, sender: cached.sender, updatePrivateKey: cached.updatePrivateKey };
  });
}

async function processCommit(
  state: GroupState,
  wireFormat: WireFormat,
  content: FramedContent,
  commit: Commit,
  auth: FramedContentAuthData,
  contentBytes: Uint8Array | undefined,
): Promise<Processed> {
  const { suite } = state;
  const committer = content.sender;
  const list = resolveProposals(state, commit, committer);
  // A commit that removes us ends our membership whatever else it carries: we will not
  // be in the next epoch, so nothing else of it is ours to validate (§12.4.2). The commit
  // is authenticated (signature, membership tag) by now.
  if (list.some((p) => p.proposal.proposalType === ProposalType.remove && p.proposal.remove.removed === state.ownLeaf)) {
    return { state, event: { type: 'removed', sender: committer } };
  }
  for (const p of commit.proposals) {
    if (p.type === ProposalOrRefType.proposal && p.proposal.proposalType === ProposalType.update) {
      throw new ValidationError('inline-update', 'a commit cannot carry an Update by value');
    }
  }
  const applied = await applyProposals(
    {
      ...applyContextOf(suite, state, state.ownLeaf),
      joinerCredential: commit.path?.leafNode.credential,
    },
    list,
    committer,
  );
  const removedIndices = [...applied.removed].map((i) => i as LeafIndex);
  if (applied.pathRequired && commit.path === undefined) throw new ValidationError('path-required', 'this commit must carry an UpdatePath');

  let privateKeys = state.privateKeys;
  if (applied.ownUpdateKey !== undefined) privateKeys = privateKeys.with(leafToNode(state.ownLeaf), applied.ownUpdateKey);
  privateKeys = privateKeys.prune(applied.tree);

  let tree = applied.tree;
  let commitSecret: CommitSecret | undefined;
  let initSecretOverride: Uint8Array | undefined;
  if (commit.path !== undefined) {
    let sender: LeafIndex;
    let base = applied.tree;
    if (committer.senderType === SenderType.member) {
      sender = committer.leafIndex;
    } else {
      const editor = base.edit();
      let blank = base.leftmostBlankLeaf();
      if (blank === undefined) {
        blank = base.leafCount as LeafIndex;
        editor.extend();
      }
      base = editor.finish();
      sender = blank;
    }
    const leafCtx = { suite, config: state.config, groupId: state.groupContext.groupId, groupExtensions: applied.extensions, tree: base };
    if (commit.path.leafNode.leafNodeSource !== LeafNodeSource.commit) throw new ValidationError('invalid-leaf-node-source', 'the UpdatePath leaf must have source commit');
    await validateLeafPolicy(leafCtx, commit.path.leafNode, sender);
    const merged = await mergeUpdatePath(base, sender, commit.path, state.groupContext.groupId);
    tree = merged.tree;
    const provisional = encode(encodeGroupContext, {
      ...state.groupContext,
      epoch: state.groupContext.epoch + 1n,
      treeHash: await tree.treeHash(),
      extensions: applied.extensions,
    });
    const decrypted = await decryptUpdatePath(merged, privateKeys, provisional, new Set(applied.added.map((a) => Number(a.leafIndex))));
    decrypted.pathSecret.destroy();
    privateKeys = decrypted.privateKeys;
    commitSecret = decrypted.commitSecret;
  }
  if (applied.externalInit !== undefined) {
    const kp = await externalKeyPair(suite, state.keys.externalSecret);
    try {
      initSecretOverride = await suite.hpke.exportReceiver(applied.externalInit, kp.privateKey, new Uint8Array(0), new TextEncoder().encode('MLS 1.0 external init secret'), suite.kdf.nh);
    } catch (error) {
      if (error instanceof CryptoError) throw new ValidationError('invalid-external-init', 'the ExternalInit does not decapsulate', { cause: error });
      throw error;
    }
  }
  const next = await advanceEpoch(state, {
    tree,
    extensions: applied.extensions,
    psks: applied.psks,
    commitSecret,
    privateKeys,
    ownLeaf: state.ownLeaf,
    wireFormat,
    content,
    contentBytes,
    signature: auth.signature,
    confirmationTag: auth.confirmationTag,
    initSecretOverride,
    reinit: applied.reinit,
  });
  next.schedule.joinerSecret.destroy();
  next.schedule.welcomeSecret.destroy();
  return {
    state: next.state,
    event: { type: 'commit', sender: committer, epoch: next.state.groupContext.epoch, added: applied.added.map((a) => a.leafIndex), removed: removedIndices },
  };
}
