// processMessage hashes a received commit's FramedContent into the transcript from the
// message bytes rather than re-encoding it (group/process.ts publicMessageContentBytes).
// Those bytes must be exactly the content's encoding for every PublicMessage shape: a
// member's commit with and without a path (membership tag and confirmation tag), a
// member's proposal (no confirmation tag), and an external commit (no membership tag).
import { describe, expect, it } from 'vitest';
import { encode } from '../../src/codec/index.js';
import { createCommit, proposeRemove } from '../../src/group/index.js';
import { joinExternal } from '../../src/group/external.js';
import { publicMessageContentBytes } from '../../src/group/process.js';
import { encodeFramedContent } from '../../src/messages/framing.js';
import { leafIndex } from '../../src/util/brand.js';
import { toHex } from '../../src/util/bytes.js';
import { commitAll, config, group, identity, provider, publicMessageOf } from './helpers.js';

function expectSliceIsEncoding(bytes: Uint8Array): void {
  const m = publicMessageOf(bytes);
  expect(toHex(publicMessageContentBytes(bytes, m))).toBe(toHex(encode(encodeFramedContent, m.content)));
}

describe('publicMessageContentBytes', () => {
  it('is the FramedContent encoding for commits, proposals and external commits', async () => {
    const states = await group(['alice', 'bob', 'carol']);
    const withPath = await createCommit(states[1]!, { withPath: true });
    expectSliceIsEncoding(withPath.commitMessage);
    const proposal = await proposeRemove(states[0]!, leafIndex(2));
    expectSliceIsEncoding(proposal.message);
    const withoutPath = await createCommit(proposal.state, { withPath: false });
    expectSliceIsEncoding(withoutPath.commitMessage);
    const { created } = await commitAll(0, states, { withPath: true });
    const external = await joinExternal({ provider, groupInfo: created.groupInfo, ...(await identity('dave')), config });
    expectSliceIsEncoding(external.commitMessage);
  });

  it('lets the receivers of those commits agree with the committer', async () => {
    const states = await group(['alice', 'bob', 'carol']);
    const { next } = await commitAll(2, states, { withPath: true });
    expect(new Set(next.map((s) => toHex(s.interimTranscriptHash))).size).toBe(1);
    expect(new Set(next.map((s) => toHex(s.groupContext.confirmedTranscriptHash))).size).toBe(1);
  });
});
