// RFC 9420 §8.6, §11.2, §11.3 and §12.4.3.1: the rules for resumption PSKs by usage.
//
// - usage application: allowed in any commit and Welcome; its value is the
//   resumption_psk of an epoch the member still holds (the group's retained epochs, or
//   for a joiner the old states it hands over as `pskSources`).
// - usage reinit: only in the first commit of the group that re-initialises the old one
//   (and its Welcome): the new group must be the one the ReInit named, at epoch 1, with
//   the old group's members (§11.2 "the same membership").
// - usage branch: only in the first commit of a subgroup branched from the old group
//   (and its Welcome): same version and cipher suite, epoch 1, and every member of the
//   new group is a member of the old one (§11.3).
// Members "match" when the application says their credentials belong to the same client
// (config.clientKey or config.isSameClient; by default identical credentials).

import { encode } from '../codec/index.js';
import { UsageError, ValidationError } from '../errors.js';
import { encodeCredential, type Credential } from '../messages/credential.js';
import type { GroupContext } from '../messages/group-context.js';
import { PSKType, ResumptionPSKUsage, type PreSharedKeyID } from '../messages/proposal.js';
import { resolvePskSecret } from '../schedule/psk.js';
import type { PskSecret } from '../schedule/secrets.js';
import type { CipherSuite } from '../crypto/provider.js';
import type { PublicTree } from '../tree/public-tree.js';
import { bytesEqual, toHex } from '../util/bytes.js';
import { resumptionPskOf, type PskSource } from './epoch.js';
import { clientKeyOf, sameClient } from './proposals.js';
import { matchesReinit, type GroupConfig, type GroupState } from './state.js';

type ResumptionId = Extract<PreSharedKeyID, { psktype: typeof PSKType.resumption }>;

const isResumption = (id: PreSharedKeyID): id is ResumptionId => id.psktype === PSKType.resumption;

/** How a Welcome is processed: as an ordinary join, the new group of a ReInit, or a branch. */
export interface WelcomeResumption {
  /** §11.2: our state of the old group, its ReInit committed. */
  readonly resumeFrom?: GroupState | undefined;
  /** §11.3: our state of the group the subgroup branches from. */
  readonly branchFrom?: GroupState | undefined;
  /** §8.6: old states whose retained resumption PSKs (usage application) the Welcome may name. */
  readonly pskSources?: readonly PskSource[] | undefined;
}

/**
 * §12.4.3.1, before the GroupSecrets' PSKs are used: at most one PSK of usage reinit or
 * branch, and it is there exactly when the Welcome is processed in that flow, naming the
 * group and epoch of that flow's old state. Returns the flow: 'reinit', 'branch' or
 * undefined for an ordinary Welcome.
 */
export function checkWelcomePsks(psks: readonly PreSharedKeyID[], r: WelcomeResumption): 'reinit' | 'branch' | undefined {
  if (r.resumeFrom !== undefined && r.branchFrom !== undefined) throw new UsageError('conflicting-resumption', 'a Welcome is either a re-initialisation or a branch, not both');
  const special = psks.filter(isResumption).filter((id) => id.usage !== ResumptionPSKUsage.application);
  if (special.length > 1) throw new ValidationError('invalid-psk-usage', 'at most one reinit or branch PSK');
  const id = special[0];
  const old = r.resumeFrom;
  if (old !== undefined) {
    if (old.reinit === undefined) throw new UsageError('group-not-reinitialising', 'resumeFrom must be a group whose ReInit has been committed');
    if (id === undefined || id.usage !== ResumptionPSKUsage.reinit) throw new ValidationError('missing-reinit-psk', 'the Welcome does not name the old group’s reinit PSK');
    if (!bytesEqual(id.pskGroupId, old.groupContext.groupId) || id.pskEpoch !== old.groupContext.epoch) {
      throw new ValidationError('reinit-psk-mismatch', 'the Welcome’s reinit PSK does not name the old group at its ReInit epoch');
    }
    return 'reinit';
  }
  const parent = r.branchFrom;
  if (parent !== undefined) {
    if (id === undefined || id.usage !== ResumptionPSKUsage.branch) throw new ValidationError('missing-branch-psk', 'the Welcome does not name the parent group’s branch PSK');
    if (!bytesEqual(id.pskGroupId, parent.groupContext.groupId) || resumptionPskOf(parent, id.pskGroupId, id.pskEpoch) === undefined) {
      throw new ValidationError('branch-psk-mismatch', 'the Welcome’s branch PSK does not name an epoch of the parent group we hold');
    }
    return 'branch';
  }
  if (id !== undefined) {
    const flow = id.usage === ResumptionPSKUsage.reinit ? 'a re-initialisation (resumeFrom)' : 'a branch (branchFrom)';
    throw new ValidationError('invalid-psk-usage', `the Welcome names a resumption PSK of usage ${id.usage} but is not processed as ${flow}`);
  }
  return undefined;
}

/**
 * §8.4 psk_secret of a Welcome's GroupSecrets. Each usage resolves only from its own
 * source: reinit from resumeFrom, branch from branchFrom, application from pskSources
 * (and either old state); external PSKs from the configuration.
 */
export function welcomePskSecret(suite: CipherSuite, psks: readonly PreSharedKeyID[], config: GroupConfig, r: WelcomeResumption): Promise<PskSecret> {
  return resolvePskSecret(suite, psks, (id) => {
    if (id.psktype === PSKType.external) return config.externalPsk?.(id.pskId);
    const sources: (PskSource | undefined)[] =
      id.usage === ResumptionPSKUsage.reinit ? [r.resumeFrom] : id.usage === ResumptionPSKUsage.branch ? [r.branchFrom] : [...(r.pskSources ?? []), r.resumeFrom, r.branchFrom];
    for (const s of sources) {
      const psk = resumptionPskOf(s, id.pskGroupId, id.pskEpoch);
      if (psk !== undefined) return psk;
    }
    return undefined;
  });
}

/** The key members are matched by in one pass: config.clientKey's, else the credential's encoding. */
function credentialKey(config: GroupConfig, c: Credential): string {
  return config.clientKey === undefined ? toHex(encode(encodeCredential, c)) : clientKeyOf(config.clientKey, c);
}

/**
 * Matches every member of `inner` to a distinct member of `outer` that is the same
 * client (by config.clientKey; else identical credentials first, then config.isSameClient
 * for the rest). Returns
 * the number of `inner` members left unmatched.
 */
async function unmatchedMembers(config: GroupConfig, inner: PublicTree, outer: PublicTree): Promise<number> {
  const free = new Map<string, Credential[]>();
  for (const [, leaf] of outer.leaves()) {
    const k = credentialKey(config, leaf.credential);
    const list = free.get(k);
    if (list === undefined) free.set(k, [leaf.credential]);
    else list.push(leaf.credential);
  }
  const rest: Credential[] = [];
  for (const [, leaf] of inner.leaves()) {
    const list = free.get(credentialKey(config, leaf.credential));
    if (list !== undefined && list.length > 0) list.pop();
    else rest.push(leaf.credential);
  }
  if (rest.length === 0 || config.isSameClient === undefined) return rest.length;
  const remaining = [...free.values()].flat();
  let unmatched = 0;
  for (const c of rest) {
    let found = -1;
    for (let i = 0; i < remaining.length && found < 0; i++) if (await sameClient(config, remaining[i]!, c)) found = i;
    if (found < 0) unmatched++;
    else remaining.splice(found, 1);
  }
  return unmatched;
}

function memberCount(tree: PublicTree): number {
  let n = 0;
  for (const _ of tree.leaves()) n++;
  return n;
}

/** §11.2: the new group has the same members as the old one (ValidationError 'reinit-membership-mismatch'). */
export async function checkReinitMembership(config: GroupConfig, oldTree: PublicTree, newTree: PublicTree): Promise<void> {
  if (memberCount(oldTree) !== memberCount(newTree) || (await unmatchedMembers(config, newTree, oldTree)) > 0) {
    throw new ValidationError('reinit-membership-mismatch', 'the new group does not have the same members as the group it re-initialises');
  }
}

/** §11.3: every member of the subgroup is a member of the parent group (ValidationError 'branch-membership-mismatch'). */
export async function checkBranchMembership(config: GroupConfig, parentTree: PublicTree, newTree: PublicTree): Promise<void> {
  if ((await unmatchedMembers(config, newTree, parentTree)) > 0) {
    throw new ValidationError('branch-membership-mismatch', 'a member of the subgroup is not a member of the group it branches from');
  }
}

/**
 * §12.4.3.1, the last step for a reinit or branch Welcome: the GroupInfo's epoch is 1
 * and the new group is the one the old state allows (the ReInit's parameters and the
 * same members; or the parent's version and suite and a subset of its members).
 */
export async function checkResumedGroup(flow: 'reinit' | 'branch', r: WelcomeResumption, config: GroupConfig, gc: GroupContext, tree: PublicTree): Promise<void> {
  if (flow === 'reinit') {
    const old = r.resumeFrom!;
    if (gc.epoch !== 1n || !matchesReinit(old.reinit!, gc)) throw new ValidationError('reinit-mismatch', 'the new group is not the one the ReInit describes at epoch 1');
    await checkReinitMembership(config, old.tree, tree);
    return;
  }
  const parent = r.branchFrom!;
  if (gc.epoch !== 1n || gc.version !== parent.groupContext.version || gc.cipherSuite !== parent.groupContext.cipherSuite || bytesEqual(gc.groupId, parent.groupContext.groupId)) {
    throw new ValidationError('branch-mismatch', 'a branched group has a new group id, the parent’s version and cipher suite, and is at epoch 1');
  }
  await checkBranchMembership(config, parent.tree, tree);
}

/**
 * §11.3: `next` may branch from `parent` — next is a new group at epoch 0 with another
 * group id and the parent's version and cipher suite (UsageError 'not-a-branch').
 */
export function assertBranchTarget(parent: Pick<GroupState, 'groupContext'>, next: Pick<GroupState, 'groupContext'>, resumeFrom: GroupState | undefined): void {
  if (resumeFrom !== undefined) throw new UsageError('conflicting-resumption', 'a commit is either a re-initialisation or a branch, not both');
  const p = parent.groupContext;
  const n = next.groupContext;
  if (n.epoch !== 0n || bytesEqual(n.groupId, p.groupId) || n.version !== p.version || n.cipherSuite !== p.cipherSuite) {
    throw new UsageError('not-a-branch', 'a branch is a new group (epoch 0, another group id) with the parent’s version and cipher suite');
  }
}

/**
 * §11.2, §11.3 for the creator of the new group: its first commit carries the reinit (or
 * branch) PSK naming the old group's epoch, and brings over the old group's members
 * (all of them for a ReInit, some for a branch). ValidationError 'missing-reinit-psk',
 * 'missing-branch-psk', 'reinit-membership-mismatch' or 'branch-membership-mismatch'.
 */
export async function checkFirstCommit(
  config: GroupConfig,
  applied: { readonly psks: readonly PreSharedKeyID[]; readonly tree: PublicTree },
  options: { readonly resumeFrom?: GroupState | undefined; readonly branchFrom?: GroupState | undefined },
): Promise<void> {
  const names = (usage: ResumptionPSKUsage, old: GroupState): boolean =>
    applied.psks.some((id) => isResumption(id) && id.usage === usage && bytesEqual(id.pskGroupId, old.groupContext.groupId) && id.pskEpoch === old.groupContext.epoch);
  if (options.resumeFrom !== undefined) {
    if (!names(ResumptionPSKUsage.reinit, options.resumeFrom)) throw new ValidationError('missing-reinit-psk', 'the first commit of a re-initialised group names the old group’s reinit PSK');
    await checkReinitMembership(config, options.resumeFrom.tree, applied.tree);
  }
  if (options.branchFrom !== undefined) {
    if (!names(ResumptionPSKUsage.branch, options.branchFrom)) throw new ValidationError('missing-branch-psk', 'the first commit of a branched group names the parent group’s branch PSK');
    await checkBranchMembership(config, options.branchFrom.tree, applied.tree);
  }
}
