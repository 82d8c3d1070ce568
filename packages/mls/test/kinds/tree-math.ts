// tree-math.json (RFC 9420 Appendix C): for `n_leaves`, the node count, the root, and
// per node its left and right child, parent and sibling (null where there is none).
import { left, nodeWidth, parent, right, root, sibling } from '../../src/tree/math.js';
import { nodeIndex, type NodeIndex } from '../../src/util/brand.js';
import { expectEqual, PASSED, type VectorKind } from './harness.js';

interface Case {
  n_leaves: number;
  n_nodes: number;
  root: number;
  left: (number | null)[];
  right: (number | null)[];
  parent: (number | null)[];
  sibling: (number | null)[];
}

function check(name: string, expected: (number | null)[], n: number, f: (x: NodeIndex) => NodeIndex | undefined): void {
  expectEqual(expected.length, n, `${name} length`);
  for (let x = 0; x < n; x++) expectEqual(f(nodeIndex(x)) ?? null, expected[x] ?? null, `${name}(${x})`);
}

const kind: VectorKind<Case> = {
  describe: (c) => `${c.n_leaves} leaves`,
  async run(c) {
    const n = nodeWidth(c.n_leaves);
    expectEqual(n, c.n_nodes, 'n_nodes');
    expectEqual(root(c.n_leaves), c.root, 'root');
    check('left', c.left, n, left);
    check('right', c.right, n, right);
    check('parent', c.parent, n, (x) => parent(x, c.n_leaves));
    check('sibling', c.sibling, n, (x) => sibling(x, c.n_leaves));
    return PASSED;
  },
};
export default kind;
