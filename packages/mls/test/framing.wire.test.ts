// The PrivateMessage hot path (src/framing/wire.ts and the Node backend's sync
// primitives) against the general codec and the async interface: each one-pass encoding
// equals what src/messages/framing.ts writes, over lengths that cross the 1-, 2- and
// 4-byte length headers; a suite without sync primitives (as the WebCrypto backend)
// reads what a sync one writes and the other way round; key caches follow the bytes.
import { describe, expect, it } from 'vitest';
import { decode, encode, Writer } from '../src/codec/index.js';
import type { CipherSuite } from '../src/crypto/provider.js';
import { nodeCryptoProvider } from '../src/crypto/node/index.js';
import { authenticateContent, framingEpoch } from '../src/framing/authentication.js';
import { protectPrivateMessage, unprotectPrivateMessage } from '../src/framing/private-message.js';
import {
  applicationPlaintext,
  applicationSignContent,
  privateContentAad,
  privateMessageMLSMessage,
  readApplicationPrivateMessage,
  readSenderData,
  senderDataBytes,
  u64Bytes,
} from '../src/framing/wire.js';
import { ProtocolVersion } from '../src/messages/common.js';
import {
  ContentType,
  encodeFramedContentTbs,
  encodePrivateContentAad,
  encodePrivateMessageContent,
  encodeSenderData,
  encodeSenderDataAad,
  decodeSenderData,
  type FramedContent,
  SenderType,
  WireFormat,
} from '../src/messages/framing.js';
import { decodeMLSMessage, encodeMLSMessage } from '../src/messages/mls-message.js';
import { SecretTree } from '../src/schedule/secret-tree.js';
import { asSecret } from '../src/schedule/secrets.js';
import { leafIndex } from '../src/util/brand.js';

const suite = nodeCryptoProvider.suite(1);
/** The same suite seen through its async interface only, as a backend without sync primitives. */
const asyncOnly: CipherSuite = { ...suite, sync: undefined };

const bytes = (n: number, fill = 0x41): Uint8Array => new Uint8Array(n).fill(fill);
// Lengths around the §2.1.2 header boundaries (63/64, 16383/16384).
const LENGTHS = [0, 1, 63, 64, 100, 16383, 16384];

describe('one-pass encodings equal the general codec', () => {
  it('u64Bytes is the big-endian uint64', () => {
    for (const v of [0n, 1n, 3n, 0x1_0000_0000n, 0xffff_ffff_ffff_ffffn]) {
      expect(u64Bytes(v)).toEqual(new Writer(8).u64(v).finish());
    }
    expect(() => u64Bytes(-1n)).toThrow();
    expect(() => u64Bytes(1n << 64n)).toThrow();
  });

  it('PrivateContentAAD, with SenderDataAAD as its prefix', () => {
    for (const n of LENGTHS) {
      const groupId = bytes(n % 100, 0x11);
      const ad = bytes(n, 0x22);
      const { contentAad, senderDataAad } = privateContentAad(groupId, u64Bytes(7n), ContentType.application, ad);
      expect(contentAad).toEqual(encodePrivateContentAad(groupId, 7n, ContentType.application, ad));
      expect(senderDataAad).toEqual(encodeSenderDataAad(groupId, 7n, ContentType.application));
    }
  });

  it('SenderData', () => {
    const guard = new Uint8Array([9, 8, 7, 6]);
    expect(senderDataBytes(leafIndex(0x01020304), 0xfffffffe, guard)).toEqual(
      encode(encodeSenderData, { leafIndex: leafIndex(0x01020304), generation: 0xfffffffe, reuseGuard: guard }),
    );
    expect(() => senderDataBytes(leafIndex(1), 0, new Uint8Array(3))).toThrow();
  });

  it('application PrivateMessageContent with its padding', () => {
    const signature = bytes(64, 0x33);
    for (const n of LENGTHS) {
      for (const block of [0, 1, 32, 1000]) {
        const data = bytes(n);
        const w = new Writer();
        encodePrivateMessageContent(w, { contentType: ContentType.application, applicationData: data, auth: { signature }, paddingLength: 0 });
        const rem = block > 1 ? w.length % block : 0;
        if (rem !== 0) w.raw(new Uint8Array(block - rem));
        expect(applicationPlaintext(data, signature, block)).toEqual(w.finish());
      }
    }
  });

  it('SignContent of a member application FramedContentTBS', () => {
    const groupContextBytes = bytes(140, 0x44);
    for (const n of LENGTHS) {
      const content: FramedContent = {
        groupId: bytes(n % 70, 0x55),
        epoch: 0x1234_5678_9an,
        sender: { senderType: SenderType.member, leafIndex: leafIndex(5) },
        authenticatedData: bytes(n % 90, 0x66),
        contentType: ContentType.application,
        applicationData: bytes(n),
      };
      const tbs = encodeFramedContentTbs(WireFormat.mls_private_message, content, groupContextBytes);
      const expected = new Writer().opaque(new TextEncoder().encode('MLS 1.0 FramedContentTBS')).opaque(tbs).finish();
      expect(
        applicationSignContent(WireFormat.mls_private_message, content.groupId, u64Bytes(content.epoch), leafIndex(5), content.authenticatedData, content.applicationData, groupContextBytes),
      ).toEqual(expected);
    }
  });

  it('MLSMessage carrying a PrivateMessage', () => {
    for (const n of LENGTHS) {
      const privateMessage = {
        groupId: bytes(n % 50, 1),
        epoch: 99n,
        contentType: ContentType.application,
        authenticatedData: bytes(n % 80, 2),
        encryptedSenderData: bytes(28, 3),
        ciphertext: bytes(n + 16, 4),
      };
      const w = new Writer();
      encodeMLSMessage(w, { version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_private_message, privateMessage });
      expect(privateMessageMLSMessage(privateMessage)).toEqual(w.finish());
    }
  });

  it('readApplicationPrivateMessage reads what the general decoder reads, and leaves it every other input', () => {
    for (const n of LENGTHS) {
      const privateMessage = {
        groupId: bytes(n % 50, 1),
        epoch: 0x1_0000_0002n + BigInt(n),
        contentType: ContentType.application,
        authenticatedData: bytes(n % 80, 2),
        encryptedSenderData: bytes(28, 3),
        ciphertext: bytes(n + 16, 4),
      };
      const wire = privateMessageMLSMessage(privateMessage);
      const general = decode(decodeMLSMessage, wire);
      const read = readApplicationPrivateMessage(wire);
      expect(general.wireFormat === WireFormat.mls_private_message ? general.privateMessage : undefined).toEqual(read);
      // Copies, not views of the input (which the caller may reuse while processing pauses).
      for (const field of [read!.groupId, read!.authenticatedData, read!.encryptedSenderData, read!.ciphertext]) expect(field.buffer).not.toBe(wire.buffer);
      // Truncated, extended, another content type or wire format, a non-minimal header: not read here.
      expect(readApplicationPrivateMessage(wire.subarray(0, wire.length - 1))).toBeUndefined();
      expect(readApplicationPrivateMessage(new Uint8Array([...wire, 0]))).toBeUndefined();
      expect(readApplicationPrivateMessage(privateMessageMLSMessage({ ...privateMessage, contentType: ContentType.commit }))).toBeUndefined();
      const other = wire.slice();
      other[3] = WireFormat.mls_public_message;
      expect(readApplicationPrivateMessage(other)).toBeUndefined();
      const version = wire.slice();
      version[1] = 2;
      expect(readApplicationPrivateMessage(version)).toBeUndefined();
    }
    // group_id of 5 bytes with a 2-byte length header (0x40 0x05): refused by both.
    const minimal = privateMessageMLSMessage({ groupId: bytes(5), epoch: 1n, contentType: ContentType.application, authenticatedData: bytes(0), encryptedSenderData: bytes(28), ciphertext: bytes(40) });
    const nonMinimal = new Uint8Array([...minimal.subarray(0, 4), 0x40, ...minimal.subarray(4)]);
    expect(readApplicationPrivateMessage(nonMinimal)).toBeUndefined();
    expect(() => decode(decodeMLSMessage, nonMinimal)).toThrow();
    expect(readApplicationPrivateMessage(minimal)).toBeDefined();
  });

  it('readSenderData reads what the general decoder reads', () => {
    for (const [leaf, generation] of [[0, 0], [7, 1], [0xffff_ffff, 0x8000_0000]] as const) {
      const sd = senderDataBytes(leafIndex(leaf), generation, new Uint8Array([9, 8, 7, 6]));
      expect(readSenderData(sd)).toEqual(decode(decodeSenderData, sd));
    }
  });
});

describe('sync primitives', () => {
  const sync = suite.sync!;

  it('give what the async interface gives', async () => {
    const key = bytes(16, 1);
    const nonce = bytes(12, 2);
    const aad = bytes(20, 3);
    const plaintext = bytes(150, 4);
    const sealed = sync.seal(key, nonce, aad, plaintext);
    expect(sealed).toEqual(await suite.aead.seal(key, nonce, aad, plaintext));
    expect(sync.open(key, nonce, aad, sealed)).toEqual(plaintext);
    const tampered = sealed.slice();
    tampered[0]! ^= 1;
    expect(() => sync.open(key, nonce, aad, tampered)).toThrow(expect.objectContaining({ code: 'aead-open-failed' }));
    for (const length of [16, 32, 33, 100]) {
      expect(sync.expand(bytes(32, 5), bytes(30, 6), length)).toEqual(await suite.kdf.expand(bytes(32, 5), bytes(30, 6), length));
    }
    const pair = await suite.signature.generateKeyPair();
    const signature = sync.sign(pair.privateKey, plaintext);
    expect(await suite.signature.verify(pair.publicKey, plaintext, signature)).toBe(true);
    expect(sync.verify(pair.publicKey, plaintext, signature)).toBe(true);
    expect(sync.verify(pair.publicKey, aad, signature)).toBe(false);
    expect(sync.verify(new Uint8Array(32), plaintext, signature)).toBe(false);
  });

  it('key caches follow an array changed in place, never a stale key', async () => {
    const one = await suite.signature.generateKeyPair();
    const two = await suite.signature.generateKeyPair();
    const message = bytes(40, 7);
    const privateKey = one.privateKey.slice();
    expect(sync.verify(one.publicKey, message, sync.sign(privateKey, message))).toBe(true);
    privateKey.set(two.privateKey);
    expect(sync.verify(two.publicKey, message, sync.sign(privateKey, message))).toBe(true);

    const publicKey = one.publicKey.slice();
    const signatureByTwo = sync.sign(two.privateKey, message);
    expect(sync.verify(publicKey, message, signatureByTwo)).toBe(false);
    publicKey.set(two.publicKey);
    expect(sync.verify(publicKey, message, signatureByTwo)).toBe(true);
  });
});

describe('a suite without sync primitives', () => {
  const groupContext = {
    version: 1,
    cipherSuite: 1,
    groupId: bytes(8, 9),
    epoch: 2n,
    treeHash: bytes(32, 1),
    confirmedTranscriptHash: bytes(32, 2),
    extensions: [],
  } as const;
  const sender = leafIndex(1);
  const content: FramedContent = {
    groupId: groupContext.groupId,
    epoch: 2n,
    sender: { senderType: SenderType.member, leafIndex: sender },
    authenticatedData: bytes(3, 1),
    contentType: ContentType.application,
    applicationData: new TextEncoder().encode('hello'),
  };

  it('reads what a sync suite writes, and the other way round', async () => {
    const signer = await suite.signature.generateKeyPair();
    const senderDataSecret = asSecret<'sender_data_secret'>(bytes(32, 5));
    const resolve = () => signer.publicKey;
    for (const [writer, reader] of [
      [suite, asyncOnly],
      [asyncOnly, suite],
    ] as const) {
      const keysOf = (s: CipherSuite) => ({ secretTree: SecretTree.create(s, asSecret(bytes(32, 7)), 4), senderDataSecret });
      const writing = framingEpoch(writer, groupContext);
      const authenticated = await authenticateContent(writing, WireFormat.mls_private_message, content, signer.privateKey);
      const { message } = await protectPrivateMessage(writing, authenticated, keysOf(writer));
      const out = await unprotectPrivateMessage(framingEpoch(reader, groupContext), message, keysOf(reader), resolve);
      expect(out.verified.content).toEqual(content);
      expect(out.verified.auth.signature).toEqual(authenticated.auth.signature);
      expect(out.secretTree.nextGeneration(sender, 'application')).toBe(1);
      const tampered = { ...message, ciphertext: message.ciphertext.slice() };
      tampered.ciphertext[tampered.ciphertext.length - 1]! ^= 1; // the tag, past the sender-data sample
      await expect(unprotectPrivateMessage(framingEpoch(reader, groupContext), tampered, keysOf(reader), resolve)).rejects.toMatchObject({ code: 'undecryptable-content' });
    }
  });
});
