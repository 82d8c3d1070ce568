// transcript-hashes.json: confirmed and interim transcript hashes after a commit (§8.2),
// and the commit's confirmation tag checks under confirmation_key.
import { decode } from '../../src/codec/index.js';
import { decodeAuthenticatedContent } from '../../src/messages/framing.js';
import { asSecret } from '../../src/schedule/secrets.js';
import { confirmedTranscriptHashInputOf, transcriptHashesAfter, verifyConfirmationTag } from '../../src/schedule/transcript.js';
import { expectBytes, hex, PASSED, suiteOrSkip, type VectorKind } from './harness.js';

interface Case {
  cipher_suite: number;
  confirmation_key: string;
  authenticated_content: string;
  interim_transcript_hash_before: string;
  confirmed_transcript_hash_after: string;
  interim_transcript_hash_after: string;
}

const kind: VectorKind<Case> = {
  describe: (c, i) => `case ${i}: suite ${c.cipher_suite}`,
  async run(c, provider) {
    const suite = suiteOrSkip(provider, c.cipher_suite);
    const commit = decode(decodeAuthenticatedContent, hex(c.authenticated_content));
    const tag = commit.auth.confirmationTag;
    if (tag === undefined) throw new Error('authenticated_content is not a commit');
    const after = await transcriptHashesAfter(suite, hex(c.interim_transcript_hash_before), confirmedTranscriptHashInputOf(commit), tag);
    expectBytes(after.confirmedTranscriptHash, c.confirmed_transcript_hash_after, 'confirmed_transcript_hash_after');
    expectBytes(after.interimTranscriptHash, c.interim_transcript_hash_after, 'interim_transcript_hash_after');
    const key = asSecret<'confirmation_key'>(hex(c.confirmation_key));
    if (!(await verifyConfirmationTag(suite, key, after.confirmedTranscriptHash, tag))) throw new Error('confirmation_tag does not verify');
    const forged = tag.slice();
    forged[0]! ^= 1;
    if (await verifyConfirmationTag(suite, key, after.confirmedTranscriptHash, forged)) throw new Error('a forged confirmation_tag verifies');
    return PASSED;
  },
};
export default kind;
