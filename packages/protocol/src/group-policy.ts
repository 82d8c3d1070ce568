// The Parley group policy: who may change a conversation's membership and settings,
// carried INSIDE the MLS group state as a GroupContext extension (RFC 9420 §13.3;
// extension type from the private-use range 0xF000–0xFFFF, §17.3). Because it is part
// of the GroupContext, every member agrees on it through the key schedule, and changing
// it is itself a commit (a GroupContextExtensions proposal, §12.1.7) that the policy in
// force must allow. The server cannot add a member, promote an administrator or turn a
// 1:1 conversation into a group without every client refusing the commit.
//
// Bytes, in the TLS presentation language of RFC 9420 §2.1:
//
//   enum { direct(1), group(2), (255) } ConversationKind;
//   enum { members(1), admins(2), (255) } Rule;
//
//   struct {
//     uint8 version = 1;
//     ConversationKind kind;     // fixed at creation: a policy change cannot alter it
//     opaque name<V>;            // UTF-8, at most 256 bytes; empty for direct
//     UserId admins<V>;          // opaque user_id<V> each, strictly ascending bytewise
//     Rule add;                  // who may add users who are not members yet
//     Rule remove;               // who may remove other users
//     Rule edit;                 // who may rename the conversation
//     uint32 update_interval;    // seconds: each device commits an update of its own
//                                //   leaf at least this often while active (PCS)
//   } ParleyGroupPolicy;
//
// `checkCommitAgainstPolicy` is the one decision procedure. Clients run it on every
// commit against the policy of the epoch the commit applies to, before adopting the new
// state; the server runs the same on the commits it sequences (defence in depth — no
// client relies on it). It is pure: callers map MLS leaves to (user, device) through
// the device certificates in the leaves' credentials and describe the commit.
//
// The rules, and why:
// - A user may always remove their own devices, and leave (Remove proposals whose
//   proposer is the removed user), whatever the rules: nobody can be held in a group.
// - A user who is a member may add their own new devices (several devices per person);
//   adding a device of ANOTHER user falls under `add`, whether that user is a member
//   or not (so a member cannot slip a device into someone else's name — clients also
//   check every device certificate against the user's identity key).
// - Removing another user's device falls under `remove`; removing an administrator's
//   device needs an administrator whatever `remove` says.
// - Changing the administrators, the rules or the interval needs an administrator;
//   changing only the name falls under `edit`; the kind never changes; the extension
//   cannot be dropped. Any other GroupContext extension change needs an administrator.
// - A direct conversation never has more than two users.
// - An external commit (RFC 9420 §12.4.3.2) is accepted only from a new device of a
//   user who already has a device in the group, and it may remove only a prior leaf of
//   that same user (a resync). A removed user, or an outsider who knows the group id,
//   has no device in the group, so their external join is refused.
// - Proposals from external senders (§12.1.8.1) are refused: Parley groups have none.
// - Administrator status counts only while the user is a member; a group whose last
//   administrator left keeps its rules: with `admins` rules nobody can add or edit any
//   more (the members can start a new group). This is deliberate: nobody — least of
//   all the server — can promote themselves.

import { TlsReader, TlsWriter } from './tls.js';

/** GroupContext extension type of the Parley group policy (private use, RFC 9420 §17.3). */
export const GROUP_POLICY_EXTENSION_TYPE = 0xf0a1;
export const GROUP_POLICY_VERSION = 1;

export type ConversationKind = 'direct' | 'group';
export type PolicyRule = 'members' | 'admins';

export interface GroupPolicy {
  readonly kind: ConversationKind;
  readonly name: string;
  /** User ids, strictly ascending by their UTF-8 bytes, no duplicates. */
  readonly admins: readonly string[];
  readonly add: PolicyRule;
  readonly remove: PolicyRule;
  readonly edit: PolicyRule;
  /** Seconds; between one hour and 90 days. */
  readonly updateIntervalSeconds: number;
}

/** One week: the default post-compromise update interval. */
export const DEFAULT_UPDATE_INTERVAL_SECONDS = 7 * 24 * 3600;
export const MIN_UPDATE_INTERVAL_SECONDS = 3600;
export const MAX_UPDATE_INTERVAL_SECONDS = 90 * 24 * 3600;
export const MAX_GROUP_NAME_BYTES = 256;
export const MAX_ADMINS = 1000;
const MAX_USER_ID_BYTES = 256;

export class GroupPolicyError extends Error {
  readonly code = 'malformed-group-policy';

  constructor(message: string) {
    super(`malformed group policy: ${message}`);
    this.name = 'GroupPolicyError';
  }
}

const fail = (why: string): GroupPolicyError => new GroupPolicyError(why);
const utf8 = new TextEncoder();

const KINDS: readonly ConversationKind[] = ['direct', 'group'];
const RULES: readonly PolicyRule[] = ['members', 'admins'];

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Sorts and de-duplicates user ids in the policy's order (bytewise UTF-8). */
export function sortUserIds(ids: Iterable<string>): string[] {
  const unique = [...new Set(ids)];
  return unique.map((id) => ({ id, b: utf8.encode(id) })).sort((x, y) => compareBytes(x.b, y.b)).map((x) => x.id);
}

/** Throws GroupPolicyError unless `p` is a policy that encodes and decodes to itself. */
export function validateGroupPolicy(p: GroupPolicy): void {
  if (!KINDS.includes(p.kind)) throw fail('unknown kind');
  if (!RULES.includes(p.add) || !RULES.includes(p.remove) || !RULES.includes(p.edit)) throw fail('unknown rule');
  if (utf8.encode(p.name).length > MAX_GROUP_NAME_BYTES) throw fail('name longer than 256 bytes');
  if (p.kind === 'direct' && p.name !== '') throw fail('a direct conversation has no name');
  if (p.admins.length > MAX_ADMINS) throw fail('too many administrators');
  let previous: Uint8Array | undefined;
  for (const id of p.admins) {
    const b = utf8.encode(id);
    if (b.length < 1 || b.length > MAX_USER_ID_BYTES) throw fail('administrator id must be 1..256 bytes');
    if (previous !== undefined && compareBytes(previous, b) >= 0) throw fail('administrators not strictly ascending');
    previous = b;
  }
  const interval = p.updateIntervalSeconds;
  if (!Number.isInteger(interval) || interval < MIN_UPDATE_INTERVAL_SECONDS || interval > MAX_UPDATE_INTERVAL_SECONDS) {
    throw fail('update interval out of range');
  }
}

export function encodeGroupPolicy(p: GroupPolicy): Uint8Array {
  validateGroupPolicy(p);
  const w = new TlsWriter(fail);
  w.u8(GROUP_POLICY_VERSION);
  w.u8(KINDS.indexOf(p.kind) + 1);
  w.utf8(p.name);
  w.vectorOf(p.admins, (x, id) => {
    x.utf8(id);
  });
  for (const rule of [p.add, p.remove, p.edit]) w.u8(RULES.indexOf(rule) + 1);
  w.u32(p.updateIntervalSeconds);
  return w.finish();
}

/** Throws GroupPolicyError on anything but the canonical encoding of a valid policy. */
export function decodeGroupPolicy(bytes: Uint8Array): GroupPolicy {
  const r = new TlsReader(bytes, fail);
  if (r.u8() !== GROUP_POLICY_VERSION) throw fail('unsupported version');
  const kind = KINDS[r.u8() - 1];
  if (kind === undefined) throw fail('unknown kind');
  const name = r.utf8(MAX_GROUP_NAME_BYTES);
  const admins = r.vectorOf(MAX_ADMINS * (MAX_USER_ID_BYTES + 2), (x) => x.utf8(MAX_USER_ID_BYTES));
  const rule = (): PolicyRule => {
    const v = RULES[r.u8() - 1];
    if (v === undefined) throw fail('unknown rule');
    return v;
  };
  const add = rule();
  const remove = rule();
  const edit = rule();
  const updateIntervalSeconds = r.u32();
  r.end();
  const policy: GroupPolicy = { kind, name, admins, add, remove, edit, updateIntervalSeconds };
  validateGroupPolicy(policy);
  return policy;
}

/** The policy of a new conversation: the creator (and, for direct, the peer) administers it. */
export function newGroupPolicy(p: { kind: 'direct'; users: readonly [string, string] } | { kind: 'group'; name: string; creator: string }): GroupPolicy {
  if (p.kind === 'direct') {
    return { kind: 'direct', name: '', admins: sortUserIds(p.users), add: 'admins', remove: 'admins', edit: 'admins', updateIntervalSeconds: DEFAULT_UPDATE_INTERVAL_SECONDS };
  }
  return { kind: 'group', name: p.name, admins: [p.creator], add: 'admins', remove: 'admins', edit: 'members', updateIntervalSeconds: DEFAULT_UPDATE_INTERVAL_SECONDS };
}

/** Structurally an MLS Extension (RFC 9420 §7.2), so this package needs no MLS import. */
export interface ExtensionLike {
  readonly extensionType: number;
  readonly extensionData: Uint8Array;
}

/** The policy among GroupContext extensions, or undefined if there is none. Throws if malformed. */
export function findGroupPolicy(extensions: readonly ExtensionLike[]): GroupPolicy | undefined {
  const ext = extensions.find((e) => e.extensionType === GROUP_POLICY_EXTENSION_TYPE);
  return ext === undefined ? undefined : decodeGroupPolicy(ext.extensionData);
}

export function groupPolicyExtension(p: GroupPolicy): ExtensionLike {
  return { extensionType: GROUP_POLICY_EXTENSION_TYPE, extensionData: encodeGroupPolicy(p) };
}

// ---- the decision -------------------------------------------------------------------

/** A device in the group, as its leaf's device certificate names it. */
export interface MemberDevice {
  readonly userId: string;
  readonly deviceId: string;
}

/** Who proposed a change: a member device, or a sender outside the group (§12.1.8). */
export type Proposer = MemberDevice | 'external';

export interface MembershipChange {
  readonly device: MemberDevice;
  /** The committer for proposals by value; the proposal's sender for proposals by reference. */
  readonly proposer: Proposer;
}

export interface CommitDescription {
  /** The committing device. For an external commit, the device joining. */
  readonly committer: MemberDevice;
  /** True for an external commit (sender type new_member_commit, §12.4.3.2). */
  readonly external: boolean;
  /** Every device of the group before the commit. */
  readonly members: readonly MemberDevice[];
  readonly added: readonly MembershipChange[];
  readonly removed: readonly MembershipChange[];
  /** The policy after the commit, if a GroupContextExtensions proposal changes the extensions; null if it drops it. */
  readonly policyAfter?: GroupPolicy | null;
  /** A GroupContextExtensions proposal changes some extension other than the policy. */
  readonly otherExtensionsChanged?: boolean;
  /** Who proposed the GroupContextExtensions change (the committer for by-value proposals). */
  readonly extensionsProposer?: Proposer;
}

export type PolicyViolation =
  | 'not-a-member'
  | 'not-an-admin'
  | 'add-not-allowed'
  | 'remove-not-allowed'
  | 'edit-not-allowed'
  | 'direct-conversation-full'
  | 'kind-immutable'
  | 'policy-removed'
  | 'external-join-not-member'
  | 'external-join-removes-other'
  | 'external-proposal';

export type PolicyDecision = { readonly ok: true } | { readonly ok: false; readonly code: 'policy-violation'; readonly reason: PolicyViolation; readonly message: string };

const OK: PolicyDecision = { ok: true };
const refuse = (reason: PolicyViolation, message: string): PolicyDecision => ({ ok: false, code: 'policy-violation', reason, message });
const deviceKey = (d: MemberDevice): string => `${d.userId}\u0000${d.deviceId}`;

function samePolicy(a: GroupPolicy, b: GroupPolicy): boolean {
  return (
    a.kind === b.kind &&
    a.name === b.name &&
    a.add === b.add &&
    a.remove === b.remove &&
    a.edit === b.edit &&
    a.updateIntervalSeconds === b.updateIntervalSeconds &&
    a.admins.length === b.admins.length &&
    a.admins.every((x, i) => x === b.admins[i])
  );
}

/**
 * Decides whether `policy` (the policy of the epoch the commit applies to) allows the
 * commit `c`. Pure: the same answer on every client and on the server.
 */
export function checkCommitAgainstPolicy(policy: GroupPolicy, c: CommitDescription): PolicyDecision {
  const memberUsers = new Set(c.members.map((m) => m.userId));
  const memberDevices = new Set(c.members.map(deviceKey));
  // Administrator status counts only while the user is a member.
  const isAdmin = (userId: string): boolean => memberUsers.has(userId) && policy.admins.includes(userId);
  const allowedBy = (rule: PolicyRule, userId: string): boolean => (rule === 'members' ? memberUsers.has(userId) : isAdmin(userId));

  if (c.external) {
    if (!memberUsers.has(c.committer.userId)) return refuse('external-join-not-member', 'an external join is allowed only for a new device of a current member');
    for (const r of c.removed) {
      if (r.device.userId !== c.committer.userId) return refuse('external-join-removes-other', 'an external join may remove only a prior device of the joining user');
    }
    if (c.added.length > 0) return refuse('add-not-allowed', 'an external join adds nobody but itself');
    if (c.policyAfter !== undefined || c.otherExtensionsChanged === true) return refuse('not-an-admin', 'an external join cannot change the group’s extensions');
    return OK;
  }

  if (!memberDevices.has(deviceKey(c.committer))) return refuse('not-a-member', 'the committer is not a member of the group');

  for (const r of c.removed) {
    if (r.proposer === 'external') return refuse('external-proposal', 'proposals from outside the group are refused');
    if (!memberDevices.has(deviceKey(r.proposer))) return refuse('not-a-member', 'a proposer is not a member of the group');
    if (r.proposer.userId === r.device.userId) continue; // leaving, or removing one's own device
    if (policy.admins.includes(r.device.userId) && !isAdmin(r.proposer.userId)) return refuse('not-an-admin', 'only an administrator may remove an administrator');
    if (!allowedBy(policy.remove, r.proposer.userId)) return refuse('remove-not-allowed', 'the group’s policy does not let this member remove others');
  }

  const removedDevices = new Set(c.removed.map((r) => deviceKey(r.device)));
  const usersAfter = new Set(c.members.filter((m) => !removedDevices.has(deviceKey(m))).map((m) => m.userId));
  for (const a of c.added) {
    if (a.proposer === 'external') return refuse('external-proposal', 'proposals from outside the group are refused');
    if (!memberDevices.has(deviceKey(a.proposer))) return refuse('not-a-member', 'a proposer is not a member of the group');
    usersAfter.add(a.device.userId);
    const ownDevice = a.proposer.userId === a.device.userId;
    if (ownDevice) continue; // a member adding their own new device
    if (!allowedBy(policy.add, a.proposer.userId)) return refuse('add-not-allowed', 'the group’s policy does not let this member add others');
  }
  if (policy.kind === 'direct' && usersAfter.size > 2) return refuse('direct-conversation-full', 'a direct conversation has two users');

  if (c.policyAfter === null) return refuse('policy-removed', 'the group policy cannot be removed');
  const proposer = c.extensionsProposer ?? c.committer;
  if (c.policyAfter !== undefined || c.otherExtensionsChanged === true) {
    if (proposer === 'external') return refuse('external-proposal', 'proposals from outside the group are refused');
    if (!memberDevices.has(deviceKey(proposer))) return refuse('not-a-member', 'a proposer is not a member of the group');
  }
  if (c.otherExtensionsChanged === true && proposer !== 'external' && !isAdmin(proposer.userId)) {
    return refuse('not-an-admin', 'only an administrator may change the group’s extensions');
  }
  const after = c.policyAfter;
  if (after !== undefined && proposer !== 'external' && !samePolicy(policy, after)) {
    if (after.kind !== policy.kind) return refuse('kind-immutable', 'a conversation’s kind cannot change');
    const onlyName = samePolicy({ ...policy, name: after.name }, after);
    if (onlyName) {
      if (!allowedBy(policy.edit, proposer.userId)) return refuse('edit-not-allowed', 'the group’s policy does not let this member rename it');
    } else if (!isAdmin(proposer.userId)) {
      return refuse('not-an-admin', 'only an administrator may change the group’s policy');
    }
  }
  return OK;
}
