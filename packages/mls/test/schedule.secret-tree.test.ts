// RFC 9420 §9 secret tree: replay, out-of-order window and deletion behaviour that the
// official vectors do not exercise.
import { inspect } from 'node:util';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CipherSuite } from '../src/crypto/provider.js';
import { ValidationError } from '../src/errors.js';
import { SecretTree, type SecretTreeOptions } from '../src/schedule/secret-tree.js';
import { asSecret } from '../src/schedule/secrets.js';
import { leafIndex } from '../src/util/brand.js';
import { defaultProvider } from './kinds/harness.js';

let suite: CipherSuite;
beforeAll(async () => {
  suite = (await defaultProvider()).suite(1);
});

const ENCRYPTION_SECRET = Uint8Array.from({ length: 32 }, (_, i) => i);
const newTree = (options?: SecretTreeOptions, nLeaves = 4) => SecretTree.create(suite, asSecret(ENCRYPTION_SECRET.slice()), nLeaves, options);
const A = leafIndex(1);

/** Opens generation `g` of leaf 1's application ratchet and returns a copy of its key. */
const receive = (tree: SecretTree, g: number) => tree.withKey(A, 'application', g, (k) => Promise.resolve(k.key.bytes.slice()));

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const error: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ValidationError);
  expect((error as ValidationError).code).toBe(code);
}

describe('secret tree', () => {
  it('gives a receiver the key the sender used', async () => {
    const sender = newTree();
    const receiver = newTree();
    const sent = await sender.withNextKey(A, 'application', (k) => Promise.resolve({ g: k.generation, key: k.key.bytes.slice() }));
    expect(sent.g).toBe(0);
    expect(await receive(receiver, 0)).toEqual(sent.key);
    const second = await sender.withNextKey(A, 'application', (k) => Promise.resolve(k.generation));
    expect(second).toBe(1);
  });

  it('keeps handshake and application ratchets and leaves apart', async () => {
    const tree = newTree();
    const app = await receive(tree, 0);
    const hs = await tree.withKey(A, 'handshake', 0, (k) => Promise.resolve(k.key.bytes.slice()));
    const other = await tree.withKey(leafIndex(2), 'application', 0, (k) => Promise.resolve(k.key.bytes.slice()));
    expect(hs).not.toEqual(app);
    expect(other).not.toEqual(app);
  });

  it('refuses a replayed generation', async () => {
    const tree = newTree();
    await receive(tree, 3);
    await expectCode(receive(tree, 3), 'generation-reused');
  });

  it('accepts skipped generations out of order, once each', async () => {
    const tree = newTree();
    const fresh = newTree();
    await receive(tree, 5);
    const k2 = await receive(tree, 2);
    expect(k2).toEqual(await receive(fresh, 2));
    await expectCode(receive(tree, 2), 'generation-reused');
    await receive(tree, 4);
    await receive(tree, 6);
  });

  it('refuses a generation beyond the forward window', async () => {
    const tree = newTree({ maxForwardDistance: 10 });
    await expectCode(receive(tree, 11), 'generation-too-far');
    await receive(tree, 10);
    await expectCode(receive(tree, 22), 'generation-too-far');
    await receive(tree, 21);
  });

  it('drops the oldest skipped keys beyond maxSkippedKeys', async () => {
    const tree = newTree({ maxSkippedKeys: 2 });
    await receive(tree, 5);
    await expectCode(receive(tree, 1), 'generation-expired');
    await expectCode(receive(tree, 2), 'generation-expired');
    await receive(tree, 3);
    await receive(tree, 4);
  });

  it('keeps a key whose use failed, for the genuine message', async () => {
    const tree = newTree();
    const fresh = newTree();
    const failed = tree.withKey(A, 'application', 7, () => Promise.reject(new Error('aead tag did not verify')));
    await expect(failed).rejects.toThrow('aead tag');
    expect(await receive(tree, 7)).toEqual(await receive(fresh, 7));
    await expectCode(receive(tree, 7), 'generation-reused');
  });

  it('deletes a key once used', async () => {
    const tree = newTree();
    let held: { destroyed: boolean } | undefined;
    await tree.withKey(A, 'application', 0, (k) => {
      held = k.key;
      return Promise.resolve();
    });
    expect(held?.destroyed).toBe(true);
  });

  it('hands out each generation once under concurrent senders', async () => {
    const tree = newTree();
    const gens = await Promise.all(Array.from({ length: 20 }, () => tree.withNextKey(A, 'handshake', (k) => Promise.resolve(k.generation))));
    expect(new Set(gens).size).toBe(20);
  });

  it('opens any delivery order inside the window exactly once (property)', async () => {
    const reference = newTree();
    const expected: Uint8Array[] = [];
    for (let g = 0; g < 16; g++) expected.push(await receive(reference, g));
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray([...Array(16).keys()], { minLength: 1 }), async (order) => {
        const tree = newTree({ maxSkippedKeys: 16 });
        for (const g of order) expect(await receive(tree, g)).toEqual(expected[g]);
        for (const g of order) await expectCode(receive(tree, g), 'generation-reused');
      }),
      { numRuns: 25 },
    );
  });

  it('refuses a leaf outside the tree', async () => {
    const tree = newTree();
    await expectCode(tree.withKey(leafIndex(4), 'application', 0, () => Promise.resolve()), 'leaf-out-of-range');
    await expectCode(tree.withKey(leafIndex(-1), 'application', 0, () => Promise.resolve()), 'leaf-out-of-range');
  });

  it('never prints key bytes', async () => {
    const tree = newTree();
    await tree.withKey(A, 'application', 0, (k) => {
      const hex = Buffer.from(k.key.bytes).toString('hex');
      expect(inspect(k)).not.toContain(hex);
      expect(JSON.stringify(k)).not.toContain(hex);
      return Promise.resolve();
    });
  });
});
