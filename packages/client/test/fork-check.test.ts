// Fork detection (packages/client/src/sdk/fork-check.ts): members of one epoch agree on
// the tag; two branches of the same epoch number (two different commits applied to the
// same epoch) disagree; the tag rides in the authenticated_data of a PrivateMessage,
// readable before decryption and bound to it by the AEAD.
import { nodeCryptoProvider } from '@parley/mls/crypto-node';
import { createCommit, createGroup, CredentialType, encryptApplication, generateKeyPackage, joinFromWelcome, mergeCommit, processMessage, type GroupState } from '@parley/mls';
import { describe, expect, it } from 'vitest';
import { checkForkTag, decodeSplit, encodeSplit, forkCheckAad, forkTag, readForkTag, FORK_TAG_LENGTH } from '../src/sdk/fork-check.js';

const provider = nodeCryptoProvider;
const suite = provider.suite(1);
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const config = { now: () => 1n };

async function pair(): Promise<{ a: GroupState; b: GroupState }> {
  const signatureKey = await suite.signature.generateKeyPair();
  let a = await createGroup({ provider, suite: 1, groupId: utf8('fork'), signatureKey, credential: { credentialType: CredentialType.basic, identity: utf8('alice') }, config });
  const kb = await generateKeyPackage({ suite, signatureKey: await suite.signature.generateKeyPair(), credential: { credentialType: CredentialType.basic, identity: utf8('bob') } });
  const add = await createCommit(a, { proposals: [{ proposalType: 1, add: { keyPackage: kb.keyPackage } }] });
  a = mergeCommit(a, add.pending);
  if (add.welcome === undefined) throw new Error('no welcome');
  const b = await joinFromWelcome({ provider, welcome: add.welcome, keyPackage: kb.keyPackage, privateKeys: kb.privateKeys, config });
  return { a, b };
}

describe('fork check', () => {
  it('members of the same epoch agree; a message carrying the tag matches', async () => {
    const { a, b } = await pair();
    const ta = await forkTag(a);
    expect(ta).toHaveLength(FORK_TAG_LENGTH);
    expect(Buffer.from(await forkTag(b)).equals(Buffer.from(ta))).toBe(true);
    const sent = await encryptApplication(a, utf8('hello'), await forkCheckAad(a));
    expect(await checkForkTag(b, sent.message)).toEqual({ kind: 'match', epoch: 1n });
    // The tag is bound to the message: the receiver still decrypts it normally.
    const got = await processMessage(b, sent.message);
    expect(got.event.type === 'application' && readForkTag(got.event.authenticatedData)).toEqual(ta);
  });

  it('two branches of one epoch number disagree: a mismatch, before any decryption', async () => {
    const { a, b } = await pair();
    // The server lets both commit on epoch 1 and gives each only their own commit.
    const ca = await createCommit(a, { withPath: true });
    const cb = await createCommit(b, { withPath: true });
    const a2 = mergeCommit(a, ca.pending);
    const b2 = mergeCommit(b, cb.pending);
    expect(a2.groupContext.epoch).toBe(b2.groupContext.epoch);
    const sent = await encryptApplication(a2, utf8('across the fork'), await forkCheckAad(a2));
    expect(await checkForkTag(b2, sent.message)).toEqual({ kind: 'mismatch', epoch: 2n });
    // Without the check the receiver would only see an undecryptable message.
    await expect(processMessage(b2, sent.message)).rejects.toThrow();
  });

  it('leaves unchecked what it cannot compare: no tag, another epoch, a commit, garbage', async () => {
    const { a, b } = await pair();
    const bare = await encryptApplication(a, utf8('old client'));
    expect(await checkForkTag(b, bare.message)).toEqual({ kind: 'unchecked' });
    const commit = await createCommit(a, { withPath: true });
    expect(await checkForkTag(b, commit.commitMessage)).toEqual({ kind: 'unchecked' });
    const a2 = mergeCommit(a, commit.pending);
    const later = await encryptApplication(a2, utf8('next epoch'), await forkCheckAad(a2));
    expect(await checkForkTag(b, later.message)).toEqual({ kind: 'unchecked' });
    expect(await checkForkTag(b, new Uint8Array([1, 2, 3]))).toEqual({ kind: 'unchecked' });
    expect(readForkTag(new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeUndefined();
    expect(readForkTag(new Uint8Array(5))).toBeUndefined();
  });

  it('a tampered tag does not pass as a match, and the message no longer decrypts', async () => {
    const { a, b } = await pair();
    const sent = await encryptApplication(a, utf8('hello'), await forkCheckAad(a));
    const bytes = sent.message.slice();
    // Find the tag in the encoded PrivateMessage and flip one bit of it.
    const tag = await forkTag(a);
    const at = Buffer.from(bytes).indexOf(Buffer.from(tag));
    expect(at).toBeGreaterThan(0);
    bytes[at] = (bytes[at] ?? 0) ^ 1;
    expect((await checkForkTag(b, bytes)).kind).toBe('mismatch');
    await expect(processMessage(b, bytes)).rejects.toThrow();
  });

  it('a split record round-trips, and an unreadable one still counts as split', () => {
    expect(decodeSplit(encodeSplit({ epoch: 12n, detectedAt: 5 }))).toEqual({ epoch: 12n, detectedAt: 5 });
    expect(decodeSplit(undefined)).toBeUndefined();
    expect(decodeSplit('{not json')).toBeDefined();
    expect(decodeSplit('{"epoch":"-1","detectedAt":1}')).toBeDefined();
  });
});
