// RFC 9420 §6.3 PrivateMessage: protecting content with the epoch's secret tree
// (content key from the sender's ratchet, reuse guard, sender data encrypted under
// the sender-data secret) and unprotecting it, in the current epoch or, for late
// application messages, in a retained past epoch.
// TODO(framing owner): replace with src/framing/ protect/unprotect when it lands.

import { decode } from '../codec/index.js';
import { Writer } from '../codec/writer.js';
import { CryptoError, ValidationError } from '../errors.js';
import {
  ContentType,
  decodePrivateMessageContent,
  decodeSenderData,
  encodePrivateContentAad,
  encodePrivateMessageContent,
  encodeSenderDataAad,
  SenderType,
  WireFormat,
  type ContentBody,
  type FramedContent,
  type FramedContentAuthData,
  type PrivateMessage,
} from '../messages/framing.js';
import { senderDataKeyNonce, type RatchetKey } from '../schedule/secret-tree.js';
import type { SenderDataSecret } from '../schedule/secrets.js';
import type { LeafIndex } from '../util/brand.js';
import { signContent, verifyContent } from './content-auth.js';
import type { GroupState } from './state.js';

function applyReuseGuard(nonce: Uint8Array, guard: Uint8Array): Uint8Array {
  const out = nonce.slice();
  for (let i = 0; i < 4; i++) out[i] = out[i]! ^ guard[i]!;
  return out;
}

/** Signs and encrypts `body` as a PrivateMessage of our own leaf in the current epoch. */
export async function protectPrivateMessage(
  state: GroupState,
  body: ContentBody,
  authenticatedData: Uint8Array,
  confirmationTag?: Uint8Array,
): Promise<PrivateMessage> {
  const { suite, groupContext } = state;
  const content: FramedContent = {
    groupId: groupContext.groupId,
    epoch: groupContext.epoch,
    sender: { senderType: SenderType.member, leafIndex: state.ownLeaf },
    authenticatedData,
    ...body,
  };
  const signature = await signContent(suite, state.signaturePrivateKey.bytes, WireFormat.mls_private_message, content, state.groupContextBytes);
  const auth: FramedContentAuthData = confirmationTag === undefined ? { signature } : { signature, confirmationTag };
  const block = state.config.paddingBlock ?? 0;
  const w = new Writer(256);
  encodePrivateMessageContent(w, { ...body, auth, paddingLength: 0 });
  let plaintext = w.finish();
  if (block > 0 && plaintext.length % block !== 0) {
    const padded = new Uint8Array(plaintext.length + block - (plaintext.length % block));
    padded.set(plaintext);
    plaintext = padded;
  }
  const contentType = body.contentType;
  const aad = encodePrivateContentAad(groupContext.groupId, groupContext.epoch, contentType, authenticatedData);
  const reuseGuard = suite.randomBytes(4);
  const type = contentType === ContentType.application ? 'application' : 'handshake';
  const { ciphertext, generation } = await state.keys.secretTree.withNextKey(state.ownLeaf, type, async (key: RatchetKey) => ({
    ciphertext: await suite.aead.seal(key.key.bytes, applyReuseGuard(key.nonce.bytes, reuseGuard), aad, plaintext),
    generation: key.generation,
  }));
  const senderData = new Writer(12).u32(state.ownLeaf).u32(generation).raw(reuseGuard).finish();
  const sd = await senderDataKeyNonce(suite, state.keys.senderDataSecret, ciphertext);
  const encryptedSenderData = await suite.aead.seal(sd.key.bytes, sd.nonce.bytes, encodeSenderDataAad(groupContext.groupId, groupContext.epoch, contentType), senderData);
  sd.key.destroy();
  sd.nonce.destroy();
  return { groupId: groupContext.groupId, epoch: groupContext.epoch, contentType, authenticatedData, encryptedSenderData, ciphertext };
}

export interface Unprotected {
  readonly content: FramedContent;
  readonly auth: FramedContentAuthData;
  readonly epoch: bigint;
}

async function openSenderData(state: GroupState, secret: SenderDataSecret, m: PrivateMessage): Promise<{ leafIndex: LeafIndex; generation: number; reuseGuard: Uint8Array }> {
  const sd = await senderDataKeyNonce(state.suite, secret, m.ciphertext);
  try {
    const bytes = await state.suite.aead.open(sd.key.bytes, sd.nonce.bytes, encodeSenderDataAad(m.groupId, m.epoch, m.contentType), m.encryptedSenderData);
    return decode(decodeSenderData, bytes);
  } catch (error) {
    if (error instanceof CryptoError) throw new ValidationError('sender-data-decrypt-failed', 'the sender data does not decrypt', { cause: error });
    throw error;
  } finally {
    sd.key.destroy();
    sd.nonce.destroy();
  }
}

/**
 * Decrypts and authenticates a PrivateMessage. Handshake content is accepted only in
 * the current epoch; application content also in a retained past epoch.
 */
export async function unprotectPrivateMessage(state: GroupState, m: PrivateMessage): Promise<Unprotected> {
  const { suite, groupContext } = state;
  if (m.groupId.length !== groupContext.groupId.length || !m.groupId.every((b, i) => b === groupContext.groupId[i])) {
    throw new ValidationError('wrong-group', 'the message belongs to another group');
  }
  let epochData: { senderDataSecret: SenderDataSecret; secretTree: GroupState['keys']['secretTree']; groupContextBytes: Uint8Array; signatureKey: (i: number) => Uint8Array | undefined };
  if (m.epoch === groupContext.epoch) {
    epochData = {
      senderDataSecret: state.keys.senderDataSecret,
      secretTree: state.keys.secretTree,
      groupContextBytes: state.groupContextBytes,
      signatureKey: (i) => state.tree.leaf(i as LeafIndex)?.signatureKey,
    };
  } else {
    const old = state.retained.find((r) => r.epoch === m.epoch);
    if (old === undefined || m.contentType !== ContentType.application) {
      throw new ValidationError('wrong-epoch', `the message is for epoch ${m.epoch}, the group is at ${groupContext.epoch}`);
    }
    epochData = { ...old, signatureKey: (i) => old.signatureKeys.get(i) };
  }
  const senderData = await openSenderData(state, epochData.senderDataSecret, m);
  const signatureKey = epochData.signatureKey(senderData.leafIndex);
  if (signatureKey === undefined) throw new ValidationError('unknown-sender', `leaf ${senderData.leafIndex} is not a member`);
  if (m.contentType !== ContentType.application && senderData.leafIndex === state.ownLeaf) {
    throw new ValidationError('own-message', 'a handshake message from our own leaf');
  }
  const type = m.contentType === ContentType.application ? 'application' : 'handshake';
  const aad = encodePrivateContentAad(m.groupId, m.epoch, m.contentType, m.authenticatedData);
  return epochData.secretTree.withKey(senderData.leafIndex, type, senderData.generation, async (key) => {
    let plaintext: Uint8Array;
    try {
      plaintext = await suite.aead.open(key.key.bytes, applyReuseGuard(key.nonce.bytes, senderData.reuseGuard), aad, m.ciphertext);
    } catch (error) {
      if (error instanceof CryptoError) throw new ValidationError('content-decrypt-failed', 'the content does not decrypt', { cause: error });
      throw error;
    }
    const pmc = decode(decodePrivateMessageContent(m.contentType), plaintext);
    const { auth, paddingLength: _padding, ...body } = pmc;
    const content = {
      groupId: m.groupId,
      epoch: m.epoch,
      sender: { senderType: SenderType.member, leafIndex: senderData.leafIndex },
      authenticatedData: m.authenticatedData,
      ...body,
    } as FramedContent;
    if (!(await verifyContent(suite, signatureKey, WireFormat.mls_private_message, content, epochData.groupContextBytes, auth.signature))) {
      throw new ValidationError('invalid-signature', 'the message signature does not verify');
    }
    return { content, auth, epoch: m.epoch };
  });
}
