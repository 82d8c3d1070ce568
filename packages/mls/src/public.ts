// RFC 9420 §12.4.2 seen from the server: a public view of a group — its ratchet tree,
// GroupContext and transcript — started from a GroupInfo (plus the tree) and advanced
// by each PublicMessage commit, validating what can be validated without any group
// secret: the sender is a member (or an allowed external/new-member sender), its
// signature, the proposal list rules, the key packages and leaf nodes, the UpdatePath
// (signature, parent hashes, fresh keys), and the epoch. It holds no secret, so it
// cannot check membership tags (membership_key) or confirmation tags
// (confirmation_key); the members check those. The transcript hashes are public and
// are tracked, so the view's GroupContext (and tree hash) matches the members'.

import { decode, encode } from './codec/index.js';
import type { CryptoProvider, CipherSuite } from './crypto/provider.js';
import { UsageError, ValidationError } from './errors.js';
import { ExtensionType } from './messages/extension.js';
import { ContentType, SenderType, WireFormat, type FramedContent, type Sender } from './messages/framing.js';
import { encodeFramedContent } from './messages/framing.js';
import { encodeGroupContext, type GroupContext } from './messages/group-context.js';
import { LeafNodeSource } from './messages/leaf-node.js';
import { decodeMLSMessage } from './messages/mls-message.js';
import { ProposalOrRefType, ProposalType, type Proposal } from './messages/proposal.js';
import { decodeRatchetTree, type Node } from './messages/ratchet-tree.js';
import { confirmedTranscriptHashInput, nextConfirmedTranscriptHash, nextInterimTranscriptHash } from './schedule/transcript.js';
import { PublicTree } from './tree/public-tree.js';
import { mergeUpdatePath } from './tree/treekem.js';
import { validateRatchetTree } from './tree/validate.js';
import { leafIndex, type LeafIndex } from './util/brand.js';
import { bytesEqual } from './util/bytes.js';
import { verifyContentSignature } from './framing/authentication.js';
import { proposalRef, verifyGroupInfo } from './group/content-auth.js';
import { EXTERNAL_PROPOSAL_TYPES, resolveProposals, senderSignatureKey } from './group/process.js';
import { applyContextOf, applyProposals } from './group/proposals.js';
import { checkGroupConfig, type CachedProposal, type CredentialValidator, type GroupConfig } from './group/state.js';
import { validateKeyPackage, validateLeafPolicy, validateTreeLeaves } from './group/validation.js';
import { LAST_RESORT_EXTENSION } from './group/create.js';
import type { Credential } from './messages/credential.js';
import { decodeKeyPackage } from './messages/key-package.js';

/** The secret-free state of a group, as the delivery service keeps it. */
export interface PublicGroupState {
  readonly suite: CipherSuite;
  readonly config: GroupConfig;
  readonly groupContext: GroupContext;
  readonly groupContextBytes: Uint8Array;
  readonly tree: PublicTree;
  readonly interimTranscriptHash: Uint8Array;
  readonly proposals: readonly CachedProposal[];
}

export type PublicGroupEvent =
  | { readonly type: 'proposal'; readonly ref: Uint8Array; readonly proposal: Proposal; readonly sender: Sender }
  | { readonly type: 'commit'; readonly sender: Sender; readonly epoch: bigint; readonly added: readonly LeafIndex[]; readonly removed: readonly LeafIndex[] };

export interface PublicGroupFromGroupInfoParams {
  readonly provider: CryptoProvider;
  /** An MLSMessage carrying a GroupInfo (createCommit returns one per epoch). */
  readonly groupInfo: Uint8Array;
  /** The tree, when the GroupInfo lacks the ratchet_tree extension. */
  readonly ratchetTree?: readonly (Node | undefined)[];
  readonly config?: GroupConfig;
}

/** §12.4.3: starts the view from a signed GroupInfo, checking the signature and the tree. */
export async function publicGroupFromGroupInfo(p: PublicGroupFromGroupInfoParams): Promise<PublicGroupState> {
  checkGroupConfig(p.config ?? {});
  const m = decode(decodeMLSMessage, p.groupInfo);
  if (m.wireFormat !== WireFormat.mls_group_info) throw new UsageError('not-a-group-info', 'the message is not a GroupInfo');
  const info = m.groupInfo;
  const suite = p.provider.suite(info.groupContext.cipherSuite);
  const treeExt = info.extensions.find((e) => e.extensionType === ExtensionType.ratchet_tree);
  const nodes = treeExt !== undefined ? decode(decodeRatchetTree, treeExt.extensionData) : p.ratchetTree;
  if (nodes === undefined) throw new UsageError('missing-ratchet-tree', 'the GroupInfo carries no ratchet tree and none was given');
  const tree = PublicTree.fromNodes(suite, nodes);
  const signer = tree.leaf(info.signer);
  if (signer === undefined) throw new ValidationError('unknown-signer', 'the GroupInfo signer is not a member');
  if (!(await verifyGroupInfo(suite, signer.signatureKey, info))) throw new ValidationError('invalid-group-info-signature', 'the GroupInfo signature does not verify');
  await validateRatchetTree(tree, { groupId: info.groupContext.groupId, treeHash: info.groupContext.treeHash });
  await validateTreeLeaves({ suite, config: p.config ?? {}, groupExtensions: info.groupContext.extensions }, tree);
  return {
    suite,
    config: p.config ?? {},
    groupContext: info.groupContext,
    groupContextBytes: encode(encodeGroupContext, info.groupContext),
    tree,
    interimTranscriptHash: await nextInterimTranscriptHash(suite, info.groupContext.confirmedTranscriptHash, info.confirmationTag),
    proposals: [],
  };
}

/**
 * Validates a PublicMessage proposal or commit against the current epoch and returns
 * the next view. Refuses (ValidationError) a message of another group or epoch
 * (`wrong-epoch`), a non-member sender, a bad signature, and any proposal-list,
 * leaf-node or UpdatePath rule the members would refuse.
 */
export async function processPublicMessage(state: PublicGroupState, bytes: Uint8Array): Promise<{ state: PublicGroupState; event: PublicGroupEvent }> {
  const m = decode(decodeMLSMessage, bytes);
  if (m.wireFormat !== WireFormat.mls_public_message) throw new ValidationError('not-public', 'the public view only processes PublicMessages');
  const { content, auth } = m.publicMessage;
  const { suite } = state;
  if (!bytesEqual(content.groupId, state.groupContext.groupId)) throw new ValidationError('wrong-group', 'the message belongs to another group');
  if (content.epoch !== state.groupContext.epoch) {
    throw new ValidationError('wrong-epoch', `the message is for epoch ${content.epoch}, the group is at ${state.groupContext.epoch}`);
  }
  if (content.contentType === ContentType.application) throw new ValidationError('application-in-public-message', 'application data must be a PrivateMessage');
  if (content.sender.senderType === SenderType.member && m.publicMessage.membershipTag === undefined) {
    throw new ValidationError('missing-membership-tag', 'a member sender needs a membership tag');
  }
  const key = senderSignatureKey(state, content);
  await verifyContentSignature(state, { wireFormat: WireFormat.mls_public_message, content, auth }, key);
  if (content.contentType === ContentType.proposal) {
    if (content.sender.senderType === SenderType.external && !EXTERNAL_PROPOSAL_TYPES.has(content.proposal.proposalType)) {
      throw new ValidationError('invalid-proposal-sender', `an external sender cannot propose type ${content.proposal.proposalType}`);
    }
    const ref = await proposalRef(suite, WireFormat.mls_public_message, content, auth);
    const cached = { ref, proposal: content.proposal, sender: content.sender };
    return { state: { ...state, proposals: [...state.proposals, cached] }, event: { type: 'proposal', ...cached } };
  }
  return processPublicCommit(state, content, auth.signature, auth.confirmationTag);
}

async function processPublicCommit(
  state: PublicGroupState,
  content: FramedContent & { contentType: typeof ContentType.commit },
  signature: Uint8Array,
  confirmationTag: Uint8Array | undefined,
): Promise<{ state: PublicGroupState; event: PublicGroupEvent }> {
  const { suite } = state;
  const committer = content.sender;
  const commit = content.commit;
  if (committer.senderType !== SenderType.member && committer.senderType !== SenderType.new_member_commit) {
    throw new ValidationError('invalid-commit-sender', 'a commit comes from a member or a new member');
  }
  if (confirmationTag === undefined) throw new ValidationError('missing-confirmation-tag', 'a commit carries a confirmation tag');
  for (const p of commit.proposals) {
    if (p.type === ProposalOrRefType.proposal && p.proposal.proposalType === ProposalType.update) {
      throw new ValidationError('inline-update', 'a commit cannot carry an Update by value');
    }
  }
  const list = resolveProposals(state, commit, committer);
  const applied = await applyProposals(
    {
      ...applyContextOf(suite, state, undefined),
      joinerCredential: commit.path?.leafNode.credential,
    },
    list.map((p) => ({ proposal: p.proposal, sender: p.sender })),
    committer,
  );
  if (applied.pathRequired && commit.path === undefined) throw new ValidationError('path-required', 'this commit must carry an UpdatePath');
  let tree = applied.tree;
  if (commit.path !== undefined) {
    let base = applied.tree;
    let sender: LeafIndex;
    if (committer.senderType === SenderType.member) sender = committer.leafIndex;
    else {
      const editor = base.edit();
      let blank = base.leftmostBlankLeaf();
      if (blank === undefined) {
        blank = leafIndex(base.leafCount);
        editor.extend();
      }
      base = editor.finish();
      sender = blank;
    }
    if (commit.path.leafNode.leafNodeSource !== LeafNodeSource.commit) throw new ValidationError('invalid-leaf-node-source', 'the UpdatePath leaf must have source commit');
    await validateLeafPolicy({ suite, config: state.config, groupId: state.groupContext.groupId, groupExtensions: applied.extensions, tree: base }, commit.path.leafNode, sender);
    tree = (await mergeUpdatePath(base, sender, commit.path, state.groupContext.groupId)).tree;
  }
  const confirmed = await nextConfirmedTranscriptHash(
    suite,
    state.interimTranscriptHash,
    confirmedTranscriptHashInput(WireFormat.mls_public_message, encode(encodeFramedContent, content), signature),
  );
  const groupContext: GroupContext = {
    ...state.groupContext,
    epoch: state.groupContext.epoch + 1n,
    treeHash: await tree.treeHash(),
    confirmedTranscriptHash: confirmed,
    extensions: applied.extensions,
  };
  return {
    state: {
      suite,
      config: state.config,
      groupContext,
      groupContextBytes: encode(encodeGroupContext, groupContext),
      tree,
      interimTranscriptHash: await nextInterimTranscriptHash(suite, confirmed, confirmationTag),
      proposals: [],
    },
    event: {
      type: 'commit',
      sender: committer,
      epoch: groupContext.epoch,
      added: applied.added.map((a) => a.leafIndex),
      removed: [...applied.removed].map((i) => leafIndex(i)),
    },
  };
}

// ---- What a delivery service needs beside the view (added for the server, issue 5) ----

export { MlsError, DecodeError, ValidationError, UsageError, CryptoError } from './errors.js';
export type { CryptoProvider } from './crypto/provider.js';
export type { CredentialValidator } from './group/state.js';

/** A member leaf as the delivery service sees it: where it sits, who it claims to be, its key. */
export interface PublicMember {
  readonly leafIndex: LeafIndex;
  readonly credential: Credential;
  readonly signatureKey: Uint8Array;
}

/** The non-blank leaves of the view's tree, in index order. */
export function publicMembers(state: PublicGroupState): PublicMember[] {
  const out: PublicMember[] = [];
  for (const [i, leaf] of state.tree.leaves()) out.push({ leafIndex: i, credential: leaf.credential, signatureKey: leaf.signatureKey });
  return out;
}

/** Decodes the `ratchet_tree` bytes a client sends beside a GroupInfo (§12.4.3.3). */
export function decodePublicRatchetTree(bytes: Uint8Array): (Node | undefined)[] {
  return decode(decodeRatchetTree, bytes);
}

/**
 * §12.4.3 for the delivery service: checks that `groupInfo` (an MLSMessage) describes
 * exactly the view's epoch — the same GroupContext, a confirmation tag that leads to the
 * view's interim transcript hash, signed by a member — and that a ratchet tree (in its
 * extension, or `ratchetTree`) is there and hashes to the view's tree hash. So what the
 * server hands a rejoining device is what the members hold.
 */
export async function checkGroupInfoForView(state: PublicGroupState, groupInfo: Uint8Array, ratchetTree?: readonly (Node | undefined)[]): Promise<void> {
  const m = decode(decodeMLSMessage, groupInfo);
  if (m.wireFormat !== WireFormat.mls_group_info) throw new ValidationError('not-a-group-info', 'the message is not a GroupInfo');
  const info = m.groupInfo;
  if (!bytesEqual(encode(encodeGroupContext, info.groupContext), state.groupContextBytes)) {
    throw new ValidationError('group-info-mismatch', 'the GroupInfo does not describe the group’s current epoch');
  }
  const interim = await nextInterimTranscriptHash(state.suite, info.groupContext.confirmedTranscriptHash, info.confirmationTag);
  if (!bytesEqual(interim, state.interimTranscriptHash)) throw new ValidationError('group-info-mismatch', 'the GroupInfo confirmation tag is not the commit’s');
  const signer = state.tree.leaf(info.signer);
  if (signer === undefined) throw new ValidationError('unknown-signer', 'the GroupInfo signer is not a member');
  if (!(await verifyGroupInfo(state.suite, signer.signatureKey, info))) throw new ValidationError('invalid-group-info-signature', 'the GroupInfo signature does not verify');
  const treeExt = info.extensions.find((e) => e.extensionType === ExtensionType.ratchet_tree);
  const nodes = treeExt !== undefined ? decode(decodeRatchetTree, treeExt.extensionData) : ratchetTree;
  if (nodes === undefined) throw new UsageError('missing-ratchet-tree', 'the GroupInfo carries no ratchet tree and none was given');
  if (!bytesEqual(await PublicTree.fromNodes(state.suite, nodes).treeHash(), state.groupContext.treeHash)) {
    throw new ValidationError('tree-hash-mismatch', 'the ratchet tree does not match the group’s tree hash');
  }
}

/** A KeyPackage that passed §10.1, as the key-package directory keeps it. */
export interface CheckedKeyPackage {
  readonly cipherSuite: number;
  readonly credential: Credential;
  readonly signatureKey: Uint8Array;
  /** Carries the last_resort extension (RFC 9420 §17.3). */
  readonly lastResort: boolean;
}

/**
 * §10.1 without a group: the version, a suite the provider offers, the KeyPackage
 * signature, the leaf node (source key_package, its signature, capabilities listing the
 * suite and every extension it carries, the lifetime if `now` is given), and an init key
 * that differs from the leaf's encryption key, and — when `validateCredential` is given —
 * the application's verdict on its credential (§5.3.1; a refusal is ValidationError
 * 'credential-rejected'). Throws DecodeError / ValidationError / CryptoError.
 */
export async function validatePublicKeyPackage(provider: CryptoProvider, bytes: Uint8Array, now?: () => bigint, validateCredential?: CredentialValidator): Promise<CheckedKeyPackage> {
  const kp = decode(decodeKeyPackage, bytes);
  const suite = provider.suite(kp.cipherSuite);
  // validateKeyPackage also checks the leaf against the tree it joins: an empty one here.
  const empty = new PublicTree(suite, [undefined], [undefined]);
  const config: GroupConfig = { ...(now === undefined ? { checkLifetimes: false } : { now }), validateCredential };
  await validateKeyPackage({ suite, config, groupId: new Uint8Array(0), groupExtensions: [], tree: empty }, kp);
  return {
    cipherSuite: kp.cipherSuite,
    credential: kp.leafNode.credential,
    signatureKey: kp.leafNode.signatureKey,
    lastResort: kp.extensions.some((e) => e.extensionType === LAST_RESORT_EXTENSION),
  };
}
