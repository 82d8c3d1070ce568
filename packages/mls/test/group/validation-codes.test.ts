// ValidationError codes that no other test asserted (issue 4 item 2): each case builds
// a real message with the engine, breaks one rule (re-signing with the real keys where
// the rule sits behind a signature), and expects the typed error with that code.
//
// Codes with no case here, and where they are (issue 4 item 5):
// - Reached from crafted input in validation-codes-crafted.test.ts: bad-path-secret (a
//   Welcome whose GroupInfo names the joiner itself as signer; an UpdatePath sealing a
//   short path secret), unknown-signer of a Welcome's GroupInfo, sender-content-mismatch
//   and missing-membership-tag at the framing layer (unprotectPublicMessage),
//   tree-too-large (a sparse out-of-band tree), bad-generation and ratchet-exhausted
//   (the secret tree's argument check; a ratchet restored at its last generation), and
//   update-of-blank-leaf (the tree editor).
// - missing-membership-tag in group/process.ts and public.ts: those entry points take
//   bytes only, and the decoder reads a membership_tag exactly when the sender is a
//   member, so the check there only narrows the type; the framing layer's is tested.
// - Deleted as dead code: encryption-key-reused (tree/treekem.ts) — a committer that
//   keeps its leaf key is refused as duplicate-encryption-key, by the §7.3 check and by
//   treekem's own uniqueness check over the tree that still holds the old leaf (case
//   below); update-of-blank-leaf in group/proposals.ts — an Update is cached only after
//   its sender's leaf verified its signature, in the same epoch, and the tree layer
//   still refuses a blank leaf; unknown-own-update — only proposeUpdate caches an Update
//   from our own leaf (processMessage refuses our own proposals as own-message) and it
//   keeps the key, also across a save; it is now InternalError own-update-key-missing.
import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../src/codec/index.js';
import { decryptWithLabel, encryptWithLabel, makeKeyPackageRef, signWithLabel } from '../../src/crypto/labeled.js';
import { ValidationError } from '../../src/errors.js';
import { signFramedContent } from '../../src/framing/authentication.js';
import { createCommit, encryptApplication, generateKeyPackage, joinExternal, joinFromWelcome, mergeCommit, processMessage } from '../../src/group/index.js';
import { signGroupInfo } from '../../src/group/content-auth.js';
import { ProtocolVersion } from '../../src/messages/common.js';
import { CredentialType } from '../../src/messages/credential.js';
import { encodeExternalSenders, ExtensionType } from '../../src/messages/extension.js';
import { encodeKeyPackage, encodeKeyPackageTbs, type KeyPackage } from '../../src/messages/key-package.js';
import { NodeType, type Node } from '../../src/messages/ratchet-tree.js';
import { decodeGroupSecrets, encodeGroupSecrets, type GroupSecrets } from '../../src/messages/welcome.js';
import { SecretTree } from '../../src/schedule/secret-tree.js';
import { signLeafNode } from '../../src/tree/leaf-signature.js';
import { PublicTree } from '../../src/tree/public-tree.js';
import { ContentType, SenderType, WireFormat, type FramedContent } from '../../src/messages/framing.js';
import { decodeMLSMessage, encodeMLSMessage } from '../../src/messages/mls-message.js';
import { ProposalOrRefType, ProposalType, PSKType, ResumptionPSKUsage, type Proposal } from '../../src/messages/proposal.js';
import { checkGroupInfoForView, processPublicMessage, publicGroupFromGroupInfo } from '../../src/public.js';
import { utf8Bytes } from '../../src/util/bytes.js';
import { add, byValue, caps, config, expectCode, forgeCommit, group, identity, keyPackage, provider, publicMessageBytes, publicMessageOf, remove, resignExternal, suite } from './helpers.js';

const externalPsk = (id: string, nonce: Uint8Array = new Uint8Array(suite.kdf.nh)): Proposal => ({
  proposalType: ProposalType.psk,
  psk: { psk: { psktype: PSKType.external, pskId: utf8Bytes(id), pskNonce: nonce } },
});

describe('§12.2 proposal list rules', () => {
  it('refuses a commit that removes its own sender (committer-removed)', async () => {
    const [a, b] = await group(['alice', 'bob']);
    await expectCode(processMessage(b!, await forgeCommit(a!, [byValue(remove(a!.ownLeaf))])), 'committer-removed');
  });

  it('refuses the same PSK twice (duplicate-psk)', async () => {
    const [a, b] = await group(['alice', 'bob']);
    await expectCode(processMessage(b!, await forgeCommit(a!, [byValue(externalPsk('k')), byValue(externalPsk('k'))])), 'duplicate-psk');
  });

  it('refuses a psk_nonce that is not KDF.Nh bytes (bad-psk-nonce)', async () => {
    const [a, b] = await group(['alice', 'bob']);
    await expectCode(processMessage(b!, await forgeCommit(a!, [byValue(externalPsk('k', new Uint8Array(5)))])), 'bad-psk-nonce');
  });

  it('refuses a resumption PSK of usage reinit in an ordinary commit (invalid-psk-usage)', async () => {
    const [a, b] = await group(['alice', 'bob']);
    const reinitPsk: Proposal = {
      proposalType: ProposalType.psk,
      psk: { psk: { psktype: PSKType.resumption, usage: ResumptionPSKUsage.reinit, pskGroupId: a!.groupContext.groupId, pskEpoch: 0n, pskNonce: new Uint8Array(suite.kdf.nh) } },
    };
    await expectCode(processMessage(b!, await forgeCommit(a!, [byValue(reinitPsk)])), 'invalid-psk-usage');
  });
});

describe('§6 framing', () => {
  it('refuses application data in a PublicMessage (application-in-public-message), in a member and in the server view', async () => {
    const [a, b] = await group(['alice', 'bob']);
    const content: FramedContent = {
      groupId: a!.groupContext.groupId,
      epoch: a!.groupContext.epoch,
      sender: { senderType: SenderType.member, leafIndex: a!.ownLeaf },
      authenticatedData: new Uint8Array(0),
      contentType: ContentType.application,
      applicationData: utf8Bytes('hello in the clear'),
    };
    const signature = await signFramedContent(a!, WireFormat.mls_public_message, content, a!.signaturePrivateKey.bytes);
    const bytes = publicMessageBytes({ content, auth: { signature }, membershipTag: new Uint8Array(32) });
    await expectCode(processMessage(b!, bytes), 'application-in-public-message');
    const tick = await createCommit(a!, {});
    const view = await publicGroupFromGroupInfo({ provider, groupInfo: tick.groupInfo, config });
    // The view is one epoch on; the same content in its epoch.
    const later: FramedContent = { ...content, epoch: view.groupContext.epoch };
    await expectCode(processPublicMessage(view, publicMessageBytes({ content: later, auth: { signature }, membershipTag: new Uint8Array(32) })), 'application-in-public-message');
  });

  it('refuses a PrivateMessage in the server view (not-public)', async () => {
    const [a] = await group(['alice', 'bob']);
    const tick = await createCommit(a!, {});
    const a1 = mergeCommit(a!, tick.pending);
    const view = await publicGroupFromGroupInfo({ provider, groupInfo: tick.groupInfo, config });
    const { message } = await encryptApplication(a1, utf8Bytes('hi'));
    expect(decode(decodeMLSMessage, message).wireFormat).toBe(WireFormat.mls_private_message);
    await expectCode(processPublicMessage(view, message), 'not-public');
  });
});

describe('§12.4.3.2 external commits', () => {
  it('refuses an external commit without an ExternalInit (missing-external-init)', async () => {
    const [a0, b0] = await group(['alice', 'bob']);
    const tick = await createCommit(a0!, {});
    const b = (await processMessage(b0!, tick.commitMessage)).state;
    const joiner = await identity('dave');
    const joined = await joinExternal({ provider, groupInfo: tick.groupInfo, ...joiner, config });
    const forged = await resignExternal(joined.commitMessage, b, joiner.signatureKey.privateKey, (ps) => ps.filter((p) => p.type !== ProposalOrRefType.proposal || p.proposal.proposalType !== ProposalType.external_init));
    await expectCode(processMessage(b, forged), 'missing-external-init');
  });

  it('refuses two ExternalInit proposals (duplicate-external-init) and an Add (invalid-external-commit-proposal)', async () => {
    const [a0, b0] = await group(['alice', 'bob']);
    const tick = await createCommit(a0!, {});
    const b = (await processMessage(b0!, tick.commitMessage)).state;
    const joiner = await identity('dave');
    const joined = await joinExternal({ provider, groupInfo: tick.groupInfo, ...joiner, config });
    const twice = await resignExternal(joined.commitMessage, b, joiner.signatureKey.privateKey, (ps) => [...ps, ps[0]!]);
    await expectCode(processMessage(b, twice), 'duplicate-external-init');
    const kp = await keyPackage('erin');
    const withAdd = await resignExternal(joined.commitMessage, b, joiner.signatureKey.privateKey, (ps) => [...ps, byValue(add(kp.keyPackage))]);
    await expectCode(processMessage(b, withAdd), 'invalid-external-commit-proposal');
  });

  it('refuses an external commit without a path (invalid-external-commit)', async () => {
    const [a0, b0] = await group(['alice', 'bob']);
    const tick = await createCommit(a0!, {});
    const b = (await processMessage(b0!, tick.commitMessage)).state;
    const joiner = await identity('dave');
    const joined = await joinExternal({ provider, groupInfo: tick.groupInfo, ...joiner, config });
    const m = publicMessageOf(joined.commitMessage);
    if (m.content.contentType !== ContentType.commit) throw new Error('not a commit');
    const content: FramedContent = { ...m.content, commit: { ...m.content.commit, path: undefined } };
    const signature = await signFramedContent(b, WireFormat.mls_public_message, content, joiner.signatureKey.privateKey);
    await expectCode(processMessage(b, publicMessageBytes({ content, auth: { signature, confirmationTag: m.auth.confirmationTag } })), 'invalid-external-commit');
  });

  it('refuses an ExternalInit whose kem_output does not decapsulate (invalid-external-init)', async () => {
    const [a0, b0] = await group(['alice', 'bob']);
    const tick = await createCommit(a0!, {});
    const b = (await processMessage(b0!, tick.commitMessage)).state;
    const joiner = await identity('dave');
    const joined = await joinExternal({ provider, groupInfo: tick.groupInfo, ...joiner, config });
    const bad = await resignExternal(joined.commitMessage, b, joiner.signatureKey.privateKey, (ps) =>
      ps.map((p) => (p.type === ProposalOrRefType.proposal && p.proposal.proposalType === ProposalType.external_init ? byValue({ proposalType: ProposalType.external_init, externalInit: { kemOutput: new Uint8Array(3) } }) : p)),
    );
    await expectCode(processMessage(b, bad), 'invalid-external-init');
  });

  it('refuses a GroupInfo without external_pub (missing-external-pub)', async () => {
    const [a] = await group(['alice', 'bob']);
    const tick = await createCommit(a!, {});
    const m = decode(decodeMLSMessage, tick.groupInfo);
    if (m.wireFormat !== WireFormat.mls_group_info) throw new Error('not a GroupInfo');
    const { signature: _old, ...unsigned } = m.groupInfo;
    const stripped = { ...unsigned, extensions: unsigned.extensions.filter((e) => e.extensionType !== ExtensionType.external_pub) };
    expect(stripped.extensions.length).toBeLessThan(unsigned.extensions.length);
    // Re-signed by its real signer, so only the missing extension is wrong.
    const groupInfo = await signGroupInfo(suite, mergeCommit(a!, tick.pending).signaturePrivateKey.bytes, stripped);
    const bytes = encode(encodeMLSMessage, { version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_group_info, groupInfo });
    await expectCode(joinExternal({ provider, groupInfo: bytes, ...(await identity('dave')), config }), 'missing-external-pub');
  });
});

describe('§12.4.3.1 Welcome', () => {
  async function welcomed() {
    const [a] = await group(['alice']);
    const kb = await keyPackage('bob');
    const c = await createCommit(a!, { proposals: [add(kb.keyPackage)] });
    const m = decode(decodeMLSMessage, c.welcome!);
    if (m.wireFormat !== WireFormat.mls_welcome) throw new Error('not a Welcome');
    return { kb, welcome: m.welcome, c };
  }
  const join = (kb: Awaited<ReturnType<typeof keyPackage>>, welcome: Parameters<typeof joinFromWelcome>[0]['welcome']): Promise<unknown> =>
    joinFromWelcome({ provider, welcome, keyPackage: kb.keyPackage, privateKeys: kb.privateKeys, config });

  it('refuses a Welcome with no entry for our key package (not-for-us)', async () => {
    const { welcome } = await welcomed();
    const other = await keyPackage('carol');
    await expectCode(join(other, welcome), 'not-for-us');
  });

  it('refuses a Welcome of another cipher suite than the key package (cipher-suite-mismatch)', async () => {
    const { kb, welcome } = await welcomed();
    await expectCode(join(kb, { ...welcome, cipherSuite: 3 }), 'cipher-suite-mismatch');
  });

  it('refuses GroupSecrets that do not decrypt (group-secrets-decrypt-failed)', async () => {
    const { kb, welcome } = await welcomed();
    const s = welcome.secrets[0]!;
    const ct = s.encryptedGroupSecrets.ciphertext.slice();
    ct[0] = ct[0]! ^ 1;
    await expectCode(join(kb, { ...welcome, secrets: [{ ...s, encryptedGroupSecrets: { ...s.encryptedGroupSecrets, ciphertext: ct } }] }), 'group-secrets-decrypt-failed');
  });

  it('refuses a GroupInfo that does not decrypt (group-info-decrypt-failed)', async () => {
    // The GroupSecrets are bound to the encrypted GroupInfo (§12.4.3.1), so a flipped
    // GroupInfo byte needs GroupSecrets sealed again to our init key over the new bytes.
    const { kb, welcome } = await welcomed();
    const s = welcome.secrets[0]!;
    const secrets = await decryptWithLabel(suite, kb.privateKeys.initPrivateKey, 'Welcome', welcome.encryptedGroupInfo, s.encryptedGroupSecrets.kemOutput, s.encryptedGroupSecrets.ciphertext);
    const gi = welcome.encryptedGroupInfo.slice();
    gi[gi.length - 1] = gi[gi.length - 1]! ^ 1;
    const resealed = await encryptWithLabel(suite, kb.keyPackage.initKey, 'Welcome', gi, secrets);
    await expectCode(join(kb, { ...welcome, encryptedGroupInfo: gi, secrets: [{ ...s, encryptedGroupSecrets: resealed }] }), 'group-info-decrypt-failed');
  });
});

describe('the server view checks a GroupInfo it is handed', () => {
  it('refuses a GroupInfo of another epoch (group-info-mismatch) and one whose signer is not a member (unknown-signer)', async () => {
    const [a] = await group(['alice', 'bob']);
    const tick = await createCommit(a!, {});
    const a1 = mergeCommit(a!, tick.pending);
    const view = await publicGroupFromGroupInfo({ provider, groupInfo: tick.groupInfo, config });
    await checkGroupInfoForView(view, tick.groupInfo);
    const next = await createCommit(a1, {});
    await expectCode(checkGroupInfoForView(view, next.groupInfo), 'group-info-mismatch');
    const m = decode(decodeMLSMessage, tick.groupInfo);
    if (m.wireFormat !== WireFormat.mls_group_info) throw new Error('not a GroupInfo');
    const moved = encode(encodeMLSMessage, { version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_group_info, groupInfo: { ...m.groupInfo, signer: 7 as never } });
    await expectCode(checkGroupInfoForView(view, moved), 'unknown-signer');
    await expectCode(publicGroupFromGroupInfo({ provider, groupInfo: moved, config }), 'unknown-signer');
  });
});

describe('§10.1 key packages in an Add', () => {
  async function resigned(edit: (kp: KeyPackage) => KeyPackage) {
    const kp = await keyPackage('erin');
    const changed = edit(kp.keyPackage);
    const signature = await signWithLabel(suite, kp.signatureKey.privateKey, 'KeyPackageTBS', encodeKeyPackageTbs(changed));
    return { ...changed, signature };
  }

  it('refuses an init_key equal to the leaf encryption key (init-key-reused)', async () => {
    const [a, b] = await group(['alice', 'bob']);
    const kp = await resigned((k) => ({ ...k, initKey: k.leafNode.encryptionKey }));
    await expectCode(processMessage(b!, await forgeCommit(a!, [byValue(add(kp))])), 'init-key-reused');
  });

  it('refuses a key package of another cipher suite (cipher-suite-mismatch)', async () => {
    const [a, b] = await group(['alice', 'bob']);
    const kp = await resigned((k) => ({ ...k, cipherSuite: 3 }));
    await expectCode(processMessage(b!, await forgeCommit(a!, [byValue(add(kp))])), 'cipher-suite-mismatch');
  });

  it('refuses a leaf that does not support the credential type the members use (unsupported-credential-type)', async () => {
    const [a, b] = await group(['alice', 'bob']);
    // Erin's leaf lists x509 only, while alice and bob use basic credentials.
    const erin = await generateKeyPackage({ suite, ...(await identity('erin')), capabilities: caps([], { credentials: [CredentialType.x509] }) });
    await expectCode(processMessage(b!, await forgeCommit(a!, [byValue(add(erin.keyPackage))])), 'unsupported-credential-type');
  });
});

describe('§12.4.2 UpdatePath', () => {
  async function pathCommit() {
    const [a, b, c] = await group(['alice', 'bob', 'carol']);
    const made = await createCommit(a!, { withPath: true });
    const m = publicMessageOf(made.commitMessage);
    if (m.content.contentType !== ContentType.commit || m.content.commit.path === undefined) throw new Error('no path');
    return { a: a!, b: b!, c: c!, commit: m.content.commit, path: m.content.commit.path };
  }

  it('refuses a node whose ciphertexts do not match its resolution (update-path-ciphertext-count)', async () => {
    const { a, b, commit, path } = await pathCommit();
    const nodes = path.nodes.map((n, i) => (i === 0 ? { ...n, encryptedPathSecret: [...n.encryptedPathSecret, n.encryptedPathSecret[0]!] } : n));
    await expectCode(processMessage(b, await forgeCommit(a, commit.proposals, { ...path, nodes })), 'update-path-ciphertext-count');
  });

  it('refuses a committer leaf that keeps its encryption key (duplicate-encryption-key)', async () => {
    // The committer's current key is always in the tree when its new leaf is checked.
    const { a, b, commit, path } = await pathCommit();
    const { signature: _s, ...unsigned } = path.leafNode;
    const kept = await signLeafNode(suite, { ...unsigned, encryptionKey: a.tree.leaf(a.ownLeaf)!.encryptionKey }, a.signaturePrivateKey.bytes, { groupId: a.groupContext.groupId, leafIndex: a.ownLeaf });
    await expectCode(processMessage(b, await forgeCommit(a, commit.proposals, { ...path, leafNode: kept })), 'duplicate-encryption-key');
  });
});

describe('§12.4.3.1 a forged Welcome', () => {
  // A committer that seals one joiner's GroupSecrets again for someone else (or alters them).
  async function forged(editSecrets: (s: GroupSecrets) => GroupSecrets, forOther: boolean) {
    const [a] = await group(['alice']);
    const kc = await keyPackage('carol');
    const made = await createCommit(a!, { proposals: [add(kc.keyPackage)], withPath: true });
    const m = decode(decodeMLSMessage, made.welcome!);
    if (m.wireFormat !== WireFormat.mls_welcome) throw new Error('not a Welcome');
    const w = m.welcome;
    const e = w.secrets[0]!;
    const plain = await decryptWithLabel(suite, kc.privateKeys.initPrivateKey, 'Welcome', w.encryptedGroupInfo, e.encryptedGroupSecrets.kemOutput, e.encryptedGroupSecrets.ciphertext);
    const secrets = encode(encodeGroupSecrets, editSecrets(decode(decodeGroupSecrets, plain)));
    const to = forOther ? await keyPackage('bob') : kc;
    const newMember = await makeKeyPackageRef(suite, encode(encodeKeyPackage, to.keyPackage));
    const sealed = await encryptWithLabel(suite, to.keyPackage.initKey, 'Welcome', w.encryptedGroupInfo, secrets);
    const welcome = { ...w, secrets: [{ newMember, encryptedGroupSecrets: sealed }] };
    return joinFromWelcome({ provider, welcome, keyPackage: to.keyPackage, privateKeys: to.privateKeys, config });
  }

  it('refuses a Welcome into a tree without our leaf (own-leaf-missing)', async () => {
    await expectCode(forged((s) => s, true), 'own-leaf-missing');
  });

  it('refuses a path secret of the wrong length (path-key-mismatch: its derived key is not the tree’s)', async () => {
    await expectCode(
      forged((s) => {
        expect(s.pathSecret).toBeDefined();
        return { ...s, pathSecret: { pathSecret: new Uint8Array(5) } };
      }, false),
      'path-key-mismatch',
    );
  });

  it('the unforged path joins (control)', async () => {
    await expect(forged((s) => s, false)).resolves.toBeDefined();
  });
});

describe('§6 senders', () => {
  it('refuses a commit signed by an external sender (invalid-commit-sender)', async () => {
    const server = await suite.signature.generateKeyPair();
    const senders = {
      extensionType: ExtensionType.external_senders,
      extensionData: encode(encodeExternalSenders, [{ signatureKey: server.publicKey, credential: { credentialType: CredentialType.basic, identity: utf8Bytes('ds') } }]),
    };
    const [a, b] = await group(['alice', 'bob'], { extensions: [senders] });
    const content: FramedContent = {
      groupId: a!.groupContext.groupId,
      epoch: a!.groupContext.epoch,
      sender: { senderType: SenderType.external, senderIndex: 0 },
      authenticatedData: new Uint8Array(0),
      contentType: ContentType.commit,
      commit: { proposals: [], path: undefined },
    };
    const signature = await signFramedContent(b!, WireFormat.mls_public_message, content, server.privateKey);
    await expectCode(processMessage(b!, publicMessageBytes({ content, auth: { signature, confirmationTag: new Uint8Array(32) } })), 'invalid-commit-sender');
  });
});

describe('trees and secret-tree state from outside', () => {
  it('refuses a parent node at a leaf position (parent-at-leaf-position)', () => {
    const parent: Node = { nodeType: NodeType.parent, parentNode: { encryptionKey: new Uint8Array(32), parentHash: new Uint8Array(0), unmergedLeaves: [] } };
    let error: unknown;
    try {
      PublicTree.fromNodes(suite, [parent]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ code: 'parent-at-leaf-position' });
  });

  it('refuses a restored secret tree whose indices are outside it (bad-secret-tree-state)', () => {
    const refused = (state: Parameters<typeof SecretTree.restore>[1]) => {
      try {
        SecretTree.restore(suite, state);
      } catch (e) {
        return e;
      }
      return undefined;
    };
    expect(refused({ nLeaves: 0, nodes: [], ratchets: [] })).toMatchObject({ code: 'bad-secret-tree-state', kind: 'validation' });
    expect(refused({ nLeaves: 2, nodes: [{ node: 9, secret: new Uint8Array(32) }], ratchets: [] })).toMatchObject({ code: 'bad-secret-tree-state', kind: 'validation' });
  });
});
