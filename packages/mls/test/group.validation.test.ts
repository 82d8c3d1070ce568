// Each §12–§13 rule the group layer enforces on a received commit or proposal: a
// message breaking it is refused with a ValidationError carrying the rule's code.
// Violating commits are forged with the committer's real keys, so that only the rule
// under test is broken.
import { beforeAll, describe, expect, it } from 'vitest';
import { encode } from '../src/codec/index.js';
import { signWithLabel } from '../src/crypto/labeled.js';
import { encodeKeyPackageTbs } from '../src/messages/key-package.js';
import { nodeCryptoProvider } from '../src/crypto/node/index.js';
import { ValidationError } from '../src/errors.js';
import { membershipTag, signFramedContent } from '../src/framing/authentication.js';
import {
  createCommit,
  createGroup,
  generateKeyPackage,
  joinFromWelcome,
  mergeCommit,
  processMessage,
  proposeUpdate,
  type GroupConfig,
  type GroupState,
} from '../src/group/index.js';
import type { Commit } from '../src/messages/commit.js';
import { ProtocolVersion } from '../src/messages/common.js';
import { CredentialType } from '../src/messages/credential.js';
import { ContentType, SenderType, WireFormat, type FramedContent } from '../src/messages/framing.js';
import { encodeMLSMessage } from '../src/messages/mls-message.js';
import { ProposalOrRefType, ProposalType, type Proposal } from '../src/messages/proposal.js';
import { leafIndex } from '../src/util/brand.js';
import { utf8Bytes } from '../src/util/bytes.js';

const provider = nodeCryptoProvider;
const suite = provider.suite(1);
const config: GroupConfig = { now: () => 1_800_000_000n };

async function identity(name: string) {
  return { signatureKey: await suite.signature.generateKeyPair(), credential: { credentialType: CredentialType.basic, identity: utf8Bytes(name) } as const };
}
async function keyPackage(name: string) {
  return generateKeyPackage({ suite, ...(await identity(name)) });
}

/** Signs `commit` as `from` would, with the real membership key and a dummy confirmation tag. */
async function forge(from: GroupState, commit: Commit, tweak: { groupId?: Uint8Array; badSignature?: boolean; badTag?: boolean } = {}): Promise<Uint8Array> {
  const content: FramedContent = {
    groupId: tweak.groupId ?? from.groupContext.groupId,
    epoch: from.groupContext.epoch,
    sender: { senderType: SenderType.member, leafIndex: from.ownLeaf },
    authenticatedData: new Uint8Array(0),
    contentType: ContentType.commit,
    commit,
  };
  const signature = await signFramedContent(from, WireFormat.mls_public_message, content, from.signaturePrivateKey.bytes);
  if (tweak.badSignature === true) signature[0] = signature[0]! ^ 1;
  const auth = { signature, confirmationTag: new Uint8Array(32) };
  const tag = await membershipTag(from, from.keys.membershipKey, content, auth);
  if (tweak.badTag === true) tag[0] = tag[0]! ^ 1;
  return encode(encodeMLSMessage, { version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_public_message, publicMessage: { content, auth, membershipTag: tag } });
}

const byValue = (proposal: Proposal) => ({ type: ProposalOrRefType.proposal, proposal }) as const;

describe('validation of received commits', () => {
  let a: GroupState;
  let b: GroupState;
  let c: GroupState;

  beforeAll(async () => {
    a = await createGroup({ provider, suite: 1, groupId: utf8Bytes('rules'), ...(await identity('alice')), config });
    const kb = await keyPackage('bob');
    const kc = await keyPackage('carol');
    const add = await createCommit(a, { proposals: [{ proposalType: ProposalType.add, add: { keyPackage: kb.keyPackage } }, { proposalType: ProposalType.add, add: { keyPackage: kc.keyPackage } }] });
    a = mergeCommit(a, add.pending);
    b = await joinFromWelcome({ provider, welcome: add.welcome!, keyPackage: kb.keyPackage, privateKeys: kb.privateKeys, config });
    c = await joinFromWelcome({ provider, welcome: add.welcome!, keyPackage: kc.keyPackage, privateKeys: kc.privateKeys, config });
  });

  const expectCode = async (p: Promise<unknown>, code: string): Promise<void> => {
    const error = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ code });
  };

  it('membership tag', async () => {
    await expectCode(processMessage(b, await forge(a, { proposals: [], path: undefined }, { badTag: true })), 'invalid-membership-tag');
  });
  it('signature', async () => {
    await expectCode(processMessage(b, await forge(a, { proposals: [], path: undefined }, { badSignature: true })), 'invalid-signature');
  });
  it('group id', async () => {
    await expectCode(processMessage(b, await forge(a, { proposals: [], path: undefined }, { groupId: utf8Bytes('other') })), 'wrong-group');
  });
  it('§12.4: an empty commit needs a path', async () => {
    await expectCode(processMessage(b, await forge(a, { proposals: [], path: undefined })), 'path-required');
  });
  it('§12.4: a Remove needs a path', async () => {
    await expectCode(processMessage(b, await forge(a, { proposals: [byValue({ proposalType: ProposalType.remove, remove: { removed: leafIndex(2) } })], path: undefined })), 'path-required');
  });
  it('§12.2: unknown proposal reference', async () => {
    await expectCode(processMessage(b, await forge(a, { proposals: [{ type: ProposalOrRefType.reference, reference: new Uint8Array(32) }], path: undefined })), 'unknown-proposal-ref');
  });
  it('§12.2: removing a blank leaf', async () => {
    await expectCode(processMessage(b, await forge(a, { proposals: [byValue({ proposalType: ProposalType.remove, remove: { removed: leafIndex(7) } })], path: undefined })), 'remove-of-blank-leaf');
  });
  it('§12.2: the same leaf removed twice', async () => {
    const remove = byValue({ proposalType: ProposalType.remove, remove: { removed: leafIndex(2) } });
    await expectCode(processMessage(b, await forge(a, { proposals: [remove, remove], path: undefined })), 'duplicate-leaf-change');
  });
  it('§12.2: two GroupContextExtensions', async () => {
    const gce = byValue({ proposalType: ProposalType.group_context_extensions, groupContextExtensions: { extensions: [] } });
    await expectCode(processMessage(b, await forge(a, { proposals: [gce, gce], path: undefined })), 'duplicate-group-context-extensions');
  });
  it('§12.2: ExternalInit in a member commit', async () => {
    await expectCode(processMessage(b, await forge(a, { proposals: [byValue({ proposalType: ProposalType.external_init, externalInit: { kemOutput: new Uint8Array(32) } })], path: undefined })), 'external-init-in-member-commit');
  });
  it('§12.2: an Add whose signature key is already a member', async () => {
    const dup = await generateKeyPackage({ suite, credential: { credentialType: CredentialType.basic, identity: utf8Bytes('x') }, signatureKey: { publicKey: b.tree.leaf(leafIndex(1))!.signatureKey, privateKey: b.signaturePrivateKey.bytes } });
    await expectCode(processMessage(c, await forge(a, { proposals: [byValue({ proposalType: ProposalType.add, add: { keyPackage: dup.keyPackage } })], path: undefined })), 'duplicate-signature-key');
  });
  it('§10.1, §7.3: in a batch of Adds (checked in parallel) the first failing one in order gives the error', async () => {
    // Twelve Adds, above the size at which the Node backend verifies on its threadpool.
    // Add 3 has a forged leaf signature under a valid KeyPackageTBS signature, add 8 a
    // forged key package signature: add 3's error is reported, whatever finishes first.
    const adds = [];
    for (let i = 0; i < 12; i++) {
      const id = await identity(`batch-${i}`);
      let kp = (await generateKeyPackage({ suite, ...id })).keyPackage;
      if (i === 3) {
        const leafNode = { ...kp.leafNode, signature: kp.leafNode.signature.map((x, j) => (j === 5 ? x ^ 1 : x)) };
        const unsigned = { ...kp, leafNode };
        kp = { ...unsigned, signature: await signWithLabel(suite, id.signatureKey.privateKey, 'KeyPackageTBS', encodeKeyPackageTbs(unsigned)) };
      }
      if (i === 8) kp = { ...kp, signature: kp.signature.map((x, j) => (j === 0 ? x ^ 1 : x)) };
      adds.push(byValue({ proposalType: ProposalType.add, add: { keyPackage: kp } }));
    }
    await expectCode(processMessage(b, await forge(a, { proposals: adds, path: undefined })), 'invalid-leaf-signature');
    await expectCode(processMessage(b, await forge(a, { proposals: [...adds.slice(0, 3), ...adds.slice(4)], path: undefined })), 'invalid-key-package-signature');
    // The committer's own check of the same batch, and the ten good Adds pass it.
    const kps = adds.map((p) => (p.proposal as Extract<Proposal, { proposalType: 1 }>).add.keyPackage);
    const asAdd = (keyPackage: (typeof kps)[number]) => ({ proposalType: ProposalType.add, add: { keyPackage } }) as const;
    await expectCode(createCommit(a, { proposals: kps.map(asAdd) }), 'invalid-leaf-signature');
    const good = await createCommit(a, { proposals: [...kps.slice(0, 3), ...kps.slice(4, 8), ...kps.slice(9)].map(asAdd) });
    expect(good.welcome).toBeDefined();
  });
  it('§10.1: an Add with a bad key package signature', async () => {
    const kp = (await keyPackage('dave')).keyPackage;
    const bad = { ...kp, signature: kp.signature.map((x, i) => (i === 0 ? x ^ 1 : x)) };
    await expectCode(processMessage(b, await forge(a, { proposals: [byValue({ proposalType: ProposalType.add, add: { keyPackage: bad } })], path: undefined })), 'invalid-key-package-signature');
  });
  it('§7.3: an Add whose key package lifetime has expired', async () => {
    const kp = await generateKeyPackage({ suite, ...(await identity('eve')), lifetime: { notBefore: 1n, notAfter: 2n } });
    await expectCode(processMessage(b, await forge(a, { proposals: [byValue({ proposalType: ProposalType.add, add: { keyPackage: kp.keyPackage } })], path: undefined })), 'lifetime-expired');
  });
  it('§6.1: a wrong confirmation tag', async () => {
    const kp = (await keyPackage('frank')).keyPackage;
    await expectCode(processMessage(b, await forge(a, { proposals: [byValue({ proposalType: ProposalType.add, add: { keyPackage: kp } })], path: undefined })), 'invalid-confirmation-tag');
  });
  it('§12.2: a commit may not carry an Update by value', async () => {
    const upd = await proposeUpdate(a);
    const proposal = upd.state.proposals[0]!.proposal;
    await expectCode(processMessage(b, await forge(a, { proposals: [byValue(proposal)], path: undefined })), 'inline-update');
  });
  it('§12.2: the committer cannot commit its own Update by reference', async () => {
    const upd = await proposeUpdate(a);
    const b1 = (await processMessage(b, upd.message)).state;
    await expectCode(processMessage(b1, await forge(a, { proposals: [{ type: ProposalOrRefType.reference, reference: upd.ref }], path: undefined })), 'committer-update');
  });
});
