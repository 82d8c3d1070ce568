// Interop with ts-mls (pinned dev dependency), suite 1: a Welcome WITHOUT the
// ratchet_tree extension (RFC 9420 §12.4.3.1 "if the ratchet_tree extension is not
// present, the new member obtains the tree out of band", §12.4.3.3 its encoding). Each
// direction: the committer's engine encodes its tree of the new epoch, the joiner's
// engine decodes the bytes and joins with them. Without the tree, or with the tree of
// the previous epoch, both engines refuse — which also shows the Welcome really lacks
// the extension. After the join: same epoch authenticator and exporter output, and
// application messages both ways.
import { describe, expect, it } from 'vitest';
import { MlsError } from '../../src/errors.js';
import { toHex } from '../../src/util/bytes.js';
import { authenticatorOf, commit, epochOfMember, exporterOf, parleyCreate, parleyKeyPackage, receive, sendText, tsCreate, tsImpl, tsKeyPackage, type Member } from './peers.js';

async function agree(a: Member, b: Member, epoch: bigint): Promise<void> {
  expect(epochOfMember(a)).toBe(epoch);
  expect(epochOfMember(b)).toBe(epoch);
  expect(toHex(authenticatorOf(a))).toBe(toHex(authenticatorOf(b)));
  const ctx = new Uint8Array([1, 2, 3]);
  expect(toHex(await exporterOf(a, 'tree out of band', ctx, 32))).toBe(toHex(await exporterOf(b, 'tree out of band', ctx, 32)));
}

async function talk(from: Member, to: Member, text: string): Promise<void> {
  expect(await receive(to, await sendText(from, text))).toEqual({ type: 'application', text });
}

describe('interop with ts-mls: a Welcome without the ratchet_tree extension, the tree out of band', () => {
  it('Parley commits, ts-mls joins with the tree Parley encoded', async () => {
    const impl = await tsImpl();
    const alice = await parleyCreate('alice (parley)', 'interop-no-tree-parley');
    // Epoch 1 with a second Parley member, so the tree has a parent node and a blank.
    const carolKp = await parleyKeyPackage('carol (parley)');
    const c1 = await commit(alice, { add: [carolKp.bytes] });
    const carol = await carolKp.join(c1.welcome!);
    const previousTree = c1.ratchetTree;

    const bobKp = await tsKeyPackage('bob (ts-mls)', impl);
    const c2 = await commit(alice, { add: [bobKp.bytes], ratchetTreeInWelcome: false });
    expect(await receive(carol, c2.commit)).toEqual({ type: 'commit' });
    // ts-mls 1.6.4's own errors: no tree given, and a tree that does not hash to the GroupContext's.
    await expect(bobKp.join(c2.welcome!)).rejects.toThrow(/no ratchet_tree extension/i);
    await expect(bobKp.join(c2.welcome!, previousTree)).rejects.toThrow(/tree hash/i);
    const bob = await bobKp.join(c2.welcome!, c2.ratchetTree);
    await agree(alice, bob, 2n);
    await agree(carol, bob, 2n);
    await talk(alice, bob, 'parley to ts-mls');
    await talk(bob, alice, 'ts-mls to parley');
    await talk(bob, carol, 'ts-mls to the other parley member');

    // The joined ts-mls member can commit, and Parley follows: its tree was the real one.
    const c3 = await commit(bob);
    expect(await receive(alice, c3.commit)).toEqual({ type: 'commit' });
    expect(await receive(carol, c3.commit)).toEqual({ type: 'commit' });
    await agree(alice, bob, 3n);
  });

  it('ts-mls commits, Parley joins with the tree ts-mls encoded', async () => {
    const impl = await tsImpl();
    const alice = await tsCreate('alice (ts-mls)', 'interop-no-tree-ts', impl);
    const carolKp = await tsKeyPackage('carol (ts-mls)', impl);
    const c1 = await commit(alice, { add: [carolKp.bytes] });
    const carol = await carolKp.join(c1.welcome!);
    const previousTree = c1.ratchetTree;

    const bobKp = await parleyKeyPackage('bob (parley)');
    const c2 = await commit(alice, { add: [bobKp.bytes], ratchetTreeInWelcome: false });
    expect(await receive(carol, c2.commit)).toEqual({ type: 'commit' });
    await expect(bobKp.join(c2.welcome!)).rejects.toMatchObject({ code: 'missing-ratchet-tree', kind: 'usage' });
    const wrong = await bobKp.join(c2.welcome!, previousTree).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(wrong).toBeInstanceOf(MlsError);
    expect(wrong).toMatchObject({ code: 'tree-hash-mismatch' });
    const bob = await bobKp.join(c2.welcome!, c2.ratchetTree);
    await agree(alice, bob, 2n);
    await agree(carol, bob, 2n);
    await talk(alice, bob, 'ts-mls to parley');
    await talk(bob, alice, 'parley to ts-mls');
    await talk(bob, carol, 'parley to the other ts-mls member');

    const c3 = await commit(bob);
    expect(await receive(alice, c3.commit)).toEqual({ type: 'commit' });
    expect(await receive(carol, c3.commit)).toEqual({ type: 'commit' });
    await agree(alice, bob, 3n);
  });
});
