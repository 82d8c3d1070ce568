// RFC 9420 §8.2 Transcript hashes, and §6.1 the confirmation tag that binds a commit
// to the new epoch's confirmed transcript hash.
//
//   confirmed_transcript_hash_[n] = Hash(interim_transcript_hash_[n-1] || ConfirmedTranscriptHashInput_[n])
//   interim_transcript_hash_[n]   = Hash(confirmed_transcript_hash_[n] || InterimTranscriptHashInput_[n])
//   confirmation_tag              = MAC(confirmation_key, GroupContext.confirmed_transcript_hash)

import { Writer } from '../codec/writer.js';
import type { CipherSuite } from '../crypto/provider.js';
import { UsageError } from '../errors.js';
import { type AuthenticatedContent, ContentType, encodeFramedContent } from '../messages/framing.js';
import { concat, constantTimeEqual } from '../util/bytes.js';
import type { ConfirmationKey } from './secrets.js';

/**
 * ConfirmedTranscriptHashInput = struct { WireFormat wire_format; FramedContent content; opaque signature<V>; }
 * from its parts: `framedContent` is the FramedContent's encoding.
 */
export function confirmedTranscriptHashInput(wireFormat: number, framedContent: Uint8Array, signature: Uint8Array): Uint8Array {
  return new Writer(framedContent.length + signature.length + 8).u16(wireFormat).raw(framedContent).opaque(signature).finish();
}

/** ConfirmedTranscriptHashInput of a commit's AuthenticatedContent (everything but the confirmation tag). */
export function confirmedTranscriptHashInputOf(commit: AuthenticatedContent): Uint8Array {
  if (commit.content.contentType !== ContentType.commit) throw new UsageError('not-a-commit', 'only a commit enters the transcript');
  const w = new Writer(512).u16(commit.wireFormat);
  encodeFramedContent(w, commit.content);
  return w.opaque(commit.auth.signature).finish();
}

/** confirmed_transcript_hash_[n] from interim_transcript_hash_[n-1] and the commit's ConfirmedTranscriptHashInput. */
export function nextConfirmedTranscriptHash(suite: CipherSuite, interimTranscriptHash: Uint8Array, confirmedInput: Uint8Array): Promise<Uint8Array> {
  return suite.hash.digest(concat(interimTranscriptHash, confirmedInput));
}

/**
 * The same as nextConfirmedTranscriptHash(interim, confirmedTranscriptHashInput(...)),
 * with the hash input built in one buffer: a commit's FramedContent is as large as its
 * UpdatePath (about 110 bytes per member it encrypts to), so it is copied only once.
 */
export function confirmedTranscriptHashOf(
  suite: CipherSuite,
  interimTranscriptHash: Uint8Array,
  wireFormat: number,
  framedContent: Uint8Array,
  signature: Uint8Array,
): Promise<Uint8Array> {
  const input = new Writer(interimTranscriptHash.length + framedContent.length + signature.length + 8)
    .raw(interimTranscriptHash)
    .u16(wireFormat)
    .raw(framedContent)
    .opaque(signature)
    .finish();
  return suite.hash.digest(input);
}

/** interim_transcript_hash_[n] from confirmed_transcript_hash_[n] and InterimTranscriptHashInput = struct { MAC confirmation_tag; }. */
export function nextInterimTranscriptHash(suite: CipherSuite, confirmedTranscriptHash: Uint8Array, confirmationTag: Uint8Array): Promise<Uint8Array> {
  const w = new Writer(confirmedTranscriptHash.length + confirmationTag.length + 4).raw(confirmedTranscriptHash).opaque(confirmationTag);
  return suite.hash.digest(w.finish());
}

/** Both transcript hashes of a new epoch, from the previous interim hash and the commit. */
export async function transcriptHashesAfter(
  suite: CipherSuite,
  interimTranscriptHashBefore: Uint8Array,
  confirmedInput: Uint8Array,
  confirmationTag: Uint8Array,
): Promise<{ confirmedTranscriptHash: Uint8Array; interimTranscriptHash: Uint8Array }> {
  const confirmedTranscriptHash = await nextConfirmedTranscriptHash(suite, interimTranscriptHashBefore, confirmedInput);
  const interimTranscriptHash = await nextInterimTranscriptHash(suite, confirmedTranscriptHash, confirmationTag);
  return { confirmedTranscriptHash, interimTranscriptHash };
}

/** confirmation_tag = MAC(confirmation_key, confirmed_transcript_hash). */
export function confirmationTag(suite: CipherSuite, confirmationKey: ConfirmationKey, confirmedTranscriptHash: Uint8Array): Promise<Uint8Array> {
  return suite.hash.mac(confirmationKey.bytes, confirmedTranscriptHash);
}

/** Recomputes the tag and compares in constant time. */
export async function verifyConfirmationTag(
  suite: CipherSuite,
  confirmationKey: ConfirmationKey,
  confirmedTranscriptHash: Uint8Array,
  tag: Uint8Array,
): Promise<boolean> {
  return constantTimeEqual(await confirmationTag(suite, confirmationKey, confirmedTranscriptHash), tag);
}
