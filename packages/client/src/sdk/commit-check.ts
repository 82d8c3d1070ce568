// What a commit (RFC 9420 §12.4) does to a Parley group, read before the client adopts
// it: who commits, which devices it adds and removes and who proposed each change, and
// whether it changes the GroupContext extensions. The answer feeds the group policy's
// one decision procedure (@parley/protocol group-policy.ts, checkCommitAgainstPolicy)
// and lists the leaves whose device certificates must be checked against their users'
// identity keys. Commits travel as PublicMessages, so all of this is readable before
// processing; proposals by reference are resolved against the epoch's cached proposals.

import {
  ContentType,
  CredentialType,
  ProposalOrRefType,
  ProposalType,
  SenderType,
  WireFormat,
  bytesEqual,
  decode,
  decodeMLSMessage,
  type Credential,
  type Extension,
  type GroupState,
  type LeafNode,
  type Proposal,
  type Sender,
} from '@parley/mls';
import {
  GROUP_POLICY_EXTENSION_TYPE,
  decodeDeviceCertificate,
  decodeGroupPolicy,
  findGroupPolicy,
  type CommitDescription,
  type GroupPolicy,
  type MemberDevice,
  type Proposer,
} from '@parley/protocol';
import { ClientUsageError } from '../errors.js';

/** A leaf a commit brings in (an Add's key package, the committer's new path leaf). */
export interface IncomingLeaf {
  readonly credential: Credential;
  readonly signatureKey: Uint8Array;
}

export interface DescribedCommit {
  readonly description: CommitDescription;
  /** Every leaf node the commit introduces: their certificates must check out. */
  readonly leaves: readonly IncomingLeaf[];
}

/** The (user, device) a leaf's credential names; throws ClientUsageError('unexpected-credential'). */
export function deviceOf(credential: Credential): MemberDevice {
  if (credential.credentialType !== CredentialType.basic) throw new ClientUsageError('unexpected-credential', 'a leaf without a Parley device certificate');
  const cert = decodeDeviceCertificate(credential.identity);
  return { userId: cert.userId, deviceId: cert.deviceId };
}

/** Every device of the group, in leaf order. */
export function membersOf(state: GroupState): { index: number; device: MemberDevice; leaf: LeafNode }[] {
  const out: { index: number; device: MemberDevice; leaf: LeafNode }[] = [];
  for (const [index, leaf] of state.tree.leaves()) out.push({ index: Number(index), device: deviceOf(leaf.credential), leaf });
  return out;
}

/**
 * The policy in force in `state`'s epoch. A group without one (made before policies
 * existed) gets the most restrictive reading: nobody administers it, so nobody may add
 * or remove other users; users may still manage their own devices and leave.
 */
export function policyOf(state: GroupState): GroupPolicy {
  const p = findGroupPolicy(state.groupContext.extensions);
  if (p !== undefined) return p;
  return { kind: 'group', name: '', admins: [], add: 'admins', remove: 'admins', edit: 'admins', updateIntervalSeconds: 7 * 24 * 3600 };
}

function sameExtension(a: Extension, b: Extension): boolean {
  return a.extensionType === b.extensionType && bytesEqual(a.extensionData, b.extensionData);
}

/** Reads the commit in `bytes` (an MLSMessage) against `state`; throws on anything but a commit of this group and epoch. */
export function describeCommit(state: GroupState, bytes: Uint8Array): DescribedCommit {
  const m = decode(decodeMLSMessage, bytes);
  if (m.wireFormat !== WireFormat.mls_public_message) throw new ClientUsageError('not-a-commit', 'commits travel as PublicMessages');
  const content = m.publicMessage.content;
  if (content.contentType !== ContentType.commit) throw new ClientUsageError('not-a-commit', 'the message is not a commit');
  const commit = content.commit;
  const members = membersOf(state);
  const byIndex = new Map(members.map((x) => [x.index, x.device]));
  const proposerOf = (s: Sender): Proposer => {
    if (s.senderType !== SenderType.member) return 'external';
    const d = byIndex.get(Number(s.leafIndex));
    if (d === undefined) throw new ClientUsageError('unknown-sender', 'a proposer is not a leaf of the group');
    return d;
  };
  const external = content.sender.senderType === SenderType.new_member_commit;
  const leaves: IncomingLeaf[] = [];
  let committer: MemberDevice;
  if (external) {
    if (commit.path === undefined) throw new ClientUsageError('not-a-commit', 'an external commit without a path');
    committer = deviceOf(commit.path.leafNode.credential);
  } else {
    const c = proposerOf(content.sender);
    if (c === 'external') throw new ClientUsageError('invalid-commit-sender', 'a commit from outside the group');
    committer = c;
  }
  if (commit.path !== undefined) leaves.push({ credential: commit.path.leafNode.credential, signatureKey: commit.path.leafNode.signatureKey });

  const resolved: { proposal: Proposal; sender: Sender }[] = commit.proposals.map((p) => {
    if (p.type === ProposalOrRefType.proposal) return { proposal: p.proposal, sender: content.sender };
    const cached = state.proposals.find((c) => bytesEqual(c.ref, p.reference));
    if (cached === undefined) throw new ClientUsageError('unknown-proposal-ref', 'the commit references a proposal this device did not receive');
    return { proposal: cached.proposal, sender: cached.sender };
  });
  const added: { device: MemberDevice; proposer: Proposer }[] = [];
  const removed: { device: MemberDevice; proposer: Proposer }[] = [];
  let policyAfter: GroupPolicy | null | undefined;
  let otherExtensionsChanged = false;
  let extensionsProposer: Proposer | undefined;
  for (const { proposal, sender } of resolved) {
    const proposer = proposerOf(sender);
    if (proposal.proposalType === ProposalType.add) {
      const leaf = proposal.add.keyPackage.leafNode;
      leaves.push({ credential: leaf.credential, signatureKey: leaf.signatureKey });
      added.push({ device: deviceOf(leaf.credential), proposer });
    } else if (proposal.proposalType === ProposalType.remove) {
      const d = byIndex.get(Number(proposal.remove.removed));
      if (d === undefined) throw new ClientUsageError('unknown-leaf', 'a Remove names an empty leaf');
      removed.push({ device: d, proposer });
    } else if (proposal.proposalType === ProposalType.update) {
      leaves.push({ credential: proposal.update.leafNode.credential, signatureKey: proposal.update.leafNode.signatureKey });
      // An Update must keep the leaf's user and device: a leaf cannot change hands.
      const before = proposer === 'external' ? undefined : proposer;
      const after = deviceOf(proposal.update.leafNode.credential);
      if (before === undefined || before.userId !== after.userId || before.deviceId !== after.deviceId) {
        throw new ClientUsageError('leaf-changes-hands', 'an Update names another device');
      }
    } else if (proposal.proposalType === ProposalType.group_context_extensions) {
      const next = proposal.groupContextExtensions.extensions;
      const ext = next.find((e) => e.extensionType === GROUP_POLICY_EXTENSION_TYPE);
      policyAfter = ext === undefined ? null : decodeGroupPolicy(ext.extensionData);
      const others = (xs: readonly Extension[]): Extension[] => xs.filter((e) => e.extensionType !== GROUP_POLICY_EXTENSION_TYPE);
      const a = others(state.groupContext.extensions);
      const b = others(next);
      otherExtensionsChanged = a.length !== b.length || a.some((x, i) => !sameExtension(x, b[i]!));
      extensionsProposer = proposer;
    }
  }
  if (!external && commit.path !== undefined) {
    const after = deviceOf(commit.path.leafNode.credential);
    if (after.userId !== committer.userId || after.deviceId !== committer.deviceId) throw new ClientUsageError('leaf-changes-hands', 'the commit path names another device');
  }
  const description: CommitDescription = {
    committer,
    external,
    members: members.map((x) => x.device),
    added,
    removed,
    ...(policyAfter !== undefined ? { policyAfter } : {}),
    ...(otherExtensionsChanged ? { otherExtensionsChanged } : {}),
    ...(extensionsProposer !== undefined ? { extensionsProposer } : {}),
  };
  return { description, leaves };
}
