// Fetching what is pending, and saying what it brought: new messages per conversation,
// conversations joined or lost, and what could not be processed (as warnings on
// stderr: the command still succeeds, the rest was processed). Messages skipped by design
// are counted instead: those sealed before this device joined get one note per
// conversation; a second copy of a message already shown (MLS refuses its reused
// generation: a late retry the server stored twice, or a replay) only its count.

import type { GroupId, ParleyClient, ParleyEvent } from '@parley/client';
import type { Io } from '../io.js';

/** The SDK's code for a second copy of a message it processed before (refused by MLS). */
const DUPLICATE = 'generation-reused';

export interface SyncReport {
  /** New messages from others, per conversation. */
  readonly messages: Map<GroupId, number>;
  readonly joined: GroupId[];
  readonly removed: GroupId[];
  readonly warnings: { readonly groupId?: GroupId; readonly code: string }[];
  /** Per conversation: messages from before this device joined, and duplicates, skipped. */
  readonly skipped: Map<GroupId, { beforeJoin: number; duplicates: number }>;
}

/** The note for messages skipped because they were sealed before this device joined. */
export function beforeJoinNote(groupId: GroupId, count: number): string {
  return `${String(count)} earlier message${count === 1 ? '' : 's'} from before this device joined ${count === 1 ? 'was' : 'were'} skipped in ${groupId.slice(0, 8)}`;
}

/** A warning line for an event worth telling, or undefined. */
export function warningOf(e: ParleyEvent): { groupId?: GroupId; code: string; text: string } | undefined {
  if (e.type === 'error' && e.code === DUPLICATE) return undefined; // nothing new in it, nothing lost
  const where = (g: GroupId | undefined): string => (g !== undefined ? ` in ${g.slice(0, 8)}` : '');
  if (e.type === 'error') return { ...(e.groupId !== undefined ? { groupId: e.groupId } : {}), code: e.code, text: `${e.message}${where(e.groupId)} (${e.code})` };
  if (e.type === 'message' && e.gap) return { groupId: e.message.groupId, code: 'message-missing', text: `messages from ${e.message.sender.userId} are missing before this one${where(e.message.groupId)}` };
  if (e.type === 'message' && e.replay) return { groupId: e.message.groupId, code: 'replay', text: `a message from ${e.message.sender.userId} was seen before (replayed)${where(e.message.groupId)}` };
  const w = e as { type: string; groupId?: GroupId; code?: string; message?: string };
  if (w.type === 'warning' && typeof w.code === 'string') return { ...(w.groupId !== undefined ? { groupId: w.groupId } : {}), code: w.code, text: `${w.message ?? w.code}${where(w.groupId)} (${w.code})` };
  return undefined;
}

/** Runs `client.sync()` and reports what it brought; warnings go to stderr as they come. */
export async function syncAndReport(client: ParleyClient, io: Io, quiet = false): Promise<SyncReport> {
  const report: SyncReport = { messages: new Map(), joined: [], removed: [], warnings: [], skipped: new Map() };
  const off = client.on((e) => {
    if (e.type === 'message' && e.message.sender.userId !== client.userId && !e.replay) {
      report.messages.set(e.message.groupId, (report.messages.get(e.message.groupId) ?? 0) + 1);
    }
    if (e.type === 'conversation') report.joined.push(e.conversation.groupId);
    if (e.type === 'removed') report.removed.push(e.groupId);
    const skip = e.type === 'skipped' && e.reason === 'before-join' ? { groupId: e.groupId, beforeJoin: e.count, duplicates: 0 } : e.type === 'error' && e.code === DUPLICATE && e.groupId !== undefined ? { groupId: e.groupId, beforeJoin: 0, duplicates: 1 } : undefined;
    if (skip !== undefined) {
      const counts = report.skipped.get(skip.groupId) ?? { beforeJoin: 0, duplicates: 0 };
      counts.beforeJoin += skip.beforeJoin;
      counts.duplicates += skip.duplicates;
      report.skipped.set(skip.groupId, counts);
    }
    const w = warningOf(e);
    if (w !== undefined) {
      report.warnings.push({ ...(w.groupId !== undefined ? { groupId: w.groupId } : {}), code: w.code });
      if (!quiet) io.err(`parley: warning: ${w.text}\n`);
    }
  });
  try {
    await client.sync();
  } finally {
    off();
  }
  if (!quiet) for (const [groupId, { beforeJoin }] of report.skipped) if (beforeJoin > 0) io.err(`parley: note: ${beforeJoinNote(groupId, beforeJoin)}\n`);
  return report;
}
