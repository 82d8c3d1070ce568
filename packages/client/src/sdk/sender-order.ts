// Each sender's messages in the sender's order (issue 7: "the server reorders a
// sender's messages → shown in the sender's order, the reorder visible"). Every Parley
// application message carries the sender's per-conversation sequence number inside the
// encryption (payload.ts), so the server can change when a message arrives but not the
// number it carries. From the numbers a receiver tells apart:
//
// - the next message (number = highest seen + 1);
// - a gap (number > highest + 1): the numbers in between are now MISSING;
// - a late message (number < highest, and missing): the server held it back, i.e. it
//   reordered the sender's messages; it fills its hole;
// - a replay (number < highest, not missing, or = highest): seen already.
//
// The missing numbers of a sender are kept (bounded: a sender who jumps a million
// numbers does not cost a million entries; the oldest holes are forgotten, and a message
// that fills a forgotten hole counts as a replay — refused rather than shown out of place).

import type { SenderRef, StoredMessage } from '../store/client-store.js';

/** How many missing numbers are remembered per sender. */
export const MAX_MISSING_PER_SENDER = 1000;

export type SeqVerdict = 'next' | 'gap' | 'late' | 'replay';

export interface SenderSeqState {
  readonly highest: number;
  /** Missing numbers below `highest`, ascending. */
  readonly missing: readonly number[];
}

export interface Classified {
  readonly verdict: SeqVerdict;
  /** For a gap: the numbers that are now missing (at most MAX_MISSING_PER_SENDER). */
  readonly newlyMissing: readonly number[];
  /** The sender's state after this message (unchanged for a replay). */
  readonly next: SenderSeqState;
}

export function classifySeq(state: SenderSeqState | undefined, seq: number): Classified {
  const highest = state?.highest ?? 0;
  const missing = state?.missing ?? [];
  if (seq === highest + 1) return { verdict: 'next', newlyMissing: [], next: { highest: seq, missing } };
  if (seq > highest + 1) {
    const from = Math.max(highest + 1, seq - MAX_MISSING_PER_SENDER);
    const newlyMissing: number[] = [];
    for (let n = from; n < seq; n++) newlyMissing.push(n);
    const all = [...missing, ...newlyMissing];
    return { verdict: 'gap', newlyMissing, next: { highest: seq, missing: all.slice(Math.max(0, all.length - MAX_MISSING_PER_SENDER)) } };
  }
  if (missing.includes(seq)) return { verdict: 'late', newlyMissing: [], next: { highest, missing: missing.filter((n) => n !== seq) } };
  return { verdict: 'replay', newlyMissing: [], next: { highest, missing } };
}

// ---- persistence (one cursor record per conversation) ---------------------------------

export const missingCursor = (groupId: string): string => `missing:${groupId}`;
const senderKey = (s: SenderRef): string => `${s.userId}/${s.deviceId}`;

/** The missing numbers of every sender of a conversation, by `user/device`. */
export type MissingMap = Readonly<Record<string, readonly number[]>>;

/** Reads what `encodeMissing` wrote; anything malformed reads as "nothing missing". */
export function decodeMissing(value: string | undefined): MissingMap {
  if (value === undefined) return {};
  try {
    const o = JSON.parse(value) as unknown;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return {};
    const out: Record<string, number[]> = {};
    for (const [k, v] of Object.entries(o)) {
      if (Array.isArray(v) && v.every((n) => Number.isSafeInteger(n) && (n as number) > 0)) out[k] = (v as number[]).slice(0, MAX_MISSING_PER_SENDER);
    }
    return out;
  } catch {
    return {};
  }
}

export function encodeMissing(m: MissingMap): string {
  const kept: Record<string, readonly number[]> = {};
  for (const [k, v] of Object.entries(m)) if (v.length > 0) kept[k] = v;
  return JSON.stringify(kept);
}

export function missingOf(m: MissingMap, sender: SenderRef): readonly number[] {
  return m[senderKey(sender)] ?? [];
}

export function withMissing(m: MissingMap, sender: SenderRef, missing: readonly number[]): MissingMap {
  return { ...m, [senderKey(sender)]: missing };
}

// ---- display -----------------------------------------------------------------------

/**
 * Orders messages for display: each sender's messages appear in that sender's sequence
 * order, in the places (store order) that sender's messages occupy. Messages of
 * different senders keep their relative arrival order, so a conversation reads as it
 * arrived, except that no sender's messages are ever shown out of the sender's order.
 */
export function inSenderOrder<T extends Pick<StoredMessage, 'sender' | 'senderSeq' | 'order'>>(messages: readonly T[]): T[] {
  const bySender = new Map<string, number[]>();
  messages.forEach((m, i) => {
    const k = senderKey(m.sender);
    const slots = bySender.get(k);
    if (slots === undefined) bySender.set(k, [i]);
    else slots.push(i);
  });
  const out = [...messages];
  for (const slots of bySender.values()) {
    const sorted = slots.map((i) => messages[i] as T).sort((x, y) => (x.senderSeq !== y.senderSeq ? x.senderSeq - y.senderSeq : x.order - y.order));
    slots.forEach((slot, j) => {
      out[slot] = sorted[j] as T;
    });
  }
  return out;
}
