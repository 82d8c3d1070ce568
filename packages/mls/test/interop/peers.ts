// Interop harness (issue 4 item 7): one interface over two independent RFC 9420
// engines — Parley's group layer and the npm package ts-mls — that only ever hands
// the other side serialised MLSMessage bytes (§6 MLSMessage, §12.4.3 Welcome,
// §12.4.3.1 GroupInfo, §10 KeyPackage). Test code: members hold their state in a
// mutable field so a scenario reads top to bottom.

import {
  acceptAll,
  createApplicationMessage as tsCreateApplicationMessage,
  createCommit as tsCreateCommit,
  createGroup as tsCreateGroup,
  createGroupInfoWithExternalPubAndRatchetTree as tsCreateGroupInfoWithExternalPubAndRatchetTree,
  decodeMlsMessage,
  defaultCapabilities,
  emptyPskIndex,
  encodeMlsMessage,
  generateKeyPackage as tsGenerateKeyPackage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup as tsJoinGroup,
  joinGroupExternal as tsJoinGroupExternal,
  mlsExporter as tsMlsExporter,
  processMessage as tsProcessMessage,
  type CiphersuiteImpl,
  type ClientState,
  type KeyPackage as TsKeyPackage,
  type MLSMessage as TsMLSMessage,
  type PrivateKeyPackage,
  type Proposal as TsProposal,
} from 'ts-mls';
import { decodeRatchetTree as tsDecodeRatchetTree, encodeRatchetTree as tsEncodeRatchetTree } from 'ts-mls/ratchetTree.js';
import { decode, encode } from '../../src/codec/index.js';
import { nodeCryptoProvider } from '../../src/crypto/node/index.js';
import {
  createCommit,
  createGroup,
  encryptApplication,
  epochAuthenticator,
  exportSecret,
  generateKeyPackage,
  joinExternal,
  joinFromWelcome,
  mergeCommit,
  processMessage,
  proposeUpdate,
  type GroupConfig,
  type GroupState,
} from '../../src/group/index.js';
import type { KeyPackagePrivateKeys } from '../../src/group/welcome.js';
import { ProtocolVersion } from '../../src/messages/common.js';
import { CredentialType } from '../../src/messages/credential.js';
import { WireFormat } from '../../src/messages/framing.js';
import type { KeyPackage } from '../../src/messages/key-package.js';
import { decodeMLSMessage, encodeMLSMessage } from '../../src/messages/mls-message.js';
import { decodeRatchetTree, encodeRatchetTree } from '../../src/messages/ratchet-tree.js';
import { ProposalType } from '../../src/messages/proposal.js';
import { decodeExternalPub, encodeExternalPub, ExtensionType } from '../../src/messages/extension.js';
import { signGroupInfo } from '../../src/group/content-auth.js';
import { leafIndex } from '../../src/util/brand.js';
import { toHex, utf8Bytes } from '../../src/util/bytes.js';

export const SUITE = 1;
export const provider = nodeCryptoProvider;
const parleySuite = provider.suite(SUITE);

/** ts-mls with its default crypto provider. */
export function tsImpl(): Promise<CiphersuiteImpl> {
  return getCiphersuiteImpl(getCiphersuiteFromName('MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519'));
}

const nowSeconds = (): bigint => BigInt(Math.floor(Date.now() / 1000));
/** ts-mls refuses key packages whose total lifetime exceeds one month (its default LifetimeConfig). */
function lifetime() {
  const now = nowSeconds();
  return { notBefore: now - 3600n, notAfter: now + 20n * 86_400n };
}
export const parleyConfig: GroupConfig = { now: nowSeconds };

// ---------------------------------------------------------------- bytes across the wire

export function tsDecode(bytes: Uint8Array): TsMLSMessage {
  const decoded = decodeMlsMessage(bytes, 0);
  if (decoded === undefined) throw new Error('ts-mls could not decode the message');
  return decoded[0];
}

function parleyKeyPackageOf(bytes: Uint8Array): KeyPackage {
  const m = decode(decodeMLSMessage, bytes);
  if (m.wireFormat !== WireFormat.mls_key_package) throw new Error('not a key package');
  return m.keyPackage;
}

function tsKeyPackageOf(bytes: Uint8Array): TsKeyPackage {
  const m = tsDecode(bytes);
  if (m.wireformat !== 'mls_key_package') throw new Error('not a key package');
  return m.keyPackage;
}

// ---------------------------------------------------------------- members

export interface ParleyMember {
  readonly kind: 'parley';
  readonly name: string;
  state: GroupState;
}
export interface TsMember {
  readonly kind: 'ts-mls';
  readonly name: string;
  readonly impl: CiphersuiteImpl;
  state: ClientState;
}
export type Member = ParleyMember | TsMember;

/** A key package waiting for a Welcome: `bytes` is what goes to the other side. */
export interface Pending<K extends Member['kind']> {
  readonly kind: K;
  readonly name: string;
  readonly bytes: Uint8Array;
  /** `ratchetTree`: the tree's encoding (§12.4.3.3), for a Welcome without the ratchet_tree extension. */
  join(welcome: Uint8Array, ratchetTree?: Uint8Array): Promise<K extends 'parley' ? ParleyMember : TsMember>;
}

export async function parleyKeyPackage(name: string): Promise<Pending<'parley'>> {
  const signatureKey = await parleySuite.signature.generateKeyPair();
  const credential = { credentialType: CredentialType.basic, identity: utf8Bytes(name) } as const;
  const { keyPackage, privateKeys } = await generateKeyPackage({ suite: parleySuite, signatureKey, credential, lifetime: lifetime() });
  const bytes = encode(encodeMLSMessage, { version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_key_package, keyPackage });
  return {
    kind: 'parley',
    name,
    bytes,
    join: async (welcome, ratchetTree) => ({
      kind: 'parley',
      name,
      state: await joinFromWelcome({ provider, welcome, keyPackage, privateKeys, config: parleyConfig, ...(ratchetTree === undefined ? {} : { ratchetTree: decode(decodeRatchetTree, ratchetTree) }) }),
    }),
  };
}

export async function tsKeyPackage(name: string, impl: CiphersuiteImpl): Promise<Pending<'ts-mls'> & { publicPackage: TsKeyPackage; privatePackage: PrivateKeyPackage }> {
  const { publicPackage, privatePackage } = await tsGenerateKeyPackage({ credentialType: 'basic', identity: utf8Bytes(name) }, defaultCapabilities(), lifetime(), [], impl);
  const bytes = encodeMlsMessage({ version: 'mls10', wireformat: 'mls_key_package', keyPackage: publicPackage });
  return {
    kind: 'ts-mls',
    name,
    bytes,
    publicPackage,
    privatePackage,
    join: async (welcome, ratchetTree) => {
      const m = tsDecode(welcome);
      if (m.wireformat !== 'mls_welcome') throw new Error('not a welcome');
      const tree = ratchetTree === undefined ? undefined : tsDecodeRatchetTree(ratchetTree, 0)?.[0];
      if (ratchetTree !== undefined && tree === undefined) throw new Error('ts-mls could not decode the ratchet tree');
      return { kind: 'ts-mls', name, impl, state: await tsJoinGroup(m.welcome, publicPackage, privatePackage, emptyPskIndex, impl, tree) };
    },
  };
}

export async function parleyCreate(name: string, groupId: string): Promise<ParleyMember> {
  const signatureKey = await parleySuite.signature.generateKeyPair();
  const credential = { credentialType: CredentialType.basic, identity: utf8Bytes(name) } as const;
  const state = await createGroup({ provider, suite: SUITE, groupId: utf8Bytes(groupId), signatureKey, credential, lifetime: lifetime(), config: parleyConfig });
  return { kind: 'parley', name, state };
}

export async function tsCreate(name: string, groupId: string, impl: CiphersuiteImpl): Promise<TsMember> {
  const kp = await tsKeyPackage(name, impl);
  const state = await tsCreateGroup(utf8Bytes(groupId), kp.publicPackage, kp.privatePackage, [], impl);
  return { kind: 'ts-mls', name, impl, state };
}

// ---------------------------------------------------------------- what both sides agree on

export function authenticatorOf(m: Member): Uint8Array {
  return m.kind === 'parley' ? epochAuthenticator(m.state) : m.state.keySchedule.epochAuthenticator;
}

export function epochOfMember(m: Member): bigint {
  return m.state.groupContext.epoch;
}

export function exporterOf(m: Member, label: string, context: Uint8Array, length: number): Promise<Uint8Array> {
  return m.kind === 'parley' ? exportSecret(m.state, label, context, length) : tsMlsExporter(m.state.keySchedule.exporterSecret, label, context, length, m.impl);
}

// ---------------------------------------------------------------- messages

/** Encrypts application data as a PrivateMessage; returns MLSMessage bytes. */
export async function sendText(m: Member, text: string): Promise<Uint8Array> {
  if (m.kind === 'parley') {
    const r = await encryptApplication(m.state, utf8Bytes(text));
    m.state = r.state;
    return r.message;
  }
  const r = await tsCreateApplicationMessage(m.state, utf8Bytes(text), m.impl);
  m.state = r.newState;
  return encodeMlsMessage({ version: 'mls10', wireformat: 'mls_private_message', privateMessage: r.privateMessage });
}

/** What processing one message did, in terms both engines can report. */
export type Received = { readonly type: 'application'; readonly text: string } | { readonly type: 'commit' } | { readonly type: 'proposal' } | { readonly type: 'removed' };

export async function receive(m: Member, bytes: Uint8Array): Promise<Received> {
  if (m.kind === 'parley') {
    const r = await processMessage(m.state, bytes);
    m.state = r.state;
    switch (r.event.type) {
      case 'application':
        return { type: 'application', text: new TextDecoder().decode(r.event.data) };
      case 'removed':
        return { type: 'removed' };
      case 'proposal':
        return { type: 'proposal' };
      default:
        return { type: 'commit' };
    }
  }
  const msg = tsDecode(bytes);
  if (msg.wireformat !== 'mls_private_message' && msg.wireformat !== 'mls_public_message') throw new Error(`unexpected ${msg.wireformat}`);
  const before = m.state.groupContext.epoch;
  const r = await tsProcessMessage(msg, m.state, emptyPskIndex, acceptAll, m.impl);
  m.state = r.newState;
  if (r.kind === 'applicationMessage') return { type: 'application', text: new TextDecoder().decode(r.message) };
  if (r.newState.groupActiveState.kind === 'removedFromGroup') return { type: 'removed' };
  return r.newState.groupContext.epoch === before ? { type: 'proposal' } : { type: 'commit' };
}

export interface CommitOut {
  readonly commit: Uint8Array;
  readonly welcome?: Uint8Array;
  /** A GroupInfo (with external_pub and ratchet_tree) for the new epoch, when the engine makes one. */
  readonly groupInfo?: Uint8Array;
  /** The committer's ratchet tree of the new epoch, encoded by its own engine (§12.4.3.3). */
  readonly ratchetTree: Uint8Array;
}

export interface CommitSpec {
  /** Key packages to add, as MLSMessage bytes. */
  readonly add?: readonly Uint8Array[];
  readonly remove?: readonly number[];
  /** ts-mls only: send the commit as a PublicMessage (default PrivateMessage). */
  readonly publicMessage?: boolean;
  /** Put the ratchet_tree extension in the Welcome's GroupInfo (default true). */
  readonly ratchetTreeInWelcome?: boolean;
}

/** Creates a commit (with any pending proposals by reference) and merges it at once. */
export async function commit(m: Member, spec: CommitSpec = {}): Promise<CommitOut> {
  if (m.kind === 'parley') {
    const proposals = [
      ...(spec.add ?? []).map((b) => ({ proposalType: ProposalType.add, add: { keyPackage: parleyKeyPackageOf(b) } }) as const),
      ...(spec.remove ?? []).map((i) => ({ proposalType: ProposalType.remove, remove: { removed: leafIndex(i) } }) as const),
    ];
    const c = await createCommit(m.state, { proposals, ratchetTreeInWelcome: spec.ratchetTreeInWelcome !== false });
    m.state = mergeCommit(m.state, c.pending);
    const ratchetTree = encode(encodeRatchetTree, m.state.tree.toNodes());
    return c.welcome === undefined ? { commit: c.commitMessage, groupInfo: c.groupInfo, ratchetTree } : { commit: c.commitMessage, welcome: c.welcome, groupInfo: c.groupInfo, ratchetTree };
  }
  const extraProposals: TsProposal[] = [
    ...(spec.add ?? []).map((b): TsProposal => ({ proposalType: 'add', add: { keyPackage: tsKeyPackageOf(b) } })),
    ...(spec.remove ?? []).map((i): TsProposal => ({ proposalType: 'remove', remove: { removed: i } })),
  ];
  const r = await tsCreateCommit({ state: m.state, cipherSuite: m.impl }, { extraProposals, ratchetTreeExtension: spec.ratchetTreeInWelcome !== false, wireAsPublicMessage: spec.publicMessage === true });
  m.state = r.newState;
  const commitBytes = encodeMlsMessage(r.commit);
  const ratchetTree = tsEncodeRatchetTree(r.newState.ratchetTree);
  return r.welcome === undefined ? { commit: commitBytes, ratchetTree } : { commit: commitBytes, welcome: encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: r.welcome }), ratchetTree };
}

/** §12.1.2: an Update proposal from a member, as MLSMessage bytes (Parley only here). */
export async function parleyProposeUpdate(m: ParleyMember): Promise<Uint8Array> {
  const p = await proposeUpdate(m.state);
  m.state = p.state;
  return p.message;
}

/** §12.4.3.2: ts-mls joins by external commit from a GroupInfo given as MLSMessage bytes. */
export async function tsJoinExternal(name: string, groupInfo: Uint8Array, impl: CiphersuiteImpl): Promise<{ member: TsMember; commit: Uint8Array }> {
  const gi = tsDecode(groupInfo);
  if (gi.wireformat !== 'mls_group_info') throw new Error('not a group info');
  const kp = await tsKeyPackage(name, impl);
  const r = await tsJoinGroupExternal(gi.groupInfo, kp.publicPackage, kp.privatePackage, false, impl);
  return {
    member: { kind: 'ts-mls', name, impl, state: r.newState },
    commit: encodeMlsMessage({ version: 'mls10', wireformat: 'mls_public_message', publicMessage: r.publicMessage }),
  };
}

/**
 * ts-mls 1.6.4 reads (and writes) the external_pub extension's data as the bare HPKE
 * public key, where RFC 9420 §12.4.3.2 defines it as the struct ExternalPub
 * { HPKEPublicKey external_pub; } with HPKEPublicKey = opaque<V> (§5.1.1), i.e. with a
 * varint length prefix, as Parley writes it. To still exercise an external join, this
 * re-signs (with the signer's key, which the test holds) a copy of a Parley GroupInfo
 * whose external_pub carries the bare key ts-mls expects. Nothing else changes: the
 * external commit ts-mls then makes is processed by Parley's unmodified code.
 */
export async function groupInfoForTsMls(signer: ParleyMember, groupInfo: Uint8Array): Promise<Uint8Array> {
  const m = decode(decodeMLSMessage, groupInfo);
  if (m.wireFormat !== WireFormat.mls_group_info) throw new Error('not a group info');
  const { signature: _signature, ...unsigned } = m.groupInfo;
  const extensions = unsigned.extensions.map((e) =>
    e.extensionType === ExtensionType.external_pub ? { extensionType: e.extensionType, extensionData: decode(decodeExternalPub, e.extensionData).externalPub } : e,
  );
  const resigned = await signGroupInfo(parleySuite, signer.state.signaturePrivateKey.bytes, { ...unsigned, extensions });
  return encode(encodeMLSMessage, { version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_group_info, groupInfo: resigned });
}

/** §12.4.3.2: a ts-mls member's GroupInfo (external_pub + ratchet_tree) for its current epoch, as MLSMessage bytes. */
export async function tsGroupInfo(m: TsMember): Promise<Uint8Array> {
  const groupInfo = await tsCreateGroupInfoWithExternalPubAndRatchetTree(m.state, [], m.impl);
  return encodeMlsMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo });
}

/**
 * The mirror of groupInfoForTsMls: ts-mls 1.6.4 writes external_pub as the bare key, so
 * this rewrites a copy of a ts-mls GroupInfo with the RFC 9420 §12.4.3.2 encoding
 * (ExternalPub { opaque external_pub<V> }) and re-signs it (§12.4.3) with the ts-mls
 * signer's key, which the test holds. The key itself, the tree, the group context and
 * the confirmation tag are ts-mls's own; the external commit Parley then builds from it
 * is processed by ts-mls's unmodified code.
 */
export async function groupInfoForParley(signer: TsMember, groupInfo: Uint8Array): Promise<Uint8Array> {
  const m = decode(decodeMLSMessage, groupInfo);
  if (m.wireFormat !== WireFormat.mls_group_info) throw new Error('not a group info');
  const { signature: _signature, ...unsigned } = m.groupInfo;
  const extensions = unsigned.extensions.map((e) =>
    e.extensionType === ExtensionType.external_pub ? { extensionType: e.extensionType, extensionData: encode(encodeExternalPub, { externalPub: e.extensionData }) } : e,
  );
  const resigned = await signGroupInfo(parleySuite, ed25519Seed(signer.state.signaturePrivateKey), { ...unsigned, extensions });
  return encode(encodeMLSMessage, { version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_group_info, groupInfo: resigned });
}

/** RFC 8410 PKCS#8 prefix of an Ed25519 private key; ts-mls's default provider keeps keys in this form. */
const ED25519_PKCS8_PREFIX = '302e020100300506032b657004220420';

/** The raw 32-byte Ed25519 seed Parley signs with, from a ts-mls signature private key (PKCS#8 or raw). */
function ed25519Seed(key: Uint8Array): Uint8Array {
  if (key.length === 32) return key;
  if (key.length === 48 && toHex(key.subarray(0, 16)) === ED25519_PKCS8_PREFIX) return key.subarray(16);
  throw new Error(`unexpected ts-mls Ed25519 private key form (${key.length} bytes)`);
}

/** §12.4.3.2: Parley joins by external commit from a GroupInfo given as MLSMessage bytes. */
export async function parleyJoinExternal(name: string, groupInfo: Uint8Array): Promise<{ member: ParleyMember; commit: Uint8Array }> {
  const signatureKey = await parleySuite.signature.generateKeyPair();
  const credential = { credentialType: CredentialType.basic, identity: utf8Bytes(name) } as const;
  const r = await joinExternal({ provider, groupInfo, credential, signatureKey, config: parleyConfig });
  return { member: { kind: 'parley', name, state: r.state }, commit: r.commitMessage };
}

export type { KeyPackagePrivateKeys };
