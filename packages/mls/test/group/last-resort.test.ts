// RFC 9420 §10 / §16.8 KeyPackage reuse and the last_resort extension (IANA "MLS
// Extension Types" registry, 0x000A, KeyPackage): a key package marked last-resort
// carries the empty extension and lists it in its leaf's capabilities, is signed with
// the mark (a directory can neither strip nor add it), survives encode/decode, passes
// §10.1 validation with `lastResort: true`, and can introduce its client more than once
// with the same init key — into two groups, and into one group again after a removal.
import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../src/codec/index.js';
import { signWithLabel } from '../../src/crypto/labeled.js';
import { createCommit, encryptApplication, joinFromWelcome, LAST_RESORT_EXTENSION, mergeCommit, processMessage } from '../../src/group/index.js';
import { ProtocolVersion } from '../../src/messages/common.js';
import { WireFormat } from '../../src/messages/framing.js';
import { decodeKeyPackage, encodeKeyPackage, encodeKeyPackageTbs, type KeyPackage } from '../../src/messages/key-package.js';
import { decodeMLSMessage, encodeMLSMessage } from '../../src/messages/mls-message.js';
import { validatePublicKeyPackage } from '../../src/public.js';
import { toHex, utf8Bytes } from '../../src/util/bytes.js';
import { add, caps, config, expectCode, group, keyPackage, provider, remove, suite } from './helpers.js';

const kpMessage = (keyPackage: KeyPackage) => encode(encodeMLSMessage, { version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_key_package, keyPackage });
/** validatePublicKeyPackage takes the bare KeyPackage encoding, as a directory stores it. */
const kpBytes = (keyPackage: KeyPackage) => encode(encodeKeyPackage, keyPackage);

describe('last-resort key packages', () => {
  it('carry the empty last_resort extension, list it in the capabilities, and round-trip through the codec', async () => {
    const lr = await keyPackage('bob', { lastResort: true });
    const plain = await keyPackage('carol');
    expect(LAST_RESORT_EXTENSION).toBe(0x000a);
    expect(lr.keyPackage.extensions).toEqual([{ extensionType: LAST_RESORT_EXTENSION, extensionData: new Uint8Array(0) }]);
    expect(lr.keyPackage.leafNode.capabilities.extensions).toContain(LAST_RESORT_EXTENSION);
    expect(plain.keyPackage.extensions).toEqual([]);
    expect(plain.keyPackage.leafNode.capabilities.extensions).not.toContain(LAST_RESORT_EXTENSION);

    const bytes = kpMessage(lr.keyPackage);
    const m = decode(decodeMLSMessage, bytes);
    expect(m.wireFormat).toBe(WireFormat.mls_key_package);
    if (m.wireFormat !== WireFormat.mls_key_package) return;
    expect(m.keyPackage.extensions.map((e) => e.extensionType)).toEqual([LAST_RESORT_EXTENSION]);
    expect(toHex(kpMessage(m.keyPackage))).toBe(toHex(bytes));
    // The bare KeyPackage codec agrees with the MLSMessage one.
    expect(toHex(encode(encodeKeyPackage, decode(decodeKeyPackage, encode(encodeKeyPackage, lr.keyPackage))))).toBe(toHex(encode(encodeKeyPackage, lr.keyPackage)));
  });

  it('keeps caller-supplied KeyPackage extensions beside the mark', async () => {
    const other = { extensionType: 0xff00, extensionData: utf8Bytes('x') };
    const lr = await keyPackage('bob', { lastResort: true, extensions: [other] });
    expect(lr.keyPackage.extensions.map((e) => e.extensionType)).toEqual([0xff00, LAST_RESORT_EXTENSION]);
    // §10: KeyPackage extensions must be listed in the leaf's capabilities; the default ones list both.
    expect(lr.keyPackage.leafNode.capabilities.extensions).toEqual([0xff00, LAST_RESORT_EXTENSION]);
    expect((await validatePublicKeyPackage(provider, kpBytes(lr.keyPackage))).lastResort).toBe(true);
  });

  it('refuses given capabilities that do not list the last_resort extension (unlisted-key-package-extension)', async () => {
    await expectCode(keyPackage('bob', { lastResort: true, capabilities: caps() }), 'unlisted-key-package-extension', 'usage');
    const ok = await keyPackage('bob', { lastResort: true, capabilities: caps([LAST_RESORT_EXTENSION]) });
    expect(ok.keyPackage.extensions.map((e) => e.extensionType)).toEqual([LAST_RESORT_EXTENSION]);
  });

  it('validates (§10.1) and reports lastResort; a plain one reports false', async () => {
    const lr = await keyPackage('bob', { lastResort: true });
    const plain = await keyPackage('carol');
    const checked = await validatePublicKeyPackage(provider, kpBytes(lr.keyPackage), config.now);
    expect(checked.lastResort).toBe(true);
    expect(checked.credential).toEqual(lr.credential);
    expect(toHex(checked.signatureKey)).toBe(toHex(lr.signatureKey.publicKey));
    expect((await validatePublicKeyPackage(provider, kpBytes(plain.keyPackage), config.now)).lastResort).toBe(false);
  });

  it('the mark is signed: stripping it from, or adding it to, a key package breaks the KeyPackage signature', async () => {
    const lr = await keyPackage('bob', { lastResort: true });
    const stripped: KeyPackage = { ...lr.keyPackage, extensions: [] };
    await expectCode(validatePublicKeyPackage(provider, kpBytes(stripped)), 'invalid-key-package-signature');
    const plain = await keyPackage('carol');
    const marked: KeyPackage = { ...plain.keyPackage, extensions: [{ extensionType: LAST_RESORT_EXTENSION, extensionData: new Uint8Array(0) }] };
    await expectCode(validatePublicKeyPackage(provider, kpBytes(marked)), 'invalid-key-package-signature');
    // Re-signed by its owner, the added mark is accepted: the signature, not the engine, decides.
    const { signature: _s, ...tbs } = marked;
    const resigned: KeyPackage = { ...tbs, signature: await signWithLabel(suite, plain.signatureKey.privateKey, 'KeyPackageTBS', encodeKeyPackageTbs(tbs)) };
    expect((await validatePublicKeyPackage(provider, kpBytes(resigned))).lastResort).toBe(true);
  });

  it('joins two groups with the same init key and private keys, and both work', async () => {
    const bob = await keyPackage('bob', { lastResort: true });
    const [a] = await group(['alice'], { groupId: 'g-one' });
    const [c] = await group(['carol'], { groupId: 'g-two' });
    const toOne = await createCommit(a!, { proposals: [add(bob.keyPackage)] });
    const toTwo = await createCommit(c!, { proposals: [add(bob.keyPackage)] });
    const one = await joinFromWelcome({ provider, welcome: toOne.welcome!, keyPackage: bob.keyPackage, privateKeys: bob.privateKeys, config });
    const two = await joinFromWelcome({ provider, welcome: toTwo.welcome!, keyPackage: bob.keyPackage, privateKeys: bob.privateKeys, config });
    expect(toHex(one.groupContext.groupId)).toBe(toHex(utf8Bytes('g-one')));
    expect(toHex(two.groupContext.groupId)).toBe(toHex(utf8Bytes('g-two')));

    const a1 = mergeCommit(a!, toOne.pending);
    const c1 = mergeCommit(c!, toTwo.pending);
    const fromBobToOne = await encryptApplication(one, utf8Bytes('hi one'));
    const fromBobToTwo = await encryptApplication(two, utf8Bytes('hi two'));
    const r1 = await processMessage(a1, fromBobToOne.message);
    const r2 = await processMessage(c1, fromBobToTwo.message);
    expect(r1.event.type === 'application' && new TextDecoder().decode(r1.event.data)).toBe('hi one');
    expect(r2.event.type === 'application' && new TextDecoder().decode(r2.event.data)).toBe('hi two');
    // A message of one group is not readable in the other: the two memberships are distinct.
    await expect(processMessage(c1, fromBobToOne.message)).rejects.toBeInstanceOf(Error);
  });

  it('re-joins the same group after a removal, with the same key package', async () => {
    const bob = await keyPackage('bob', { lastResort: true });
    const [a] = await group(['alice']);
    const first = await createCommit(a!, { proposals: [add(bob.keyPackage)] });
    const a1 = mergeCommit(a!, first.pending);
    const b1 = await joinFromWelcome({ provider, welcome: first.welcome!, keyPackage: bob.keyPackage, privateKeys: bob.privateKeys, config });

    // While bob's leaf (with the key package's keys) is in the tree, a second Add of it is refused.
    await expectCode(createCommit(a1, { proposals: [add(bob.keyPackage)] }), 'duplicate-signature-key');

    const out = await createCommit(a1, { proposals: [remove(b1.ownLeaf)] });
    const a2 = mergeCommit(a1, out.pending);
    expect((await processMessage(b1, out.commitMessage)).event.type).toBe('removed');

    const again = await createCommit(a2, { proposals: [add(bob.keyPackage)] });
    const a3 = mergeCommit(a2, again.pending);
    const b3 = await joinFromWelcome({ provider, welcome: again.welcome!, keyPackage: bob.keyPackage, privateKeys: bob.privateKeys, config });
    expect(b3.groupContext.epoch).toBe(a3.groupContext.epoch);
    const hello = await encryptApplication(b3, utf8Bytes('back'));
    const got = await processMessage(a3, hello.message);
    expect(got.event.type === 'application' && new TextDecoder().decode(got.event.data)).toBe('back');
  });
});
