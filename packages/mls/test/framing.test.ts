// RFC 9420 §6 framing: what a receiver refuses, with stable ValidationError codes —
// forged membership tags and signatures, application data in the clear, replays,
// generations outside the window, non-zero padding, tampered ciphertexts.
import { beforeAll, describe, expect, it } from 'vitest';
import { encode, Writer } from '../src/codec/index.js';
import type { CipherSuite, KeyPair } from '../src/crypto/provider.js';
import { ValidationError } from '../src/errors.js';
import { authenticateContent, framingEpoch, type FramingEpoch, type SignatureKeyResolver } from '../src/framing/authentication.js';
import { protectPrivateMessage, unprotectPrivateMessage, type PrivateMessageKeys } from '../src/framing/private-message.js';
import { protectPublicMessage, unprotectPublicMessage } from '../src/framing/public-message.js';
import {
  ContentType,
  encodePrivateContentAad,
  encodePrivateMessageContent,
  encodeSenderData,
  encodeSenderDataAad,
  type FramedContent,
  type PrivateMessage,
  type PublicMessage,
  SenderType,
  WireFormat,
} from '../src/messages/framing.js';
import { ProposalType } from '../src/messages/proposal.js';
import { SecretTree, type SecretTreeOptions, senderDataKeyNonce } from '../src/schedule/secret-tree.js';
import { asSecret, type MembershipKey, type SenderDataSecret } from '../src/schedule/secrets.js';
import { leafIndex } from '../src/util/brand.js';
import { defaultProvider } from './kinds/harness.js';

const SENDER = leafIndex(1);
const GROUP_ID = new Uint8Array([1, 2, 3, 4]);
const ENCRYPTION_SECRET = new Uint8Array(32).fill(7);

let suite: CipherSuite;
let epoch: FramingEpoch;
let signer: KeyPair;
let membershipKey: MembershipKey;
let senderDataSecret: SenderDataSecret;
let resolve: SignatureKeyResolver;

beforeAll(async () => {
  suite = (await defaultProvider()).suite(1);
  signer = await suite.signature.generateKeyPair();
  membershipKey = asSecret(new Uint8Array(32).fill(9));
  senderDataSecret = asSecret(new Uint8Array(32).fill(5));
  epoch = framingEpoch(suite, {
    version: 1,
    cipherSuite: 1,
    groupId: GROUP_ID,
    epoch: 3n,
    treeHash: new Uint8Array(32).fill(1),
    confirmedTranscriptHash: new Uint8Array(32).fill(2),
    extensions: [],
  });
  resolve = (sender) => (sender.senderType === SenderType.member && sender.leafIndex === SENDER ? signer.publicKey : undefined);
});

const keys = (options?: SecretTreeOptions): PrivateMessageKeys => ({
  secretTree: SecretTree.create(suite, asSecret(ENCRYPTION_SECRET.slice()), 4, options),
  senderDataSecret,
});

const application = (text: string, sender = SENDER): FramedContent => ({
  groupId: GROUP_ID,
  epoch: 3n,
  sender: { senderType: SenderType.member, leafIndex: sender },
  authenticatedData: new Uint8Array([0xaa]),
  contentType: ContentType.application,
  applicationData: new TextEncoder().encode(text),
});

const removeProposal: () => FramedContent = () => ({
  groupId: GROUP_ID,
  epoch: 3n,
  sender: { senderType: SenderType.member, leafIndex: SENDER },
  authenticatedData: new Uint8Array(0),
  contentType: ContentType.proposal,
  proposal: { proposalType: ProposalType.remove, remove: { removed: leafIndex(2) } },
});

/**
 * One member's end of the channel: it threads the secret tree from call to call, as the
 * group layer does with GroupState (protect/unprotect return a new tree).
 */
class Member {
  constructor(public keys: PrivateMessageKeys) {}

  async send(content: FramedContent, paddingBlock?: number): Promise<PrivateMessage> {
    const signed = await authenticateContent(epoch, WireFormat.mls_private_message, content, signer.privateKey);
    const out = await protectPrivateMessage(epoch, signed, this.keys, paddingBlock === undefined ? {} : { paddingBlock });
    this.keys = { ...this.keys, secretTree: out.secretTree };
    return out.message;
  }

  async receive(m: PrivateMessage, resolver: SignatureKeyResolver = resolve): Promise<FramedContent> {
    const out = await unprotectPrivateMessage(epoch, m, this.keys, resolver);
    this.keys = { ...this.keys, secretTree: out.secretTree };
    return out.verified.content;
  }
}

const member = (options?: SecretTreeOptions): Member => new Member(keys(options));

async function sendPublic(content: FramedContent): Promise<PublicMessage> {
  const signed = await authenticateContent(epoch, WireFormat.mls_public_message, content, signer.privateKey);
  return protectPublicMessage(epoch, signed, membershipKey);
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const error: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ValidationError);
  return (error as ValidationError).code;
}

const text = (c: FramedContent): string => (c.contentType === ContentType.application ? new TextDecoder().decode(c.applicationData) : '');

describe('PublicMessage', () => {
  it('round-trips a member proposal', async () => {
    const verified = await unprotectPublicMessage(epoch, await sendPublic(removeProposal()), membershipKey, resolve);
    expect(verified.content.contentType).toBe(ContentType.proposal);
  });

  it('refuses a bad membership tag', async () => {
    const m = await sendPublic(removeProposal());
    const tag = m.membershipTag!.slice();
    tag[0]! ^= 1;
    expect(await refusal(unprotectPublicMessage(epoch, { ...m, membershipTag: tag }, membershipKey, resolve))).toBe('invalid-membership-tag');
    const otherKey: MembershipKey = asSecret(new Uint8Array(32).fill(8));
    expect(await refusal(unprotectPublicMessage(epoch, m, otherKey, resolve))).toBe('invalid-membership-tag');
  });

  it('refuses a bad signature even under a valid membership tag', async () => {
    const m = await sendPublic(removeProposal());
    const signature = m.auth.signature.slice();
    signature[5]! ^= 1;
    const auth = { signature };
    const signedAgain = await protectPublicMessage(epoch, { wireFormat: WireFormat.mls_public_message, content: m.content, auth }, membershipKey);
    expect(await refusal(unprotectPublicMessage(epoch, signedAgain, membershipKey, resolve))).toBe('invalid-signature');
  });

  it('refuses an unknown sender, another epoch, another group', async () => {
    const m = await sendPublic(removeProposal());
    expect(await refusal(unprotectPublicMessage(epoch, m, membershipKey, () => undefined))).toBe('unknown-sender');
    expect(await refusal(unprotectPublicMessage(epoch, { ...m, content: { ...m.content, epoch: 4n } }, membershipKey, resolve))).toBe('wrong-epoch');
    expect(await refusal(unprotectPublicMessage(epoch, { ...m, content: { ...m.content, groupId: new Uint8Array([9]) } }, membershipKey, resolve))).toBe('wrong-group');
  });

  it('never sends nor accepts application data', async () => {
    const signed = await authenticateContent(epoch, WireFormat.mls_public_message, application('hi'), signer.privateKey);
    await expect(protectPublicMessage(epoch, signed, membershipKey)).rejects.toMatchObject({ code: 'application-as-public-message' });
    const forged = { content: signed.content, auth: signed.auth, membershipTag: new Uint8Array(32) };
    expect(await refusal(unprotectPublicMessage(epoch, forged, membershipKey, resolve))).toBe('application-as-public-message');
  });
});

describe('PrivateMessage', () => {
  it('round-trips application data and pads the plaintext to the block', async () => {
    const [tx, rx] = [member(), member()];
    const m = await tx.send(application('hello'), 64);
    expect((m.ciphertext.length - 16) % 64).toBe(0);
    const content = await rx.receive(m);
    expect(text(content)).toBe('hello');
    expect(content.sender).toEqual({ senderType: SenderType.member, leafIndex: SENDER });
    expect(content.authenticatedData).toEqual(new Uint8Array([0xaa]));
  });

  it('refuses a replay', async () => {
    const [tx, rx] = [member(), member()];
    const m = await tx.send(application('once'));
    await rx.receive(m);
    expect(await refusal(rx.receive(m))).toBe('generation-reused');
  });

  it('leaves the keys it was given unchanged: they still open the message, the returned ones do not', async () => {
    const tx = member();
    const rx = keys();
    const m = await tx.send(application('twice'));
    const first = await unprotectPrivateMessage(epoch, m, rx, resolve);
    expect(text((await unprotectPrivateMessage(epoch, m, rx, resolve)).verified.content)).toBe('twice');
    expect(await refusal(unprotectPrivateMessage(epoch, m, { ...rx, secretTree: first.secretTree }, resolve))).toBe('generation-reused');
  });

  it('accepts out-of-order delivery inside the window, refuses beyond it', async () => {
    const [tx, rx] = [member(), member({ maxForwardDistance: 3 })];
    const sent: PrivateMessage[] = [];
    for (let i = 0; i < 6; i++) sent.push(await tx.send(application(`m${i}`)));
    expect(text(await rx.receive(sent[2]!))).toBe('m2');
    expect(text(await rx.receive(sent[0]!))).toBe('m0');
    expect(await refusal(rx.receive(sent[0]!))).toBe('generation-reused');
    const rx2 = member({ maxForwardDistance: 3 });
    expect(await refusal(rx2.receive(sent[4]!))).toBe('generation-too-far');
  });

  it('refuses non-zero padding', async () => {
    const tx = keys();
    const content = application('pad');
    const signed = await authenticateContent(epoch, WireFormat.mls_private_message, content, signer.privateKey);
    // Encrypt by hand, as a misbehaving sender would, with one padding byte set.
    const w = new Writer();
    encodePrivateMessageContent(w, { ...content, auth: signed.auth, paddingLength: 0 });
    const plaintext = w.raw(new Uint8Array([0, 0, 1, 0])).finish();
    const aad = encodePrivateContentAad(GROUP_ID, 3n, ContentType.application, content.authenticatedData);
    const guard = new Uint8Array(4);
    const { key: k } = await tx.secretTree.nextKey(SENDER, 'application');
    const generation = k.generation;
    const ciphertext = await suite.aead.seal(k.key.bytes, k.nonce.bytes, aad, plaintext);
    const sd = await senderDataKeyNonce(suite, senderDataSecret, ciphertext);
    const encryptedSenderData = await suite.aead.seal(
      sd.key.bytes,
      sd.nonce.bytes,
      encodeSenderDataAad(GROUP_ID, 3n, ContentType.application),
      encode(encodeSenderData, { leafIndex: SENDER, generation, reuseGuard: guard }),
    );
    const m: PrivateMessage = { groupId: GROUP_ID, epoch: 3n, contentType: ContentType.application, authenticatedData: content.authenticatedData, encryptedSenderData, ciphertext };
    expect(await refusal(unprotectPrivateMessage(epoch, m, keys(), resolve))).toBe('nonzero-padding');
  });

  it('refuses a tampered ciphertext but still opens the genuine message', async () => {
    const [tx, rx] = [member(), member()];
    const m = await tx.send(application('genuine'));
    const flipped = m.ciphertext.slice();
    flipped[flipped.length - 1]! ^= 1;
    // The sender data key depends on the first KDF.Nh bytes only, so the last byte's flip reaches the content AEAD.
    expect(await refusal(rx.receive({ ...m, ciphertext: flipped }))).toBe('undecryptable-content');
    expect(text(await rx.receive(m))).toBe('genuine');
  });

  it('refuses tampered sender data, a blank sender, a forged signature', async () => {
    const tx = member();
    const m = await tx.send(application('x'));
    const sd = m.encryptedSenderData.slice();
    sd[0]! ^= 1;
    expect(await refusal(member().receive({ ...m, encryptedSenderData: sd }))).toBe('undecryptable-sender-data');
    expect(await refusal(member().receive(m, () => undefined))).toBe('unknown-sender');
    const otherSigner = await suite.signature.generateKeyPair();
    expect(await refusal(member().receive(m, () => otherSigner.publicKey))).toBe('invalid-signature');
  });

  it('uses the handshake ratchet for proposals', async () => {
    const [tx, rx] = [member(), member()];
    await tx.send(application('a'));
    const m = await tx.send(removeProposal());
    expect(tx.keys.secretTree.nextGeneration(SENDER, 'handshake')).toBe(1);
    expect(tx.keys.secretTree.nextGeneration(SENDER, 'application')).toBe(1);
    expect((await rx.receive(m)).contentType).toBe(ContentType.proposal);
  });
});
