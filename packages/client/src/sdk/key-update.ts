// Post-compromise security by schedule (issue 7; RFC 9420 §16.6, "Post-Compromise
// Security"). Whoever copies a device's state at epoch N can follow the group for as
// long as that device's leaf keeps its keys: a commit by another member encrypts its
// path secrets to the copied leaf key, too. Only a commit BY the compromised device with
// a fresh UpdatePath (new leaf HPKE key, new path secrets from fresh randomness) shuts
// the copy out. So every device commits an update of its own leaf at least once per
// interval of activity — the group policy's `updateIntervalSeconds`, one week by
// default — without anyone asking: the client checks on each send and each sync, using
// its own clock (the injectable `now`).
//
// What "interval of activity" means here: the clock starts when the device first takes
// part in the conversation on this profile (creation or join: a fresh leaf), and every
// own commit with a path restarts it. A device that is switched off commits nothing
// (it cannot); its first send or sync after the interval commits the update before
// anything else is sent.

import { createCommit, mergeCommit, type CreatedCommit, type GroupState } from '@parley/mls';
import { DEFAULT_UPDATE_INTERVAL_SECONDS, findGroupPolicy } from '@parley/protocol';
import type { ClientStore, GroupId } from '../store/client-store.js';

export const lastUpdateCursor = (groupId: GroupId): string => `key-update:${groupId}`;

/** The interval the group's policy asks for, in milliseconds (the default without a policy). */
export function updateIntervalMs(state: GroupState): number {
  let seconds = DEFAULT_UPDATE_INTERVAL_SECONDS;
  try {
    seconds = findGroupPolicy(state.groupContext.extensions)?.updateIntervalSeconds ?? seconds;
  } catch {
    // A malformed policy is refused where commits are checked; the default applies here.
  }
  return seconds * 1000;
}

export function isUpdateDue(lastUpdateAt: number, now: number, intervalMs: number): boolean {
  return now - lastUpdateAt >= intervalMs;
}

function readTime(value: string | undefined): number | undefined {
  if (value === undefined || !/^[0-9]{1,16}$/.test(value)) return undefined;
  return Number(value);
}

/** What the scheduler needs from the client (all called inside the client's serial queue). */
export interface KeyUpdateHost {
  now(): number;
  readonly store: ClientStore;
  loadState(groupId: GroupId): Promise<GroupState | undefined>;
  /**
   * Hands the commit to the server for sequencing; resolves with its log position.
   * Throws (ServerError 'stale-epoch') if another commit won the epoch.
   */
  submit(groupId: GroupId, epoch: number, commit: CreatedCommit): Promise<{ readonly seq: number }>;
  /** Stores the new state, the group's log cursor (`seq`: our commit) and these cursors in one batch, and caches the state. */
  adopt(groupId: GroupId, state: GroupState, seq: number, cursors: Readonly<Record<string, string>>): Promise<void>;
  /** Processes what the server's log holds for the group (up to `until` if given). */
  catchUp(groupId: GroupId, until?: number): Promise<void>;
}

/**
 * Commits an update of this device's leaf (a commit with a fresh UpdatePath) and adopts
 * the new epoch. A lost epoch race is retried once on the new epoch. Returns the epoch
 * the group is in afterwards.
 */
export async function commitKeyUpdate(host: KeyUpdateHost, groupId: GroupId): Promise<bigint> {
  for (let attempt = 0; ; attempt++) {
    const state = await host.loadState(groupId);
    if (state === undefined) throw new Error(`no state for group ${groupId}`);
    const created = await createCommit(state, { withPath: true });
    let accepted;
    try {
      accepted = await host.submit(groupId, Number(state.groupContext.epoch), created);
    } catch (e) {
      if (attempt === 0 && typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'stale-epoch') {
        await host.catchUp(groupId);
        continue;
      }
      throw e;
    }
    // What the log holds before our commit belongs to the old epoch: process it first
    // (it moves the old epoch's ratchets), then enter the new epoch from that state.
    await host.catchUp(groupId, accepted.seq - 1);
    const current = (await host.loadState(groupId)) ?? state;
    const next = mergeCommit(current, created.pending);
    await host.adopt(groupId, next, accepted.seq, { [lastUpdateCursor(groupId)]: String(host.now()) });
    return next.groupContext.epoch;
  }
}

/**
 * Commits an update if this device's last one in the group is older than the group's
 * interval. The first time a group is seen the clock starts (nothing is committed).
 * Returns whether an update was committed.
 */
export async function updateKeysIfDue(host: KeyUpdateHost, groupId: GroupId): Promise<boolean> {
  const state = await host.loadState(groupId);
  if (state === undefined) return false;
  const now = host.now();
  const last = readTime(await host.store.getCursor(lastUpdateCursor(groupId)));
  if (last === undefined) {
    await host.store.commit({ cursors: { [lastUpdateCursor(groupId)]: String(now) } });
    return false;
  }
  if (!isUpdateDue(last, now, updateIntervalMs(state))) return false;
  await commitKeyUpdate(host, groupId);
  return true;
}
