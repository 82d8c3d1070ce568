// Per-sender ordering (packages/client/src/sdk/sender-order.ts): next, gap, late
// (reordered by the server) and replay are told apart by the sender's sequence number;
// display puts each sender's messages in the sender's order.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifySeq, decodeMissing, encodeMissing, inSenderOrder, MAX_MISSING_PER_SENDER, missingOf, withMissing, type SenderSeqState } from '../src/sdk/sender-order.js';

const alice = { userId: 'alice', deviceId: 'a1' };
const bob = { userId: 'bob', deviceId: 'b1' };

function run(seqs: readonly number[]): string[] {
  let s: SenderSeqState | undefined;
  return seqs.map((n) => {
    const c = classifySeq(s, n);
    s = c.next;
    return c.verdict;
  });
}

describe('sender order', () => {
  it('classifies next, gap, late and replay', () => {
    expect(run([1, 2, 3])).toEqual(['next', 'next', 'next']);
    // 2 held back by the server: a gap, then 2 arrives late; 2 again is a replay.
    expect(run([1, 3, 2, 2, 3, 1])).toEqual(['next', 'gap', 'late', 'replay', 'replay', 'replay']);
    // The first message seen may be a gap (1 and 2 missing).
    const first = classifySeq(undefined, 3);
    expect(first.verdict).toBe('gap');
    expect(first.newlyMissing).toEqual([1, 2]);
  });

  it('remembers a bounded number of holes', () => {
    const c = classifySeq({ highest: 1, missing: [] }, 10_000_000);
    expect(c.newlyMissing).toHaveLength(MAX_MISSING_PER_SENDER);
    expect(c.next.missing).toHaveLength(MAX_MISSING_PER_SENDER);
    expect(classifySeq(c.next, 2).verdict).toBe('replay'); // a forgotten hole: refused, not shown out of place
    expect(classifySeq(c.next, 9_999_999).verdict).toBe('late');
  });

  it('every number is accepted at most once, whatever the arrival order (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 80 }), (seqs) => {
        let s: SenderSeqState | undefined;
        const accepted = new Set<number>();
        for (const n of seqs) {
          const c = classifySeq(s, n);
          if (c.verdict !== 'replay') {
            expect(accepted.has(n)).toBe(false);
            accepted.add(n);
          } else {
            expect(accepted.has(n) || n <= (s?.highest ?? 0)).toBe(true);
          }
          s = c.next;
        }
      }),
    );
  });

  it('keeps the missing numbers per sender, and reads garbage as nothing missing', () => {
    let m = decodeMissing(undefined);
    m = withMissing(m, alice, [2, 3]);
    m = withMissing(m, bob, []);
    const back = decodeMissing(encodeMissing(m));
    expect(missingOf(back, alice)).toEqual([2, 3]);
    expect(missingOf(back, bob)).toEqual([]);
    expect(decodeMissing('{oops')).toEqual({});
    expect(decodeMissing('[1]')).toEqual({});
    expect(decodeMissing('{"a/b":[0,"x"]}')).toEqual({});
  });

  it('shows each sender in their order, in the places their messages took', () => {
    const m = (sender: typeof alice, senderSeq: number, order: number) => ({ sender, senderSeq, order });
    const arrived = [m(alice, 2, 1), m(bob, 1, 2), m(alice, 1, 3), m(bob, 2, 4), m(alice, 3, 5)];
    const shown = inSenderOrder(arrived).map((x) => `${x.sender.userId}${String(x.senderSeq)}`);
    expect(shown).toEqual(['alice1', 'bob1', 'alice2', 'bob2', 'alice3']);
    expect(inSenderOrder([])).toEqual([]);
  });
});
