// RFC 9420 §12.1.8 external proposals, end to end: a sender listed in the group's
// external_senders extension (§12.1.8.1) — here "the server", holding only the public
// view — proposes a Remove and an Add as PublicMessages with sender type external;
// members and the view validate them and a member commits them by reference. Forged
// ones (wrong key, unlisted index, a type external senders may not send, wrong epoch,
// a group without external senders) are refused with their codes.
import { describe, expect, it } from 'vitest';
import { encode } from '../../src/codec/index.js';
import {
  createCommit,
  createExternalProposal,
  createGroup,
  epochAuthenticator,
  joinFromWelcome,
  mergeCommit,
  processMessage,
  type GroupState,
} from '../../src/group/index.js';
import { signExternalProposal } from '../../src/group/external-proposal.js';
import { CredentialType } from '../../src/messages/credential.js';
import { encodeExternalSenders, ExtensionType, type Extension } from '../../src/messages/extension.js';
import { ProposalType } from '../../src/messages/proposal.js';
import { processPublicMessage, publicGroupFromGroupInfo, type PublicGroupState } from '../../src/public.js';
import { leafIndex } from '../../src/util/brand.js';
import { toHex, utf8Bytes } from '../../src/util/bytes.js';
import { add, config, expectCode, identity, keyPackage, provider, remove, SUITE, suite } from './helpers.js';

async function setup(withExternalSenders = true) {
  const server = await suite.signature.generateKeyPair();
  const senders: Extension = {
    extensionType: ExtensionType.external_senders,
    extensionData: encode(encodeExternalSenders, [{ signatureKey: server.publicKey, credential: { credentialType: CredentialType.basic, identity: utf8Bytes('delivery service') } }]),
  };
  const a0 = await createGroup({ provider, suite: SUITE, groupId: utf8Bytes('ext-senders'), ...(await identity('alice')), config, extensions: withExternalSenders ? [senders] : [] });
  const kb = await keyPackage('bob');
  const kc = await keyPackage('carol');
  const c = await createCommit(a0, { proposals: [add(kb.keyPackage), add(kc.keyPackage)] });
  const members: GroupState[] = [
    mergeCommit(a0, c.pending),
    await joinFromWelcome({ provider, welcome: c.welcome!, keyPackage: kb.keyPackage, privateKeys: kb.privateKeys, config }),
    await joinFromWelcome({ provider, welcome: c.welcome!, keyPackage: kc.keyPackage, privateKeys: kc.privateKeys, config }),
  ];
  const view = await publicGroupFromGroupInfo({ provider, groupInfo: c.groupInfo, config });
  return { server, members, view };
}

describe('§12.1.8 external senders', () => {
  it('the server proposes Remove and Add; members validate them and commit them by reference', async () => {
    const { server, members, view: view0 } = await setup();
    let view: PublicGroupState = view0;
    const b = members[1]!;
    let [a, , c] = members as [GroupState, GroupState, GroupState];

    // Remove bob, signed by the external sender 0 from the public view's GroupContext.
    const removeBob = await createExternalProposal({ provider, groupContext: view.groupContext, senderIndex: 0, signaturePrivateKey: server.privateKey, proposal: remove(1) });
    for (const s of [a, b, c]) {
      const r = await processMessage(s, removeBob);
      expect(r.event).toMatchObject({ type: 'proposal', sender: { senderType: 2, senderIndex: 0 }, proposal: { proposalType: ProposalType.remove } });
    }
    a = (await processMessage(a, removeBob)).state;
    const bAfter = (await processMessage(b, removeBob)).state;
    c = (await processMessage(c, removeBob)).state;
    const seen = await processPublicMessage(view, removeBob);
    expect(seen.event).toMatchObject({ type: 'proposal', sender: { senderType: 2 } });
    view = seen.state;

    // Alice commits it by reference (all cached proposals by default).
    const commit = await createCommit(a);
    a = mergeCommit(a, commit.pending);
    expect((await processMessage(bAfter, commit.commitMessage)).event).toMatchObject({ type: 'removed' });
    const pc = await processMessage(c, commit.commitMessage);
    expect(pc.event).toMatchObject({ type: 'commit', removed: [1] });
    c = pc.state;
    view = (await processPublicMessage(view, commit.commitMessage)).state;
    expect(toHex(epochAuthenticator(a))).toBe(toHex(epochAuthenticator(c)));
    expect(toHex(view.groupContextBytes)).toBe(toHex(a.groupContextBytes));
    expect(a.tree.leaf(leafIndex(1))).toBeUndefined();

    // Add dave by an external proposal; carol commits it; dave joins from the Welcome.
    const kd = await keyPackage('dave');
    const addDave = await createExternalProposal({ provider, groupContext: view.groupContext, senderIndex: 0, signaturePrivateKey: server.privateKey, proposal: add(kd.keyPackage) });
    a = (await processMessage(a, addDave)).state;
    c = (await processMessage(c, addDave)).state;
    view = (await processPublicMessage(view, addDave)).state;
    const commit2 = await createCommit(c);
    c = mergeCommit(c, commit2.pending);
    a = (await processMessage(a, commit2.commitMessage)).state;
    view = (await processPublicMessage(view, commit2.commitMessage)).state;
    const d = await joinFromWelcome({ provider, welcome: commit2.welcome!, keyPackage: kd.keyPackage, privateKeys: kd.privateKeys, config });
    expect(new Set([a, c, d].map((s) => toHex(epochAuthenticator(s)))).size).toBe(1);
    expect(toHex(view.groupContextBytes)).toBe(toHex(d.groupContextBytes));
    expect(d.tree.memberCount).toBe(3);
  });

  it('refuses external proposals that are forged, unlisted, of a forbidden type or of another epoch', async () => {
    const { server, members, view } = await setup();
    const a = members[0]!;
    const gc = a.groupContext;
    const other = await suite.signature.generateKeyPair();
    const forgedKey = await createExternalProposal({ provider, groupContext: gc, senderIndex: 0, signaturePrivateKey: other.privateKey, proposal: remove(1) });
    const unlisted = await createExternalProposal({ provider, groupContext: gc, senderIndex: 1, signaturePrivateKey: server.privateKey, proposal: remove(1) });
    const staleEpoch = await createExternalProposal({ provider, groupContext: { ...gc, epoch: gc.epoch - 1n }, senderIndex: 0, signaturePrivateKey: server.privateKey, proposal: remove(1) });
    // The API refuses an Update (only a member updates its own leaf)…
    const update = { proposalType: ProposalType.update, update: { leafNode: a.tree.leaf(leafIndex(1))! } } as const;
    await expectCode(createExternalProposal({ provider, groupContext: gc, senderIndex: 0, signaturePrivateKey: server.privateKey, proposal: update }), 'proposal-type-not-allowed', 'usage');
    // …and a receiver refuses one signed anyway.
    const forbidden = await signExternalProposal({ provider, groupContext: gc, senderIndex: 0, signaturePrivateKey: server.privateKey, proposal: update });
    const cases: [string, Uint8Array, string][] = [
      ['a signature by a key that is not the listed one', forgedKey, 'invalid-signature'],
      ['a sender index not in external_senders', unlisted, 'unknown-sender'],
      ['a previous epoch', staleEpoch, 'wrong-epoch'],
      ['an Update from an external sender', forbidden, 'invalid-proposal-sender'],
    ];
    for (const [name, bytes, code] of cases) {
      await expectCode(processMessage(members[1]!, bytes), code).catch((e: unknown) => {
        throw new Error(`member: ${name}: ${String(e)}`);
      });
      await expectCode(processPublicMessage(view, bytes), code).catch((e: unknown) => {
        throw new Error(`view: ${name}: ${String(e)}`);
      });
    }
  });

  it('a group without external_senders accepts no external proposal', async () => {
    const { server, members } = await setup(false);
    const bytes = await createExternalProposal({ provider, groupContext: members[0]!.groupContext, senderIndex: 0, signaturePrivateKey: server.privateKey, proposal: remove(1) });
    await expectCode(processMessage(members[1]!, bytes), 'unknown-sender');
  });
});
