// RFC 9420 §8.6 resumption PSKs of past epochs (usage application, §8.4): how many a
// member keeps is config.resumptionPskEpochs (default 8). With k, at epoch n a commit may
// name epochs n-k…n; epoch n-k-1 is refused as missing-psk, by the committer and by a
// member processing a commit that names it.
import { describe, expect, it } from 'vitest';
import {
  createCommit,
  createGroup,
  DEFAULT_RESUMPTION_PSK_EPOCHS,
  deserializeState,
  epochAuthenticator,
  mergeCommit,
  processMessage,
  RESUMPTION_PSK_EPOCHS_MAX,
  serializeState,
  type GroupConfig,
  type GroupState,
} from '../../src/group/index.js';
import { ProposalType, PSKType, ResumptionPSKUsage, type Proposal } from '../../src/messages/proposal.js';
import { toHex, utf8Bytes } from '../../src/util/bytes.js';
import { byValue, config, expectCode, forgeCommit, group, identity, provider, suite, SUITE } from './helpers.js';

const psk = (s: GroupState, epoch: bigint): Proposal => ({
  proposalType: ProposalType.psk,
  psk: { psk: { psktype: PSKType.resumption, usage: ResumptionPSKUsage.application, pskGroupId: s.groupContext.groupId, pskEpoch: epoch, pskNonce: suite.randomBytes(suite.kdf.nh) } },
});

/** Alice and bob with `cfg`, after `commits` empty commits with a path. */
async function aged(cfg: GroupConfig, commits: number): Promise<[GroupState, GroupState]> {
  let [a, b] = (await group(['alice', 'bob'], { config: cfg })) as [GroupState, GroupState];
  for (let i = 0; i < commits; i++) {
    const c = await createCommit(a, { withPath: true });
    [a, b] = [mergeCommit(a, c.pending), (await processMessage(b, c.commitMessage)).state];
  }
  return [a, b];
}

/** Epoch `epoch`'s PSK is accepted: alice commits it and bob reaches the same epoch. */
async function accepted(a: GroupState, b: GroupState, epoch: bigint): Promise<void> {
  const c = await createCommit(a, { proposals: [psk(a, epoch)] });
  const b2 = (await processMessage(b, c.commitMessage)).state;
  expect(toHex(epochAuthenticator(b2))).toBe(toHex(epochAuthenticator(mergeCommit(a, c.pending))));
}

/** Epoch `epoch`'s PSK is refused (missing-psk) by alice committing it and by bob receiving it. */
async function refused(a: GroupState, b: GroupState, epoch: bigint): Promise<void> {
  await expectCode(createCommit(a, { proposals: [psk(a, epoch)] }), 'missing-psk');
  await expectCode(processMessage(b, await forgeCommit(a, [byValue(psk(a, epoch))])), 'missing-psk');
}

describe('§8.6 config.resumptionPskEpochs', () => {
  for (const k of [0, 1, 3]) {
    it(`with k = ${k}: epoch current-k is accepted, current-k-1 refused (missing-psk); the state keeps k PSKs`, async () => {
      const [a, b] = await aged({ ...config, resumptionPskEpochs: k }, k + 3);
      const n = a.groupContext.epoch;
      expect(a.resumptionPsks.map((r) => r.epoch)).toEqual(Array.from({ length: k }, (_, i) => n - 1n - BigInt(i)));
      await accepted(a, b, n - BigInt(k));
      await refused(a, b, n - BigInt(k) - 1n);
    });
  }

  it(`by default k = ${DEFAULT_RESUMPTION_PSK_EPOCHS}`, async () => {
    const [a, b] = await aged(config, DEFAULT_RESUMPTION_PSK_EPOCHS + 2);
    const n = a.groupContext.epoch;
    await accepted(a, b, n - BigInt(DEFAULT_RESUMPTION_PSK_EPOCHS));
    await refused(a, b, n - BigInt(DEFAULT_RESUMPTION_PSK_EPOCHS) - 1n);
  });

  it('is given again on restore (serializeState keeps no config): a smaller window refuses what the state still lists', async () => {
    const cfg = { ...config, resumptionPskEpochs: 4 };
    const [a, b] = await aged(cfg, 6);
    const n = a.groupContext.epoch;
    const restore = (s: GroupState, c: GroupConfig) => deserializeState(serializeState(s), provider, c);
    await accepted(restore(a, cfg), restore(b, cfg), n - 4n);
    const narrow = { ...config, resumptionPskEpochs: 2 };
    const [a2, b2] = [restore(a, narrow), restore(b, narrow)];
    expect(a2.resumptionPsks.length).toBe(4);
    await accepted(a2, b2, n - 2n);
    await refused(a2, b2, n - 3n);
  });

  it('must be an integer in 0..RESUMPTION_PSK_EPOCHS_MAX (UsageError bad-option) wherever a config is given', async () => {
    const [a] = await aged(config, 0);
    const saved = serializeState(a);
    const id = await identity('zoe');
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, RESUMPTION_PSK_EPOCHS_MAX + 1]) {
      const cfg = { ...config, resumptionPskEpochs: bad };
      await expectCode(createGroup({ provider, suite: SUITE, groupId: utf8Bytes('g'), ...id, config: cfg }), 'bad-option', 'usage');
      expect(() => deserializeState(saved, provider, cfg)).toThrow(expect.objectContaining({ code: 'bad-option', kind: 'usage' }) as Error);
      // A state whose config was swapped by hand fails closed at its next commit.
      await expectCode(createCommit({ ...a, config: cfg }, { withPath: true }), 'bad-option', 'usage');
    }
    const top = { ...config, resumptionPskEpochs: RESUMPTION_PSK_EPOCHS_MAX };
    expect(deserializeState(saved, provider, top).groupContext.epoch).toBe(a.groupContext.epoch);
  });
});
