// Issue 4 item 4: the server's public view (src/public.ts). It follows a group through
// a series of commits — adds, a path update, an Update by reference, an external join,
// an external resync, a remove, a GroupContextExtensions — ending every epoch with the
// members' GroupContext and tree, while no byte of any member secret is reachable from
// it; and it refuses a commit of a wrong epoch, from a non-member, with a bad signature,
// or whose resulting tree would be invalid, with the same code a member gives. (A
// member's PublicMessage always carries a membership tag on the wire; checking its
// value needs membership_key, a secret, so a wrong tag is refused by members only.)
import { describe, expect, it } from 'vitest';
import { createCommit, joinExternal, joinFromWelcome, mergeCommit, processMessage, proposeUpdate, type GroupState } from '../../src/group/index.js';
import { LeafNodeSource, type LeafNode } from '../../src/messages/leaf-node.js';
import { ContentType, SenderType } from '../../src/messages/framing.js';
import type { UpdatePath } from '../../src/messages/ratchet-tree.js';
import { ExtensionType } from '../../src/messages/extension.js';
import { processPublicMessage, publicGroupFromGroupInfo, type PublicGroupState } from '../../src/public.js';
import { signLeafNode } from '../../src/tree/leaf-signature.js';
import { signWithLabel } from '../../src/crypto/labeled.js';
import { encodeKeyPackageTbs } from '../../src/messages/key-package.js';
import { leafIndex } from '../../src/util/brand.js';
import { toHex, utf8Bytes } from '../../src/util/bytes.js';
import { add, byValue, config, expectCode, forge, forgeCommit, group, identity, keyPackage, provider, publicMessageOf, remove, suite } from './helpers.js';

/** Every byte string reachable from a value (own properties, arrays, maps), as hex. */
function reachableBytes(root: unknown): Set<string> {
  const seen = new Set<unknown>();
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (v instanceof Uint8Array) out.add(toHex(v));
    else if (v instanceof Map) {
      for (const [k, x] of v) {
        walk(k);
        walk(x);
      }
    }
    else for (const x of Object.values(v)) walk(x);
  };
  walk(root);
  return out;
}

/** The secret bytes a member holds. */
function secretsOf(s: GroupState): string[] {
  const k = s.keys;
  return [
    k.senderDataSecret,
    k.exporterSecret,
    k.externalSecret,
    k.confirmationKey,
    k.membershipKey,
    k.resumptionPsk,
    k.epochAuthenticator,
    k.initSecret,
    s.signaturePrivateKey,
    ...[...s.privateKeys.entries()].map(([, key]) => key),
  ].map((x) => toHex(x.bytes));
}

describe('public group view', () => {
  it('tracks tree and GroupContext through a series of commits, including external ones, holding no secret', async () => {
    let [a, b] = (await group(['alice', 'bob'])) as [GroupState, GroupState];
    const first = await createCommit(a, { withPath: true });
    a = mergeCommit(a, first.pending);
    b = (await processMessage(b, first.commitMessage)).state;
    let view = await publicGroupFromGroupInfo({ provider, groupInfo: first.groupInfo, config });
    const secrets = new Set<string>();
    const check = (...members: GroupState[]): void => {
      for (const m of members) {
        expect(toHex(view.groupContextBytes)).toBe(toHex(m.groupContextBytes));
        for (const s of secretsOf(m)) secrets.add(s);
      }
      const inView = reachableBytes(view);
      for (const s of secrets) expect(inView.has(s)).toBe(false);
    };
    check(a, b);
    const follow = async (bytes: Uint8Array): Promise<void> => {
      view = (await processPublicMessage(view, bytes)).state;
    };

    // Add carol (alice), then a path update (bob).
    const kc = await keyPackage('carol');
    const c1 = await createCommit(a, { proposals: [add(kc.keyPackage)] });
    await follow(c1.commitMessage);
    a = mergeCommit(a, c1.pending);
    b = (await processMessage(b, c1.commitMessage)).state;
    let c = await joinFromWelcome({ provider, welcome: c1.welcome!, keyPackage: kc.keyPackage, privateKeys: kc.privateKeys, config });
    check(a, b, c);
    const c2 = await createCommit(b, { withPath: true });
    await follow(c2.commitMessage);
    b = mergeCommit(b, c2.pending);
    a = (await processMessage(a, c2.commitMessage)).state;
    c = (await processMessage(c, c2.commitMessage)).state;
    check(a, b, c);

    // Dave joins by external commit from the latest GroupInfo.
    const dave = await identity('dave');
    const joined = await joinExternal({ provider, groupInfo: c2.groupInfo, ...dave, config });
    const seen = await processPublicMessage(view, joined.commitMessage);
    expect(seen.event).toMatchObject({ type: 'commit', sender: { senderType: SenderType.new_member_commit } });
    view = seen.state;
    let d = joined.state;
    a = (await processMessage(a, joined.commitMessage)).state;
    b = (await processMessage(b, joined.commitMessage)).state;
    c = (await processMessage(c, joined.commitMessage)).state;
    check(a, b, c, d);

    // Carol's Update by reference, committed by dave.
    const upd = await proposeUpdate(c);
    c = upd.state;
    await follow(upd.message);
    d = (await processMessage(d, upd.message)).state;
    a = (await processMessage(a, upd.message)).state;
    b = (await processMessage(b, upd.message)).state;
    const c3 = await createCommit(d);
    await follow(c3.commitMessage);
    d = mergeCommit(d, c3.pending);
    for (const s of [a, b, c]) expect((await processMessage(s, c3.commitMessage)).event.type).toBe('commit');
    a = (await processMessage(a, c3.commitMessage)).state;
    b = (await processMessage(b, c3.commitMessage)).state;
    c = (await processMessage(c, c3.commitMessage)).state;
    check(a, b, c, d);

    // Dave loses his state and resyncs from the GroupInfo, removing his prior leaf.
    const resync = await joinExternal({ provider, groupInfo: c3.groupInfo, credential: dave.credential, signatureKey: (await identity('dave')).signatureKey, removePrior: d.ownLeaf, config });
    const resynced = await processPublicMessage(view, resync.commitMessage);
    expect(resynced.event).toMatchObject({ type: 'commit', removed: [d.ownLeaf] });
    view = resynced.state;
    d = resync.state;
    a = (await processMessage(a, resync.commitMessage)).state;
    b = (await processMessage(b, resync.commitMessage)).state;
    c = (await processMessage(c, resync.commitMessage)).state;
    check(a, b, c, d);

    // Alice removes carol and sets an application_id in one commit.
    const gce = { proposalType: 7, groupContextExtensions: { extensions: [{ extensionType: ExtensionType.application_id, extensionData: utf8Bytes('parley') }] } } as const;
    const c4 = await createCommit(a, { proposals: [remove(c.ownLeaf), gce] });
    await follow(c4.commitMessage);
    a = mergeCommit(a, c4.pending);
    b = (await processMessage(b, c4.commitMessage)).state;
    d = (await processMessage(d, c4.commitMessage)).state;
    check(a, b, d);
    expect(view.tree.memberCount).toBe(3);
    expect(toHex(await view.tree.treeHash())).toBe(toHex(await a.tree.treeHash()));
    expect(view.groupContext.extensions).toHaveLength(1);
  });

  describe('refuses', () => {
    async function setup() {
      const [a, b, c] = (await group(['alice', 'bob', 'carol'])) as [GroupState, GroupState, GroupState];
      const tick = await createCommit(a, { withPath: true });
      const states = [mergeCommit(a, tick.pending), (await processMessage(b, tick.commitMessage)).state, (await processMessage(c, tick.commitMessage)).state];
      const view = await publicGroupFromGroupInfo({ provider, groupInfo: tick.groupInfo, config });
      return { states, view };
    }
    /** Both the view and a member refuse `bytes` with `code`. */
    async function bothRefuse(view: PublicGroupState, member: GroupState, bytes: Uint8Array, code: string): Promise<void> {
      await expectCode(processPublicMessage(view, bytes), code);
      await expectCode(processMessage(member, bytes), code);
    }

    it('commits of a wrong epoch, from a non-member, with a bad signature or a bad membership tag', async () => {
      const { states, view } = await setup();
      const [a, b] = states as [GroupState, GroupState];
      const kd = await keyPackage('dave');
      const body = [byValue(add(kd.keyPackage))];
      await bothRefuse(view, b, await forgeCommit(a, body, undefined, { epoch: a.groupContext.epoch - 1n }), 'wrong-epoch');
      await bothRefuse(view, b, await forgeCommit(a, body, undefined, { epoch: a.groupContext.epoch + 1n }), 'wrong-epoch');
      // Sender leaf 3 is blank, leaf 9 outside the tree.
      await bothRefuse(view, b, await forgeCommit(a, body, undefined, { sender: { senderType: SenderType.member, leafIndex: leafIndex(3) } }), 'unknown-sender');
      await bothRefuse(view, b, await forgeCommit(a, body, undefined, { sender: { senderType: SenderType.member, leafIndex: leafIndex(9) } }), 'unknown-sender');
      // Signed by alice, claiming to be carol.
      await bothRefuse(view, b, await forgeCommit(a, body, undefined, { sender: { senderType: SenderType.member, leafIndex: leafIndex(2) } }), 'invalid-signature');
      await bothRefuse(view, b, await forgeCommit(a, body, undefined, { badSignature: true }), 'invalid-signature');
      // A wrong tag needs membership_key, a group secret: only members can and do refuse it.
      const badTag = await forgeCommit(a, body, undefined, { badTag: true });
      await expectCode(processMessage(b, badTag), 'invalid-membership-tag');
      await expect(processPublicMessage(view, badTag)).resolves.toMatchObject({ event: { type: 'commit' } });
      // A proposal of a wrong epoch too.
      await bothRefuse(view, b, await forge(a, { proposal: remove(1) }, { epoch: a.groupContext.epoch + 1n }), 'wrong-epoch');
    });

    it('commits whose resulting tree would be invalid', async () => {
      const { states, view } = await setup();
      const [a, b] = states as [GroupState, GroupState];
      const real = await createCommit(a, { withPath: true });
      const content = publicMessageOf(real.commitMessage).content;
      if (content.contentType !== ContentType.commit || content.commit.path === undefined) throw new Error('expected a path');
      const path = content.commit.path;
      const ctx = { groupId: a.groupContext.groupId, leafIndex: a.ownLeaf };
      const resign = async (leaf: Omit<LeafNode, 'signature'>): Promise<LeafNode> => signLeafNode(suite, leaf as never, a.signaturePrivateKey.bytes, ctx);
      const withPath = (p: UpdatePath) => forgeCommit(a, [], p);
      const existing = b.tree.leaf(leafIndex(1))!.encryptionKey;
      const { signature: _s, ...unsignedLeaf } = path.leafNode;
      const kd = await keyPackage('dave');
      // A correctly signed key package whose leaf reuses bob's encryption key.
      const { signature: _ls, ...kdLeaf } = kd.keyPackage.leafNode;
      const dupLeaf = await signLeafNode(suite, { ...kdLeaf, encryptionKey: existing }, kd.signatureKey.privateKey);
      const { signature: _ks, ...kdTbs } = kd.keyPackage;
      const dupTbs = { ...kdTbs, leafNode: dupLeaf };
      const dupKey = { ...dupTbs, signature: await signWithLabel(suite, kd.signatureKey.privateKey, 'KeyPackageTBS', encodeKeyPackageTbs(dupTbs)) };
      const cases: [string, Promise<Uint8Array>, string][] = [
        ['a leaf parent hash that is not the path’s', resign({ ...unsignedLeaf, parentHash: new Uint8Array(32) } as never).then((leafNode) => withPath({ ...path, leafNode })), 'parent-hash-mismatch'],
        ['a path leaf that is not signed', withPath({ ...path, leafNode: { ...path.leafNode, signature: new Uint8Array(64) } }), 'invalid-leaf-signature'],
        ['a path one node short', withPath({ ...path, nodes: path.nodes.slice(1) }), 'update-path-length'],
        ['a path node key already in the tree', withPath({ ...path, nodes: [{ ...path.nodes[0]!, encryptionKey: existing }, ...path.nodes.slice(1)] }), 'duplicate-encryption-key'],
        ['a path leaf with a key-package source', resign({ ...unsignedLeaf, leafNodeSource: LeafNodeSource.update }).then((leafNode) => withPath({ ...path, leafNode })), 'invalid-leaf-node-source'],
        ['an Add whose leaf key is already in the tree', forgeCommit(a, [byValue(add(dupKey))]), 'duplicate-encryption-key'],
      ];
      for (const [name, bytes, code] of cases) {
        await bothRefuse(view, b, await bytes, code).catch((e: unknown) => {
          throw new Error(`${name}: ${String(e)}`);
        });
      }
      // The unmodified commit goes through both.
      expect((await processPublicMessage(view, real.commitMessage)).event.type).toBe('commit');
      expect((await processMessage(b, real.commitMessage)).event.type).toBe('commit');
    });
  });
});
