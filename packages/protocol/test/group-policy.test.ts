// The Parley group policy: its bytes and the decision every client and the server make
// on each commit (packages/protocol/src/group-policy.ts).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkCommitAgainstPolicy,
  decodeGroupPolicy,
  encodeGroupPolicy,
  findGroupPolicy,
  GROUP_POLICY_EXTENSION_TYPE,
  GroupPolicyError,
  groupPolicyExtension,
  newGroupPolicy,
  sortUserIds,
  type CommitDescription,
  type GroupPolicy,
  type MemberDevice,
} from '../src/group-policy.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const alice1: MemberDevice = { userId: 'alice', deviceId: 'alice-laptop' };
const bob1: MemberDevice = { userId: 'bob', deviceId: 'bob-desktop' };
const bob2: MemberDevice = { userId: 'bob', deviceId: 'bob-phone' };
const carol1: MemberDevice = { userId: 'carol', deviceId: 'carol-laptop' };
const dave1: MemberDevice = { userId: 'dave', deviceId: 'dave-laptop' };
const mallory1: MemberDevice = { userId: 'mallory', deviceId: 'mallory-device' };

/** A group "Ops" administered by alice, with bob and carol as members. */
const group: GroupPolicy = newGroupPolicy({ kind: 'group', name: 'Ops', creator: 'alice' });
const groupMembers = [alice1, bob1, carol1];
const direct: GroupPolicy = newGroupPolicy({ kind: 'direct', users: ['bob', 'alice'] });

function commit(p: Partial<CommitDescription> & Pick<CommitDescription, 'committer'>): CommitDescription {
  return { external: false, members: groupMembers, added: [], removed: [], ...p };
}

function reason(policy: GroupPolicy, c: CommitDescription): string {
  const d = checkCommitAgainstPolicy(policy, c);
  return d.ok ? 'ok' : d.reason;
}

describe('group policy bytes', () => {
  it('encodes the documented layout', () => {
    const p: GroupPolicy = { kind: 'group', name: 'Ops', admins: ['al', 'bo'], add: 'members', remove: 'admins', edit: 'members', updateIntervalSeconds: 604_800 };
    // version 1, kind group(2), name "Ops", admins <06: 02 "al" 02 "bo">, rules 1 2 1, interval 604800
    expect(hex(encodeGroupPolicy(p))).toBe('0102' + '034f7073' + '06' + '02616c' + '02626f' + '010201' + '00093a80');
  });

  it('round-trips any valid policy, and the extension is found among others', () => {
    const policy = fc.record({
      kind: fc.constant<'group'>('group'),
      name: fc.string({ maxLength: 60 }),
      admins: fc.uniqueArray(fc.stringMatching(/^[a-z0-9][a-z0-9._-]{1,20}$/), { maxLength: 8 }).map(sortUserIds),
      add: fc.constantFrom<'members' | 'admins'>('members', 'admins'),
      remove: fc.constantFrom<'members' | 'admins'>('members', 'admins'),
      edit: fc.constantFrom<'members' | 'admins'>('members', 'admins'),
      updateIntervalSeconds: fc.integer({ min: 3600, max: 90 * 24 * 3600 }),
    });
    fc.assert(
      fc.property(policy, (p) => {
        const bytes = encodeGroupPolicy(p);
        expect(decodeGroupPolicy(bytes)).toEqual(p);
        const found = findGroupPolicy([{ extensionType: 0x0002, extensionData: new Uint8Array([1]) }, groupPolicyExtension(p)]);
        expect(found).toEqual(p);
      }),
    );
    expect(findGroupPolicy([{ extensionType: 0x0002, extensionData: new Uint8Array(0) }])).toBeUndefined();
    expect(groupPolicyExtension(group).extensionType).toBe(GROUP_POLICY_EXTENSION_TYPE);
  });

  it('refuses every malformed or non-canonical encoding with GroupPolicyError', () => {
    const good = encodeGroupPolicy(group);
    const bad = [
      new Uint8Array(0),
      Uint8Array.of(2, ...good.subarray(1)), // version 2
      Uint8Array.of(1, 3, ...good.subarray(2)), // kind 3
      good.subarray(0, good.length - 1), // truncated
      Uint8Array.of(...good, 0), // trailing byte
      Uint8Array.of(1, 2, 0x40, 0x03, 0x4f, 0x70, 0x73, ...good.subarray(6)), // non-minimal length of the name
      encodeGroupPolicy({ ...group, admins: ['alice', 'bob'] }).map((x, i, a) => (i === a.length - 7 ? 3 : x)), // rule 3
    ];
    for (const b of bad) expect(() => decodeGroupPolicy(b), hex(b)).toThrow(GroupPolicyError);
    // Administrators out of order or repeated, a named direct conversation, an interval out of range.
    expect(() => encodeGroupPolicy({ ...group, admins: ['bob', 'alice'] })).toThrow(GroupPolicyError);
    expect(() => encodeGroupPolicy({ ...group, admins: ['bob', 'bob'] })).toThrow(GroupPolicyError);
    expect(() => encodeGroupPolicy({ ...direct, name: 'x' })).toThrow(GroupPolicyError);
    expect(() => encodeGroupPolicy({ ...group, updateIntervalSeconds: 60 })).toThrow(GroupPolicyError);
    expect(() => encodeGroupPolicy({ ...group, name: 'é'.repeat(129) })).toThrow(GroupPolicyError);
    // Random bytes never escape as anything but GroupPolicyError.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
        try {
          decodeGroupPolicy(b);
        } catch (e) {
          expect(e).toBeInstanceOf(GroupPolicyError);
        }
      }),
    );
  });

  it('new conversations: a direct one is administered by both users, a group by its creator', () => {
    expect(direct).toMatchObject({ kind: 'direct', name: '', admins: ['alice', 'bob'], add: 'admins', remove: 'admins' });
    expect(group).toMatchObject({ kind: 'group', name: 'Ops', admins: ['alice'], add: 'admins', remove: 'admins', edit: 'members' });
  });
});

describe('checkCommitAgainstPolicy', () => {
  it('lets an administrator add and remove users, and a member only under members rules', () => {
    expect(reason(group, commit({ committer: alice1, added: [{ device: dave1, proposer: alice1 }] }))).toBe('ok');
    expect(reason(group, commit({ committer: alice1, removed: [{ device: carol1, proposer: alice1 }] }))).toBe('ok');
    expect(reason(group, commit({ committer: bob1, added: [{ device: dave1, proposer: bob1 }] }))).toBe('add-not-allowed');
    expect(reason(group, commit({ committer: bob1, removed: [{ device: carol1, proposer: bob1 }] }))).toBe('remove-not-allowed');
    const open: GroupPolicy = { ...group, add: 'members', remove: 'members' };
    expect(reason(open, commit({ committer: bob1, added: [{ device: dave1, proposer: bob1 }] }))).toBe('ok');
    expect(reason(open, commit({ committer: bob1, removed: [{ device: carol1, proposer: bob1 }] }))).toBe('ok');
    // Even under members rules, only an administrator removes an administrator.
    expect(reason(open, commit({ committer: bob1, removed: [{ device: alice1, proposer: bob1 }] }))).toBe('not-an-admin');
  });

  it('judges a proposal by reference by its proposer, not by whoever commits it', () => {
    // bob commits alice's Add: allowed; alice commits bob's Add: refused.
    expect(reason(group, commit({ committer: bob1, added: [{ device: dave1, proposer: alice1 }] }))).toBe('ok');
    expect(reason(group, commit({ committer: alice1, added: [{ device: dave1, proposer: bob1 }] }))).toBe('add-not-allowed');
  });

  it('always lets a user leave or remove their own device, and add their own new device', () => {
    expect(reason(group, commit({ committer: alice1, removed: [{ device: carol1, proposer: carol1 }] }))).toBe('ok');
    const twoDevices = [alice1, bob1, bob2, carol1];
    expect(reason(group, commit({ committer: bob1, members: twoDevices, removed: [{ device: bob2, proposer: bob1 }] }))).toBe('ok');
    expect(reason(group, commit({ committer: bob1, added: [{ device: bob2, proposer: bob1 }] }))).toBe('ok');
    // A member adding a device in SOMEONE ELSE's name is an add under the rules.
    expect(reason(group, commit({ committer: bob1, added: [{ device: { userId: 'carol', deviceId: 'carol-new' }, proposer: bob1 }] }))).toBe('add-not-allowed');
  });

  it('refuses a committer or proposer that is not a member device, and proposals from outside', () => {
    expect(reason(group, commit({ committer: mallory1, added: [{ device: dave1, proposer: mallory1 }] }))).toBe('not-a-member');
    expect(reason(group, commit({ committer: alice1, added: [{ device: dave1, proposer: mallory1 }] }))).toBe('not-a-member');
    expect(reason(group, commit({ committer: alice1, added: [{ device: dave1, proposer: 'external' }] }))).toBe('external-proposal');
    expect(reason(group, commit({ committer: alice1, removed: [{ device: bob1, proposer: 'external' }] }))).toBe('external-proposal');
    // An administrator's name on a device that is not in the group counts for nothing.
    expect(reason(group, commit({ committer: { userId: 'alice', deviceId: 'forged' }, added: [{ device: dave1, proposer: { userId: 'alice', deviceId: 'forged' } }] }))).toBe('not-a-member');
  });

  it('keeps a direct conversation to two users', () => {
    const pair = [alice1, bob1];
    expect(reason(direct, commit({ committer: alice1, members: [alice1], added: [{ device: bob1, proposer: alice1 }] }))).toBe('ok');
    expect(reason(direct, commit({ committer: alice1, members: pair, added: [{ device: carol1, proposer: alice1 }] }))).toBe('direct-conversation-full');
    expect(reason(direct, commit({ committer: bob1, members: pair, added: [{ device: bob2, proposer: bob1 }] }))).toBe('ok');
  });

  it('lets an external commit in only for a new device of a current member, removing only that user’s leaves', () => {
    const join = (committer: MemberDevice, removed: MemberDevice[] = []): CommitDescription =>
      commit({ committer, external: true, removed: removed.map((device) => ({ device, proposer: committer })) });
    expect(reason(group, join(bob2))).toBe('ok');
    expect(reason(group, join(bob1, [bob1]))).toBe('ok'); // resync of a lost state
    expect(reason(group, join(dave1))).toBe('external-join-not-member'); // an outsider who knows the group id
    expect(reason(group, commit({ committer: carol1, external: true, members: [alice1, bob1] }))).toBe('external-join-not-member'); // carol was removed
    expect(reason(group, join(bob2, [carol1]))).toBe('external-join-removes-other');
    expect(reason(group, { ...join(bob2), policyAfter: { ...group, admins: ['alice', 'bob'] } })).toBe('not-an-admin');
  });

  it('lets only an administrator change the policy, the edit rule decide renames, and nobody change the kind or drop it', () => {
    const promoted: GroupPolicy = { ...group, admins: ['alice', 'bob'] };
    expect(reason(group, commit({ committer: alice1, policyAfter: promoted }))).toBe('ok');
    expect(reason(group, commit({ committer: bob1, policyAfter: promoted }))).toBe('not-an-admin');
    expect(reason(group, commit({ committer: bob1, policyAfter: { ...group, add: 'members' } }))).toBe('not-an-admin');
    expect(reason(group, commit({ committer: bob1, policyAfter: { ...group, name: 'Ops 2' } }))).toBe('ok');
    expect(reason({ ...group, edit: 'admins' }, commit({ committer: bob1, policyAfter: { ...group, edit: 'admins', name: 'Ops 2' } }))).toBe('edit-not-allowed');
    expect(reason(group, commit({ committer: alice1, policyAfter: { ...group, kind: 'direct', name: '' } }))).toBe('kind-immutable');
    expect(reason(group, commit({ committer: alice1, policyAfter: null }))).toBe('policy-removed');
    expect(reason(group, commit({ committer: bob1, otherExtensionsChanged: true }))).toBe('not-an-admin');
    expect(reason(group, commit({ committer: alice1, otherExtensionsChanged: true }))).toBe('ok');
    // A proposal by reference is judged by its proposer.
    expect(reason(group, commit({ committer: alice1, policyAfter: promoted, extensionsProposer: bob1 }))).toBe('not-an-admin');
    expect(reason(group, commit({ committer: bob1, policyAfter: promoted, extensionsProposer: alice1 }))).toBe('ok');
  });

  it('counts administrator status only while the administrator is a member', () => {
    // alice is named administrator but has left: her name in the list gives nobody rights.
    const withoutAlice = [bob1, carol1];
    expect(reason(group, commit({ committer: bob1, members: withoutAlice, added: [{ device: dave1, proposer: bob1 }] }))).toBe('add-not-allowed');
    expect(reason(group, commit({ committer: { userId: 'alice', deviceId: 'alice-new' }, members: withoutAlice, added: [{ device: dave1, proposer: { userId: 'alice', deviceId: 'alice-new' } }] }))).toBe('not-a-member');
  });
});
