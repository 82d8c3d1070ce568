// RFC 9420 §9 secret tree: replay, out-of-order window and deletion behaviour that the
// official vectors do not exercise.
import { inspect } from 'node:util';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CipherSuite } from '../src/crypto/provider.js';
import { ValidationError } from '../src/errors.js';
import { type RatchetType, SecretTree, type SecretTreeOptions } from '../src/schedule/secret-tree.js';
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

/**
 * A receiver that threads its tree from call to call, as the group layer does. `receive`
 * opens generation `g` of leaf 1's application ratchet and returns a copy of its key.
 */
class Receiver {
  constructor(public tree: SecretTree) {}
  async receive(g: number, type: RatchetType = 'application', leaf = A): Promise<Uint8Array> {
    const taken = await this.tree.key(leaf, type, g);
    this.tree = taken.tree;
    return taken.key.key.bytes.slice();
  }
}
const receiver = (options?: SecretTreeOptions) => new Receiver(newTree(options));
/** Generation `g`'s key from a fresh tree (the reference). */
const reference = async (g: number): Promise<Uint8Array> => (await newTree().key(A, 'application', g)).key.key.bytes.slice();

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
    const rx = receiver();
    const first = await sender.nextKey(A, 'application');
    expect(first.key.generation).toBe(0);
    expect(await rx.receive(0)).toEqual(first.key.key.bytes);
    const second = await first.tree.nextKey(A, 'application');
    expect(second.key.generation).toBe(1);
    expect(second.key.key.bytes).not.toEqual(first.key.key.bytes);
  });

  it('keeps handshake and application ratchets and leaves apart', async () => {
    const rx = receiver();
    const app = await rx.receive(0);
    const hs = await rx.receive(0, 'handshake');
    const other = await rx.receive(0, 'application', leafIndex(2));
    expect(hs).not.toEqual(app);
    expect(other).not.toEqual(app);
  });

  it('refuses a replayed generation', async () => {
    const rx = receiver();
    await rx.receive(3);
    await expectCode(rx.receive(3), 'generation-reused');
  });

  it('accepts skipped generations out of order, once each', async () => {
    const rx = receiver();
    await rx.receive(5);
    expect(await rx.receive(2)).toEqual(await reference(2));
    await expectCode(rx.receive(2), 'generation-reused');
    await rx.receive(4);
    await rx.receive(6);
  });

  it('refuses a generation beyond the forward window', async () => {
    const rx = receiver({ maxForwardDistance: 10 });
    await expectCode(rx.receive(11), 'generation-too-far');
    await rx.receive(10);
    await expectCode(rx.receive(22), 'generation-too-far');
    await rx.receive(21);
  });

  it('drops the oldest skipped keys beyond maxSkippedKeys', async () => {
    const rx = receiver({ maxSkippedKeys: 2 });
    await rx.receive(5);
    await expectCode(rx.receive(1), 'generation-expired');
    await expectCode(rx.receive(2), 'generation-expired');
    await rx.receive(3);
    await rx.receive(4);
  });

  it('changes nothing in the tree it was given (values)', async () => {
    const tree = newTree({ maxSkippedKeys: 4 });
    const before = tree.exportState();
    const taken = await tree.key(A, 'application', 3);
    const sent = await tree.nextKey(leafIndex(2), 'handshake');
    expect(tree.exportState()).toEqual(before);
    // The old tree still hands out what it held; the new ones do not.
    expect((await tree.key(A, 'application', 3)).key.key.bytes).toEqual(taken.key.key.bytes);
    expect((await tree.nextKey(leafIndex(2), 'handshake')).key.key.bytes).toEqual(sent.key.key.bytes);
    await expectCode(taken.tree.key(A, 'application', 3), 'generation-reused');
    expect(sent.tree.nextGeneration(leafIndex(2), 'handshake')).toBe(1);
    expect(tree.nextGeneration(leafIndex(2), 'handshake')).toBe(0);
  });

  it('holds no used key nor the ratchet secret that derived it in the new tree (forward secrecy)', async () => {
    const tree = newTree();
    const taken = await tree.key(A, 'application', 0);
    const state = taken.tree.exportState();
    const leaf = state.ratchets.find((r) => r.leaf === A)!;
    expect(leaf.application.generation).toBe(1);
    expect(leaf.application.skipped).toEqual([]);
    const held = [...state.nodes.map((n) => n.secret), ...state.ratchets.flatMap((r) => [r.handshake.secret, r.application.secret])];
    // application_ratchet_secret_[1]_[0], read from a tree where only the handshake ratchet moved.
    const reached = (await newTree().nextKey(A, 'handshake')).tree.exportState();
    const generation0Secret = reached.ratchets.find((r) => r.leaf === A)!.application.secret;
    expect(generation0Secret).toBeDefined();
    for (const secret of held) {
      expect(secret).not.toEqual(taken.key.key.bytes);
      expect(secret).not.toEqual(generation0Secret);
    }
    // Nor the leaf secret: leaf 1's node is not in the frontier any more, its sibling is.
    expect(state.nodes.map((n) => n.node)).not.toContain(2);
    expect(state.nodes.map((n) => n.node)).toContain(0);
  });

  it('survives exportState / restore with its deletions', async () => {
    const rx = receiver();
    await rx.receive(4);
    const restored = new Receiver(SecretTree.restore(suite, rx.tree.exportState()));
    await expectCode(restored.receive(4), 'generation-reused');
    expect(await restored.receive(2)).toEqual(await reference(2));
    expect(await restored.receive(5)).toEqual(await reference(5));
  });

  it('refuses a restored state with an index outside the tree', async () => {
    const state = newTree().exportState();
    expect(() => SecretTree.restore(suite, { ...state, nodes: [{ node: 7, secret: new Uint8Array(32) }] })).toThrow(ValidationError);
    const ratchet = { secret: new Uint8Array(32), generation: 0, evictedThrough: -1, skipped: [] };
    expect(() => SecretTree.restore(suite, { ...state, ratchets: [{ leaf: 4, handshake: ratchet, application: ratchet }] })).toThrow(ValidationError);
  });

  it('hands out consecutive generations to a sender that threads the tree', async () => {
    let tree = newTree();
    const gens: number[] = [];
    for (let i = 0; i < 20; i++) {
      const taken = await tree.nextKey(A, 'handshake');
      gens.push(taken.key.generation);
      tree = taken.tree;
    }
    expect(gens).toEqual([...Array(20).keys()]);
  });

  it('opens any delivery order inside the window exactly once (property)', async () => {
    const expected: Uint8Array[] = [];
    for (let g = 0; g < 16; g++) expected.push(await reference(g));
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray([...Array(16).keys()], { minLength: 1 }), async (order) => {
        const rx = receiver({ maxSkippedKeys: 16 });
        const start = rx.tree;
        for (const g of order) expect(await rx.receive(g)).toEqual(expected[g]);
        for (const g of order) await expectCode(rx.receive(g), 'generation-reused');
        // The first tree was never touched: it still opens every generation.
        for (const g of order) expect((await start.key(A, 'application', g)).key.key.bytes).toEqual(expected[g]);
      }),
      { numRuns: 25 },
    );
  });

  it('refuses a leaf outside the tree', async () => {
    const tree = newTree();
    await expectCode(tree.key(leafIndex(4), 'application', 0), 'leaf-out-of-range');
    await expectCode(tree.key(leafIndex(-1), 'application', 0), 'leaf-out-of-range');
    await expectCode(tree.nextKey(leafIndex(4), 'application'), 'leaf-out-of-range');
  });

  it('never prints key bytes', async () => {
    const tree = newTree();
    const { key: k } = await tree.key(A, 'application', 0);
    const hex = Buffer.from(k.key.bytes).toString('hex');
    expect(inspect(k)).not.toContain(hex);
    expect(JSON.stringify(k)).not.toContain(hex);
    expect(inspect(tree)).not.toContain(Buffer.from(ENCRYPTION_SECRET).toString('hex'));
  });
});

describe('take / takeNext (the message path without promises)', () => {
  it('answer synchronously once the leaf was reached, with the keys key/nextKey give, and refuse a replay by a throw', async () => {
    if (suite.sync === undefined) return; // a backend without sync primitives always answers with a promise
    const sender = newTree();
    const first = sender.takeNext(A, 'application');
    expect(first).toBeInstanceOf(Promise); // the leaf's first message splits the tree from the root
    let tx = (await first).tree;
    let rx = newTree();
    rx = (await rx.take(A, 'application', 0)).tree;
    for (let g = 1; g < 5; g++) {
      const sent = tx.takeNext(A, 'application');
      if (sent instanceof Promise) throw new Error('takeNext of a reached leaf returned a promise');
      expect(sent.key.generation).toBe(g);
      expect(sent.key.key.bytes).toEqual(await reference(g));
      tx = sent.tree;
      const got = rx.take(A, 'application', g);
      if (got instanceof Promise) throw new Error('take in order returned a promise');
      expect(got.key.nonce.bytes).toEqual(sent.key.nonce.bytes);
      expect(() => got.tree.take(A, 'application', g)).toThrow(ValidationError);
      rx = got.tree;
    }
    // Skipping ahead goes the async way and keeps the skipped key, which is then taken synchronously.
    const ahead = rx.take(A, 'application', 7);
    expect(ahead).toBeInstanceOf(Promise);
    rx = (await ahead).tree;
    const late = rx.take(A, 'application', 5);
    if (late instanceof Promise) throw new Error('a kept skipped key came back as a promise');
    expect(late.key.key.bytes).toEqual(await reference(5));
  });
});
