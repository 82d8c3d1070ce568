// RFC 9420 §5.2 ProposalRef and §12.4.3 the GroupInfo signature. (Signatures over
// FramedContentTBS and membership tags come from src/framing/authentication.ts.)

import { encode } from '../codec/index.js';
import { makeProposalRef, signWithLabel, verifyWithLabel } from '../crypto/labeled.js';
import type { CipherSuite } from '../crypto/provider.js';
import { encodeAuthenticatedContent, type FramedContent, type FramedContentAuthData, type WireFormat } from '../messages/framing.js';
import { encodeGroupInfoTbs, type GroupInfo, type UnsignedGroupInfo } from '../messages/welcome.js';

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
