// RFC 9420 §12.1 proposing, §12.4.1 creating a commit (with its Welcome, §12.4.3.1,
// and a GroupInfo, §12.4.3), staged until the server accepts it and then merged.

import { encode } from '../codec/index.js';
import { Writer } from '../codec/writer.js';
import { encryptWithLabelMany, makeKeyPackageRef } from '../crypto/labeled.js';
import { UsageError, ValidationError } from '../errors.js';
import type { Commit } from '../messages/commit.js';
import { encodeExternalPub, ExtensionType, type Extension } from '../messages/extension.js';
import { ContentType, encodeFramedContent, SenderType, WireFormat, writePublicMessage, type FramedContent, type PublicMessage, type Sender } from '../messages/framing.js';
import { encodeGroupContext } from '../messages/group-context.js';
import { encodeKeyPackage, type KeyPackage } from '../messages/key-package.js';
import { LeafNodeSource } from '../messages/leaf-node.js';
import { encodeMLSMessage } from '../messages/mls-message.js';
import { encodeProtocolVersion, ProtocolVersion } from '../messages/common.js';
import { ProposalOrRefType, ProposalType, PSKType, ResumptionPSKUsage, type PreSharedKeyID, type Proposal, type ProposalOrRef } from '../messages/proposal.js';
import { encodeRatchetTree } from '../messages/ratchet-tree.js';
import { encodeGroupInfo, encodeGroupSecrets, type EncryptedGroupSecrets, type GroupInfo } from '../messages/welcome.js';
import { externalKeyPair, welcomeKeyNonce } from '../schedule/key-schedule.js';
import type { CommitSecret } from '../schedule/secrets.js';
import { signLeafNode } from '../tree/leaf-signature.js';
import { commonAncestor, leafToNode } from '../tree/math.js';
import { encryptUpdatePath, generateUpdatePath } from '../tree/treekem.js';
import type { LeafIndex } from '../util/brand.js';
import { bytesEqual } from '../util/bytes.js';
import { Secret } from '../util/secret.js';
import { advanceEpoch } from './advance.js';
import { membershipTag, signFramedContent } from '../framing/authentication.js';
import { proposalRef, signGroupInfo } from './content-auth.js';
import { applyContextOf, applyProposals, applyProposalsUnconfirmed, type AppliedProposals, type ApplyContext, type ProposalWithSender } from './proposals.js';
import { selectProposals, type OmittedProposal } from './commit-selection.js';
import { assertBranchTarget, checkFirstCommit } from './resumption.js';
import { assertNotReinitialising, assertReinitTarget, type CachedProposal, type GroupState } from './state.js';

function ownSender(state: GroupState): { senderType: typeof SenderType.member; leafIndex: LeafIndex } {
  return { senderType: SenderType.member, leafIndex: state.ownLeaf };
}

function publicMessageBytes(message: PublicMessage): Uint8Array {
  return encode(encodeMLSMessage, { version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_public_message, publicMessage: message });
}

/** publicMessageBytes for a message whose content is already encoded (`contentBytes`). */
function publicMessageBytesFrom(message: PublicMessage, contentBytes: Uint8Array): Uint8Array {
  const w = new Writer(contentBytes.length + 256);
  encodeProtocolVersion(w, ProtocolVersion.mls10);
  w.u16(WireFormat.mls_public_message);
  writePublicMessage(w, message, contentBytes);
  return w.finish();
}

/** Signs and MACs content from our leaf as a PublicMessage of the current epoch. */
async function signPublic(state: GroupState, content: FramedContent, confirmationTag?: Uint8Array): Promise<PublicMessage> {
  const signature = await signFramedContent(state, WireFormat.mls_public_message, content, state.signaturePrivateKey.bytes);
  const auth = confirmationTag === undefined ? { signature } : { signature, confirmationTag };
  const tag = await membershipTag(state, state.keys.membershipKey, content, auth);
  return { content, auth, membershipTag: tag };
}

/** A proposal sent by us: the next state caches it, `message` goes to the group. */
export interface Proposed {
  readonly state: GroupState;
  readonly message: Uint8Array;
  readonly ref: Uint8Array;
}

async function propose(state: GroupState, proposal: Proposal, updatePrivateKey?: Secret<'hpke-private-key'>, authenticatedData = new Uint8Array(0)): Promise<Proposed> {
  assertNotReinitialising(state);
  const content: FramedContent = {
    groupId: state.groupContext.groupId,
    epoch: state.groupContext.epoch,
    sender: ownSender(state),
    authenticatedData,
    contentType: ContentType.proposal,
    proposal,
  };
  const message = await signPublic(state, content);
  const ref = await proposalRef(state.suite, WireFormat.mls_public_message, content, message.auth);
  const cached: CachedProposal = updatePrivateKey === undefined ? { ref, proposal, sender: content.sender } : { ref, proposal, sender: content.sender, updatePrivateKey };
  return { state: { ...state, proposals: [...state.proposals, cached] }, message: publicMessageBytes(message), ref };
}

export function proposeAdd(state: GroupState, keyPackage: KeyPackage): Promise<Proposed> {
  return propose(state, { proposalType: ProposalType.add, add: { keyPackage } });
}

export function proposeRemove(state: GroupState, removed: LeafIndex): Promise<Proposed> {
  return propose(state, { proposalType: ProposalType.remove, remove: { removed } });
}

/** §12.1.2: a fresh leaf encryption key for our leaf, applied by someone else's commit. */
export async function proposeUpdate(state: GroupState): Promise<Proposed> {
  const current = state.tree.leaf(state.ownLeaf);
  if (current === undefined) throw new UsageError('not-a-member', 'our leaf is blank');
  const kp = await state.suite.hpke.generateKeyPair();
  const { signature: _s, ...rest } = current;
  const base = { ...rest, encryptionKey: kp.publicKey };
  const unsigned =
    base.leafNodeSource === LeafNodeSource.key_package || base.leafNodeSource === LeafNodeSource.commit
      ? (() => {
          const { lifetime: _l, parentHash: _p, ...r } = base as typeof base & { lifetime?: unknown; parentHash?: unknown };
          return { ...r, leafNodeSource: LeafNodeSource.update } as const;
        })()
      : base;
  const leafNode = await signLeafNode(state.suite, unsigned, state.signaturePrivateKey.bytes, { groupId: state.groupContext.groupId, leafIndex: state.ownLeaf });
  return propose(state, { proposalType: ProposalType.update, update: { leafNode } }, new Secret(kp.privateKey));
}

/** §12.1.4: an external PSK (its value must be known to every member through config.externalPsk). */
export function proposeExternalPsk(state: GroupState, pskId: Uint8Array): Promise<Proposed> {
  const psk: PreSharedKeyID = { psktype: PSKType.external, pskId, pskNonce: state.suite.randomBytes(state.suite.kdf.nh) };
  return propose(state, { proposalType: ProposalType.psk, psk: { psk } });
}

/** §12.1.4: the resumption PSK of an earlier epoch of this group. */
export function proposeResumptionPsk(state: GroupState, epoch: bigint): Promise<Proposed> {
  const psk: PreSharedKeyID = {
    psktype: PSKType.resumption,
    usage: ResumptionPSKUsage.application,
    pskGroupId: state.groupContext.groupId,
    pskEpoch: epoch,
    pskNonce: state.suite.randomBytes(state.suite.kdf.nh),
  };
  return propose(state, { proposalType: ProposalType.psk, psk: { psk } });
}

export function proposeGroupContextExtensions(state: GroupState, extensions: readonly Extension[]): Promise<Proposed> {
  return propose(state, { proposalType: ProposalType.group_context_extensions, groupContextExtensions: { extensions } });
}

/** A commit made by us, waiting for the server's acceptance before `mergeCommit`. */
export interface StagedCommit {
  readonly fromEpoch: bigint;
  readonly groupId: Uint8Array;
  readonly state: GroupState;
}

export interface CreateCommitOptions {
  /** Proposals to include by value (from us). */
  readonly proposals?: readonly Proposal[];
  /** Cached proposals to include by reference; all cached proposals when absent. */
  readonly proposalRefs?: readonly Uint8Array[];
  /** Force (true) an UpdatePath; it is always included where §12.4 requires one. */
  readonly withPath?: boolean;
  /** Put the ratchet_tree extension in the Welcome's GroupInfo (default true). */
  readonly ratchetTreeInWelcome?: boolean;
  readonly authenticatedData?: Uint8Array;
  /**
   * §11.2: `state` is the new group (epoch 0) that re-initialises this old group, whose
   * ReInit is committed; the commit may then carry the old group's reinit PSK. Use
   * reinitGroup rather than setting this by hand.
   */
  readonly resumeFrom?: GroupState;
  /**
   * §11.3: `state` is a new group (epoch 0) branched from this group; the commit may then
   * carry its branch PSK. Use branchGroup rather than setting this by hand.
   */
  readonly branchFrom?: GroupState;
}

export interface CreatedCommit {
  readonly pending: StagedCommit;
  /** MLSMessage (PublicMessage) to send to the group. */
  readonly commitMessage: Uint8Array;
  /** MLSMessage (Welcome) for the members added, if any. */
  readonly welcome?: Uint8Array;
  /** MLSMessage (GroupInfo) of the new epoch, with external_pub and the ratchet tree. */
  readonly groupInfo: Uint8Array;
  /**
   * Received proposals asked for (or cached) that the commit leaves out, and why (§12.2);
   * they lapse with the epoch, so their senders may propose them again.
   */
  readonly omitted: readonly OmittedProposal[];
}

export async function createCommit(state: GroupState, options: CreateCommitOptions = {}): Promise<CreatedCommit> {
  assertNotReinitialising(state);
  if (options.resumeFrom !== undefined) assertReinitTarget(options.resumeFrom, state);
  if (options.branchFrom !== undefined) assertBranchTarget(options.branchFrom, state, options.resumeFrom);
  const { suite } = state;
  const sender = ownSender(state);
  const byValue = options.proposals ?? [];
  for (const p of byValue) {
    if (p.proposalType === ProposalType.update) throw new UsageError('inline-update', 'a commit refreshes our own leaf through its path, not an Update');
  }
  const refs = options.proposalRefs ?? state.proposals.map((p) => p.ref);
  const cached = refs.map((r) => {
    const c = state.proposals.find((p) => bytesEqual(p.ref, r));
    if (c === undefined) throw new UsageError('unknown-proposal-ref', 'no cached proposal with this reference');
    return c;
  });
  // §12.2: received proposals that cannot be committed together (our own Update, an
  // Update of a leaf also removed, duplicates…) are left out, as the RFC prefers.
  const { included, omitted } = selectProposals(state, cached, byValue);
  const ctx: ApplyContext = {
    ...applyContextOf(suite, state, state.ownLeaf),
    reinitOf: options.resumeFrom === undefined ? undefined : { groupId: options.resumeFrom.groupContext.groupId, epoch: options.resumeFrom.groupContext.epoch },
    branchOf: options.branchFrom === undefined ? undefined : { groupId: options.branchFrom.groupContext.groupId, epoch: options.branchFrom.groupContext.epoch },
  };
  try {
    return await commitWith(state, options, ctx, included, byValue, omitted);
  } catch (e) {
    // §12.4: the committer SHOULD include the received proposals that are valid. One that
    // fails its own checks (any member can send a forged key package) must not make every
    // commit of the epoch fail: the valid ones are found and committed, the rest omitted.
    if (!(e instanceof ValidationError) || included.length === 0) throw e;
    const { kept, invalid } = await validReceived(ctx, included, byValue, sender, e);
    if (invalid.length === 0) throw e;
    // `omitted` lists in the order asked for: the invalid ones go in at their places.
    const at = (ref: Uint8Array): number => cached.findIndex((c) => bytesEqual(c.ref, ref));
    return commitWith(state, options, ctx, kept, byValue, [...omitted, ...invalid].sort((x, y) => at(x.ref) - at(y.ref)));
  }
}

/** createCommit from its chosen proposals on. */
async function commitWith(
  state: GroupState,
  options: CreateCommitOptions,
  ctx: ApplyContext,
  received: readonly CachedProposal[],
  byValue: readonly Proposal[],
  omitted: readonly OmittedProposal[],
): Promise<CreatedCommit> {
  const sender = ownSender(state);
  const list = [...withSenders(received), ...byValue.map((proposal) => ({ proposal, sender }))];
  const proposalOrRefs: ProposalOrRef[] = [
    ...received.map((c) => ({ type: ProposalOrRefType.reference, reference: c.ref }) as const),
    ...byValue.map((proposal) => ({ type: ProposalOrRefType.proposal, proposal }) as const),
  ];
  // The Adds' signatures are checked while the commit is built from what they would
  // give (the Welcome's seals to the new members are most of the work); the commit is
  // returned only once they verified, otherwise their error is thrown.
  const { applied, confirmation } = await applyProposalsUnconfirmed(ctx, list, sender);
  return afterConfirmation(confirmation, () => buildCommit(state, options, applied, proposalOrRefs, omitted));
}

/** Received proposals as applyProposals takes them. */
function withSenders(received: readonly CachedProposal[]): ProposalWithSender[] {
  return received.map((c) => ({ proposal: c.proposal, sender: c.sender }));
}

/**
 * The received proposals (`kept`, in the order asked for) that pass every check together
 * with `byValue` (which must pass alone, or its error is thrown), grown one at a time: Removes and Updates first (an Add
 * may re-add a client that a Remove takes out), then the rest in the order asked for. A
 * proposal that fails only beside `byValue` is a conflict with the caller's own choice, not
 * an invalid proposal: `conflict` is thrown. Only on the path where the whole list failed;
 * it checks up to 2k lists for k proposals.
 */
async function validReceived(
  ctx: ApplyContext,
  received: readonly CachedProposal[],
  byValue: readonly Proposal[],
  committer: Sender,
  conflict: unknown,
): Promise<{ kept: CachedProposal[]; invalid: OmittedProposal[] }> {
  const own = byValue.map((proposal) => ({ proposal, sender: committer }));
  await applyProposals(ctx, own, committer);
  const first = (c: CachedProposal): boolean => c.proposal.proposalType === ProposalType.remove || c.proposal.proposalType === ProposalType.update;
  const kept: CachedProposal[] = [];
  const invalid: OmittedProposal[] = [];
  for (const c of [...received.filter(first), ...received.filter((c) => !first(c))]) {
    const candidate = withSenders([...kept, c]);
    try {
      await applyProposals(ctx, [...candidate, ...own], committer);
      kept.push(c);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      const alone = await applyProposals(ctx, candidate, committer).then(
        () => true,
        (again: unknown) => {
          if (again instanceof ValidationError) return false;
          throw again;
        },
      );
      if (alone) throw conflict;
      invalid.push({ ref: c.ref, reason: 'invalid', error: e.code });
    }
  }
  return { kept: received.filter((c) => kept.includes(c)), invalid };
}

/**
 * `work`'s result once `confirmation` resolved. If either fails, the confirmation's error
 * wins (it is the one checking in order would have thrown first), and nothing of `work`
 * is returned.
 */
async function afterConfirmation<T>(confirmation: Promise<void>, work: () => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await work();
  } catch (error) {
    await confirmation;
    throw error;
  }
  await confirmation;
  return result;
}

/** createCommit from the applied proposals on. */
async function buildCommit(state: GroupState, options: CreateCommitOptions, applied: AppliedProposals, proposalOrRefs: ProposalOrRef[], omitted: readonly OmittedProposal[]): Promise<CreatedCommit> {
  const { suite } = state;
  const sender = ownSender(state);
  await checkFirstCommit(state.config, applied, options);
  const withPath = options.withPath === true || applied.pathRequired;
  const addedLeaves = new Set(applied.added.map((a) => Number(a.leafIndex)));

  let tree = applied.tree;
  let privateKeys = state.privateKeys.prune(applied.tree);
  let commitSecret: CommitSecret | undefined;
  let path: Commit['path'];
  let pathSecrets: { node: number; secret: Uint8Array }[] = [];
  if (withPath) {
    const generated = await generateUpdatePath({ tree: applied.tree, leafIndex: state.ownLeaf, groupId: state.groupContext.groupId, signaturePrivateKey: state.signaturePrivateKey.bytes });
    tree = generated.tree;
    const provisional = encode(encodeGroupContext, {
      ...state.groupContext,
      epoch: state.groupContext.epoch + 1n,
      treeHash: await tree.treeHash(),
      extensions: applied.extensions,
    });
    path = await encryptUpdatePath(generated, provisional, addedLeaves);
    privateKeys = generated.privateKeys;
    commitSecret = generated.commitSecret;
    pathSecrets = generated.steps.map((s) => ({ node: s.node, secret: s.pathSecret.bytes }));
  }
  const commit: Commit = { proposals: proposalOrRefs, path };
  const content: FramedContent = {
    groupId: state.groupContext.groupId,
    epoch: state.groupContext.epoch,
    sender,
    authenticatedData: options.authenticatedData ?? new Uint8Array(0),
    contentType: ContentType.commit,
    commit,
  };
  // Encoded once: the signature, transcript hash, membership tag and message all hold it
  // (with 1,000 Adds it is 1,000 key packages).
  const contentBytes = encode(encodeFramedContent, content);
  const signature = await signFramedContent(state, WireFormat.mls_public_message, content, state.signaturePrivateKey.bytes, contentBytes);
  const next = await advanceEpoch(state, {
    tree,
    extensions: applied.extensions,
    psks: applied.psks,
    commitSecret,
    privateKeys,
    ownLeaf: state.ownLeaf,
    wireFormat: WireFormat.mls_public_message,
    content,
    contentBytes,
    signature,
    reinit: applied.reinit,
    resumeFrom: options.resumeFrom ?? options.branchFrom,
  });
  const auth = { signature, confirmationTag: next.confirmationTag };
  const mTag = await membershipTag(state, state.keys.membershipKey, content, auth, contentBytes);
  const commitMessage = publicMessageBytesFrom({ content, auth, membershipTag: mTag }, contentBytes);

  const newState = next.state;
  const ratchetTreeExt: Extension = { extensionType: ExtensionType.ratchet_tree, extensionData: encode(encodeRatchetTree, newState.tree.toNodes()) };
  const external = await externalKeyPair(suite, newState.keys.externalSecret);
  const externalPubExt: Extension = { extensionType: ExtensionType.external_pub, extensionData: encode(encodeExternalPub, { externalPub: external.publicKey }) };
  const groupInfo = await signGroupInfo(suite, state.signaturePrivateKey.bytes, {
    groupContext: newState.groupContext,
    extensions: [externalPubExt, ratchetTreeExt],
    confirmationTag: next.confirmationTag,
    signer: state.ownLeaf,
  });
  const groupInfoBytes = encode(encodeMLSMessage, { version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_group_info, groupInfo });

  let welcome: Uint8Array | undefined;
  if (applied.added.length > 0) {
    const welcomeInfo: GroupInfo =
      options.ratchetTreeInWelcome === false
        ? await signGroupInfo(suite, state.signaturePrivateKey.bytes, { groupContext: newState.groupContext, extensions: [], confirmationTag: next.confirmationTag, signer: state.ownLeaf })
        : await signGroupInfo(suite, state.signaturePrivateKey.bytes, {
            groupContext: newState.groupContext,
            extensions: [ratchetTreeExt],
            confirmationTag: next.confirmationTag,
            signer: state.ownLeaf,
          });
    const { key, nonce } = await welcomeKeyNonce(suite, next.schedule.welcomeSecret);
    const encryptedGroupInfo = await suite.aead.seal(key.bytes, nonce.bytes, new Uint8Array(0), encode(encodeGroupInfo, welcomeInfo));
    key.destroy();
    nonce.destroy();
    const fdp = new Set<number>(newState.tree.filteredDirectPath(state.ownLeaf));
    const secretOf = new Map<number, Uint8Array>(pathSecrets.map((s) => [s.node, s.secret]));
    // One GroupSecrets per new member (they differ only in the path secret), sealed in one
    // batch: the EncryptContext holds the whole encrypted GroupInfo and is hashed once.
    const plaintexts = applied.added.map(({ leafIndex }) => {
      let pathSecret: { pathSecret: Uint8Array } | undefined;
      if (withPath) {
        const ancestor = commonAncestor(leafToNode(state.ownLeaf), leafToNode(leafIndex));
        const found = fdp.has(ancestor) ? secretOf.get(ancestor) : undefined;
        if (found !== undefined) pathSecret = { pathSecret: found };
      }
      return encode(encodeGroupSecrets, { joinerSecret: next.schedule.joinerSecret.bytes, pathSecret, psks: applied.psks });
    });
    const [sealed, refs] = await Promise.all([
      encryptWithLabelMany(
        suite,
        'Welcome',
        encryptedGroupInfo,
        applied.added.map(({ keyPackage }, i) => ({ publicKey: keyPackage.initKey, plaintext: plaintexts[i]! })),
      ),
      Promise.all(applied.added.map(({ keyPackage }) => makeKeyPackageRef(suite, encode(encodeKeyPackage, keyPackage)))),
    ]);
    for (const p of plaintexts) p.fill(0);
    const secrets: EncryptedGroupSecrets[] = sealed.map((ct, i) => ({ newMember: refs[i]!, encryptedGroupSecrets: ct }));
    welcome = encode(encodeMLSMessage, {
      version: ProtocolVersion.mls10,
      wireFormat: WireFormat.mls_welcome,
      welcome: { cipherSuite: suite.id, secrets, encryptedGroupInfo },
    });
  }
  next.schedule.joinerSecret.destroy();
  next.schedule.welcomeSecret.destroy();
  const pending: StagedCommit = { fromEpoch: state.groupContext.epoch, groupId: state.groupContext.groupId, state: newState };
  return welcome === undefined ? { pending, commitMessage, groupInfo: groupInfoBytes, omitted } : { pending, commitMessage, welcome, groupInfo: groupInfoBytes, omitted };
}

/** Enters the epoch of our own commit once the server accepted it (§12.4.1: staged, then merged). */
export function mergeCommit(state: GroupState, staged: StagedCommit): GroupState {
  if (staged.fromEpoch !== state.groupContext.epoch || !bytesEqual(staged.groupId, state.groupContext.groupId)) {
    throw new UsageError('stale-commit', 'the staged commit was made for another epoch or group');
  }
  return staged.state;
}
