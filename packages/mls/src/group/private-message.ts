// RFC 9420 §6.3 PrivateMessage for the group layer: picks the epoch (the current one,
// or a retained past one for late application messages) and its keys, hands the work to
// src/framing/private-message.ts, and returns a new GroupState holding the secret tree
// that moved on. The state passed in is never changed: it still holds the keys used
// (see schedule/secret-tree.ts), so a caller that keeps it keeps those keys.

import { authenticateContent, framingEpoch, type FramingEpoch } from '../framing/authentication.js';
import { protectPrivateMessage as protect, unprotectPrivateMessage as unprotect } from '../framing/private-message.js';
import { ValidationError } from '../errors.js';
import { ContentType, SenderType, WireFormat, type ContentBody, type FramedContent, type FramedContentAuthData, type PrivateMessage } from '../messages/framing.js';
import type { SecretTree } from '../schedule/secret-tree.js';
import type { GroupState } from './state.js';

function currentEpoch(state: GroupState): FramingEpoch {
  return { suite: state.suite, groupContext: state.groupContext, groupContextBytes: state.groupContextBytes };
}

/** The state with the current epoch's secret tree replaced. */
function withSecretTree(state: GroupState, secretTree: SecretTree): GroupState {
  return { ...state, keys: { ...state.keys, secretTree } };
}

/**
 * Signs and encrypts `body` as a PrivateMessage of our own leaf in the current epoch;
 * the returned state has moved our ratchet past the generation used.
 */
export async function protectPrivateMessage(
  state: GroupState,
  body: ContentBody,
  authenticatedData: Uint8Array,
  confirmationTag?: Uint8Array,
): Promise<{ readonly state: GroupState; readonly privateMessage: PrivateMessage }> {
  const epoch = currentEpoch(state);
  const content = {
    groupId: state.groupContext.groupId,
    epoch: state.groupContext.epoch,
    sender: { senderType: SenderType.member, leafIndex: state.ownLeaf },
    authenticatedData,
    ...body,
  } as FramedContent;
  const authenticated = await authenticateContent(epoch, WireFormat.mls_private_message, content, state.signaturePrivateKey.bytes, confirmationTag);
  const out = await protect(epoch, authenticated, state.keys, state.config.paddingBlock === undefined ? {} : { paddingBlock: state.config.paddingBlock });
  return { state: withSecretTree(state, out.secretTree), privateMessage: out.message };
}

export interface Unprotected {
  readonly content: FramedContent;
  readonly auth: FramedContentAuthData;
  readonly epoch: bigint;
  /** `state` without the message's key (in the current or the retained epoch's secret tree). */
  readonly state: GroupState;
}

/**
 * Decrypts and authenticates a PrivateMessage. Handshake content is accepted only in
 * the current epoch; application content also in a retained past epoch. On a refusal
 * nothing is consumed: the caller still holds `state`.
 */
export async function unprotectPrivateMessage(state: GroupState, m: PrivateMessage): Promise<Unprotected> {
  if (m.epoch === state.groupContext.epoch) {
    const out = await unprotect(currentEpoch(state), m, state.keys, (sender) =>
      sender.senderType === SenderType.member ? state.tree.leaf(sender.leafIndex)?.signatureKey : undefined,
    );
    return { content: out.verified.content, auth: out.verified.auth, epoch: m.epoch, state: withSecretTree(state, out.secretTree) };
  }
  const index = state.retained.findIndex((r) => r.epoch === m.epoch);
  const old = state.retained[index];
  if (old === undefined || m.contentType !== ContentType.application) {
    throw new ValidationError('wrong-epoch', `the message is for epoch ${m.epoch}, the group is at ${state.groupContext.epoch}`);
  }
  const out = await unprotect(framingEpoch(state.suite, old.groupContext), m, old, (sender) =>
    sender.senderType === SenderType.member ? old.signatureKeys.get(sender.leafIndex) : undefined,
  );
  const retained = state.retained.map((r, i) => (i === index ? { ...r, secretTree: out.secretTree } : r));
  return { content: out.verified.content, auth: out.verified.auth, epoch: m.epoch, state: { ...state, retained } };
}
