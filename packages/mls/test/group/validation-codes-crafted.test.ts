// ValidationError codes that validation-codes.test.ts listed as "not reached from
// bytes", reached here with crafted input (issue 4). Each case holds the keys a forger
// would need for the one rule under test — the joiner's init and signature keys to
// reseal a Welcome, the committer's keys to seal a path secret — so everything before
// that rule verifies and the rule itself fires:
// - bad-path-secret, Welcome: a GroupInfo naming the joiner itself as signer (re-signed
//   with the joiner's key, resealed under the real welcome key) while the GroupSecrets
//   carry a path secret: the joiner's and signer's common ancestor is not on the path.
// - bad-path-secret, commit: an UpdatePath whose ciphertext for the receiver seals (to
//   the exact provisional GroupContext) a path secret of 5 bytes instead of KDF.Nh.
// - unknown-signer, Welcome: a resealed GroupInfo whose signer is outside the tree.
// - sender-content-mismatch: PublicMessage bytes with an external sender and a commit,
//   given to the framing layer's unprotectPublicMessage (processMessage refuses them
//   earlier, as invalid-commit-sender).
// - missing-membership-tag: the framing layer, handed an in-memory PublicMessage whose
//   member sender has no tag (bytes cannot say so: the decoder reads a tag for members).
// - tree-too-large: an out-of-band ratchet tree (a sparse array) wider than 2^31 - 1
//   nodes, given to joinFromWelcome (bytes cannot: a vector is at most 2^30 - 1 bytes).
// - bad-generation / ratchet-exhausted: the secret tree asked for a generation that is
//   not a uint32, and a ratchet restored (persistence) at its last generation.
// - update-of-blank-leaf: the tree layer's editor asked to update a blank leaf (the group
//   layer's copy of this check was dead and is gone, see validation-codes.test.ts).
import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../src/codec/index.js';
import { decryptWithLabel, encryptWithLabel, expandWithLabel } from '../../src/crypto/labeled.js';
import { signGroupInfo } from '../../src/group/content-auth.js';
import { createCommit, joinFromWelcome, processMessage as processMessageOf } from '../../src/group/index.js';
import { unprotectPublicMessage } from '../../src/framing/public-message.js';
import { ProtocolVersion } from '../../src/messages/common.js';
import { ExtensionType } from '../../src/messages/extension.js';
import { encodeGroupContext } from '../../src/messages/group-context.js';
import { ContentType, SenderType, WireFormat, type FramedContent } from '../../src/messages/framing.js';
import { decodeMLSMessage, encodeMLSMessage } from '../../src/messages/mls-message.js';
import { NodeType, type Node } from '../../src/messages/ratchet-tree.js';
import { decodeGroupInfo, decodeGroupSecrets, encodeGroupInfo, type GroupInfo, type Welcome } from '../../src/messages/welcome.js';
import { welcomeKeyNonce } from '../../src/schedule/key-schedule.js';
import { SecretTree } from '../../src/schedule/secret-tree.js';
import { asSecret } from '../../src/schedule/secrets.js';
import { PublicTree } from '../../src/tree/public-tree.js';
import { leafIndex } from '../../src/util/brand.js';
import { add, config, expectCode, forgeCommit, group, keyPackage, provider, publicMessageBytes, publicMessageOf, suite } from './helpers.js';

/**
 * A Welcome for carol from alice's real commit (with a path), opened with carol's init
 * key; `edit` changes the GroupInfo, `signWith` re-signs it, and it is sealed again under
 * the same welcome key, with the GroupSecrets sealed again to the new encrypted GroupInfo.
 */
async function resealedWelcome(edit: (info: GroupInfo) => GroupInfo, signWith: 'alice' | 'carol') {
  const [a] = await group(['alice', 'bob']);
  const kc = await keyPackage('carol');
  const made = await createCommit(a!, { proposals: [add(kc.keyPackage)], withPath: true });
  const m = decode(decodeMLSMessage, made.welcome!);
  if (m.wireFormat !== WireFormat.mls_welcome) throw new Error('not a Welcome');
  const w = m.welcome;
  const e = w.secrets[0]!;
  const secretsBytes = await decryptWithLabel(suite, kc.privateKeys.initPrivateKey, 'Welcome', w.encryptedGroupInfo, e.encryptedGroupSecrets.kemOutput, e.encryptedGroupSecrets.ciphertext);
  const secrets = decode(decodeGroupSecrets, secretsBytes);
  expect(secrets.psks).toEqual([]);
  expect(secrets.pathSecret).toBeDefined();
  // §8: welcome_secret = ExpandWithLabel(Extract(joiner_secret, psk_secret), "welcome", "", Nh); no PSKs, so psk_secret is zero.
  const member = await suite.kdf.extract(secrets.joinerSecret, new Uint8Array(suite.kdf.nh));
  const welcomeSecret = asSecret<'welcome_secret'>(await expandWithLabel(suite, member, 'welcome', new Uint8Array(0), suite.kdf.nh));
  const { key, nonce } = await welcomeKeyNonce(suite, welcomeSecret);
  const info = decode(decodeGroupInfo, await suite.aead.open(key.bytes, nonce.bytes, new Uint8Array(0), w.encryptedGroupInfo));
  const { signature: _s, ...unsigned } = edit(info);
  const signer = signWith === 'alice' ? a!.signaturePrivateKey.bytes : kc.privateKeys.signaturePrivateKey;
  const resigned = await signGroupInfo(suite, signer, unsigned);
  const encryptedGroupInfo = await suite.aead.seal(key.bytes, nonce.bytes, new Uint8Array(0), encode(encodeGroupInfo, resigned));
  const sealed = await encryptWithLabel(suite, kc.keyPackage.initKey, 'Welcome', encryptedGroupInfo, secretsBytes);
  const welcome: Welcome = { ...w, encryptedGroupInfo, secrets: [{ newMember: e.newMember, encryptedGroupSecrets: sealed }] };
  return { welcome, kc, made };
}

const join = (r: Awaited<ReturnType<typeof resealedWelcome>>, ratchetTree?: (Node | undefined)[]) =>
  joinFromWelcome({ provider, welcome: r.welcome, keyPackage: r.kc.keyPackage, privateKeys: r.kc.privateKeys, config, ...(ratchetTree === undefined ? {} : { ratchetTree }) });

describe('§12.4.3.1 a resealed Welcome', () => {
  it('joins when resealed unchanged (control: the resealing itself is faithful)', async () => {
    const r = await resealedWelcome((i) => i, 'alice');
    expect((await join(r)).groupContext.epoch).toBe(2n);
  });

  it('refuses a GroupInfo signer outside the tree (unknown-signer)', async () => {
    await expectCode(join(await resealedWelcome((i) => ({ ...i, signer: leafIndex(9) }), 'alice')), 'unknown-signer');
  });

  it('refuses a path secret when the signer is the joiner itself (bad-path-secret)', async () => {
    // carol sits at leaf 2; she signs the GroupInfo as its signer, so the signature verifies.
    const r = await resealedWelcome((i) => ({ ...i, signer: leafIndex(2) }), 'carol');
    await expectCode(join(r), 'bad-path-secret');
  });
});

describe('§12.4.2 an UpdatePath with a short path secret', () => {
  it('refuses a decrypted path secret that is not KDF.Nh bytes (bad-path-secret)', async () => {
    const [a, b] = await group(['alice', 'bob']);
    const made = await createCommit(a!, { withPath: true });
    const m = publicMessageOf(made.commitMessage);
    if (m.content.contentType !== ContentType.commit || m.content.commit.path === undefined) throw new Error('no path');
    const path = m.content.commit.path;
    // The provisional GroupContext the committer encrypted to (§12.4.2): new epoch and tree hash, old transcript hash.
    const provisional = encode(encodeGroupContext, { ...a!.groupContext, epoch: a!.groupContext.epoch + 1n, treeHash: made.pending.state.groupContext.treeHash });
    expect(path.nodes).toHaveLength(1);
    const short = await encryptWithLabel(suite, b!.tree.leaf(b!.ownLeaf)!.encryptionKey, 'UpdatePathNode', provisional, new Uint8Array(5));
    const nodes = [{ ...path.nodes[0]!, encryptedPathSecret: [short] }];
    await expectCode(processMessageOf(b!, await forgeCommit(a!, m.content.commit.proposals, { ...path, nodes })), 'bad-path-secret');
    // Sealed with the right length but random content, the same forgery gets past the length check to the key comparison.
    const wrong = await encryptWithLabel(suite, b!.tree.leaf(b!.ownLeaf)!.encryptionKey, 'UpdatePathNode', provisional, new Uint8Array(suite.kdf.nh).fill(3));
    await expectCode(processMessageOf(b!, await forgeCommit(a!, m.content.commit.proposals, { ...path, nodes: [{ ...path.nodes[0]!, encryptedPathSecret: [wrong] }] })), 'path-key-mismatch');
  });
});

describe('§6 the framing layer', () => {
  it('refuses an external sender’s commit from bytes (sender-content-mismatch)', async () => {
    const [a] = await group(['alice', 'bob']);
    const content: FramedContent = {
      groupId: a!.groupContext.groupId,
      epoch: a!.groupContext.epoch,
      sender: { senderType: SenderType.external, senderIndex: 0 },
      authenticatedData: new Uint8Array(0),
      contentType: ContentType.commit,
      commit: { proposals: [], path: undefined },
    };
    const bytes = publicMessageBytes({ content, auth: { signature: new Uint8Array(64), confirmationTag: new Uint8Array(32) } });
    await expectCode(unprotectPublicMessage(a!, publicMessageOf(bytes), a!.keys.membershipKey, () => undefined), 'sender-content-mismatch');
  });

  it('refuses a member’s PublicMessage without a membership tag, handed over in memory (missing-membership-tag)', async () => {
    const [a] = await group(['alice', 'bob']);
    const made = await createCommit(a!, {});
    const m = publicMessageOf(made.commitMessage);
    expect(m.membershipTag).toBeDefined();
    const resolve = () => a!.tree.leaf(a!.ownLeaf)!.signatureKey;
    await expectCode(unprotectPublicMessage(a!, { content: m.content, auth: m.auth }, a!.keys.membershipKey, resolve), 'missing-membership-tag');
    // The decoder cannot produce such a value: the bytes without the tag do not parse.
    const bytes = encode(encodeMLSMessage, { version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_public_message, publicMessage: m });
    await expectCode(Promise.resolve().then(() => decode(decodeMLSMessage, bytes.subarray(0, bytes.length - 33))), 'truncated', 'decode');
  });
});

describe('limits', () => {
  it('refuses an out-of-band ratchet tree wider than 2^31 - 1 nodes (tree-too-large)', async () => {
    const r = await resealedWelcome((i) => ({ ...i, extensions: i.extensions.filter((e) => e.extensionType !== ExtensionType.ratchet_tree) }), 'alice');
    const leaf = r.made.pending.state.tree.leaf(leafIndex(0))!;
    const sparse: (Node | undefined)[] = [];
    sparse[2 ** 31] = { nodeType: NodeType.leaf, leafNode: leaf };
    await expectCode(join(r, sparse), 'tree-too-large');
    // The same Welcome with the real tree joins: only the width was refused.
    expect((await join(r, r.made.pending.state.tree.toNodes())).groupContext.epoch).toBe(2n);
  });

  it('the secret tree refuses a generation that is not a uint32 (bad-generation) and a ratchet past its last generation (ratchet-exhausted)', async () => {
    const tree = SecretTree.create(suite, asSecret(new Uint8Array(32).fill(1)), 2);
    const leaf = leafIndex(1);
    for (const g of [-1, 1.5, 2 ** 32]) await expectCode(tree.key(leaf, 'application', g), 'bad-generation');
    // A ratchet restored (as from a saved state) at generation 2^32 - 1 hands out that last key, then no more.
    const used = (await tree.nextKey(leaf, 'application')).tree.exportState();
    const state = { ...used, ratchets: used.ratchets.map((x) => ({ ...x, application: { ...x.application, generation: 0xffff_ffff, skipped: [], evictedThrough: 0xffff_fffe } })) };
    const restored = SecretTree.restore(suite, state);
    const last = await restored.nextKey(leaf, 'application');
    expect(last.key.generation).toBe(0xffff_ffff);
    await expectCode(last.tree.nextKey(leaf, 'application'), 'ratchet-exhausted');
  });

  it('the tree editor refuses to update a blank leaf (update-of-blank-leaf)', async () => {
    const [a] = await group(['alice', 'bob', 'carol']);
    const nodes = a!.tree.toNodes();
    const bob = a!.tree.leaf(leafIndex(1))!;
    // Leaf 1 blanked: the tree as it would be after bob's removal, with alice and carol left.
    const blanked = nodes.map((n, i) => (i === 2 ? undefined : n));
    const tree = PublicTree.fromNodes(suite, blanked);
    expect(() => tree.edit().updateLeaf(leafIndex(1), bob)).toThrow(expect.objectContaining({ code: 'update-of-blank-leaf', kind: 'validation' }) as Error);
    expect(() => PublicTree.fromNodes(suite, nodes).edit().updateLeaf(leafIndex(1), bob)).not.toThrow();
  });
});
