// RFC 9420 Appendix C tree math: invariants checked against a naive definition.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commonAncestor, copath, directPath, isInSubtree, left, level, nodeWidth, parent, right, root, sibling } from '../src/tree/math.js';
import { nodeIndex, type NodeIndex } from '../src/util/brand.js';

const leafCounts = fc.integer({ min: 0, max: 12 }).map((d) => 2 ** d);
const treeAndNode = leafCounts.chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: nodeWidth(n) - 1 }).map(nodeIndex)));

function naiveAncestors(x: NodeIndex, n: number): NodeIndex[] {
  const out: NodeIndex[] = [];
  for (let p = parent(x, n); p !== undefined; p = parent(p, n)) out.push(p);
  return out;
}

describe('tree math', () => {
  it('children and parent are inverse', () => {
    fc.assert(
      fc.property(treeAndNode, ([n, x]) => {
        const p = parent(x, n);
        if (p === undefined) {
          expect(x).toBe(root(n));
          return;
        }
        expect([left(p), right(p)]).toContain(x);
        expect(level(p)).toBe(level(x) + 1);
        const s = sibling(x, n)!;
        expect(parent(s, n)).toBe(p);
        expect(s).not.toBe(x);
      }),
    );
  });

  it('direct path ends at the root and copath pairs with it', () => {
    fc.assert(
      fc.property(treeAndNode, ([n, x]) => {
        const dp = directPath(x, n);
        expect(dp).toEqual(naiveAncestors(x, n));
        if (x !== root(n)) expect(dp[dp.length - 1]).toBe(root(n));
        const cp = copath(x, n);
        expect(cp.length).toBe(dp.length);
        cp.forEach((c, i) => {
          expect(parent(c, n)).toBe(dp[i]);
        });
        for (const a of dp) expect(isInSubtree(x, a)).toBe(true);
        for (const c of cp) expect(isInSubtree(x, c)).toBe(false);
      }),
    );
  });

  it('common ancestor is the lowest shared ancestor', () => {
    fc.assert(
      fc.property(
        leafCounts.chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: nodeWidth(n) - 1 }), fc.integer({ min: 0, max: nodeWidth(n) - 1 }))),
        ([n, a, b]) => {
          const x = nodeIndex(a);
          const y = nodeIndex(b);
          const ax = [x, ...naiveAncestors(x, n)];
          const ay = new Set<number>([y, ...naiveAncestors(y, n)]);
          expect(commonAncestor(x, y)).toBe(ax.find((p) => ay.has(p)));
        },
      ),
    );
  });

  it('refuses a leaf count that is not a power of two', () => {
    expect(() => root(3)).toThrow(expect.objectContaining({ code: 'bad-leaf-count' }));
    expect(() => root(0)).toThrow(expect.objectContaining({ code: 'bad-leaf-count' }));
  });
});
