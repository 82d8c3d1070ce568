// RFC 9420 §7.7, §7.8, §12.1: random batches of adds, updates and removes on a
// PublicTree. Memoised tree hashes must always equal a from-scratch computation,
// the tree stays full and truncated, and earlier versions never change.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode } from '../src/codec/index.js';
import { nodeCryptoProvider } from '../src/crypto/node/index.js';
import { LeafNodeSource, type LeafNode } from '../src/messages/leaf-node.js';
import { encodeRatchetTree } from '../src/messages/ratchet-tree.js';
import { leafToNode, parent } from '../src/tree/math.js';
import { PublicTree } from '../src/tree/public-tree.js';
import { leafIndex, nodeIndex } from '../src/util/brand.js';
import { toHex } from '../src/util/bytes.js';

const suite = nodeCryptoProvider.suite(1);

/** A structurally valid leaf; hashing does not look at signatures. */
function fakeLeaf(id: number): LeafNode {
  const key = new Uint8Array(32);
  new DataView(key.buffer).setUint32(0, id);
  return {
    encryptionKey: key,
    signatureKey: key,
    credential: { credentialType: 1, identity: key.subarray(0, 4) },
    capabilities: { versions: [1], cipherSuites: [1], extensions: [], proposals: [], credentials: [1] },
    leafNodeSource: LeafNodeSource.update,
    extensions: [],
    signature: new Uint8Array(64),
  };
}

type Op = { kind: 'add' } | { kind: 'remove'; pick: number } | { kind: 'update'; pick: number } | { kind: 'key'; pick: number };
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.constant({ kind: 'add' as const }),
  fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('update' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('key' as const), pick: fc.nat() }),
);

async function allHashes(tree: PublicTree): Promise<string[]> {
  const out: string[] = [];
  for (let x = 0; x < tree.nodeCount; x++) out.push(toHex(await tree.nodeTreeHash(nodeIndex(x))));
  return out;
}

describe('PublicTree edits', () => {
  it('memoised hashes equal fresh ones after any batch of changes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 6 }), async (batches) => {
        let id = 1;
        let tree = PublicTree.single(suite, fakeLeaf(id++));
        const history: { tree: PublicTree; bytes: string; hash: string }[] = [];
        for (const batch of batches) {
          await tree.treeHash(); // fill the memo, so the next edit must invalidate correctly
          history.push({ tree, bytes: toHex(encode(encodeRatchetTree, tree.toNodes())), hash: toHex(await tree.treeHash()) });
          const editor = tree.edit();
          for (const o of batch) {
            const members = [...Array(editor.leafCount).keys()].filter((i) => editor.leaf(leafIndex(i)) !== undefined);
            if (o.kind === 'add') {
              editor.addLeaf(fakeLeaf(id++));
            } else if (members.length > 1) {
              const target = leafIndex(members[o.pick % members.length]!);
              if (o.kind === 'remove') editor.removeLeaf(target);
              else if (o.kind === 'update') editor.updateLeaf(target, fakeLeaf(id++));
              else {
                // A commit-like change: a fresh key on the leaf's parent.
                const p = parent(leafToNode(target), editor.leafCount)!;
                editor.setParent(p, { encryptionKey: fakeLeaf(id++).encryptionKey, parentHash: new Uint8Array(0), unmergedLeaves: [] });
              }
            }
          }
          tree = editor.finish();
          const fresh = PublicTree.fromNodes(suite, tree.toNodes());
          expect(await allHashes(tree)).toEqual(await allHashes(fresh));
          expect(fresh.leafCount).toBe(tree.leafCount);
          // The right half of the tree always holds a member (§7.7 truncation), unless one leaf is left.
          if (tree.leafCount > 1) expect([...tree.leaves()].some(([i]) => i >= tree.leafCount / 2)).toBe(true);
        }
        for (const h of history) {
          expect(toHex(encode(encodeRatchetTree, h.tree.toNodes()))).toBe(h.bytes);
          expect(toHex(await h.tree.treeHash())).toBe(h.hash);
        }
      }),
      { numRuns: 60 },
    );
  });
});
