// RFC 9420 §12.2 "represents the same client according to the application": the
// duplicate-member rule for Adds asks config.clientKey once per credential (members and
// Adds, looked up in a set) where config.isSameClient is asked once per pair. The same
// key decides a resync (§12.4.3.2) and a ReInit's membership (§11.2).
import { describe, expect, it } from 'vitest';
import {
  createCommit,
  createGroup,
  joinFromWelcome,
  mergeCommit,
  processMessage,
  proposeAdd,
  reinitGroup,
  type GroupConfig,
  type GroupState,
} from '../../src/group/index.js';
import { ProtocolVersion } from '../../src/messages/common.js';
import { publicGroupFromGroupInfo } from '../../src/public.js';
import type { Credential } from '../../src/messages/credential.js';
import { ProposalType } from '../../src/messages/proposal.js';
import { utf8Bytes } from '../../src/util/bytes.js';
import { add, byValue, config, expectCode, forgeCommit, group, identity, keyPackage, provider, remove, SUITE } from './helpers.js';

const person = (c: Credential): string => new TextDecoder().decode((c as { identity: Uint8Array }).identity).split('#')[0]!;
const byPerson: GroupConfig = { ...config, clientKey: person };

/** `size` members built with `cfg` by one commit; alice (the creator) and bob. */
async function bigGroup(size: number, cfg: GroupConfig): Promise<[GroupState, GroupState]> {
  const alice = await createGroup({ provider, suite: SUITE, groupId: utf8Bytes(`big-${size}`), ...(await identity('alice')), config: cfg });
  const kps = await Promise.all(Array.from({ length: size - 1 }, (_, i) => keyPackage(`member-${i}`)));
  const c = await createCommit(alice, { proposals: kps.map((k) => add(k.keyPackage)) });
  const bob = await joinFromWelcome({ provider, welcome: c.welcome!, keyPackage: kps[0]!.keyPackage, privateKeys: kps[0]!.privateKeys, config: cfg });
  return [mergeCommit(alice, c.pending), bob];
}

describe('§12.2 config.clientKey: one call per credential', () => {
  it('a commit adding 10 clients to a group of 100 asks clientKey at most 100 + 10 times, committing or processing; isSameClient is asked once per pair', async () => {
    const members = 100;
    const adds = 10;
    const newcomers = await Promise.all(Array.from({ length: adds }, (_, i) => keyPackage(`newcomer-${i}`)));
    const proposals = newcomers.map((k) => add(k.keyPackage));

    let keyCalls = 0;
    const [a, b] = await bigGroup(members, { ...config, clientKey: (c) => (keyCalls++, person(c)) });
    keyCalls = 0;
    const made = await createCommit(a, { proposals });
    expect(keyCalls).toBeLessThanOrEqual(members + adds);
    expect(keyCalls).toBeGreaterThanOrEqual(adds); // it is asked
    keyCalls = 0;
    const event = (await processMessage(b, made.commitMessage)).event;
    expect(event.type === 'commit' && event.added.length).toBe(adds);
    expect(keyCalls).toBeLessThanOrEqual(members + adds);

    // The pairwise callback (kept for existing applications) costs about members × adds.
    let pairCalls = 0;
    const [pa, pb] = await bigGroup(members, { ...config, isSameClient: (p, n) => (pairCalls++, person(p) === person(n)) });
    pairCalls = 0;
    const pairMade = await createCommit(pa, { proposals });
    const pairwise = Array.from({ length: adds }, (_, i) => members + i).reduce((x, y) => x + y, 0);
    expect(pairCalls).toBe(pairwise);
    pairCalls = 0;
    await processMessage(pb, pairMade.commitMessage);
    expect(pairCalls).toBe(pairwise);
    expect(pairwise).toBeGreaterThan(9 * (members + adds));
  });

  it('refuses another credential of a member, and two Adds of one client (duplicate-member), by committer and receiver; accepted when that member is removed', async () => {
    const [a, b, c] = await group(['alice', 'bob', 'carol'], { config: byPerson });
    const bob2 = (await keyPackage('bob#2')).keyPackage;
    await expectCode(createCommit(a!, { proposals: [add(bob2)] }), 'duplicate-member');
    await expectCode(processMessage(c!, await forgeCommit(a!, [byValue(add(bob2))])), 'duplicate-member');
    const e1 = (await keyPackage('erin#1')).keyPackage;
    const e2 = (await keyPackage('erin#2')).keyPackage;
    await expectCode(createCommit(a!, { proposals: [add(e1), add(e2)] }), 'duplicate-member');
    await expectCode(processMessage(c!, await forgeCommit(a!, [byValue(add(e1)), byValue(add(e2))])), 'duplicate-member');
    const back = await createCommit(a!, { proposals: [remove(b!.ownLeaf), add(bob2)] });
    expect((await processMessage(c!, back.commitMessage)).event.type).toBe('commit');
    // Without clientKey these credentials differ and both Adds are fine.
    expect((await createCommit({ ...a!, config }, { proposals: [add(bob2), add(e1)] })).welcome).toBeDefined();
  });

  it('a committer leaves out a received Add of a member’s other credential (already-member)', async () => {
    const [a, b, c] = await group(['alice', 'bob', 'carol'], { config: byPerson });
    const bob2 = (await keyPackage('bob#2')).keyPackage;
    const proposed = await proposeAdd(a!, bob2);
    const c1 = (await processMessage(c!, proposed.message)).state;
    const made = await createCommit(c1);
    expect(made.omitted).toEqual([{ ref: proposed.ref, reason: 'already-member' }]);
    expect((await processMessage(b!, made.commitMessage)).event.type).toBe('commit');
  });

  it('decides a ReInit’s membership: a new credential of each member is accepted', async () => {
    const states = await group(['alice', 'bob'], { groupId: 'old', config: byPerson });
    const reinit = { groupId: utf8Bytes('new'), version: ProtocolVersion.mls10, cipherSuite: SUITE, extensions: [] };
    const committed = await createCommit(states[0]!, { proposals: [{ proposalType: ProposalType.reinit, reinit }] });
    const a = mergeCommit(states[0]!, committed.pending);
    const kb = (await keyPackage('bob#2')).keyPackage;
    const r = await reinitGroup(a, { provider, keyPackages: [kb], credential: { credentialType: 1, identity: utf8Bytes('alice#2') } });
    expect(r.created.welcome).toBeDefined();
    await expectCode(reinitGroup({ ...a, config }, { provider, keyPackages: [kb], credential: { credentialType: 1, identity: utf8Bytes('alice#2') } }), 'reinit-membership-mismatch');
  });

  it('is refused together with isSameClient (bad-option), and must return a string (bad-client-key)', async () => {
    const id = await identity('zoe');
    const both: GroupConfig = { ...config, clientKey: person, isSameClient: () => false };
    await expectCode(createGroup({ provider, suite: SUITE, groupId: utf8Bytes('g'), ...id, config: both }), 'bad-option', 'usage');
    const [a] = await group(['alice', 'bob']);
    const { groupInfo } = await createCommit(a!, { withPath: true });
    await expectCode(publicGroupFromGroupInfo({ provider, groupInfo, config: both }), 'bad-option', 'usage');
    const notAString: GroupConfig = { ...config, clientKey: () => 7 as unknown as string };
    await expectCode(createCommit({ ...a!, config: notAString }, { proposals: [add((await keyPackage('erin')).keyPackage)] }), 'bad-client-key', 'usage');
  });
});
