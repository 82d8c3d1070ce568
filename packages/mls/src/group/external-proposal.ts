// RFC 9420 §12.1.8 External proposals: a party outside the group that the group lists
// in its external_senders extension (§12.1.8.1) — say, the delivery service — signs a
// proposal as a PublicMessage with sender type `external`. Members check it like any
// PublicMessage (process.ts: the signature under that sender's key, the allowed
// proposal types) and commit it by reference. The sender holds no group secret: it only
// needs the group id, epoch and suite (from a GroupInfo or the server's public view).

import { encode } from '../codec/index.js';
import { signWithLabel } from '../crypto/labeled.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { UsageError } from '../errors.js';
import { ProtocolVersion } from '../messages/common.js';
import { ContentType, encodeFramedContentTbs, SenderType, WireFormat, type FramedContent } from '../messages/framing.js';
import type { GroupContext } from '../messages/group-context.js';
import { encodeMLSMessage } from '../messages/mls-message.js';
import { ProposalType, type Proposal } from '../messages/proposal.js';

/** §12.1.8: the proposal types an external sender may send (Table 9 of §17.4, column "External"). */
export const EXTERNAL_PROPOSAL_TYPES: ReadonlySet<number> = new Set<number>([
  ProposalType.add,
  ProposalType.remove,
  ProposalType.psk,
  ProposalType.reinit,
  ProposalType.group_context_extensions,
]);

export interface ExternalProposalParams {
  readonly provider: CryptoProvider;
  /** The group's current GroupContext (only its id, epoch and suite are used). */
  readonly groupContext: Pick<GroupContext, 'groupId' | 'epoch' | 'cipherSuite'>;
  /** Our index in the group's external_senders list. */
  readonly senderIndex: number;
  /** The private key of the signature key listed for us in external_senders. */
  readonly signaturePrivateKey: Uint8Array;
  readonly proposal: Proposal;
  readonly authenticatedData?: Uint8Array;
}

/**
 * A proposal from an external sender, as an MLSMessage (PublicMessage) to send to the
 * group. Refuses (UsageError `proposal-type-not-allowed`) the types an external sender
 * may not send: Update and ExternalInit.
 */
export async function createExternalProposal(p: ExternalProposalParams): Promise<Uint8Array> {
  if (!EXTERNAL_PROPOSAL_TYPES.has(p.proposal.proposalType)) {
    throw new UsageError('proposal-type-not-allowed', `an external sender cannot propose type ${p.proposal.proposalType}`);
  }
  return signExternalProposal(p);
}

/** @internal The signing step without the type check (tests forge refused types with it). */
export async function signExternalProposal(p: ExternalProposalParams): Promise<Uint8Array> {
  if (!Number.isInteger(p.senderIndex) || p.senderIndex < 0 || p.senderIndex > 0xffff_ffff) throw new UsageError('bad-sender-index', 'senderIndex is a uint32');
  const suite = p.provider.suite(p.groupContext.cipherSuite);
  const content: FramedContent = {
    groupId: p.groupContext.groupId,
    epoch: p.groupContext.epoch,
    sender: { senderType: SenderType.external, senderIndex: p.senderIndex },
    authenticatedData: p.authenticatedData ?? new Uint8Array(0),
    contentType: ContentType.proposal,
    proposal: p.proposal,
  };
  // §6.1: FramedContentTBS of an external sender carries no GroupContext.
  const signature = await signWithLabel(suite, p.signaturePrivateKey, 'FramedContentTBS', encodeFramedContentTbs(WireFormat.mls_public_message, content));
  return encode(encodeMLSMessage, {
    version: ProtocolVersion.mls10,
    wireFormat: WireFormat.mls_public_message,
    publicMessage: { content, auth: { signature } },
  });
}
