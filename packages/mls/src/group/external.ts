// RFC 9420 §12.4.3.2 Joining via an external commit: from a GroupInfo with the
// external_pub extension and the ratchet tree, a new member (or a member resyncing,
// which removes its prior leaf in the same commit) commits itself into the group.

import { decode, encode } from '../codec/index.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { UsageError, ValidationError } from '../errors.js';
import { ProtocolVersion } from '../messages/common.js';
import type { Commit } from '../messages/commit.js';
import type { Credential } from '../messages/credential.js';
import { decodeExternalPub, ExtensionType } from '../messages/extension.js';
import { ContentType, SenderType, WireFormat, type FramedContent } from '../messages/framing.js';
import { encodeGroupContext } from '../messages/group-context.js';
import { LeafNodeSource, type LeafNode } from '../messages/leaf-node.js';
import { decodeMLSMessage, encodeMLSMessage } from '../messages/mls-message.js';
import { ProposalOrRefType, ProposalType, type Proposal } from '../messages/proposal.js';
import { decodeRatchetTree, type Node } from '../messages/ratchet-tree.js';
import { nextInterimTranscriptHash } from '../schedule/transcript.js';
import { TreePrivateKeys } from '../tree/private.js';
import { PublicTree } from '../tree/public-tree.js';
import { encryptUpdatePath, generateUpdatePath } from '../tree/treekem.js';
import { validateRatchetTree } from '../tree/validate.js';
import { leafIndex, type LeafIndex } from '../util/brand.js';
import { utf8Bytes } from '../util/bytes.js';
import { Secret } from '../util/secret.js';
import { advanceEpoch, type EpochBefore } from './advance.js';
import { signFramedContent } from '../framing/authentication.js';
import { verifyGroupInfo } from './content-auth.js';
import type { Capabilities } from '../messages/capabilities.js';
import type { SignatureKeyPair } from './create.js';
import { applyProposals } from './proposals.js';
import { validateTreeLeaves } from './validation.js';
import { checkGroupConfig, type GroupConfig, type GroupState } from './state.js';

export interface JoinExternalParams {
  readonly provider: CryptoProvider;
  /** An MLSMessage carrying the GroupInfo (createCommit returns one per epoch). */
  readonly groupInfo: Uint8Array;
  readonly ratchetTree?: readonly (Node | undefined)[];
  readonly credential: Credential;
  readonly signatureKey: SignatureKeyPair;
  readonly capabilities?: Capabilities;
  /** Resync: our own prior leaf, removed by the same commit. */
  readonly removePrior?: LeafIndex;
  readonly config?: GroupConfig;
}

/** Returns our state in the new epoch and the commit (MLSMessage) to send to the group. */
export async function joinExternal(p: JoinExternalParams): Promise<{ state: GroupState; commitMessage: Uint8Array }> {
  const config = p.config ?? {};
  checkGroupConfig(config);
  const m = decode(decodeMLSMessage, p.groupInfo);
  if (m.wireFormat !== WireFormat.mls_group_info) throw new UsageError('not-a-group-info', 'the message is not a GroupInfo');
  const info = m.groupInfo;
  const gc = info.groupContext;
  const suite = p.provider.suite(gc.cipherSuite);
  const treeExt = info.extensions.find((e) => e.extensionType === ExtensionType.ratchet_tree);
  const nodes = treeExt !== undefined ? decode(decodeRatchetTree, treeExt.extensionData) : p.ratchetTree;
  if (nodes === undefined) throw new UsageError('missing-ratchet-tree', 'the GroupInfo carries no ratchet tree and none was given');
  const tree = PublicTree.fromNodes(suite, nodes);
  const signer = tree.leaf(info.signer);
  if (signer === undefined || !(await verifyGroupInfo(suite, signer.signatureKey, info))) {
    throw new ValidationError('invalid-group-info-signature', 'the GroupInfo signature does not verify');
  }
  await validateRatchetTree(tree, { groupId: gc.groupId, treeHash: gc.treeHash });
  await validateTreeLeaves({ suite, config, groupExtensions: gc.extensions }, tree);
  const pubExt = info.extensions.find((e) => e.extensionType === ExtensionType.external_pub);
  if (pubExt === undefined) throw new ValidationError('missing-external-pub', 'the GroupInfo has no external_pub extension');
  const externalPub = decode(decodeExternalPub, pubExt.extensionData).externalPub;
  const { kemOutput, secret: initSecret } = await suite.hpke.exportSender(externalPub, new Uint8Array(0), utf8Bytes('MLS 1.0 external init secret'), suite.kdf.nh);

  const proposals: Proposal[] = [{ proposalType: ProposalType.external_init, externalInit: { kemOutput } }];
  if (p.removePrior !== undefined) proposals.push({ proposalType: ProposalType.remove, remove: { removed: p.removePrior } });
  const sender = { senderType: SenderType.new_member_commit } as const;
  const applied = await applyProposals(
    { suite, config, groupId: gc.groupId, extensions: gc.extensions, tree, ownLeaf: undefined, joinerCredential: p.credential },
    proposals.map((proposal) => ({ proposal, sender })),
    sender,
  );
  const editor = applied.tree.edit();
  let own = applied.tree.leftmostBlankLeaf();
  if (own === undefined) {
    own = leafIndex(applied.tree.leafCount);
    editor.extend();
  }
  const base = editor.finish();
  const enc = await suite.hpke.generateKeyPair();
  const leafTemplate: LeafNode = {
    encryptionKey: enc.publicKey,
    signatureKey: p.signatureKey.publicKey,
    credential: p.credential,
    capabilities: p.capabilities ?? { versions: [ProtocolVersion.mls10], cipherSuites: [suite.id], extensions: [], proposals: [], credentials: [p.credential.credentialType] },
    leafNodeSource: LeafNodeSource.commit,
    parentHash: new Uint8Array(0),
    extensions: [],
    signature: new Uint8Array(0),
  };
  const generated = await generateUpdatePath({
    tree: base,
    leafIndex: own,
    groupId: gc.groupId,
    signaturePrivateKey: p.signatureKey.privateKey,
    leafNode: leafTemplate,
    randomness: { pathSecret0: suite.randomBytes(suite.kdf.nh), leafKeyPair: enc },
  });
  const provisional = encode(encodeGroupContext, { ...gc, epoch: gc.epoch + 1n, treeHash: await generated.tree.treeHash(), extensions: applied.extensions });
  const path = await encryptUpdatePath(generated, provisional);
  const commit: Commit = { proposals: proposals.map((proposal) => ({ type: ProposalOrRefType.proposal, proposal })), path };
  const content: FramedContent = { groupId: gc.groupId, epoch: gc.epoch, sender, authenticatedData: new Uint8Array(0), contentType: ContentType.commit, commit };
  const groupContextBytes = encode(encodeGroupContext, gc);
  const signature = await signFramedContent({ suite, groupContext: gc, groupContextBytes }, WireFormat.mls_public_message, content, p.signatureKey.privateKey);
  const before: EpochBefore = {
    suite,
    config,
    groupContext: gc,
    groupContextBytes,
    tree,
    ownLeaf: own,
    privateKeys: generated.privateKeys,
    signaturePrivateKey: new Secret(p.signatureKey.privateKey.slice()),
    interimTranscriptHash: await nextInterimTranscriptHash(suite, gc.confirmedTranscriptHash, info.confirmationTag),
    confirmationTag: info.confirmationTag,
    keys: undefined,
    proposals: [],
    resumptionPsks: [],
    retained: [],
  };
  const next = await advanceEpoch(before, {
    tree: generated.tree,
    extensions: applied.extensions,
    psks: applied.psks,
    commitSecret: generated.commitSecret,
    privateKeys: new TreePrivateKeys(own, new Map(generated.privateKeys.entries())),
    ownLeaf: own,
    wireFormat: WireFormat.mls_public_message,
    content,
    signature,
    initSecretOverride: initSecret,
  });
  next.schedule.joinerSecret.destroy();
  next.schedule.welcomeSecret.destroy();
  const commitMessage = encode(encodeMLSMessage, {
    version: ProtocolVersion.mls10,
    wireFormat: WireFormat.mls_public_message,
    publicMessage: { content, auth: { signature, confirmationTag: next.confirmationTag } },
  });
  return { state: next.state, commitMessage };
}
