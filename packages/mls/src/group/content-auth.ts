// RFC 9420 §6.1 content authentication (signature over FramedContentTBS), §6.2
// membership tag (MAC over AuthenticatedContentTBM), §5.2 ProposalRef, §12.4.3
// GroupInfo signature: the signing and checking the group layer does on framed content.
// TODO(framing owner): move to src/framing/ when PublicMessage protect/unprotect lands.

import { encode } from '../codec/index.js';
import { makeProposalRef, signWithLabel, verifyWithLabel } from '../crypto/labeled.js';
import type { CipherSuite } from '../crypto/provider.js';
import {
  encodeAuthenticatedContent,
  encodeAuthenticatedContentTbm,
  encodeFramedContentTbs,
  type FramedContent,
  type FramedContentAuthData,
  type WireFormat,
} from '../messages/framing.js';
import type { MembershipKey } from '../schedule/secrets.js';
import { constantTimeEqual } from '../util/bytes.js';
import { encodeGroupInfoTbs, type GroupInfo, type UnsignedGroupInfo } from '../messages/welcome.js';

const FRAMED_CONTENT_TBS = 'FramedContentTBS';

export function signContent(
  suite: CipherSuite,
  signatureKey: Uint8Array,
  wireFormat: WireFormat,
  content: FramedContent,
  groupContext: Uint8Array,
): Promise<Uint8Array> {
  return signWithLabel(suite, signatureKey, FRAMED_CONTENT_TBS, encodeFramedContentTbs(wireFormat, content, groupContext));
}

export function verifyContent(
  suite: CipherSuite,
  verificationKey: Uint8Array,
  wireFormat: WireFormat,
  content: FramedContent,
  groupContext: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  return verifyWithLabel(suite, verificationKey, FRAMED_CONTENT_TBS, encodeFramedContentTbs(wireFormat, content, groupContext), signature);
}

/** membership_tag = MAC(membership_key, AuthenticatedContentTBM). */
export function membershipTag(
  suite: CipherSuite,
  membershipKey: MembershipKey,
  content: FramedContent,
  auth: FramedContentAuthData,
  groupContext: Uint8Array,
): Promise<Uint8Array> {
  return suite.hash.mac(membershipKey.bytes, encodeAuthenticatedContentTbm(content, auth, groupContext));
}

export async function verifyMembershipTag(
  suite: CipherSuite,
  membershipKey: MembershipKey,
  content: FramedContent,
  auth: FramedContentAuthData,
  groupContext: Uint8Array,
  tag: Uint8Array,
): Promise<boolean> {
  return constantTimeEqual(await membershipTag(suite, membershipKey, content, auth, groupContext), tag);
}

/** §5.2 ProposalRef = RefHash("MLS 1.0 Proposal Reference", AuthenticatedContent). */
export function proposalRef(suite: CipherSuite, wireFormat: WireFormat, content: FramedContent, auth: FramedContentAuthData): Promise<Uint8Array> {
  return makeProposalRef(suite, encode(encodeAuthenticatedContent, { wireFormat, content, auth }));
}

const GROUP_INFO_TBS = 'GroupInfoTBS';

export async function signGroupInfo(suite: CipherSuite, signatureKey: Uint8Array, tbs: UnsignedGroupInfo): Promise<GroupInfo> {
  const signature = await signWithLabel(suite, signatureKey, GROUP_INFO_TBS, encodeGroupInfoTbs(tbs));
  return { ...tbs, signature };
}

export function verifyGroupInfo(suite: CipherSuite, verificationKey: Uint8Array, info: GroupInfo): Promise<boolean> {
  return verifyWithLabel(suite, verificationKey, GROUP_INFO_TBS, encodeGroupInfoTbs(info), info.signature);
}
