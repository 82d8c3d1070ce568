// RFC 9420 §6.2 Encoding and decoding a PublicMessage: signed, and MACed with the
// membership key when the sender is a member. Application data is never sent this way
// (§6: "Applications MUST use PrivateMessage to encrypt application messages").

import { UsageError, ValidationError } from '../errors.js';
import { type AuthenticatedContent, ContentType, type PublicMessage, SenderType, WireFormat } from '../messages/framing.js';
import type { MembershipKey } from '../schedule/secrets.js';
import {
  checkGroupAndEpoch,
  checkSenderContent,
  type FramingEpoch,
  membershipTag,
  senderKey,
  type SignatureKeyResolver,
  type VerifiedContent,
  verifyContentSignature,
  verifyMembershipTag,
} from './authentication.js';

/**
 * Wraps signed content (from `authenticateContent` with wire format
 * mls_public_message) as a PublicMessage, adding the membership tag for a member sender.
 */
export async function protectPublicMessage(
  epoch: FramingEpoch,
  authenticated: AuthenticatedContent,
  membershipKey: MembershipKey | undefined,
): Promise<PublicMessage> {
  const { content, auth } = authenticated;
  if (content.contentType === ContentType.application) {
    throw new UsageError('application-as-public-message', 'application data must be sent as a PrivateMessage');
  }
  if (authenticated.wireFormat !== WireFormat.mls_public_message) {
    throw new UsageError('wrong-wire-format', 'the content was signed for another wire format');
  }
  checkSenderContent(content);
  if (content.sender.senderType !== SenderType.member) return { content, auth };
  if (membershipKey === undefined) throw new UsageError('missing-membership-key', 'a member sender needs the membership key');
  return { content, auth, membershipTag: await membershipTag(epoch, membershipKey, content, auth) };
}

/**
 * Checks a received PublicMessage against the current epoch: group and epoch, sender
 * and content type, membership tag (member senders), then the signature. Refuses with
 * ValidationError `application-as-public-message`, `wrong-group`, `wrong-epoch`,
 * `sender-content-mismatch`, `missing-membership-tag`, `invalid-membership-tag`,
 * `unknown-sender` or `invalid-signature`.
 */
export async function unprotectPublicMessage(
  epoch: FramingEpoch,
  message: PublicMessage,
  membershipKey: MembershipKey,
  resolveKey: SignatureKeyResolver,
): Promise<VerifiedContent> {
  const { content, auth } = message;
  if (content.contentType === ContentType.application) {
    throw new ValidationError('application-as-public-message', 'application data arrived as a PublicMessage');
  }
  checkGroupAndEpoch(epoch, content.groupId, content.epoch);
  checkSenderContent(content);
  if (content.sender.senderType === SenderType.member) {
    if (message.membershipTag === undefined) throw new ValidationError('missing-membership-tag', 'a member sender needs a membership_tag');
    await verifyMembershipTag(epoch, membershipKey, content, auth, message.membershipTag);
  }
  return verifyContentSignature(epoch, { wireFormat: WireFormat.mls_public_message, content, auth }, senderKey(resolveKey, content.sender, content));
}
