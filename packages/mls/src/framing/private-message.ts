// RFC 9420 §6.3 Encoding and decoding a PrivateMessage: content encrypted under the
// sender's ratchet key from the secret tree (§9), its nonce XORed with a fresh reuse
// guard (§6.3.1), padded with zeros, and the sender data (leaf, generation, guard)
// encrypted under a key drawn from sender_data_secret and a ciphertext sample (§6.3.2).

import { decode, Reader, Writer } from '../codec/index.js';
import type { CipherSuite } from '../crypto/provider.js';
import { CryptoError, DecodeError, UsageError, ValidationError } from '../errors.js';
import {
  type AuthenticatedContent,
  type ContentBody,
  ContentType,
  decodePrivateMessageContent,
  decodeSenderData,
  encodePrivateMessageContent,
  type FramedContent,
  type FramedContentAuthData,
  type PrivateMessage,
  SenderType,
  WireFormat,
} from '../messages/framing.js';
import { type RatchetType, type SecretTree, senderDataKeyNonce } from '../schedule/secret-tree.js';
import type { SenderDataSecret } from '../schedule/secrets.js';
import { checkGroupAndEpoch, type FramingEpoch, senderKey, type SignatureKeyResolver, type VerifiedContent, verifyContentSignature } from './authentication.js';
import { applicationPlaintext, privateContentAad, readSenderData, SENDER_DATA_LENGTH, senderDataBytes, epochBytes } from './wire.js';

/** The epoch's secrets a PrivateMessage needs. */
export interface PrivateMessageKeys {
  readonly secretTree: SecretTree;
  readonly senderDataSecret: SenderDataSecret;
}

/** A protected message, and the secret tree that has moved past the generation it used. */
export interface ProtectedPrivateMessage {
  readonly message: PrivateMessage;
  readonly secretTree: SecretTree;
}

/** A verified message, and the secret tree that no longer holds its key (§9.2). */
export interface UnprotectedPrivateMessage {
  readonly verified: VerifiedContent;
  readonly secretTree: SecretTree;
}

export interface PrivateMessageOptions {
  /**
   * The plaintext (PrivateMessageContent) is padded with zeros to a multiple of this
   * many bytes, so ciphertext lengths reveal less about the content. 0 or 1: no padding.
   * Default 32.
   */
  readonly paddingBlock?: number;
}

export const DEFAULT_PADDING_BLOCK = 32;

const REUSE_GUARD_LENGTH = 4;

function ratchetType(contentType: ContentType): RatchetType {
  return contentType === ContentType.application ? 'application' : 'handshake';
}

/** The nonce of §6.3.1: the ratchet nonce with its first four bytes XORed with the reuse guard. */
function guardedNonce(nonce: Uint8Array, reuseGuard: Uint8Array): Uint8Array {
  const out = nonce.slice();
  for (let i = 0; i < REUSE_GUARD_LENGTH; i++) out[i]! ^= reuseGuard[i]!;
  return out;
}

/**
 * §6.3.1 PrivateMessageContent, padded with zeros to a multiple of `block`. Application
 * content (every application message) is laid out in one pass; other content goes
 * through the general encoder.
 */
function privateMessageContent(content: FramedContent, auth: AuthenticatedContent['auth'], block: number): Uint8Array {
  if (content.contentType === ContentType.application) {
    if (auth.confirmationTag !== undefined) throw new UsageError('unexpected-confirmation-tag', 'only a commit carries a confirmation_tag');
    return applicationPlaintext(content.applicationData, auth.signature, block);
  }
  const w = new Writer(256);
  encodePrivateMessageContent(w, { ...content, auth, paddingLength: 0 });
  if (block > 1) {
    const rem = w.length % block;
    if (rem !== 0) w.raw(new Uint8Array(block - rem));
  }
  return w.finish();
}

/** AEAD seal, synchronously when the suite can (node:crypto). */
function seal(suite: CipherSuite, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array | Promise<Uint8Array> {
  return suite.sync !== undefined ? suite.sync.seal(key, nonce, aad, plaintext) : suite.aead.seal(key, nonce, aad, plaintext);
}

/**
 * Encrypts signed content (from `authenticateContent` with wire format
 * mls_private_message) from a member as a PrivateMessage with the next generation of
 * the sender's ratchet. `keys.secretTree` is not changed: the returned tree is the one
 * that has moved on, and the next message must be protected with it.
 */
export async function protectPrivateMessage(
  epoch: FramingEpoch,
  authenticated: AuthenticatedContent,
  keys: PrivateMessageKeys,
  options: PrivateMessageOptions = {},
): Promise<ProtectedPrivateMessage> {
  const { suite } = epoch;
  const { content, auth } = authenticated;
  if (authenticated.wireFormat !== WireFormat.mls_private_message) {
    throw new UsageError('wrong-wire-format', 'the content was signed for another wire format');
  }
  if (content.sender.senderType !== SenderType.member) throw new UsageError('not-a-member', 'only members send PrivateMessages (§6.3.2)');
  checkGroupAndEpoch(epoch, content.groupId, content.epoch);
  const block = options.paddingBlock ?? DEFAULT_PADDING_BLOCK;
  if (!Number.isInteger(block) || block < 0 || block > 0xffff) throw new UsageError('bad-option', 'paddingBlock must be an integer in 0..65535');

  const plaintext = privateMessageContent(content, auth, block);
  const leaf = content.sender.leafIndex;
  const aad = privateContentAad(content.groupId, epochBytes(content.epoch), content.contentType, content.authenticatedData);
  const reuseGuard = suite.randomBytes(REUSE_GUARD_LENGTH);
  // Each step is awaited only when it really is asynchronous (sync primitives absent,
  // or the sender's first message): on node:crypto a message costs no promise here.
  const taken = keys.secretTree.takeNext(leaf, ratchetType(content.contentType));
  const { key: k, tree: secretTree } = taken instanceof Promise ? await taken : taken;
  const sealed = seal(suite, k.key.bytes, guardedNonce(k.nonce.bytes, reuseGuard), aad.contentAad, plaintext);
  const ciphertext = sealed instanceof Promise ? await sealed : sealed;

  const senderData = senderDataBytes(leaf, k.generation, reuseGuard);
  const sdp = senderDataKeyNonce(suite, keys.senderDataSecret, ciphertext);
  const sd = sdp instanceof Promise ? await sdp : sdp;
  const sealedSenderData = seal(suite, sd.key.bytes, sd.nonce.bytes, aad.senderDataAad, senderData);
  const encryptedSenderData = sealedSenderData instanceof Promise ? await sealedSenderData : sealedSenderData;
  sd.key.destroy();
  sd.nonce.destroy();
  return {
    message: { groupId: content.groupId, epoch: content.epoch, contentType: content.contentType, authenticatedData: content.authenticatedData, encryptedSenderData, ciphertext },
    secretTree,
  };
}

type Sealed = 'sender-data' | 'content';

/** A CryptoError from opening becomes ValidationError `undecryptable-<what>`. */
function refusal(what: Sealed, error: unknown): unknown {
  return error instanceof CryptoError ? new ValidationError(`undecryptable-${what}`, `the ${what} does not decrypt`, { cause: error }) : error;
}

/** AEAD open, synchronously when the suite can; a tag that does not verify is ValidationError `undecryptable-<what>`. */
function open(suite: CipherSuite, what: Sealed, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array | Promise<Uint8Array> {
  if (suite.sync === undefined) {
    return suite.aead.open(key, nonce, aad, ciphertext).catch((error: unknown) => {
      throw refusal(what, error);
    });
  }
  try {
    return suite.sync.open(key, nonce, aad, ciphertext);
  } catch (error) {
    throw refusal(what, error);
  }
}

/**
 * The ContentBody and auth of a decrypted PrivateMessageContent (§6.3.1); every octet
 * after them is padding and must be zero (DecodeError `nonzero-padding`).
 */
function decodeContent(contentType: ContentType, plaintext: Uint8Array): { body: ContentBody; auth: FramedContentAuthData } {
  if (contentType !== ContentType.application) {
    const { auth, paddingLength: _padding, ...body } = decode(decodePrivateMessageContent(contentType), plaintext);
    return { body, auth };
  }
  // Application content: opaque application_data<V>, then the signature (no confirmation tag).
  const r = new Reader(plaintext);
  const applicationData = r.opaque();
  const signature = r.opaque();
  for (let i = r.offset; i < plaintext.length; i++) {
    if (plaintext[i] !== 0) throw new DecodeError('nonzero-padding', 'PrivateMessageContent padding is not all zero');
  }
  return { body: { contentType, applicationData }, auth: { signature } };
}

/**
 * Decrypts and checks a received PrivateMessage: group and epoch, sender data, the
 * sender is a member (non-blank leaf), the content ratchet key of that generation
 * (replays and generations outside the window are refused by the secret tree),
 * zero padding, and the signature. Refuses with ValidationError `wrong-group`,
 * `wrong-epoch`, `undecryptable-sender-data`, `unknown-sender`, `generation-reused`,
 * `generation-expired`, `generation-too-far`, `undecryptable-content`,
 * `nonzero-padding` or `invalid-signature`. `keys.secretTree` is not changed; the
 * returned tree no longer holds the message's key, so continuing from it refuses a
 * replay. On a refusal nothing is consumed.
 */
export async function unprotectPrivateMessage(
  epoch: FramingEpoch,
  message: PrivateMessage,
  keys: PrivateMessageKeys,
  resolveKey: SignatureKeyResolver,
): Promise<UnprotectedPrivateMessage> {
  const { suite } = epoch;
  checkGroupAndEpoch(epoch, message.groupId, message.epoch);

  const sdp = senderDataKeyNonce(suite, keys.senderDataSecret, message.ciphertext);
  const sd = sdp instanceof Promise ? await sdp : sdp;
  const aad = privateContentAad(message.groupId, epochBytes(message.epoch), message.contentType, message.authenticatedData);
  let senderDataPlain: Uint8Array;
  try {
    const opened = open(suite, 'sender-data', sd.key.bytes, sd.nonce.bytes, aad.senderDataAad, message.encryptedSenderData);
    senderDataPlain = opened instanceof Promise ? await opened : opened;
  } finally {
    sd.key.destroy();
    sd.nonce.destroy();
  }
  const senderData = senderDataPlain.length === SENDER_DATA_LENGTH ? readSenderData(senderDataPlain) : decode(decodeSenderData, senderDataPlain);
  const sender = { senderType: SenderType.member, leafIndex: senderData.leafIndex } as const;

  // §6.3.2: the leaf must be a member (non-blank) before any ratchet work is done for it.
  if (senderData.leafIndex >= keys.secretTree.nLeaves) throw new ValidationError('unknown-sender', 'the sender leaf is outside the tree');
  const signatureKey = senderKey(resolveKey, sender, undefined);

  const taken = keys.secretTree.take(senderData.leafIndex, ratchetType(message.contentType), senderData.generation);
  const { key: k, tree: secretTree } = taken instanceof Promise ? await taken : taken;
  const opened = open(suite, 'content', k.key.bytes, guardedNonce(k.nonce.bytes, senderData.reuseGuard), aad.contentAad, message.ciphertext);
  const plaintext = opened instanceof Promise ? await opened : opened;

  let decoded;
  try {
    decoded = decodeContent(message.contentType, plaintext);
  } catch (error) {
    if (error instanceof DecodeError && error.code === 'nonzero-padding') {
      throw new ValidationError('nonzero-padding', 'PrivateMessageContent padding is not all zero', { cause: error });
    }
    throw error;
  }
  const content = {
    groupId: message.groupId,
    epoch: message.epoch,
    sender,
    authenticatedData: message.authenticatedData,
    ...decoded.body,
  } as FramedContent;
  const checked = verifyContentSignature(epoch, { wireFormat: WireFormat.mls_private_message, content, auth: decoded.auth }, signatureKey);
  return { verified: checked instanceof Promise ? await checked : checked, secretTree };
}
