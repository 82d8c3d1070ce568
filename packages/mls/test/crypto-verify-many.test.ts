// The Node backend's batched signature check (signature.verifyMany, on libuv's
// threadpool): the same verdicts as `verify` one by one, in item order, for good and
// bad signatures, altered messages and malformed keys, on every signature scheme, for
// batches below and above the size at which it leaves the calling thread.
import { describe, expect, it } from 'vitest';
import { signWithLabel, verifyWithLabel, verifyWithLabelMany } from '../src/crypto/labeled.js';
import { nodeCryptoProvider } from '../src/crypto/node/index.js';
import type { SignatureCheck } from '../src/crypto/provider.js';
import { ALL_SUITE_IDS } from '../src/crypto/suites.js';

const suites = ALL_SUITE_IDS.map((id) => nodeCryptoProvider.suite(id));

async function mixedBatch(id: number, n: number): Promise<{ items: SignatureCheck[]; expected: boolean[] }> {
  const suite = nodeCryptoProvider.suite(id);
  const items: SignatureCheck[] = [];
  const expected: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const key = await suite.signature.generateKeyPair();
    const message = new Uint8Array(40 + i).fill(i & 0xff);
    const signature = await suite.signature.sign(key.privateKey, message);
    switch (i % 5) {
      case 0:
        items.push({ publicKey: key.publicKey, message, signature });
        expected.push(true);
        break;
      case 1: {
        const forged = signature.slice();
        forged[forged.length - 1]! ^= 1;
        items.push({ publicKey: key.publicKey, message, signature: forged });
        expected.push(false);
        break;
      }
      case 2: {
        const altered = message.slice();
        altered[0]! ^= 0x80;
        items.push({ publicKey: key.publicKey, message: altered, signature });
        expected.push(false);
        break;
      }
      case 3:
        // A key of the wrong length, and one that is not a point (P-curves) or an all-ones string.
        items.push({ publicKey: key.publicKey.subarray(1), message, signature });
        expected.push(false);
        break;
      default:
        items.push({ publicKey: new Uint8Array(key.publicKey.length).fill(0xff), message, signature });
        expected.push(false);
    }
  }
  return { items, expected };
}

describe('signature.verifyMany (Node backend)', () => {
  for (const suite of suites) {
    it(`suite ${suite.id}: same verdicts as verify, in order, small and large batches`, async () => {
      expect('verifyMany' in suite.signature).toBe(true);
      for (const n of [0, 1, 5, 7, 8, 9, 41]) {
        const { items, expected } = await mixedBatch(suite.id, n);
        const one = await Promise.all(items.map((x) => suite.signature.verify(x.publicKey, x.message, x.signature)));
        expect(one).toEqual(expected);
        expect(await suite.signature.verifyMany!(items)).toEqual(expected);
      }
    });
  }

  it('an empty signature or message is a false verdict, never a throw', async () => {
    const suite = nodeCryptoProvider.suite(1);
    const key = await suite.signature.generateKeyPair();
    const good = await suite.signature.sign(key.privateKey, new Uint8Array(0));
    const items = Array.from({ length: 12 }, (_, i) => ({ publicKey: key.publicKey, message: new Uint8Array(0), signature: i === 3 ? new Uint8Array(0) : good }));
    const verdicts = await suite.signature.verifyMany!(items);
    expect(verdicts).toEqual(items.map((_, i) => i !== 3));
  });

  it('verifyWithLabelMany agrees with verifyWithLabel, also without verifyMany', async () => {
    const suite = nodeCryptoProvider.suite(1);
    const s = suite.signature;
    // The fallback path: a backend without verifyMany (methods bound, as the class keeps them on its prototype).
    const withoutBatch = { ...suite, signature: { generateKeyPair: s.generateKeyPair.bind(s), publicKeyOf: s.publicKeyOf.bind(s), sign: s.sign.bind(s), verify: s.verify.bind(s) } };
    const key = await suite.signature.generateKeyPair();
    const other = await suite.signature.generateKeyPair();
    const checks = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const content = new Uint8Array([i, i + 1]);
        const signature = await signWithLabel(suite, key.privateKey, i % 3 === 0 ? 'OtherTBS' : 'LeafNodeTBS', content);
        return { verificationKey: i % 4 === 1 ? other.publicKey : key.publicKey, label: 'LeafNodeTBS', content, signature };
      }),
    );
    const expected = await Promise.all(checks.map((c) => verifyWithLabel(suite, c.verificationKey, c.label, c.content, c.signature)));
    expect(expected).toContain(true);
    expect(expected).toContain(false);
    expect(await verifyWithLabelMany(suite, checks)).toEqual(expected);
    expect(await verifyWithLabelMany(withoutBatch, checks)).toEqual(expected);
  });
});
