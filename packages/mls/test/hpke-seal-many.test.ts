// HPKE sealMany (crypto/hpke, one info hash for many recipients) and the labelled
// encryptWithLabelMany over it: each ciphertext opens for its own recipient only, in
// recipient order, under the shared info and aad; the fallback without sealMany gives
// ciphertexts that open the same way.
import { describe, expect, it } from 'vitest';
import { decryptWithLabel, encryptWithLabelMany } from '../src/crypto/labeled.js';
import { nodeCryptoProvider } from '../src/crypto/node/index.js';
import type { CipherSuite } from '../src/crypto/provider.js';
import { CryptoError } from '../src/errors.js';

const suite = nodeCryptoProvider.suite(1);

async function recipients(n: number) {
  const out = [];
  for (let i = 0; i < n; i++) out.push({ pair: await suite.hpke.generateKeyPair(), plaintext: new Uint8Array([i, i + 1, i + 2]) });
  return out;
}

describe('HpkeBase.sealMany', () => {
  it('seals to each recipient in order; each opens under the shared info and aad only', async () => {
    const rs = await recipients(5);
    const info = new Uint8Array(5000).map((_, i) => i & 0xff);
    const aad = new Uint8Array([9, 9]);
    const sealed = await suite.hpke.sealMany!(info, aad, rs.map((r) => ({ publicKey: r.pair.publicKey, plaintext: r.plaintext })));
    expect(sealed).toHaveLength(5);
    for (let i = 0; i < rs.length; i++) {
      const opened = await suite.hpke.open(sealed[i]!.kemOutput, rs[i]!.pair.privateKey, info, aad, sealed[i]!.ciphertext);
      expect([...opened]).toEqual([...rs[i]!.plaintext]);
      // Another recipient's key, another info or another aad does not open it.
      await expect(suite.hpke.open(sealed[i]!.kemOutput, rs[(i + 1) % 5]!.pair.privateKey, info, aad, sealed[i]!.ciphertext)).rejects.toBeInstanceOf(CryptoError);
      await expect(suite.hpke.open(sealed[i]!.kemOutput, rs[i]!.pair.privateKey, info.slice(1), aad, sealed[i]!.ciphertext)).rejects.toBeInstanceOf(CryptoError);
      await expect(suite.hpke.open(sealed[i]!.kemOutput, rs[i]!.pair.privateKey, info, new Uint8Array(0), sealed[i]!.ciphertext)).rejects.toBeInstanceOf(CryptoError);
    }
    // Fresh encapsulations: no two recipients share a KEM output.
    expect(new Set(sealed.map((s) => Buffer.from(s.kemOutput).toString('hex'))).size).toBe(5);
  });

  it('gives an empty list for no recipients', async () => {
    expect(await suite.hpke.sealMany!(new Uint8Array(1), new Uint8Array(0), [])).toEqual([]);
  });
});

describe('encryptWithLabelMany', () => {
  const withoutSealMany: CipherSuite = { ...suite, hpke: { ...suite.hpke, seal: suite.hpke.seal.bind(suite.hpke), open: suite.hpke.open.bind(suite.hpke), sealMany: undefined } };

  for (const [name, s] of [['with sealMany', suite], ['without sealMany (fallback)', withoutSealMany]] as const) {
    it(`${name}: each ciphertext decrypts with its recipient's key, label and context`, async () => {
      const rs = await recipients(3);
      const context = new Uint8Array(300).fill(7);
      const sealed = await encryptWithLabelMany(s, 'Welcome', context, rs.map((r) => ({ publicKey: r.pair.publicKey, plaintext: r.plaintext })));
      for (let i = 0; i < rs.length; i++) {
        const pt = await decryptWithLabel(suite, rs[i]!.pair.privateKey, 'Welcome', context, sealed[i]!.kemOutput, sealed[i]!.ciphertext);
        expect([...pt]).toEqual([...rs[i]!.plaintext]);
        await expect(decryptWithLabel(suite, rs[i]!.pair.privateKey, 'UpdatePathNode', context, sealed[i]!.kemOutput, sealed[i]!.ciphertext)).rejects.toBeInstanceOf(CryptoError);
      }
    });
  }
});
