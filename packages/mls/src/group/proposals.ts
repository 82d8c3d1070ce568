// RFC 9420 §12.2 proposal list validation and §12.3 applying a proposal list: from the
// proposals a commit covers to the new tree, GroupContext extensions, added members
// and PSKs, checking every rule on the way (ValidationError with a stable code).

import { InternalError, UsageError, ValidationError } from '../errors.js';
import type { Extension } from '../messages/extension.js';
import { SenderType, type Sender } from '../messages/framing.js';
import type { KeyPackage } from '../messages/key-package.js';
import { LeafNodeSource } from '../messages/leaf-node.js';
import { ProposalType, PSKType, ResumptionPSKUsage, type PreSharedKeyID, type Proposal, type ReInit } from '../messages/proposal.js';
import { encodePreSharedKeyID } from '../messages/proposal.js';
import { encode } from '../codec/index.js';
import { KeySet, type PublicTree } from '../tree/public-tree.js';
import { applyProposalsToTree, type SentProposal } from '../tree/proposals.js';
import type { HpkePrivateKey } from '../tree/private.js';
import type { LeafIndex } from '../util/brand.js';
import { bytesEqual, toHex } from '../util/bytes.js';
import { encodeCredential, type Credential } from '../messages/credential.js';
import type { GroupConfig } from './state.js';
import {
  checkRequiredCapabilities,
  confirmKeyPackage,
  keyPackageSignatureVerdicts,
  precheckKeyPackage,
  requiredCapabilities,
  validateKeyPackage,
  validateLeafNode,
  type KeyPackageSignatureVerdicts,
  type LeafCheckContext,
} from './validation.js';
import type { CipherSuite } from '../crypto/provider.js';
import { ProtocolVersion } from '../messages/common.js';

/** A proposal with who sent it (the committer for proposals inline in its commit). */
export interface ProposalWithSender {
  readonly proposal: Proposal;
  readonly sender: Sender;
  readonly updatePrivateKey?: HpkePrivateKey | undefined;
}

export interface AppliedProposals {
  /** The tree after the proposals (before any UpdatePath). */
  readonly tree: PublicTree;
  readonly extensions: readonly Extension[];
  /** Members added, in order, with their new leaf indices. */
  readonly added: readonly { readonly leafIndex: LeafIndex; readonly keyPackage: KeyPackage }[];
  readonly psks: readonly PreSharedKeyID[];
  /** §12.4: whether the commit must carry an UpdatePath. */
  readonly pathRequired: boolean;
  readonly removed: ReadonlySet<number>;
  /** The private key of our own Update, when a commit applies it. */
  readonly ownUpdateKey?: HpkePrivateKey | undefined;
  readonly externalInit: Uint8Array | undefined;
  /** §12.1.5: the committed ReInit, after which the group only re-initialises. */
  readonly reinit: ReInit | undefined;
}

export interface ApplyContext {
  readonly suite: CipherSuite;
  readonly config: GroupConfig;
  readonly groupId: Uint8Array;
  readonly extensions: readonly Extension[];
  readonly tree: PublicTree;
  readonly ownLeaf: LeafIndex | undefined;
  /**
   * For an external commit: the credential of the joiner's new leaf (its UpdatePath
   * leaf). §12.4.3.2: a Remove in an external commit is a resync, so the removed leaf
   * must be the same client (config.isSameClient).
   */
  readonly joinerCredential?: Credential | undefined;
  /**
   * §11.2: the new group's first commit re-initialises this old group (its id and the
   * epoch of its ReInit): the one PSK of usage reinit that names it is allowed.
   */
  readonly reinitOf?: { readonly groupId: Uint8Array; readonly epoch: bigint } | undefined;
  /**
   * §11.3: the new group's first commit branches from this group (its id and an epoch we
   * hold): the one PSK of usage branch that names it is allowed.
   */
  readonly branchOf?: { readonly groupId: Uint8Array; readonly epoch: bigint } | undefined;
}

/** The part of an ApplyContext that a group's state gives (its config, context and tree). */
export function applyContextOf(
  suite: CipherSuite,
  state: { readonly config: GroupConfig; readonly groupContext: { readonly groupId: Uint8Array; readonly extensions: readonly Extension[] }; readonly tree: PublicTree },
  ownLeaf: LeafIndex | undefined,
): ApplyContext {
  return { suite, config: state.config, groupId: state.groupContext.groupId, extensions: state.groupContext.extensions, tree: state.tree, ownLeaf };
}

const fail = (code: string, message: string): never => {
  throw new ValidationError(code, message);
};

/**
 * Validates `list` against §12.2 for a commit from `committer` and applies it in the
 * order of §12.3 (GroupContextExtensions, Update, Remove, Add; PSKs collected).
 */
export async function applyProposals(ctx: ApplyContext, list: readonly ProposalWithSender[], committer: Sender): Promise<AppliedProposals> {
  const { applied, confirmation } = await applyProposalsWith(ctx, list, committer, false);
  await confirmation;
  return applied;
}

/**
 * applyProposals for a commit being created, returned before the Adds' signatures are
 * known: `applied` is what applyProposals returns if they verify, and `confirmation`
 * settles once they are checked, rejecting with exactly the error applyProposals would
 * throw (the first failure in list order). Every other check has passed when this
 * resolves. The caller may prepare the commit from `applied` meanwhile (seals, tree
 * hash) but must not let any of it out before `confirmation` resolves (createCommit:
 * afterConfirmation).
 */
export function applyProposalsUnconfirmed(
  ctx: ApplyContext,
  list: readonly ProposalWithSender[],
  committer: Sender,
): Promise<{ readonly applied: AppliedProposals; readonly confirmation: Promise<void> }> {
  return applyProposalsWith(ctx, list, committer, true);
}

async function applyProposalsWith(
  ctx: ApplyContext,
  list: readonly ProposalWithSender[],
  committer: Sender,
  overlap: boolean,
): Promise<{ readonly applied: AppliedProposals; readonly confirmation: Promise<void> }> {
  const external = committer.senderType === SenderType.new_member_commit;
  const committerLeaf = committer.senderType === SenderType.member ? committer.leafIndex : undefined;
  const gce: Extension[][] = [];
  const updates: { leaf: LeafIndex; p: ProposalWithSender }[] = [];
  const removes: LeafIndex[] = [];
  const adds: KeyPackage[] = [];
  const psks: PreSharedKeyID[] = [];
  const pskSeen = new Set<string>();
  const touched = new Set<number>();
  let externalInit: Uint8Array | undefined;
  let reinit = 0;
  let reinitProposal: ReInit | undefined;
  let pathRequired = list.length === 0;

  for (const item of list) {
    const p = item.proposal;
    switch (p.proposalType) {
      case ProposalType.add:
        adds.push(p.add.keyPackage);
        break;
      case ProposalType.update: {
        if (item.sender.senderType !== SenderType.member) fail('invalid-proposal-sender', 'only a member can propose an Update');
        const leaf = (item.sender as { leafIndex: LeafIndex }).leafIndex;
        if (leaf === committerLeaf) fail('committer-update', 'a commit cannot include an Update from its own sender');
        if (touched.has(leaf)) fail('duplicate-leaf-change', `leaf ${leaf} is updated or removed twice`);
        touched.add(leaf);
        updates.push({ leaf, p: item });
        pathRequired = true;
        break;
      }
      case ProposalType.remove: {
        const leaf = p.remove.removed;
        if (ctx.tree.leaf(leaf) === undefined) fail('remove-of-blank-leaf', `leaf ${leaf} is blank or outside the tree`);
        if (touched.has(leaf)) fail('duplicate-leaf-change', `leaf ${leaf} is updated or removed twice`);
        if (leaf === committerLeaf) fail('committer-removed', 'a commit cannot remove its own sender');
        touched.add(leaf);
        removes.push(leaf);
        pathRequired = true;
        break;
      }
      case ProposalType.psk: {
        const id = p.psk.psk;
        const key = toHex(encode(encodePreSharedKeyID, { ...id, pskNonce: new Uint8Array(0) }));
        if (pskSeen.has(key)) fail('duplicate-psk', 'a PSK is proposed twice');
        pskSeen.add(key);
        if (id.psktype === PSKType.resumption && id.usage !== ResumptionPSKUsage.application) {
          // §8.4: usage reinit or branch only in the first commit of that flow's new group.
          const of = id.usage === ResumptionPSKUsage.reinit ? ctx.reinitOf : ctx.branchOf;
          const allowed = of !== undefined && bytesEqual(id.pskGroupId, of.groupId) && id.pskEpoch === of.epoch;
          if (!allowed) fail('invalid-psk-usage', 'a commit may only use resumption PSKs of usage application');
        }
        if (id.pskNonce.length !== ctx.suite.kdf.nh) fail('bad-psk-nonce', 'psk_nonce must be KDF.Nh bytes');
        psks.push(id);
        break;
      }
      case ProposalType.reinit:
        // §12.1.5: a ReInit may not lower the version (the engine's groups are all mls10).
        if (p.reinit.version < ProtocolVersion.mls10) fail('invalid-reinit-version', 'a ReInit cannot lower the protocol version');
        reinit++;
        reinitProposal = p.reinit;
        break;
      case ProposalType.external_init:
        if (!external) fail('external-init-in-member-commit', 'ExternalInit is only allowed in an external commit');
        if (externalInit !== undefined) fail('duplicate-external-init', 'more than one ExternalInit');
        externalInit = p.externalInit.kemOutput;
        pathRequired = true;
        break;
      case ProposalType.group_context_extensions:
        gce.push([...p.groupContextExtensions.extensions]);
        pathRequired = true;
        break;
    }
  }
  if (gce.length > 1) fail('duplicate-group-context-extensions', 'more than one GroupContextExtensions proposal');
  if (reinit > 0 && list.length !== 1) fail('reinit-not-alone', 'a ReInit must be the only proposal of its commit');
  if (external && externalInit === undefined) fail('missing-external-init', 'an external commit needs an ExternalInit');
  if (external) {
    for (const item of list) {
      const t = item.proposal.proposalType;
      if (t !== ProposalType.external_init && t !== ProposalType.remove && t !== ProposalType.psk) {
        fail('invalid-external-commit-proposal', `proposal type ${t} is not allowed in an external commit`);
      }
    }
    // §12.4.3.2: at most one Remove, and only of the joiner's own prior leaf (resync).
    if (removes.length > 1) fail('external-commit-multiple-removes', 'an external commit removes at most one leaf');
    const prior = removes[0] === undefined ? undefined : ctx.tree.leaf(removes[0]);
    if (prior !== undefined) {
      if (ctx.joinerCredential === undefined) fail('invalid-external-commit', 'an external commit with a Remove needs the joiner’s leaf');
      if (!(await sameClient(ctx.config, prior.credential, ctx.joinerCredential!))) {
        fail('external-resync-identity-mismatch', 'an external commit may only remove the joiner’s own prior leaf');
      }
    }
  }

  const extensions = gce[0] ?? ctx.extensions;
  const leafCtx = { suite: ctx.suite, config: ctx.config, groupId: ctx.groupId, groupExtensions: extensions, tree: ctx.tree };

  let ownUpdateKey: HpkePrivateKey | undefined;
  const treeChanges: SentProposal[] = [];
  for (const { leaf, p } of updates) {
    const node = (p.proposal as Extract<Proposal, { proposalType: 2 }>).update.leafNode;
    await validateLeafNode(leafCtx, node, LeafNodeSource.update, leaf, leaf);
    treeChanges.push({ proposal: p.proposal, sender: leaf });
    if (leaf === ctx.ownLeaf) {
      // Only proposeUpdate caches an Update from our leaf (processMessage refuses our own proposals as own-message), and it keeps the key.
      if (p.updatePrivateKey === undefined) throw new InternalError('own-update-key-missing', 'our cached Update has no private key');
      ownUpdateKey = p.updatePrivateKey;
    }
  }
  for (const removed of removes) treeChanges.push({ proposal: { proposalType: ProposalType.remove, remove: { removed } } });

  // Adds are checked against the tree they join: after the Updates and Removes.
  const afterRemoves = applyProposalsToTree(ctx.tree, treeChanges).tree;
  if (gce[0] !== undefined) {
    // §12.1.7: every member of the new epoch supports what the new extensions require —
    // the leaves left after the Updates and Removes (blank leaves and removed members
    // have nothing to support); the Adds are checked below, the path leaf by the caller.
    const required = requiredCapabilities(extensions);
    for (const [, leaf] of afterRemoves.leaves()) checkRequiredCapabilities(leaf, required);
  }
  const addCtx = { ...leafCtx, tree: afterRemoves };
  // Every Add's two signatures in one batch (checked in parallel where the backend can),
  // started before the other checks so that they run meanwhile.
  const verdicts = keyPackageSignatureVerdicts(ctx.suite, adds);
  let confirmation: Promise<void> = Promise.resolve();
  let prechecked = false;
  if (overlap && adds.length > 0) {
    try {
      precheckAdds(addCtx, adds);
      prechecked = true;
    } catch {
      // The order-exact path below finds the first failure, a signature's if it comes first.
    }
  }
  if (prechecked) {
    confirmation = verdicts.then((v) => confirmAdds(addCtx, adds, v));
    // Handled by whoever awaits it; this keeps a rejection that is awaited later from counting as unhandled.
    confirmation.catch(() => undefined);
  } else {
    await checkAdds(addCtx, adds, await verdicts);
  }
  for (const kp of adds) treeChanges.push({ proposal: { proposalType: ProposalType.add, add: { keyPackage: kp } } });
  const result = applyProposalsToTree(ctx.tree, treeChanges);
  const added = result.addedLeaves.map((leafIndex, i) => ({ leafIndex, keyPackage: adds[i]! }));
  const applied: AppliedProposals = {
    tree: result.tree,
    extensions,
    added,
    psks,
    pathRequired,
    removed: new Set(removes.map(Number)),
    ownUpdateKey,
    externalInit,
    reinit: reinitProposal,
  };
  return { applied, confirmation };
}

/**
 * The client an Add names, by its credential's encoding: §12.2 allows no Add of a client
 * already in the group (unless removed by this commit) or added twice. The application
 * may also decide: config.clientKey (one call per member and per Add, looked up in a
 * set), or config.isSameClient (one call per pair: a cost it opts into).
 */
function credentialKey(credential: Credential): string {
  return `credential:${toHex(encode(encodeCredential, credential))}`;
}

/** config.clientKey's identifier of a client, in the namespace of clientIds. */
function applicationKey(clientKey: (credential: Credential) => string, credential: Credential): string {
  return `client:${clientKeyOf(clientKey, credential)}`;
}

/** isSameClient, when the application decides pair by pair (it cannot be set with clientKey). */
function pairwiseOf(config: GroupConfig): GroupConfig['isSameClient'] {
  return config.clientKey === undefined ? config.isSameClient : undefined;
}

/** The credentials of the members an Add joins (the tree after the Updates and Removes). */
function memberCredentials(tree: PublicTree): Credential[] {
  const out: Credential[] = [];
  for (const [, leaf] of tree.leaves()) out.push(leaf.credential);
  return out;
}

/**
 * §10.1, §12.2 for the Adds, each in list order with its signature verdicts, as one by
 * one: the key package, then its client and keys against the members and earlier Adds.
 * Keys are compared through sets (one lookup each, not a pass over the earlier Adds): a
 * commit adding N members stays linear in N.
 */
async function checkAdds(ctx: LeafCheckContext, adds: readonly KeyPackage[], verdicts: readonly KeyPackageSignatureVerdicts[]): Promise<void> {
  if (adds.length === 0) return;
  const members = memberCredentials(ctx.tree);
  const clients = new Set(members.flatMap((c) => clientIds(ctx.config, c)));
  const signatureKeys = new KeySet();
  const encryptionKeys = new KeySet();
  const isSameClient = pairwiseOf(ctx.config);
  const known = isSameClient === undefined ? [] : members;
  for (const [i, kp] of adds.entries()) {
    await validateKeyPackage(ctx, kp, verdicts[i]);
    const credential = kp.leafNode.credential;
    checkNewClient(clients, clientIds(ctx.config, credential));
    if (isSameClient !== undefined) {
      for (const other of known) if (await isSameClient(other, credential)) failDuplicateMember();
      known.push(credential);
    }
    checkNewKeys(signatureKeys, encryptionKeys, kp);
  }
}

/**
 * checkAdds without the signatures and the application's callbacks (validateCredential,
 * clientKey, isSameClient), which confirmAdds then runs: synchronous, so nothing of the
 * application's runs before the signatures are known.
 */
function precheckAdds(ctx: LeafCheckContext, adds: readonly KeyPackage[]): void {
  const clients = new Set(memberCredentials(ctx.tree).map(credentialKey));
  const signatureKeys = new KeySet();
  const encryptionKeys = new KeySet();
  for (const kp of adds) {
    precheckKeyPackage(ctx, kp);
    checkNewClient(clients, [credentialKey(kp.leafNode.credential)]);
    checkNewKeys(signatureKeys, encryptionKeys, kp);
  }
}

/**
 * The rest of checkAdds once precheckAdds passed: per Add in order, its two signatures,
 * the application's verdict on its credential, then its clientKey or isSameClient
 * against the members and earlier Adds — the only checks of checkAdds that can still
 * fail, in its order, so the error is the one checkAdds would throw.
 */
async function confirmAdds(ctx: LeafCheckContext, adds: readonly KeyPackage[], verdicts: readonly KeyPackageSignatureVerdicts[]): Promise<void> {
  const clientKey = ctx.config.clientKey;
  const isSameClient = pairwiseOf(ctx.config);
  const members = clientKey === undefined && isSameClient === undefined ? [] : memberCredentials(ctx.tree);
  const clients = clientKey === undefined ? undefined : new Set(members.map((c) => applicationKey(clientKey, c)));
  const known = isSameClient === undefined ? [] : members;
  for (const [i, kp] of adds.entries()) {
    await confirmKeyPackage(ctx, kp, verdicts[i]!);
    if (clients !== undefined) checkNewClient(clients, [applicationKey(clientKey!, kp.leafNode.credential)]);
    if (isSameClient !== undefined) {
      const credential = kp.leafNode.credential;
      for (const other of known) if (await isSameClient(other, credential)) failDuplicateMember();
      known.push(credential);
    }
  }
}

function checkNewClient(clients: Set<string>, ids: readonly string[]): void {
  if (ids.some((id) => clients.has(id))) failDuplicateMember();
  for (const id of ids) clients.add(id);
}

function checkNewKeys(signatureKeys: KeySet, encryptionKeys: KeySet, kp: KeyPackage): void {
  if (!signatureKeys.add(kp.leafNode.signatureKey)) fail('duplicate-signature-key', 'two Adds carry the same signature key');
  if (!encryptionKeys.add(kp.leafNode.encryptionKey)) fail('duplicate-encryption-key', 'two Adds carry the same encryption key');
}

function failDuplicateMember(): never {
  throw new ValidationError('duplicate-member', 'an Add names a client that is already a member or added twice');
}

/**
 * §12.2: the keys under which a client is known for the duplicate-member rule: its
 * credential's encoding (identical credentials are one client) and, with
 * config.clientKey, the application's key for it.
 */
export function clientIds(config: GroupConfig, credential: Credential): string[] {
  const encoding = credentialKey(credential);
  return config.clientKey === undefined ? [encoding] : [encoding, applicationKey(config.clientKey, credential)];
}

/** config.clientKey(credential), which must be a string (UsageError 'bad-client-key'). */
export function clientKeyOf(clientKey: (credential: Credential) => string, credential: Credential): string {
  const key: unknown = clientKey(credential);
  if (typeof key !== 'string') throw new UsageError('bad-client-key', 'config.clientKey must return a string');
  return key;
}

/**
 * §12.1.2, §12.4.3.2: whether `next` presents identifiers acceptable for the client that
 * held `previous`. The application decides (config.clientKey, or config.isSameClient);
 * by default the two credentials must be identical.
 */
export async function sameClient(config: GroupConfig, previous: Credential, next: Credential): Promise<boolean> {
  if (config.clientKey !== undefined) return clientKeyOf(config.clientKey, previous) === clientKeyOf(config.clientKey, next);
  if (config.isSameClient !== undefined) return config.isSameClient(previous, next);
  return bytesEqual(encode(encodeCredential, previous), encode(encodeCredential, next));
}
