// createCommit builds a commit's Welcome while its Adds' signatures are still being
// checked (applyProposalsUnconfirmed): a forged key package in a batch of 1,000 Adds still
// gives the same typed error as checking in order, and no commit; an error of the work
// done meanwhile never hides a signature error before it; the application's credential
// verdicts are asked for in the same order and number as before.
import { beforeAll, describe, expect, it } from 'vitest';
import { signWithLabel } from '../../src/crypto/labeled.js';
import { nodeCryptoProvider } from '../../src/crypto/node/index.js';
import { CryptoError, ValidationError } from '../../src/errors.js';
import { createCommit, createGroup, generateKeyPackage, joinFromWelcome, type GroupConfig, type GroupState } from '../../src/group/index.js';
import { CredentialType, type Credential } from '../../src/messages/credential.js';
import { encodeKeyPackageTbs, type KeyPackage } from '../../src/messages/key-package.js';
import { ProposalType } from '../../src/messages/proposal.js';
import { utf8Bytes } from '../../src/util/bytes.js';

const provider = nodeCryptoProvider;
const suite = provider.suite(1);
const NOW = 1_800_000_000n;
const config: GroupConfig = { now: () => NOW };
const N = 1000;

interface Member {
  readonly keyPackage: KeyPackage;
  readonly signaturePrivateKey: Uint8Array;
  readonly privateKeys: Awaited<ReturnType<typeof generateKeyPackage>>['privateKeys'];
}

async function member(name: string, lifetime?: { notBefore: bigint; notAfter: bigint }): Promise<Member> {
  const signatureKey = await suite.signature.generateKeyPair();
  const credential = { credentialType: CredentialType.basic, identity: utf8Bytes(name) } as const;
  const kp = await generateKeyPackage({ suite, signatureKey, credential, ...(lifetime === undefined ? {} : { lifetime }) });
  return { keyPackage: kp.keyPackage, signaturePrivateKey: signatureKey.privateKey, privateKeys: kp.privateKeys };
}

const flip = (b: Uint8Array, at: number): Uint8Array => b.map((x, j) => (j === at ? x ^ 1 : x));
/** A forged KeyPackageTBS signature. */
const forgedPackage = (m: Member): KeyPackage => ({ ...m.keyPackage, signature: flip(m.keyPackage.signature, 0) });
/** A forged leaf signature under a valid KeyPackageTBS signature. */
async function forgedLeaf(m: Member): Promise<KeyPackage> {
  const unsigned = { ...m.keyPackage, leafNode: { ...m.keyPackage.leafNode, signature: flip(m.keyPackage.leafNode.signature, 5) } };
  return { ...unsigned, signature: await signWithLabel(suite, m.signaturePrivateKey, 'KeyPackageTBS', encodeKeyPackageTbs(unsigned)) };
}
/** A validly signed key package whose init key is no X25519 key: its HPKE seal fails (CryptoError). */
async function unsealable(m: Member): Promise<KeyPackage> {
  const unsigned = { ...m.keyPackage, initKey: m.keyPackage.initKey.subarray(1) };
  return { ...unsigned, signature: await signWithLabel(suite, m.signaturePrivateKey, 'KeyPackageTBS', encodeKeyPackageTbs(unsigned)) };
}

const adds = (kps: readonly KeyPackage[]) => ({ proposals: kps.map((keyPackage) => ({ proposalType: ProposalType.add, add: { keyPackage } }) as const) });

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('a commit was returned');
    },
    (e: unknown) => e,
  );
}

describe('createCommit with Adds checked while the Welcome is built', () => {
  let creator: GroupState;
  let members: Member[];
  let good: KeyPackage[];

  beforeAll(async () => {
    const signatureKey = await suite.signature.generateKeyPair();
    creator = await createGroup({ provider, suite: 1, groupId: utf8Bytes('overlap'), signatureKey, credential: { credentialType: CredentialType.basic, identity: utf8Bytes('alice') }, config });
    members = [];
    for (let i = 0; i < N; i++) members.push(await member(`m${i}`));
    good = members.map((m) => m.keyPackage);
  }, 120_000);

  it('a forged signature among 1,000 Adds is its typed ValidationError, and no commit', async () => {
    const withLeaf = [...good];
    withLeaf[700] = await forgedLeaf(members[700]!);
    const e1 = await failure(createCommit(creator, adds(withLeaf)));
    expect(e1).toBeInstanceOf(ValidationError);
    expect(e1).toMatchObject({ code: 'invalid-leaf-signature' });

    const withPackage = [...good];
    withPackage[999] = forgedPackage(members[999]!);
    withPackage[300] = await forgedLeaf(members[300]!);
    // Add 300 comes first in order: its error, whichever check finishes first.
    expect(await failure(createCommit(creator, adds(withPackage)))).toMatchObject({ code: 'invalid-leaf-signature' });
    withPackage[300] = good[300]!;
    expect(await failure(createCommit(creator, adds(withPackage)))).toMatchObject({ code: 'invalid-key-package-signature' });
  }, 60_000);

  it('the 1,000 good Adds give a commit whose Welcome the last member joins', async () => {
    const made = await createCommit(creator, adds(good));
    const last = members[N - 1]!;
    const joined = await joinFromWelcome({ provider, welcome: made.welcome!, keyPackage: last.keyPackage, privateKeys: last.privateKeys, config });
    expect(joined.tree.memberCount).toBe(N + 1);
  }, 60_000);

  it('a forged signature before another failing check gives the signature error (checked in order)', async () => {
    const expired = await member('expired', { notBefore: 1n, notAfter: 2n });
    const kps = [...good.slice(0, 50)];
    kps[20] = forgedPackage(members[20]!);
    kps[30] = expired.keyPackage;
    expect(await failure(createCommit(creator, adds(kps)))).toMatchObject({ code: 'invalid-key-package-signature' });
    kps[20] = good[20]!;
    expect(await failure(createCommit(creator, adds(kps)))).toMatchObject({ code: 'lifetime-expired' });
  }, 60_000);

  it('a failing seal does not hide an earlier forged signature', async () => {
    const kps = [...good.slice(0, 50)];
    kps[40] = await unsealable(members[40]!);
    // Alone, the bad init key fails in the seal of the Welcome's secrets.
    expect(await failure(createCommit(creator, adds(kps)))).toBeInstanceOf(CryptoError);
    kps[10] = forgedPackage(members[10]!);
    const e = await failure(createCommit(creator, adds(kps)));
    expect(e).toBeInstanceOf(ValidationError);
    expect(e).toMatchObject({ code: 'invalid-key-package-signature' });
  }, 60_000);

  it('asks the application about the same credentials, in order, as checking one by one', async () => {
    const seen: string[] = [];
    const validateCredential = (credential: Credential): boolean => {
      const name = new TextDecoder().decode((credential as { identity: Uint8Array }).identity);
      seen.push(name);
      return name !== 'm15';
    };
    const state: GroupState = { ...creator, config: { ...config, validateCredential } };
    const kps = [...good.slice(0, 40)];
    kps[8] = forgedPackage(members[8]!);
    expect(await failure(createCommit(state, adds(kps)))).toMatchObject({ code: 'invalid-key-package-signature' });
    // Adds 0–7 were asked about, after their signatures verified; none after the forged one.
    expect(seen).toEqual(Array.from({ length: 8 }, (_, i) => `m${i}`));
    seen.length = 0;
    kps[8] = good[8]!;
    expect(await failure(createCommit(state, adds(kps)))).toMatchObject({ code: 'credential-rejected' });
    expect(seen).toEqual(Array.from({ length: 16 }, (_, i) => `m${i}`));
  }, 60_000);
});
