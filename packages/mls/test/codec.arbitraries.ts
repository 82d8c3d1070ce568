// fast-check arbitraries for every RFC 9420 wire structure of src/messages, shared by
// the codec round-trip tests and the decoder fuzz tests. Values are structurally
// valid (consistent selects), not semantically valid (keys and signatures are noise).

import fc from 'fast-check';
import type { Decoder, Encoder } from '../src/codec/index.js';
import * as m from '../src/messages/index.js';
import { leafIndex } from '../src/util/brand.js';

const bytes = fc.uint8Array({ maxLength: 40 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const u64 = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });
const leaf = u32.map(leafIndex);
const list = <T>(a: fc.Arbitrary<T>, maxLength = 3): fc.Arbitrary<T[]> => fc.array(a, { maxLength });
const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });
const version = fc.constant(m.ProtocolVersion.mls10);

export const credential: fc.Arbitrary<m.Credential> = fc.oneof(
  fc.record({ credentialType: fc.constant(m.CredentialType.basic), identity: bytes }),
  fc.record({ credentialType: fc.constant(m.CredentialType.x509), certificates: list(bytes) }),
);
export const extension: fc.Arbitrary<m.Extension> = fc.record({ extensionType: u16, extensionData: bytes });
const extensions = list(extension);
export const requiredCapabilities: fc.Arbitrary<m.RequiredCapabilities> = fc.record({
  extensionTypes: list(u16, 5),
  proposalTypes: list(u16, 5),
  credentialTypes: list(u16, 5),
});
export const externalPub: fc.Arbitrary<m.ExternalPub> = fc.record({ externalPub: bytes });
export const externalSender: fc.Arbitrary<m.ExternalSender> = fc.record({ signatureKey: bytes, credential });
export const capabilities: fc.Arbitrary<m.Capabilities> = fc.record({
  versions: list(u16, 4),
  cipherSuites: list(u16, 4),
  extensions: list(u16, 4),
  proposals: list(u16, 4),
  credentials: list(u16, 4),
});
export const lifetime: fc.Arbitrary<m.Lifetime> = fc.record({ notBefore: u64, notAfter: u64 });
const leafNodeSource: fc.Arbitrary<m.LeafNodeSourceFields> = fc.oneof(
  fc.record({ leafNodeSource: fc.constant(m.LeafNodeSource.key_package), lifetime }),
  fc.record({ leafNodeSource: fc.constant(m.LeafNodeSource.update) }),
  fc.record({ leafNodeSource: fc.constant(m.LeafNodeSource.commit), parentHash: bytes }),
);
export const leafNode: fc.Arbitrary<m.LeafNode> = fc
  .tuple(
    fc.record({ encryptionKey: bytes, signatureKey: bytes, credential, capabilities, extensions, signature: bytes }),
    leafNodeSource,
  )
  .map(([common, source]) => ({ ...common, ...source }));
export const parentNode: fc.Arbitrary<m.ParentNode> = fc.record({ encryptionKey: bytes, parentHash: bytes, unmergedLeaves: list(leaf) });
export const node: fc.Arbitrary<m.Node> = fc.oneof(
  fc.record({ nodeType: fc.constant(m.NodeType.leaf), leafNode }),
  fc.record({ nodeType: fc.constant(m.NodeType.parent), parentNode }),
);
export const ratchetTree: fc.Arbitrary<(m.Node | undefined)[]> = list(opt(node), 5);
export const hpkeCiphertext: fc.Arbitrary<m.HPKECiphertext> = fc.record({ kemOutput: bytes, ciphertext: bytes });
export const updatePathNode: fc.Arbitrary<m.UpdatePathNode> = fc.record({ encryptionKey: bytes, encryptedPathSecret: list(hpkeCiphertext) });
export const updatePath: fc.Arbitrary<m.UpdatePath> = fc.record({ leafNode, nodes: list(updatePathNode) });
export const groupContext: fc.Arbitrary<m.GroupContext> = fc.record({
  version,
  cipherSuite: u16,
  groupId: bytes,
  epoch: u64,
  treeHash: bytes,
  confirmedTranscriptHash: bytes,
  extensions,
});
export const keyPackage: fc.Arbitrary<m.KeyPackage> = fc.record({ version, cipherSuite: u16, initKey: bytes, leafNode, extensions, signature: bytes });
export const preSharedKeyID: fc.Arbitrary<m.PreSharedKeyID> = fc.oneof(
  fc.record({ psktype: fc.constant(m.PSKType.external), pskId: bytes, pskNonce: bytes }),
  fc.record({
    psktype: fc.constant(m.PSKType.resumption),
    usage: fc.constantFrom(...Object.values(m.ResumptionPSKUsage)),
    pskGroupId: bytes,
    pskEpoch: u64,
    pskNonce: bytes,
  }),
);
export const add: fc.Arbitrary<m.Add> = fc.record({ keyPackage });
export const update: fc.Arbitrary<m.Update> = fc.record({ leafNode });
export const remove: fc.Arbitrary<m.Remove> = fc.record({ removed: leaf });
export const preSharedKey: fc.Arbitrary<m.PreSharedKey> = fc.record({ psk: preSharedKeyID });
export const reInit: fc.Arbitrary<m.ReInit> = fc.record({ groupId: bytes, version, cipherSuite: u16, extensions });
export const externalInit: fc.Arbitrary<m.ExternalInit> = fc.record({ kemOutput: bytes });
export const groupContextExtensions: fc.Arbitrary<m.GroupContextExtensions> = fc.record({ extensions });
export const proposal: fc.Arbitrary<m.Proposal> = fc.oneof(
  fc.record({ proposalType: fc.constant(m.ProposalType.add), add }),
  fc.record({ proposalType: fc.constant(m.ProposalType.update), update }),
  fc.record({ proposalType: fc.constant(m.ProposalType.remove), remove }),
  fc.record({ proposalType: fc.constant(m.ProposalType.psk), psk: preSharedKey }),
  fc.record({ proposalType: fc.constant(m.ProposalType.reinit), reinit: reInit }),
  fc.record({ proposalType: fc.constant(m.ProposalType.external_init), externalInit }),
  fc.record({ proposalType: fc.constant(m.ProposalType.group_context_extensions), groupContextExtensions }),
);
export const proposalOrRef: fc.Arbitrary<m.ProposalOrRef> = fc.oneof(
  fc.record({ type: fc.constant(m.ProposalOrRefType.proposal), proposal }),
  fc.record({ type: fc.constant(m.ProposalOrRefType.reference), reference: bytes }),
);
export const commit: fc.Arbitrary<m.Commit> = fc.record({ proposals: list(proposalOrRef), path: opt(updatePath) });
export const sender: fc.Arbitrary<m.Sender> = fc.oneof(
  fc.record({ senderType: fc.constant(m.SenderType.member), leafIndex: leaf }),
  fc.record({ senderType: fc.constant(m.SenderType.external), senderIndex: u32 }),
  fc.record({ senderType: fc.constant(m.SenderType.new_member_proposal) }),
  fc.record({ senderType: fc.constant(m.SenderType.new_member_commit) }),
);
const contentBody: fc.Arbitrary<m.ContentBody> = fc.oneof(
  fc.record({ contentType: fc.constant(m.ContentType.application), applicationData: bytes }),
  fc.record({ contentType: fc.constant(m.ContentType.proposal), proposal }),
  fc.record({ contentType: fc.constant(m.ContentType.commit), commit }),
);
export const framedContent: fc.Arbitrary<m.FramedContent> = fc
  .tuple(fc.record({ groupId: bytes, epoch: u64, sender, authenticatedData: bytes }), contentBody)
  .map(([header, body]) => ({ ...header, ...body }));
const authFor = (contentType: m.ContentType): fc.Arbitrary<m.FramedContentAuthData> =>
  contentType === m.ContentType.commit ? fc.record({ signature: bytes, confirmationTag: bytes }) : fc.record({ signature: bytes });
export const authenticatedContent: fc.Arbitrary<m.AuthenticatedContent> = fc
  .tuple(fc.constantFrom(m.WireFormat.mls_public_message, m.WireFormat.mls_private_message), framedContent)
  .chain(([wireFormat, content]) => authFor(content.contentType).map((auth) => ({ wireFormat, content, auth })));
export const publicMessage: fc.Arbitrary<m.PublicMessage> = fc.tuple(framedContent, bytes).chain(([content, tag]) =>
  authFor(content.contentType).map((auth) =>
    content.sender.senderType === m.SenderType.member ? { content, auth, membershipTag: tag } : { content, auth },
  ),
);
export const privateMessage: fc.Arbitrary<m.PrivateMessage> = fc.record({
  groupId: bytes,
  epoch: u64,
  contentType: fc.constantFrom(...Object.values(m.ContentType)),
  authenticatedData: bytes,
  encryptedSenderData: bytes,
  ciphertext: bytes,
});
export const privateMessageContent: fc.Arbitrary<m.PrivateMessageContent> = fc
  .tuple(contentBody, fc.integer({ min: 0, max: 64 }))
  .chain(([body, paddingLength]) => authFor(body.contentType).map((auth) => ({ ...body, auth, paddingLength })));
export const senderData: fc.Arbitrary<m.SenderData> = fc.record({
  leafIndex: leaf,
  generation: u32,
  reuseGuard: fc.uint8Array({ minLength: 4, maxLength: 4 }),
});
export const groupInfo: fc.Arbitrary<m.GroupInfo> = fc.record({ groupContext, extensions, confirmationTag: bytes, signer: leaf, signature: bytes });
export const pathSecret: fc.Arbitrary<m.PathSecret> = fc.record({ pathSecret: bytes });
export const groupSecrets: fc.Arbitrary<m.GroupSecrets> = fc.record({ joinerSecret: bytes, pathSecret: opt(pathSecret), psks: list(preSharedKeyID) });
export const encryptedGroupSecrets: fc.Arbitrary<m.EncryptedGroupSecrets> = fc.record({ newMember: bytes, encryptedGroupSecrets: hpkeCiphertext });
export const welcome: fc.Arbitrary<m.Welcome> = fc.record({ cipherSuite: u16, secrets: list(encryptedGroupSecrets), encryptedGroupInfo: bytes });
export const mlsMessage: fc.Arbitrary<m.MLSMessage> = fc.oneof(
  fc.record({ version, wireFormat: fc.constant(m.WireFormat.mls_public_message), publicMessage }),
  fc.record({ version, wireFormat: fc.constant(m.WireFormat.mls_private_message), privateMessage }),
  fc.record({ version, wireFormat: fc.constant(m.WireFormat.mls_welcome), welcome }),
  fc.record({ version, wireFormat: fc.constant(m.WireFormat.mls_group_info), groupInfo }),
  fc.record({ version, wireFormat: fc.constant(m.WireFormat.mls_key_package), keyPackage }),
);

/** One wire structure: its codec and a generator of its values. */
export interface Structure<T = unknown> {
  readonly name: string;
  readonly encoder: Encoder<T>;
  readonly decoder: Decoder<T>;
  readonly arbitrary: fc.Arbitrary<T>;
}

const s = <T>(name: string, encoder: Encoder<T>, decoder: Decoder<T>, arbitrary: fc.Arbitrary<T>): Structure =>
  ({ name, encoder, decoder, arbitrary }) as unknown as Structure;

/** Every structure of src/messages with a decoder, for round trips and fuzzing. */
export const STRUCTURES: readonly Structure[] = [
  s('Credential', m.encodeCredential, m.decodeCredential, credential),
  s('Extension', m.encodeExtension, m.decodeExtension, extension),
  s('Extension<V>', m.encodeExtensions, m.decodeExtensions, extensions),
  s('application_id', m.encodeApplicationId, m.decodeApplicationId, bytes),
  s('RequiredCapabilities', m.encodeRequiredCapabilities, m.decodeRequiredCapabilities, requiredCapabilities),
  s('ExternalPub', m.encodeExternalPub, m.decodeExternalPub, externalPub),
  s('ExternalSender', m.encodeExternalSender, m.decodeExternalSender, externalSender),
  s('ExternalSender<V>', m.encodeExternalSenders, m.decodeExternalSenders, list(externalSender)),
  s('Capabilities', m.encodeCapabilities, m.decodeCapabilities, capabilities),
  s('Lifetime', m.encodeLifetime, m.decodeLifetime, lifetime),
  s('LeafNode', m.encodeLeafNode, m.decodeLeafNode, leafNode),
  s('ParentNode', m.encodeParentNode, m.decodeParentNode, parentNode),
  s('Node', m.encodeNode, m.decodeNode, node),
  s('ratchet_tree', m.encodeRatchetTree, m.decodeRatchetTree, ratchetTree),
  s('HPKECiphertext', m.encodeHPKECiphertext, m.decodeHPKECiphertext, hpkeCiphertext),
  s('UpdatePathNode', m.encodeUpdatePathNode, m.decodeUpdatePathNode, updatePathNode),
  s('UpdatePath', m.encodeUpdatePath, m.decodeUpdatePath, updatePath),
  s('GroupContext', m.encodeGroupContext, m.decodeGroupContext, groupContext),
  s('KeyPackage', m.encodeKeyPackage, m.decodeKeyPackage, keyPackage),
  s('PreSharedKeyID', m.encodePreSharedKeyID, m.decodePreSharedKeyID, preSharedKeyID),
  s('Add', m.encodeAdd, m.decodeAdd, add),
  s('Update', m.encodeUpdate, m.decodeUpdate, update),
  s('Remove', m.encodeRemove, m.decodeRemove, remove),
  s('PreSharedKey', m.encodePreSharedKey, m.decodePreSharedKey, preSharedKey),
  s('ReInit', m.encodeReInit, m.decodeReInit, reInit),
  s('ExternalInit', m.encodeExternalInit, m.decodeExternalInit, externalInit),
  s('GroupContextExtensions', m.encodeGroupContextExtensions, m.decodeGroupContextExtensions, groupContextExtensions),
  s('Proposal', m.encodeProposal, m.decodeProposal, proposal),
  s('ProposalOrRef', m.encodeProposalOrRef, m.decodeProposalOrRef, proposalOrRef),
  s('Commit', m.encodeCommit, m.decodeCommit, commit),
  s('Sender', m.encodeSender, m.decodeSender, sender),
  s('FramedContent', m.encodeFramedContent, m.decodeFramedContent, framedContent),
  s('AuthenticatedContent', m.encodeAuthenticatedContent, m.decodeAuthenticatedContent, authenticatedContent),
  s('PublicMessage', m.encodePublicMessage, m.decodePublicMessage, publicMessage),
  s('PrivateMessage', m.encodePrivateMessage, m.decodePrivateMessage, privateMessage),
  s('SenderData', m.encodeSenderData, m.decodeSenderData, senderData),
  s('GroupInfo', m.encodeGroupInfo, m.decodeGroupInfo, groupInfo),
  s('PathSecret', m.encodePathSecret, m.decodePathSecret, pathSecret),
  s('GroupSecrets', m.encodeGroupSecrets, m.decodeGroupSecrets, groupSecrets),
  s('EncryptedGroupSecrets', m.encodeEncryptedGroupSecrets, m.decodeEncryptedGroupSecrets, encryptedGroupSecrets),
  s('Welcome', m.encodeWelcome, m.decodeWelcome, welcome),
  s('MLSMessage', m.encodeMLSMessage, m.decodeMLSMessage, mlsMessage),
];
