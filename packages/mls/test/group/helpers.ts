// Shared pieces of the group-layer tests: identities, key packages, small groups, and
// forging messages with real keys so that a test breaks exactly one rule.
import { expect } from 'vitest';
import { decode, encode } from '../../src/codec/index.js';
import { nodeCryptoProvider } from '../../src/crypto/node/index.js';
import { MlsError } from '../../src/errors.js';
import { membershipTag, signFramedContent, type FramingEpoch } from '../../src/framing/authentication.js';
import {
  createCommit,
  createGroup,
  generateKeyPackage,
  joinFromWelcome,
  mergeCommit,
  processMessage,
  type GroupConfig,
  type GroupState,
} from '../../src/group/index.js';
import type { Capabilities } from '../../src/messages/capabilities.js';
import type { Commit } from '../../src/messages/commit.js';
import { ProtocolVersion } from '../../src/messages/common.js';
import { CredentialType } from '../../src/messages/credential.js';
import { ContentType, SenderType, WireFormat, type FramedContent, type PublicMessage } from '../../src/messages/framing.js';
import type { KeyPackage } from '../../src/messages/key-package.js';
import { decodeMLSMessage, encodeMLSMessage } from '../../src/messages/mls-message.js';
import { ProposalOrRefType, ProposalType, type Proposal } from '../../src/messages/proposal.js';
import { utf8Bytes } from '../../src/util/bytes.js';

export const provider = nodeCryptoProvider;
export const SUITE = 1;
export const suite = provider.suite(SUITE);
export const config: GroupConfig = { now: () => 1_800_000_000n };

export async function identity(name: string) {
  return { signatureKey: await suite.signature.generateKeyPair(), credential: { credentialType: CredentialType.basic, identity: utf8Bytes(name) } as const };
}

/** Capabilities for suite 1 and basic credentials, plus `extensions`. */
export function caps(extensions: number[] = [], more: Partial<Capabilities> = {}): Capabilities {
  return { versions: [ProtocolVersion.mls10], cipherSuites: [SUITE], extensions, proposals: [], credentials: [CredentialType.basic], ...more };
}

export async function keyPackage(name: string, extra: Omit<Parameters<typeof generateKeyPackage>[0], 'suite' | 'signatureKey' | 'credential'> = {}) {
  const id = await identity(name);
  return { ...id, ...(await generateKeyPackage({ suite, ...id, ...extra })) };
}

export const add = (kp: KeyPackage): Proposal => ({ proposalType: ProposalType.add, add: { keyPackage: kp } });
export const remove = (leaf: number): Proposal => ({ proposalType: ProposalType.remove, remove: { removed: leaf as never } });
export const byValue = (proposal: Proposal) => ({ type: ProposalOrRefType.proposal, proposal }) as const;
export const byRef = (reference: Uint8Array) => ({ type: ProposalOrRefType.reference, reference }) as const;

/** A group of `names.length` members (the first creates it and adds the rest by one Welcome), all at epoch 1. */
export async function group(names: string[], p: { groupId?: string; config?: GroupConfig; extensions?: Parameters<typeof createGroup>[0]['extensions'] } = {}): Promise<GroupState[]> {
  const cfg = p.config ?? config;
  const first = await createGroup({ provider, suite: SUITE, groupId: utf8Bytes(p.groupId ?? names.join('-')), ...(await identity(names[0]!)), config: cfg, ...(p.extensions === undefined ? {} : { extensions: p.extensions }) });
  const kps = await Promise.all(names.slice(1).map((n) => keyPackage(n)));
  const c = await createCommit(first, { proposals: kps.map((k) => add(k.keyPackage)) });
  const others = await Promise.all(kps.map((k) => joinFromWelcome({ provider, welcome: c.welcome!, keyPackage: k.keyPackage, privateKeys: k.privateKeys, config: cfg })));
  return [mergeCommit(first, c.pending), ...others];
}

/** Applies our own commit and has every other member process it. */
export async function commitAll(committer: number, states: GroupState[], options: Parameters<typeof createCommit>[1] = {}) {
  const c = await createCommit(states[committer]!, options);
  const next = await Promise.all(states.map(async (s, i) => (i === committer ? mergeCommit(s, c.pending) : (await processMessage(s, c.commitMessage)).state)));
  return { next, created: c };
}

/** Rejects with an MlsError of this kind and code. */
export async function expectCode(p: Promise<unknown>, code: string, kind: MlsError['kind'] = 'validation'): Promise<void> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${kind} error ${code}`).toBeInstanceOf(MlsError);
  expect(error).toMatchObject({ code, kind });
}

export function publicMessageOf(bytes: Uint8Array): PublicMessage {
  const m = decode(decodeMLSMessage, bytes);
  if (m.wireFormat !== WireFormat.mls_public_message) throw new Error('not a PublicMessage');
  return m.publicMessage;
}

export function publicMessageBytes(publicMessage: PublicMessage): Uint8Array {
  return encode(encodeMLSMessage, { version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_public_message, publicMessage });
}

export interface ForgeTweak {
  readonly groupId?: Uint8Array;
  readonly epoch?: bigint;
  readonly badSignature?: boolean;
  readonly badTag?: boolean;
  readonly sender?: FramedContent['sender'];
}

/**
 * Signs `body` as the member `from` would, with its real signature and membership key
 * (a commit gets a dummy confirmation tag: the rule under test must fire first).
 */
export async function forge(from: GroupState, body: { commit: Commit } | { proposal: Proposal }, tweak: ForgeTweak = {}): Promise<Uint8Array> {
  const head = {
    groupId: tweak.groupId ?? from.groupContext.groupId,
    epoch: tweak.epoch ?? from.groupContext.epoch,
    sender: tweak.sender ?? { senderType: SenderType.member, leafIndex: from.ownLeaf },
    authenticatedData: new Uint8Array(0),
  };
  const content: FramedContent = 'commit' in body ? { ...head, contentType: ContentType.commit, commit: body.commit } : { ...head, contentType: ContentType.proposal, proposal: body.proposal };
  const signature = await signFramedContent(from, WireFormat.mls_public_message, content, from.signaturePrivateKey.bytes);
  if (tweak.badSignature === true) signature[0] = signature[0]! ^ 1;
  const auth = content.contentType === ContentType.commit ? { signature, confirmationTag: new Uint8Array(32) } : { signature };
  const tag = await membershipTag(from, from.keys.membershipKey, content, auth);
  if (tweak.badTag === true) tag[0] = tag[0]! ^ 1;
  return publicMessageBytes({ content, auth, membershipTag: tag });
}

export const forgeCommit = (from: GroupState, proposals: Commit['proposals'], path?: Commit['path'], tweak: ForgeTweak = {}): Promise<Uint8Array> =>
  forge(from, { commit: { proposals, path } }, tweak);

/**
 * Re-signs an external commit (sender new_member_commit) after `edit` changed its
 * proposals, with the joiner's signature key, in the epoch `at` (the members' current one).
 */
export async function resignExternal(bytes: Uint8Array, at: FramingEpoch, joinerKey: Uint8Array, edit: (proposals: Commit['proposals']) => Commit['proposals']): Promise<Uint8Array> {
  const m = publicMessageOf(bytes);
  if (m.content.contentType !== ContentType.commit) throw new Error('not a commit');
  const content: FramedContent = { ...m.content, commit: { ...m.content.commit, proposals: edit(m.content.commit.proposals) } };
  const signature = await signFramedContent(at, WireFormat.mls_public_message, content, joinerKey);
  return publicMessageBytes({ content, auth: { signature, confirmationTag: m.auth.confirmationTag } });
}
