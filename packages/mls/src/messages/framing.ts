// RFC 9420 §6 Message framing: WireFormat, ContentType, Sender, FramedContent and its
// authentication data, the signed (FramedContentTBS, §6.1) and MACed
// (AuthenticatedContentTBM, §6.2) encodings, PublicMessage (§6.2), and PrivateMessage
// with SenderData, PrivateMessageContent and the AEAD associated data (§6.3).

import type { Decoder, Encoder } from '../codec/index.js';
import type { Reader } from '../codec/reader.js';
import { Writer } from '../codec/writer.js';
import { DecodeError, UsageError } from '../errors.js';
import { leafIndex, type LeafIndex } from '../util/brand.js';
import { checkEnum, encodeProtocolVersion, ProtocolVersion } from './common.js';
import { decodeCommit, encodeCommit, type Commit } from './commit.js';
import { encodeGroupContext, type GroupContext } from './group-context.js';
import { decodeProposal, encodeProposal, type Proposal } from './proposal.js';

/** §6 `enum { reserved(0), mls_public_message(1), …, mls_key_package(5), (65535) } WireFormat`. */
export const WireFormat = {
  mls_public_message: 1,
  mls_private_message: 2,
  mls_welcome: 3,
  mls_group_info: 4,
  mls_key_package: 5,
} as const;
export type WireFormat = (typeof WireFormat)[keyof typeof WireFormat];

export const decodeWireFormat: Decoder<WireFormat> = (r) => checkEnum(WireFormat, r.u16(), 'WireFormat');

/** §6 `enum { reserved(0), application(1), proposal(2), commit(3), (255) } ContentType`. */
export const ContentType = { application: 1, proposal: 2, commit: 3 } as const;
export type ContentType = (typeof ContentType)[keyof typeof ContentType];

export const decodeContentType: Decoder<ContentType> = (r) => checkEnum(ContentType, r.u8(), 'ContentType');

/** §6 `enum { reserved(0), member(1), external(2), new_member_proposal(3), new_member_commit(4), (255) } SenderType`. */
export const SenderType = { member: 1, external: 2, new_member_proposal: 3, new_member_commit: 4 } as const;
export type SenderType = (typeof SenderType)[keyof typeof SenderType];

/** §6 Sender. */
export type Sender =
  | { readonly senderType: typeof SenderType.member; readonly leafIndex: LeafIndex }
  | { readonly senderType: typeof SenderType.external; readonly senderIndex: number }
  | { readonly senderType: typeof SenderType.new_member_proposal }
  | { readonly senderType: typeof SenderType.new_member_commit };

export const encodeSender: Encoder<Sender> = (w, s) => {
  w.u8(s.senderType);
  if (s.senderType === SenderType.member) w.u32(s.leafIndex);
  else if (s.senderType === SenderType.external) w.u32(s.senderIndex);
};

export const decodeSender: Decoder<Sender> = (r) => {
  const senderType = checkEnum(SenderType, r.u8(), 'SenderType');
  switch (senderType) {
    case SenderType.member:
      return { senderType, leafIndex: leafIndex(r.u32()) };
    case SenderType.external:
      return { senderType, senderIndex: r.u32() };
    default:
      return { senderType };
  }
};

/** The `select (content_type)` body shared by FramedContent and PrivateMessageContent. */
export type ContentBody =
  | { readonly contentType: typeof ContentType.application; readonly applicationData: Uint8Array }
  | { readonly contentType: typeof ContentType.proposal; readonly proposal: Proposal }
  | { readonly contentType: typeof ContentType.commit; readonly commit: Commit };

/** Writes the body only (no content_type octet). */
function encodeContentBody(w: Writer, b: ContentBody): void {
  if (b.contentType === ContentType.application) w.opaque(b.applicationData);
  else if (b.contentType === ContentType.proposal) encodeProposal(w, b.proposal);
  else encodeCommit(w, b.commit);
}

function decodeContentBody(r: Reader, contentType: ContentType): ContentBody {
  if (contentType === ContentType.application) return { contentType, applicationData: r.opaque() };
  if (contentType === ContentType.proposal) return { contentType, proposal: decodeProposal(r) };
  return { contentType, commit: decodeCommit(r) };
}

/** §6 FramedContent. */
export type FramedContent = {
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  readonly sender: Sender;
  readonly authenticatedData: Uint8Array;
} & ContentBody;

export const encodeFramedContent: Encoder<FramedContent> = (w, c) => {
  w.opaque(c.groupId).u64(c.epoch);
  encodeSender(w, c.sender);
  w.opaque(c.authenticatedData).u8(c.contentType);
  encodeContentBody(w, c);
};

export const decodeFramedContent: Decoder<FramedContent> = (r) => {
  const groupId = r.opaque();
  const epoch = r.u64();
  const sender = decodeSender(r);
  const authenticatedData = r.opaque();
  const body = decodeContentBody(r, decodeContentType(r));
  return { groupId, epoch, sender, authenticatedData, ...body };
};

/**
 * §6.1 FramedContentAuthData: the signature, and for commits the confirmation tag
 * (`MAC confirmation_tag`, i.e. `opaque<V>`). `confirmationTag` must be present exactly
 * when the content type is commit.
 */
export interface FramedContentAuthData {
  readonly signature: Uint8Array;
  readonly confirmationTag?: Uint8Array | undefined;
}

export function encodeFramedContentAuthData(w: Writer, auth: FramedContentAuthData, contentType: ContentType): void {
  w.opaque(auth.signature);
  if (contentType === ContentType.commit) {
    if (auth.confirmationTag === undefined) throw new UsageError('missing-confirmation-tag', 'a commit needs a confirmation_tag');
    w.opaque(auth.confirmationTag);
  } else if (auth.confirmationTag !== undefined) {
    throw new UsageError('unexpected-confirmation-tag', 'only a commit carries a confirmation_tag');
  }
}

export function decodeFramedContentAuthData(r: Reader, contentType: ContentType): FramedContentAuthData {
  const signature = r.opaque();
  return contentType === ContentType.commit ? { signature, confirmationTag: r.opaque() } : { signature };
}

/** §6.1 `struct { WireFormat wire_format; FramedContent content; FramedContentAuthData auth; } AuthenticatedContent`. */
export interface AuthenticatedContent {
  readonly wireFormat: WireFormat;
  readonly content: FramedContent;
  readonly auth: FramedContentAuthData;
}

export const encodeAuthenticatedContent: Encoder<AuthenticatedContent> = (w, a) => {
  w.u16(a.wireFormat);
  encodeFramedContent(w, a.content);
  encodeFramedContentAuthData(w, a.auth, a.content.contentType);
};

export const decodeAuthenticatedContent: Decoder<AuthenticatedContent> = (r) => {
  const wireFormat = decodeWireFormat(r);
  const content = decodeFramedContent(r);
  return { wireFormat, content, auth: decodeFramedContentAuthData(r, content.contentType) };
};

/** Whether FramedContentTBS carries the GroupContext (§6.1: member and new_member_commit senders). */
export function tbsHasGroupContext(sender: Sender): boolean {
  return sender.senderType === SenderType.member || sender.senderType === SenderType.new_member_commit;
}

/**
 * §6.1 FramedContentTBS: `version = mls10; wire_format; content;` then the GroupContext
 * for member and new_member_commit senders. `context` may be given already encoded
 * (as the epoch's GroupContext bytes) to avoid re-encoding it per message.
 */
export function encodeFramedContentTbs(
  wireFormat: WireFormat,
  content: FramedContent,
  context?: GroupContext | Uint8Array,
  contentBytes?: Uint8Array,
): Uint8Array {
  const w = new Writer(256);
  writeFramedContentTbs(w, wireFormat, content, context, contentBytes);
  return w.finish();
}

/**
 * Writes `content`, or `contentBytes` when given: its encoding, made once by a caller
 * that writes the same content into several structures (a commit being created: its
 * signature, membership tag, transcript hash and message), which must be
 * encode(encodeFramedContent, content).
 */
function writeContent(w: Writer, content: FramedContent, contentBytes: Uint8Array | undefined): void {
  if (contentBytes !== undefined) w.raw(contentBytes);
  else encodeFramedContent(w, content);
}

function writeFramedContentTbs(w: Writer, wireFormat: WireFormat, content: FramedContent, context?: GroupContext | Uint8Array, contentBytes?: Uint8Array): void {
  encodeProtocolVersion(w, ProtocolVersion.mls10);
  w.u16(wireFormat);
  writeContent(w, content, contentBytes);
  if (tbsHasGroupContext(content.sender)) {
    if (context === undefined) throw new UsageError('missing-group-context', 'FramedContentTBS of this sender needs the GroupContext');
    if (context instanceof Uint8Array) w.raw(context);
    else encodeGroupContext(w, context);
  }
}

/**
 * §6.2 AuthenticatedContentTBM: `struct { FramedContentTBS content_tbs; FramedContentAuthData auth; }`,
 * the input of membership_tag = MAC(membership_key, AuthenticatedContentTBM).
 */
export function encodeAuthenticatedContentTbm(
  content: FramedContent,
  auth: FramedContentAuthData,
  context: GroupContext | Uint8Array,
  wireFormat: WireFormat = WireFormat.mls_public_message,
  contentBytes?: Uint8Array,
): Uint8Array {
  const w = new Writer(512);
  writeFramedContentTbs(w, wireFormat, content, context, contentBytes);
  encodeFramedContentAuthData(w, auth, content.contentType);
  return w.finish();
}

/** §6.2 PublicMessage; `membershipTag` is present exactly when the sender is a member. */
export interface PublicMessage {
  readonly content: FramedContent;
  readonly auth: FramedContentAuthData;
  readonly membershipTag?: Uint8Array | undefined;
}

export const encodePublicMessage: Encoder<PublicMessage> = (w, m) => {
  writePublicMessage(w, m);
};

/** encodePublicMessage, with the content's encoding when the caller has it (see writeContent). */
export function writePublicMessage(w: Writer, m: PublicMessage, contentBytes?: Uint8Array): void {
  writeContent(w, m.content, contentBytes);
  encodeFramedContentAuthData(w, m.auth, m.content.contentType);
  if (m.content.sender.senderType === SenderType.member) {
    if (m.membershipTag === undefined) throw new UsageError('missing-membership-tag', 'a member sender needs a membership_tag');
    w.opaque(m.membershipTag);
  } else if (m.membershipTag !== undefined) {
    throw new UsageError('unexpected-membership-tag', 'only a member sender carries a membership_tag');
  }
}

export const decodePublicMessage: Decoder<PublicMessage> = (r) => {
  const content = decodeFramedContent(r);
  const auth = decodeFramedContentAuthData(r, content.contentType);
  return content.sender.senderType === SenderType.member ? { content, auth, membershipTag: r.opaque() } : { content, auth };
};

/** §6.3 PrivateMessage. */
export interface PrivateMessage {
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  readonly contentType: ContentType;
  readonly authenticatedData: Uint8Array;
  readonly encryptedSenderData: Uint8Array;
  readonly ciphertext: Uint8Array;
}

export const encodePrivateMessage: Encoder<PrivateMessage> = (w, m) => {
  w.opaque(m.groupId).u64(m.epoch).u8(m.contentType).opaque(m.authenticatedData).opaque(m.encryptedSenderData).opaque(m.ciphertext);
};

export const decodePrivateMessage: Decoder<PrivateMessage> = (r) => ({
  groupId: r.opaque(),
  epoch: r.u64(),
  contentType: decodeContentType(r),
  authenticatedData: r.opaque(),
  encryptedSenderData: r.opaque(),
  ciphertext: r.opaque(),
});

/** §6.3.1 PrivateMessageContent: the body, the auth data, then `paddingLength` zero octets. */
export type PrivateMessageContent = ContentBody & {
  readonly auth: FramedContentAuthData;
  readonly paddingLength: number;
};

export const encodePrivateMessageContent: Encoder<PrivateMessageContent> = (w, c) => {
  encodeContentBody(w, c);
  encodeFramedContentAuthData(w, c.auth, c.contentType);
  if (!Number.isInteger(c.paddingLength) || c.paddingLength < 0) throw new UsageError('bad-padding', 'padding length must be a non-negative integer');
  w.raw(new Uint8Array(c.paddingLength));
};

/**
 * Decodes a PrivateMessageContent whose content type comes from the enclosing
 * PrivateMessage; every remaining octet is padding and must be zero (§6.3.1).
 */
export function decodePrivateMessageContent(contentType: ContentType): Decoder<PrivateMessageContent> {
  return (r) => {
    const body = decodeContentBody(r, contentType);
    const auth = decodeFramedContentAuthData(r, contentType);
    const paddingLength = r.remaining;
    for (let i = 0; i < paddingLength; i++) {
      if (r.u8() !== 0) throw new DecodeError('nonzero-padding', 'PrivateMessageContent padding is not all zero');
    }
    return { ...body, auth, paddingLength };
  };
}

/** §6.3.2 `struct { uint32 leaf_index; uint32 generation; opaque reuse_guard[4]; } SenderData`. */
export interface SenderData {
  readonly leafIndex: LeafIndex;
  readonly generation: number;
  readonly reuseGuard: Uint8Array;
}

export const encodeSenderData: Encoder<SenderData> = (w, s) => {
  if (s.reuseGuard.length !== 4) throw new UsageError('bad-reuse-guard', 'reuse_guard is 4 bytes');
  w.u32(s.leafIndex).u32(s.generation).raw(s.reuseGuard);
};

export const decodeSenderData: Decoder<SenderData> = (r) => ({
  leafIndex: leafIndex(r.u32()),
  generation: r.u32(),
  reuseGuard: r.raw(4),
});

/** §6.3.2 SenderDataAAD: `opaque group_id<V>; uint64 epoch; ContentType content_type;`. */
export function encodeSenderDataAad(groupId: Uint8Array, epoch: bigint, contentType: ContentType): Uint8Array {
  return new Writer(groupId.length + 16).opaque(groupId).u64(epoch).u8(contentType).finish();
}

/** §6.3.1 PrivateContentAAD: `opaque group_id<V>; uint64 epoch; ContentType content_type; opaque authenticated_data<V>;`. */
export function encodePrivateContentAad(groupId: Uint8Array, epoch: bigint, contentType: ContentType, authenticatedData: Uint8Array): Uint8Array {
  return new Writer(groupId.length + authenticatedData.length + 24)
    .opaque(groupId)
    .u64(epoch)
    .u8(contentType)
    .opaque(authenticatedData)
    .finish();
}
