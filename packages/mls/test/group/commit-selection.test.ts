// RFC 9420 §12.2 the committer's choices (commit-selection.ts): received proposals that
// cannot be committed together are left out of our commit, as the RFC prefers, so that
// what createCommit builds from them passes every member's proposal list validation.
import { describe, expect, it } from 'vitest';
import {
  createCommit,
  mergeCommit,
  processMessage,
  proposeAdd,
  proposeGroupContextExtensions,
  proposeRemove,
  proposeResumptionPsk,
  proposeUpdate,
  type GroupState,
  type Proposed,
} from '../../src/group/index.js';
import { ProtocolVersion } from '../../src/messages/common.js';
import { ContentType } from '../../src/messages/framing.js';
import { ProposalType } from '../../src/messages/proposal.js';
import type { LeafIndex } from '../../src/util/brand.js';
import { utf8Bytes } from '../../src/util/bytes.js';
import { byRef, expectCode, forge, forgeCommit, group, keyPackage, publicMessageOf, SUITE } from './helpers.js';

/** Member `from` proposes (`make`); every other member receives it. */
async function send(states: GroupState[], from: number, make: (s: GroupState) => Promise<Proposed>): Promise<{ states: GroupState[]; ref: Uint8Array }> {
  const p = await make(states[from]!);
  const next = await Promise.all(states.map(async (s, i) => (i === from ? p.state : (await processMessage(s, p.message)).state)));
  return { states: next, ref: p.ref };
}

/** `committer` commits what it holds; every other member processes the commit. */
async function commitAndProcess(states: GroupState[], committer: number, options: Parameters<typeof createCommit>[1] = {}) {
  const made = await createCommit(states[committer]!, options);
  const processed = await Promise.all(states.map(async (s, i) => (i === committer ? undefined : await processMessage(s, made.commitMessage))));
  return { made, processed, committed: mergeCommit(states[committer]!, made.pending) };
}

const leaf = (n: number) => n as LeafIndex;

describe('§12.2 an Update and a Remove of the same leaf, received by the committer', () => {
  it('commits the Remove, not the Update, and every member processes the commit', async () => {
    let states = await group(['alice', 'bob', 'carol', 'dave']);
    const update = await send(states, 1, (s) => proposeUpdate(s));
    states = update.states;
    const removal = await send(states, 0, (s) => proposeRemove(s, leaf(1)));
    states = removal.states;
    // Carol commits both by reference, in the order received and the other way round.
    for (const proposalRefs of [[update.ref, removal.ref], [removal.ref, update.ref]]) {
      const { made, processed, committed } = await commitAndProcess(states, 2, { proposalRefs });
      expect(made.omitted).toEqual([{ ref: update.ref, reason: 'leaf-removed' }]);
      const content = publicMessageOf(made.commitMessage).content;
      expect(content.contentType === ContentType.commit && content.commit.proposals).toEqual([byRef(removal.ref)]);
      expect(processed[1]!.event.type).toBe('removed');
      for (const i of [0, 3]) {
        const event = processed[i]!.event;
        expect(event.type === 'commit' && event.removed).toEqual([leaf(1)]);
        expect(processed[i]!.state.groupContext.epoch).toBe(committed.groupContext.epoch);
        expect(await processed[i]!.state.tree.treeHash()).toEqual(await committed.tree.treeHash());
      }
      expect(committed.tree.leaf(leaf(1))).toBeUndefined();
    }
    // All cached proposals (no proposalRefs) give the same choice; a reference asked for
    // twice is committed once.
    expect((await createCommit(states[2]!)).omitted).toEqual([{ ref: update.ref, reason: 'leaf-removed' }]);
    const twice = await commitAndProcess(states, 2, { proposalRefs: [removal.ref, update.ref, removal.ref] });
    expect(twice.made.omitted).toEqual([
      { ref: update.ref, reason: 'leaf-removed' },
      { ref: removal.ref, reason: 'duplicate-reference' },
    ]);
    expect(twice.processed[3]!.event.type).toBe('commit');
  });

  it('the Update alone, or the Remove alone, is committed as asked', async () => {
    let states = await group(['alice', 'bob', 'carol']);
    const update = await send(states, 1, (s) => proposeUpdate(s));
    states = update.states;
    const removal = await send(states, 0, (s) => proposeRemove(s, leaf(1)));
    states = removal.states;
    const onlyUpdate = await commitAndProcess(states, 2, { proposalRefs: [update.ref] });
    expect(onlyUpdate.made.omitted).toEqual([]);
    expect(onlyUpdate.processed[0]!.state.tree.leaf(leaf(1))).toBeDefined();
    const onlyRemove = await commitAndProcess(states, 2, { proposalRefs: [removal.ref] });
    expect(onlyRemove.made.omitted).toEqual([]);
  });

  it('two Removes of one leaf: the first is committed', async () => {
    let states = await group(['alice', 'bob', 'carol']);
    const r1 = await send(states, 0, (s) => proposeRemove(s, leaf(1)));
    const r2 = await send(r1.states, 2, (s) => proposeRemove(s, leaf(1)));
    states = r2.states;
    await expectCode(processMessage(states[2]!, await forgeCommit(states[0]!, [byRef(r1.ref), byRef(r2.ref)])), 'duplicate-leaf-change');
    const { made, processed } = await commitAndProcess(states, 0);
    expect(made.omitted).toEqual([{ ref: r2.ref, reason: 'duplicate-remove' }]);
    expect(processed[2]!.event.type).toBe('commit');
  });
});

describe('§12.2 proposals the committer itself cannot commit', () => {
  it('its own Update (the path replaces it) and a Remove of itself are left out', async () => {
    let states = await group(['alice', 'bob', 'carol']);
    const own = await send(states, 0, (s) => proposeUpdate(s));
    const removeAlice = await send(own.states, 1, (s) => proposeRemove(s, leaf(0)));
    states = removeAlice.states;
    const { made, processed, committed } = await commitAndProcess(states, 0);
    expect(made.omitted).toEqual([
      { ref: own.ref, reason: 'own-update' },
      { ref: removeAlice.ref, reason: 'removes-committer' },
    ]);
    expect(committed.tree.leaf(leaf(0))).toBeDefined();
    for (const i of [1, 2]) expect(processed[i]!.state.groupContext.epoch).toBe(committed.groupContext.epoch);
    // Another member commits the Remove of alice (and alice's Update yields to it).
    const byBob = await commitAndProcess(states, 1);
    expect(byBob.made.omitted).toEqual([{ ref: own.ref, reason: 'leaf-removed' }]);
    expect(byBob.processed[0]!.event.type).toBe('removed');
  });
});

describe('§12.2 Adds of one client, PSKs, GroupContextExtensions and ReInit, received by the committer', () => {
  it('a second Add of the same key package or client, and an Add of a member, are left out', async () => {
    let states = await group(['alice', 'bob', 'carol']);
    const erin = (await keyPackage('erin')).keyPackage;
    const erinAgain = (await keyPackage('erin')).keyPackage;
    const bobAgain = (await keyPackage('bob')).keyPackage;
    const a1 = await send(states, 0, (s) => proposeAdd(s, erin));
    const a2 = await send(a1.states, 1, (s) => proposeAdd(s, erin));
    const a3 = await send(a2.states, 1, (s) => proposeAdd(s, erinAgain));
    const a4 = await send(a3.states, 0, (s) => proposeAdd(s, bobAgain));
    states = a4.states;
    const { made, processed } = await commitAndProcess(states, 2);
    expect(made.omitted).toEqual([
      { ref: a2.ref, reason: 'duplicate-add' },
      { ref: a3.ref, reason: 'duplicate-add' },
      { ref: a4.ref, reason: 'already-member' },
    ]);
    expect(made.welcome).toBeDefined();
    for (const i of [0, 1]) {
      const event = processed[i]!.event;
      expect(event.type === 'commit' && event.added.length).toBe(1);
    }
  });

  it('an Add of a member that the same commit removes is kept', async () => {
    let states = await group(['alice', 'bob', 'carol']);
    const bobAgain = (await keyPackage('bob')).keyPackage;
    const r = await send(states, 0, (s) => proposeRemove(s, leaf(1)));
    const a = await send(r.states, 0, (s) => proposeAdd(s, bobAgain));
    states = a.states;
    const { made, processed } = await commitAndProcess(states, 2);
    expect(made.omitted).toEqual([]);
    const event = processed[0]!.event;
    expect(event.type === 'commit' && [event.added.length, event.removed]).toEqual([1, [leaf(1)]]);
  });

  it('a second PreSharedKey proposal for the same PSK, and all GroupContextExtensions but the newest, are left out', async () => {
    let states = await group(['alice', 'bob', 'carol']);
    const p1 = await send(states, 0, (s) => proposeResumptionPsk(s, 1n));
    const p2 = await send(p1.states, 1, (s) => proposeResumptionPsk(s, 1n));
    const g1 = await send(p2.states, 0, (s) => proposeGroupContextExtensions(s, [{ extensionType: 0xff01, extensionData: utf8Bytes('one') }]));
    const g2 = await send(g1.states, 1, (s) => proposeGroupContextExtensions(s, []));
    states = g2.states;
    // Leaves that do not list 0xff01 could not take the first GroupContextExtensions anyway;
    // the newest (no extensions) is the one kept.
    const { made, processed, committed } = await commitAndProcess(states, 2);
    expect(made.omitted).toEqual([
      { ref: p2.ref, reason: 'duplicate-psk' },
      { ref: g1.ref, reason: 'superseded-group-context-extensions' },
    ]);
    expect(processed[0]!.state.groupContext.epoch).toBe(committed.groupContext.epoch);
  });

  it('a ReInit received with other proposals is left out; alone it is committed', async () => {
    let states = await group(['alice', 'bob', 'carol']);
    const reinit = { groupId: utf8Bytes('next'), version: ProtocolVersion.mls10, cipherSuite: SUITE, extensions: [] };
    // No proposeReInit in the API: alice's ReInit proposal is signed by hand.
    const message = await forge(states[0]!, { proposal: { proposalType: ProposalType.reinit, reinit } });
    const received = await Promise.all(states.map(async (s, i) => (i === 0 ? { state: s, event: undefined } : await processMessage(s, message))));
    const r = { states: received.map((x) => x.state), ref: (received[2]!.event as { ref: Uint8Array }).ref };
    const u = await send(r.states, 1, (s) => proposeUpdate(s));
    states = u.states;
    const { made, processed } = await commitAndProcess(states, 2);
    expect(made.omitted).toEqual([{ ref: r.ref, reason: 'reinit-with-other-proposals' }]);
    expect(processed[0]!.state.reinit).toBeUndefined();
    // (Alice did not cache her hand-signed proposal: bob processes this one.)
    const alone = await createCommit(states[2]!, { proposalRefs: [r.ref] });
    expect(alone.omitted).toEqual([]);
    expect((await processMessage(states[1]!, alone.commitMessage)).state.reinit).toBeDefined();
    // By value, a ReInit is the caller's choice and still refused beside received proposals.
    await expectCode(createCommit(states[2]!, { proposals: [{ proposalType: ProposalType.reinit, reinit }] }), 'reinit-not-alone');
  });
});

describe('§12.4 a received proposal that fails its own checks', () => {
  it('is omitted (with its error) and the valid ones are committed, so one forged key package cannot block the epoch', async () => {
    let states = await group(['alice', 'bob', 'carol', 'dave']);
    // Bob sends an Add whose key package carries a broken signature; Dave a valid Add.
    const good = await keyPackage('erin');
    const bad = (await keyPackage('frank')).keyPackage;
    const signature = bad.signature.slice();
    signature[0]! ^= 1;
    const forged = await send(states, 1, (s) => proposeAdd(s, { ...bad, signature }));
    states = forged.states;
    const valid = await send(states, 3, (s) => proposeAdd(s, good.keyPackage));
    states = valid.states;
    const removal = await send(states, 0, (s) => proposeRemove(s, leaf(1)));
    states = removal.states;
    // Carol commits what she holds (the default: every cached proposal).
    const { made, processed, committed } = await commitAndProcess(states, 2);
    expect(made.omitted).toEqual([{ ref: forged.ref, reason: 'invalid', error: 'invalid-key-package-signature' }]);
    const content = publicMessageOf(made.commitMessage).content;
    expect(content.contentType === ContentType.commit && content.commit.proposals).toEqual([byRef(valid.ref), byRef(removal.ref)]);
    expect(made.welcome).toBeDefined();
    for (const i of [0, 3]) {
      expect(processed[i]!.state.groupContext.epoch).toBe(committed.groupContext.epoch);
      expect(await processed[i]!.state.tree.treeHash()).toEqual(await committed.tree.treeHash());
    }
    // A commit that asks for the forged one alone, by reference, still commits (nothing), not an error.
    const alone = await createCommit(states[2]!, { proposalRefs: [forged.ref] });
    expect(alone.omitted.map((o) => o.reason)).toEqual(['invalid']);
  });

  it('still refuses a by-value proposal of the caller that fails its checks', async () => {
    const states = await group(['alice', 'bob']);
    const bad = (await keyPackage('frank')).keyPackage;
    const signature = bad.signature.slice();
    signature[0]! ^= 1;
    await expectCode(createCommit(states[0]!, { proposals: [{ proposalType: ProposalType.add, add: { keyPackage: { ...bad, signature } } }] }), 'invalid-key-package-signature');
  });
});
