// RFC 9420 §6.3 PrivateMessage for the group layer: picks the epoch (the current one,
// or a retained past one for late application messages) and its keys, and hands the
// work to src/framing/private-message.ts.

import { authenticateContent, framingEpoch, type FramingEpoch } from '../framing/authentication.js';
import { protectPrivateMessage as protect, unprotectPrivateMessage as unprotect } from '../framing/private-message.js';
import { ValidationError } from '../errors.js';
import { ContentType, SenderType, WireFormat, type ContentBody, type FramedContent, type FramedContentAuthData, type PrivateMessage } from '../messages/framing.js';
import type { GroupState } from './state.js';

function currentEpoch(state: GroupState): FramingEpoch {
  return { suite: state.suite, groupContext: state.groupContext, groupContextBytes: state.groupContextBytes };
}

/** Signs and encrypts `body` as a PrivateMessage of our own leaf in the current epoch. */
export async function protectPrivateMessage(state: GroupState, body: ContentBody, authenticatedData: Uint8Array, confirmationTag?: Uint8Array): Promise<PrivateMessage> {
  const epoch = currentEpoch(state);
  const content = {
    groupId: state.groupContext.groupId,
    epoch: state.groupContext.epoch,
    sender: { senderType: SenderType.member, leafIndex: state.ownLeaf },
    authenticatedData,
    ...body,
  } as FramedContent;
  const authenticated = await authenticateContent(epoch, WireFormat.mls_private_message, content, state.signaturePrivateKey.bytes, confirmationTag);
  return protect(epoch, authenticated, state.keys, state.config.paddingBlock === undefined ? {} : { paddingBlock: state.config.paddingBlock });
}

export interface Unprotected {
  readonly content: FramedContent;
  readonly auth: FramedContentAuthData;
  readonly epoch: bigint;
}

/**
 * Decrypts and authenticates a PrivateMessage. Handshake content is accepted only in
 * the current epoch; application content also in a retained past epoch.
 */
export async function unprotectPrivateMessage(state: GroupState, m: PrivateMessage): Promise<Unprotected> {
  if (m.epoch === state.groupContext.epoch) {
    const verified = await unprotect(currentEpoch(state), m, state.keys, (sender) =>
      sender.senderType === SenderType.member ? state.tree.leaf(sender.leafIndex)?.signatureKey : undefined,
    );
    return { content: verified.content, auth: verified.auth, epoch: m.epoch };
  }
  const old = state.retained.find((r) => r.epoch === m.epoch);
  if (old === undefined || m.contentType !== ContentType.application) {
    throw new ValidationError('wrong-epoch', `the message is for epoch ${m.epoch}, the group is at ${state.groupContext.epoch}`);
  }
  const verified = await unprotect(framingEpoch(state.suite, old.groupContext), m, old, (sender) =>
    sender.senderType === SenderType.member ? old.signatureKeys.get(sender.leafIndex) : undefined,
  );
  return { content: verified.content, auth: verified.auth, epoch: m.epoch };
}
