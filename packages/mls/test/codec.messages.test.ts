// RFC 9420 §6–§12 wire structures: every codec round-trips (decode ∘ encode = id, and
// re-encoding is byte-identical), plus the select rules the RFC ties to other fields.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, encode } from '../src/codec/index.js';
import { DecodeError, UsageError } from '../src/errors.js';
import * as m from '../src/messages/index.js';
import { leafIndex } from '../src/util/brand.js';
import * as arb from './codec.arbitraries.js';

describe('codec round trip', () => {
  for (const s of arb.STRUCTURES) {
    it(s.name, () => {
      fc.assert(
        fc.property(s.arbitrary, (value) => {
          const bytes = encode(s.encoder, value);
          const decoded = decode(s.decoder, bytes);
          expect(decoded).toEqual(value);
          expect(encode(s.encoder, decoded)).toEqual(bytes);
        }),
        { numRuns: 200 },
      );
    });
  }

  it('PrivateMessageContent (content type from the enclosing PrivateMessage)', () => {
    fc.assert(
      fc.property(arb.privateMessageContent, (value) => {
        const bytes = encode(m.encodePrivateMessageContent, value);
        const decoded = decode(m.decodePrivateMessageContent(value.contentType), bytes);
        expect(decoded).toEqual(value);
        expect(encode(m.encodePrivateMessageContent, decoded)).toEqual(bytes);
      }),
      { numRuns: 200 },
    );
  });
});

const basic: m.Credential = { credentialType: m.CredentialType.basic, identity: new Uint8Array([1, 2]) };
const caps: m.Capabilities = { versions: [1], cipherSuites: [1], extensions: [0x0a0a], proposals: [0xfafa], credentials: [1, 0x1a1a] };
const leafKp: m.LeafNode = {
  encryptionKey: new Uint8Array([1]),
  signatureKey: new Uint8Array([2]),
  credential: basic,
  capabilities: caps,
  leafNodeSource: m.LeafNodeSource.key_package,
  lifetime: { notBefore: 0n, notAfter: 0xffff_ffff_ffff_ffffn },
  extensions: [],
  signature: new Uint8Array([9, 9]),
};
const leafCommit: m.LeafNode = {
  ...leafKp,
  leafNodeSource: m.LeafNodeSource.commit,
  parentHash: new Uint8Array([7]),
};
const appContent = (sender: m.Sender): m.FramedContent => ({
  groupId: new Uint8Array([0xaa]),
  epoch: 5n,
  sender,
  authenticatedData: new Uint8Array(0),
  contentType: m.ContentType.application,
  applicationData: new Uint8Array([0x68, 0x69]),
});
const member: m.Sender = { senderType: m.SenderType.member, leafIndex: leafIndex(3) };
const groupContext: m.GroupContext = {
  version: m.ProtocolVersion.mls10,
  cipherSuite: 1,
  groupId: new Uint8Array([0xaa]),
  epoch: 5n,
  treeHash: new Uint8Array([1]),
  confirmedTranscriptHash: new Uint8Array([2]),
  extensions: [],
};

describe('§7.2 LeafNodeTBS', () => {
  it('is the leaf without its signature for key_package leaves', () => {
    const full = encode(m.encodeLeafNode, leafKp);
    const tbs = m.encodeLeafNodeTbs(leafKp);
    // signature<V> = 0x02 0x09 0x09 at the end of the full encoding
    expect(tbs).toEqual(full.subarray(0, full.length - 3));
  });

  it('appends group_id and leaf_index for update and commit leaves, and requires them', () => {
    const full = encode(m.encodeLeafNode, leafCommit);
    const tbs = m.encodeLeafNodeTbs(leafCommit, { groupId: new Uint8Array([0xaa, 0xbb]), leafIndex: leafIndex(0x01020304) });
    expect(tbs.subarray(0, full.length - 3)).toEqual(full.subarray(0, full.length - 3));
    expect([...tbs.subarray(full.length - 3)]).toEqual([2, 0xaa, 0xbb, 1, 2, 3, 4]);
    expect(() => m.encodeLeafNodeTbs(leafCommit)).toThrow(UsageError);
  });
});

describe('§10 KeyPackageTBS and §12.4.3 GroupInfoTBS', () => {
  it('are the structures without their trailing signature', () => {
    const kp: m.KeyPackage = { version: 1, cipherSuite: 1, initKey: new Uint8Array([4]), leafNode: leafKp, extensions: [], signature: new Uint8Array([5]) };
    const kpBytes = encode(m.encodeKeyPackage, kp);
    expect(m.encodeKeyPackageTbs(kp)).toEqual(kpBytes.subarray(0, kpBytes.length - 2));
    const gi: m.GroupInfo = { groupContext, extensions: [], confirmationTag: new Uint8Array([6]), signer: leafIndex(1), signature: new Uint8Array([7, 7]) };
    const giBytes = encode(m.encodeGroupInfo, gi);
    expect(m.encodeGroupInfoTbs(gi)).toEqual(giBytes.subarray(0, giBytes.length - 3));
  });
});

describe('§6 framing selects', () => {
  it('FramedContentTBS includes the GroupContext for member senders only', () => {
    const content = appContent(member);
    const ctx = encode(m.encodeGroupContext, groupContext);
    const tbs = m.encodeFramedContentTbs(m.WireFormat.mls_public_message, content, groupContext);
    const fc1 = encode(m.encodeFramedContent, content);
    expect([...tbs.subarray(0, 4)]).toEqual([0, 1, 0, 1]);
    expect(tbs.subarray(4, 4 + fc1.length)).toEqual(fc1);
    expect(tbs.subarray(4 + fc1.length)).toEqual(ctx);
    expect(m.encodeFramedContentTbs(m.WireFormat.mls_public_message, content, ctx)).toEqual(tbs);
    expect(() => m.encodeFramedContentTbs(m.WireFormat.mls_public_message, content)).toThrow(UsageError);

    const ext = appContent({ senderType: m.SenderType.new_member_proposal });
    expect(m.encodeFramedContentTbs(m.WireFormat.mls_public_message, ext, groupContext).length).toBe(4 + encode(m.encodeFramedContent, ext).length);
  });

  it('AuthenticatedContentTBM is FramedContentTBS followed by the auth data', () => {
    const content = appContent(member);
    const auth = { signature: new Uint8Array([1, 2, 3]) };
    const tbm = m.encodeAuthenticatedContentTbm(content, auth, groupContext);
    const tbs = m.encodeFramedContentTbs(m.WireFormat.mls_public_message, content, groupContext);
    expect(tbm.subarray(0, tbs.length)).toEqual(tbs);
    expect([...tbm.subarray(tbs.length)]).toEqual([3, 1, 2, 3]);
  });

  it('confirmation_tag goes with commits only, membership_tag with members only', () => {
    const content = appContent(member);
    expect(() => encode(m.encodePublicMessage, { content, auth: { signature: new Uint8Array(0) } })).toThrow(UsageError);
    expect(() =>
      encode(m.encodePublicMessage, { content, auth: { signature: new Uint8Array(0), confirmationTag: new Uint8Array(1) }, membershipTag: new Uint8Array(1) }),
    ).toThrow(UsageError);
    const ext = appContent({ senderType: m.SenderType.external, senderIndex: 0 });
    expect(() => encode(m.encodePublicMessage, { content: ext, auth: { signature: new Uint8Array(0) }, membershipTag: new Uint8Array(1) })).toThrow(UsageError);
  });

  it('PrivateMessageContent padding must be all zero', () => {
    const value: m.PrivateMessageContent = {
      contentType: m.ContentType.application,
      applicationData: new Uint8Array([1]),
      auth: { signature: new Uint8Array([2]) },
      paddingLength: 3,
    };
    const bytes = encode(m.encodePrivateMessageContent, value);
    expect([...bytes]).toEqual([1, 1, 1, 2, 0, 0, 0]);
    bytes[6] = 1;
    expect(() => decode(m.decodePrivateMessageContent(m.ContentType.application), bytes)).toThrow(
      expect.objectContaining({ code: 'nonzero-padding' }) as Error,
    );
  });
});

/** An update-source leaf whose leaf_node_source octet is replaced by `source`. */
function leafWithSource(source: number): Uint8Array {
  const bytes = encode(m.encodeLeafNode, { ...leafKp, leafNodeSource: m.LeafNodeSource.update });
  const at = 2 + 2 + encode(m.encodeCredential, basic).length + encode(m.encodeCapabilities, caps).length;
  expect(bytes[at]).toBe(m.LeafNodeSource.update);
  bytes[at] = source;
  return bytes;
}

describe('enum values', () => {
  const cases: [string, Uint8Array, (b: Uint8Array) => unknown][] = [
    ['CredentialType', new Uint8Array([0, 3, 0]), (b) => decode(m.decodeCredential, b)],
    ['LeafNodeSource', leafWithSource(4), (b) => decode(m.decodeLeafNode, b)],
    ['NodeType', new Uint8Array([3]), (b) => decode(m.decodeNode, b)],
    ['ProposalType', new Uint8Array([0, 8]), (b) => decode(m.decodeProposal, b)],
    ['PSKType', new Uint8Array([0]), (b) => decode(m.decodePreSharedKeyID, b)],
    ['SenderType', new Uint8Array([5]), (b) => decode(m.decodeSender, b)],
    ['ProtocolVersion', new Uint8Array([0, 2, 0, 1]), (b) => decode(m.decodeMLSMessage, b)],
    ['WireFormat', new Uint8Array([0, 1, 0, 6]), (b) => decode(m.decodeMLSMessage, b)],
  ];
  for (const [what, bytes, run] of cases) {
    it(`an unknown ${what} is refused with unknown-value`, () => {
      let thrown: unknown;
      try {
        run(bytes);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(DecodeError);
      expect((thrown as DecodeError).code).toBe('unknown-value');
    });
  }

  it('unknown extension, proposal and credential types round-trip where the RFC allows them', () => {
    const rc: m.RequiredCapabilities = { extensionTypes: [0xff00], proposalTypes: [0xf000], credentialTypes: [0x0a0a] };
    expect(decode(m.decodeRequiredCapabilities, encode(m.encodeRequiredCapabilities, rc))).toEqual(rc);
    expect(decode(m.decodeCapabilities, encode(m.encodeCapabilities, caps))).toEqual(caps);
    const ext: m.Extension = { extensionType: 0xabcd, extensionData: new Uint8Array([1]) };
    expect(decode(m.decodeExtension, encode(m.encodeExtension, ext))).toEqual(ext);
  });
});
