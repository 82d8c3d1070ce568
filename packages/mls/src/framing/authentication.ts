// RFC 9420 §6.1 Content authentication and §6.2 membership tag: the signature over
// FramedContentTBS, the MAC over AuthenticatedContentTBM, and the epoch context both
// are bound to. The GroupContext is encoded once per epoch (`FramingEpoch`), not per message.

import { encode } from '../codec/index.js';
import type { CipherSuite } from '../crypto/provider.js';
import { UsageError, ValidationError } from '../errors.js';
import {
  type AuthenticatedContent,
  ContentType,
  encodeAuthenticatedContentTbm,
  encodeFramedContentTbs,
  type FramedContent,
  type FramedContentAuthData,
  type Sender,
  SenderType,
  WireFormat,
} from '../messages/framing.js';
import { encodeGroupContext, type GroupContext } from '../messages/group-context.js';
import type { MembershipKey } from '../schedule/secrets.js';
import { bytesEqual, constantTimeEqual } from '../util/bytes.js';
import { applicationSignContent, framedContentSignContent, epochBytes } from './wire.js';

/** What every protect/unprotect of one epoch needs: the suite and the epoch's GroupContext (with its encoding). */
export interface FramingEpoch {
  readonly suite: CipherSuite;
  readonly groupContext: GroupContext;
  readonly groupContextBytes: Uint8Array;
}

export function framingEpoch(suite: CipherSuite, groupContext: GroupContext): FramingEpoch {
  if (groupContext.cipherSuite !== suite.id) throw new UsageError('suite-mismatch', 'the GroupContext names another cipher suite');
  return { suite, groupContext, groupContextBytes: encode(encodeGroupContext, groupContext) };
}

declare const verified: unique symbol;
/**
 * An AuthenticatedContent whose signature (and, for a PublicMessage from a member, the
 * membership tag; for a PrivateMessage, the AEAD) checked out. A commit's confirmation
 * tag can only be checked once the new epoch's confirmation_key is known: the group
 * layer does that (schedule/transcript.ts `verifyConfirmationTag`).
 */
export type VerifiedContent = AuthenticatedContent & { readonly [verified]: true };

/**
 * Finds the signature public key of a sender (§6.1): a member's leaf, an external
 * sender of the external_senders extension, or the LeafNode/KeyPackage carried in the
 * content for new members. Undefined when the sender is unknown (say, a blank leaf).
 * `content` is undefined only for a member sender of a PrivateMessage, whose key is
 * looked up before its content is decrypted.
 */
export type SignatureKeyResolver = (sender: Sender, content: FramedContent | undefined) => Uint8Array | undefined;

/**
 * §5.1.2 SignContent for SignWithLabel(., "FramedContentTBS", FramedContentTBS). A
 * member's application content (every application message) is laid out in one pass
 * (framing/wire.ts); other content goes through the general encoder.
 */
function framedContentTbsSignContent(epoch: FramingEpoch, wireFormat: WireFormat, content: FramedContent, contentBytes?: Uint8Array): Uint8Array {
  if (content.contentType === ContentType.application && content.sender.senderType === SenderType.member) {
    const { groupId, sender, authenticatedData, applicationData } = content;
    return applicationSignContent(wireFormat, groupId, epochBytes(content.epoch), sender.leafIndex, authenticatedData, applicationData, epoch.groupContextBytes);
  }
  return framedContentSignContent(encodeFramedContentTbs(wireFormat, content, epoch.groupContextBytes, contentBytes));
}

/** SignWithLabel(., "FramedContentTBS", FramedContentTBS), synchronously when the suite can. */
function framedContentSignature(
  epoch: FramingEpoch,
  wireFormat: WireFormat,
  content: FramedContent,
  signaturePrivateKey: Uint8Array,
  contentBytes?: Uint8Array,
): Uint8Array | Promise<Uint8Array> {
  const signContent = framedContentTbsSignContent(epoch, wireFormat, content, contentBytes);
  const sync = epoch.suite.sync;
  return sync !== undefined ? sync.sign(signaturePrivateKey, signContent) : epoch.suite.signature.sign(signaturePrivateKey, signContent);
}

/**
 * SignWithLabel(., "FramedContentTBS", FramedContentTBS). `contentBytes`, when given, is
 * encode(encodeFramedContent, content), made once by a caller that needs it again.
 */
export async function signFramedContent(epoch: FramingEpoch, wireFormat: WireFormat, content: FramedContent, signaturePrivateKey: Uint8Array, contentBytes?: Uint8Array): Promise<Uint8Array> {
  return framedContentSignature(epoch, wireFormat, content, signaturePrivateKey, contentBytes);
}

/** VerifyWithLabel(., "FramedContentTBS", FramedContentTBS, signature). */
function verifyFramedContent(epoch: FramingEpoch, authenticated: AuthenticatedContent, key: Uint8Array): boolean | Promise<boolean> {
  const signContent = framedContentTbsSignContent(epoch, authenticated.wireFormat, authenticated.content);
  const sync = epoch.suite.sync;
  const signature = authenticated.auth.signature;
  return sync !== undefined ? sync.verify(key, signContent, signature) : epoch.suite.signature.verify(key, signContent, signature);
}

/** Signs `content` for `wireFormat`; for a commit the confirmation tag is added by the caller, which needs the signature first (§8.2). */
export async function authenticateContent(
  epoch: FramingEpoch,
  wireFormat: WireFormat,
  content: FramedContent,
  signaturePrivateKey: Uint8Array,
  confirmationTag?: Uint8Array,
): Promise<AuthenticatedContent> {
  const signature = await framedContentSignature(epoch, wireFormat, content, signaturePrivateKey);
  const auth: FramedContentAuthData = content.contentType === ContentType.commit ? { signature, confirmationTag } : { signature };
  return { wireFormat, content, auth };
}

/** membership_tag = MAC(membership_key, AuthenticatedContentTBM); `contentBytes` as for signFramedContent. */
export function membershipTag(epoch: FramingEpoch, membershipKey: MembershipKey, content: FramedContent, auth: FramedContentAuthData, contentBytes?: Uint8Array): Promise<Uint8Array> {
  const tbm = encodeAuthenticatedContentTbm(content, auth, epoch.groupContextBytes, WireFormat.mls_public_message, contentBytes);
  return epoch.suite.hash.mac(membershipKey.bytes, tbm);
}

/** Refuses content of another group or epoch: ValidationError `wrong-group`, `wrong-epoch`. */
export function checkGroupAndEpoch(epoch: FramingEpoch, groupId: Uint8Array, messageEpoch: bigint): void {
  if (!bytesEqual(groupId, epoch.groupContext.groupId)) throw new ValidationError('wrong-group', 'the message belongs to another group');
  if (messageEpoch !== epoch.groupContext.epoch) {
    throw new ValidationError('wrong-epoch', `the message is for epoch ${messageEpoch}, the group is at epoch ${epoch.groupContext.epoch}`);
  }
}

/**
 * §6.1: which content each sender type may send. External senders and new members
 * may only propose (an external Add, for new_member_proposal), or, for
 * new_member_commit, commit. ValidationError `sender-content-mismatch`.
 */
export function checkSenderContent(content: FramedContent): void {
  const t = content.sender.senderType;
  const ok =
    t === SenderType.member ||
    (t === SenderType.external && content.contentType === ContentType.proposal) ||
    (t === SenderType.new_member_proposal && content.contentType === ContentType.proposal) ||
    (t === SenderType.new_member_commit && content.contentType === ContentType.commit);
  if (!ok) throw new ValidationError('sender-content-mismatch', 'this sender type may not send this content type');
}

/** The sender's signature key, or ValidationError `unknown-sender`. */
export function senderKey(resolveKey: SignatureKeyResolver, sender: Sender, content: FramedContent | undefined): Uint8Array {
  const key = resolveKey(sender, content);
  if (key === undefined) throw new ValidationError('unknown-sender', 'the sender is not known to this group');
  return key;
}

/**
 * Verifies the signature of `authenticated` with the sender's key; `invalid-signature`.
 * Synchronous (no promise, a refusal thrown) when the suite has sync primitives.
 */
export function verifyContentSignature(epoch: FramingEpoch, authenticated: AuthenticatedContent, key: Uint8Array): VerifiedContent | Promise<VerifiedContent> {
  const ok = verifyFramedContent(epoch, authenticated, key);
  return ok instanceof Promise ? ok.then((valid) => verifiedOrRefused(authenticated, valid)) : verifiedOrRefused(authenticated, ok);
}

function verifiedOrRefused(authenticated: AuthenticatedContent, valid: boolean): VerifiedContent {
  if (!valid) throw new ValidationError('invalid-signature', 'the FramedContentTBS signature does not verify');
  return authenticated as VerifiedContent;
}

/** Constant-time check of a membership tag; `invalid-membership-tag`. */
export async function verifyMembershipTag(
  epoch: FramingEpoch,
  membershipKey: MembershipKey,
  content: FramedContent,
  auth: FramedContentAuthData,
  tag: Uint8Array,
): Promise<void> {
  if (!constantTimeEqual(await membershipTag(epoch, membershipKey, content, auth), tag)) {
    throw new ValidationError('invalid-membership-tag', 'the membership_tag does not verify');
  }
}
