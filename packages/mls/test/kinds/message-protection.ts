// message-protection.json: for a GroupContext built from the case's fields and a 2-leaf
// secret tree, sender leaf 1 (§6): each *_pub message verifies (membership tag and
// signature), each *_priv message decrypts, both to the case's proposal / commit /
// application; protecting the content again round-trips; application data as a
// PublicMessage is refused.
import { decode, encode } from '../../src/codec/index.js';
import type { CipherSuite } from '../../src/crypto/provider.js';
import { MlsError } from '../../src/errors.js';
import { authenticateContent, framingEpoch, type FramingEpoch, type SignatureKeyResolver } from '../../src/framing/authentication.js';
import { protectPrivateMessage, unprotectPrivateMessage } from '../../src/framing/private-message.js';
import { protectPublicMessage, unprotectPublicMessage } from '../../src/framing/public-message.js';
import { encodeCommit } from '../../src/messages/commit.js';
import { ContentType, type FramedContent, SenderType, WireFormat } from '../../src/messages/framing.js';
import { decodeMLSMessage, encodeMLSMessage, type MLSMessage } from '../../src/messages/mls-message.js';
import { encodeProposal } from '../../src/messages/proposal.js';
import { SecretTree } from '../../src/schedule/secret-tree.js';
import { asSecret, type MembershipKey } from '../../src/schedule/secrets.js';
import { expectBytes, expectEqual, hex, PASSED, suiteOrSkip, type VectorKind } from './harness.js';

interface Case {
  cipher_suite: number;
  group_id: string;
  epoch: number;
  tree_hash: string;
  confirmed_transcript_hash: string;
  signature_priv: string;
  signature_pub: string;
  encryption_secret: string;
  sender_data_secret: string;
  membership_key: string;
  proposal: string;
  proposal_pub: string;
  proposal_priv: string;
  commit: string;
  commit_pub: string;
  commit_priv: string;
  application: string;
  application_priv: string;
}

type Kind = 'proposal' | 'commit' | 'application';

/** The content body as bytes, to compare with the case's `proposal` / `commit` / `application`. */
function bodyBytes(content: FramedContent): Uint8Array {
  if (content.contentType === ContentType.proposal) return encode(encodeProposal, content.proposal);
  if (content.contentType === ContentType.commit) return encode(encodeCommit, content.commit);
  return content.applicationData;
}

function publicOf(bytes: Uint8Array) {
  const m = decode(decodeMLSMessage, bytes);
  if (m.wireFormat !== WireFormat.mls_public_message) throw new Error('expected an MLSMessage with a PublicMessage');
  return m.publicMessage;
}

function privateOf(bytes: Uint8Array) {
  const m = decode(decodeMLSMessage, bytes);
  if (m.wireFormat !== WireFormat.mls_private_message) throw new Error('expected an MLSMessage with a PrivateMessage');
  return m.privateMessage;
}

/**
 * The vectors write a P-521 signature private key as a minimal big-endian integer
 * (65 bytes when its top byte is zero); the backend takes the fixed 66-byte scalar.
 */
function signaturePrivateKey(c: Case): Uint8Array {
  const raw = hex(c.signature_priv);
  const P521_SCALAR = 66;
  if (c.cipher_suite !== 5 || raw.length >= P521_SCALAR) return raw;
  const out = new Uint8Array(P521_SCALAR);
  out.set(raw, P521_SCALAR - raw.length);
  return out;
}

class Fixture {
  readonly membershipKey: MembershipKey;
  readonly signaturePriv: Uint8Array;
  readonly resolve: SignatureKeyResolver;
  constructor(
    readonly c: Case,
    readonly suite: CipherSuite,
    readonly epoch: FramingEpoch,
  ) {
    this.membershipKey = asSecret(hex(c.membership_key));
    this.signaturePriv = signaturePrivateKey(c);
    const pub = hex(c.signature_pub);
    this.resolve = (sender) => (sender.senderType === SenderType.member && sender.leafIndex === 1 ? pub : undefined);
  }

  keys() {
    return { secretTree: SecretTree.create(this.suite, asSecret(hex(this.c.encryption_secret)), 2), senderDataSecret: asSecret<'sender_data_secret'>(hex(this.c.sender_data_secret)) };
  }

  async checkPublic(kind: Kind, expected: string): Promise<void> {
    const verified = await unprotectPublicMessage(this.epoch, publicOf(hex(this.c[`${kind}_pub` as 'proposal_pub'])), this.membershipKey, this.resolve);
    expectBytes(bodyBytes(verified.content), expected, `${kind}_pub content`);
    // Protect again, through the wire encoding, and verify.
    const again = await authenticateContent(this.epoch, WireFormat.mls_public_message, verified.content, this.signaturePriv, verified.auth.confirmationTag);
    const message: MLSMessage = { version: 1, wireFormat: WireFormat.mls_public_message, publicMessage: await protectPublicMessage(this.epoch, again, this.membershipKey) };
    const back = await unprotectPublicMessage(this.epoch, publicOf(encode(encodeMLSMessage, message)), this.membershipKey, this.resolve);
    expectBytes(bodyBytes(back.content), expected, `${kind} re-protected as PublicMessage`);
  }

  async checkPrivate(kind: Kind, expected: string): Promise<void> {
    const { verified } = await unprotectPrivateMessage(this.epoch, privateOf(hex(this.c[`${kind}_priv`])), this.keys(), this.resolve);
    expectBytes(bodyBytes(verified.content), expected, `${kind}_priv content`);
    expectEqual<number | false>(verified.content.sender.senderType === SenderType.member && verified.content.sender.leafIndex, 1, `${kind}_priv sender leaf`);
    const again = await authenticateContent(this.epoch, WireFormat.mls_private_message, verified.content, this.signaturePriv, verified.auth.confirmationTag);
    const sent = await protectPrivateMessage(this.epoch, again, this.keys());
    const message: MLSMessage = { version: 1, wireFormat: WireFormat.mls_private_message, privateMessage: sent.message };
    const back = await unprotectPrivateMessage(this.epoch, privateOf(encode(encodeMLSMessage, message)), this.keys(), this.resolve);
    expectBytes(bodyBytes(back.verified.content), expected, `${kind} re-protected as PrivateMessage`);
  }

  /** §6: application data must never be accepted (nor sent) as a PublicMessage. */
  async checkApplicationRefusedAsPublic(content: FramedContent): Promise<void> {
    const signed = await authenticateContent(this.epoch, WireFormat.mls_public_message, content, this.signaturePriv);
    await expectRefusal(protectPublicMessage(this.epoch, signed, this.membershipKey), 'application-as-public-message', 'protect');
    const forged = { content, auth: signed.auth, membershipTag: new Uint8Array(this.suite.hash.nh) };
    await expectRefusal(unprotectPublicMessage(this.epoch, forged, this.membershipKey, this.resolve), 'application-as-public-message', 'unprotect');
  }
}

async function expectRefusal(p: Promise<unknown>, code: string, what: string): Promise<void> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof MlsError) || error.code !== code) throw new Error(`${what}: expected refusal '${code}', got ${String(error)}`);
}

const kind: VectorKind<Case> = {
  describe: (c, i) => `case ${i}: suite ${c.cipher_suite}`,
  async run(c, provider) {
    const suite = suiteOrSkip(provider, c.cipher_suite);
    const epoch = framingEpoch(suite, {
      version: 1,
      cipherSuite: c.cipher_suite,
      groupId: hex(c.group_id),
      epoch: BigInt(c.epoch),
      treeHash: hex(c.tree_hash),
      confirmedTranscriptHash: hex(c.confirmed_transcript_hash),
      extensions: [],
    });
    const f = new Fixture(c, suite, epoch);
    await f.checkPublic('proposal', c.proposal);
    await f.checkPublic('commit', c.commit);
    await f.checkPrivate('proposal', c.proposal);
    await f.checkPrivate('commit', c.commit);
    await f.checkPrivate('application', c.application);
    const app = await unprotectPrivateMessage(epoch, privateOf(hex(c.application_priv)), f.keys(), f.resolve);
    await f.checkApplicationRefusedAsPublic(app.verified.content);
    return PASSED;
  },
};
export default kind;
