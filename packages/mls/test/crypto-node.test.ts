// The Node backend (crypto/node): every suite's primitives against published
// known-answer tests, and its failure behaviour — AEAD tampering is a CryptoError
// 'aead-open-failed', verification of garbage is `false` (never a throw), errors carry
// no key bytes. Known answers are copied from FIPS 180-4 examples ("abc"), RFC 4231
// §4.3, RFC 5869 A.1, RFC 8032 §7.1 TEST 1 and RFC 7748 §6.1, used as test data.
import { describe, expect, it } from 'vitest';
import { CryptoError } from '../src/errors.js';
import { MontgomeryDh, NistDh } from '../src/crypto/node/dh.js';
import { nodeCryptoProvider } from '../src/crypto/node/index.js';
import type { CipherSuiteId } from '../src/crypto/provider.js';
import { ALL_SUITE_IDS, SUITES } from '../src/crypto/suites.js';
import { fromHex, toHex, utf8Bytes } from '../src/util/bytes.js';

const suite = (id: CipherSuiteId) => nodeCryptoProvider.suite(id);

describe('provider', () => {
  it('offers all seven RFC 9420 suites, each named as registered', () => {
    expect([...nodeCryptoProvider.supportedSuites].sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (const id of ALL_SUITE_IDS) expect(suite(id).name).toBe(SUITES[id].name);
    expect(suite(1)).toBe(suite(1));
  });

  it.each([0, 8, 0xf0a0, 1.5, -1])('refuses suite %s with unsupported-cipher-suite', (id) => {
    expect(() => nodeCryptoProvider.suite(id)).toThrow(CryptoError);
    expect(() => nodeCryptoProvider.suite(id)).toThrow(expect.objectContaining({ code: 'unsupported-cipher-suite' }));
  });

  it('randomBytes gives fresh bytes of the asked length', () => {
    const a = suite(1).randomBytes(32);
    const b = suite(1).randomBytes(32);
    expect(a).toBeInstanceOf(Uint8Array);
    expect(a.length).toBe(32);
    expect(toHex(a)).not.toBe(toHex(b));
  });
});

describe('hash, HMAC, HKDF known answers', () => {
  const abc = utf8Bytes('abc');
  it('SHA-256/384/512 of "abc" (FIPS 180-4 examples)', async () => {
    expect(toHex(await suite(1).hash.digest(abc))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(toHex(await suite(7).hash.digest(abc))).toBe(
      'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7',
    );
    expect(toHex(await suite(4).hash.digest(abc))).toBe(
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    );
    expect([suite(1).hash.nh, suite(7).hash.nh, suite(5).hash.nh]).toEqual([32, 48, 64]);
  });

  it('HMAC-SHA-256 (RFC 4231 test case 2)', async () => {
    const mac = await suite(1).hash.mac(utf8Bytes('Jefe'), utf8Bytes('what do ya want for nothing?'));
    expect(toHex(mac)).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('HKDF-SHA-256 extract and a two-block expand (RFC 5869 A.1)', async () => {
    const kdf = suite(1).kdf;
    const prk = await kdf.extract(fromHex('000102030405060708090a0b0c'), fromHex('0b'.repeat(22)));
    expect(toHex(prk)).toBe('077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5');
    const okm = await kdf.expand(prk, fromHex('f0f1f2f3f4f5f6f7f8f9'), 42);
    expect(toHex(okm)).toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
    expect(toHex(await kdf.expand(prk, fromHex('f0f1f2f3f4f5f6f7f8f9'), 16))).toBe(toHex(okm.subarray(0, 16)));
  });
});

describe('AEAD', () => {
  for (const id of [1, 3, 4] as const) {
    const { aead } = suite(id);
    it(`suite ${id} (${SUITES[id].aead === 3 ? 'ChaCha20-Poly1305' : `AES-${aead.nk * 8}-GCM`}): round trip; any flipped bit fails with aead-open-failed`, async () => {
      const key = new Uint8Array(aead.nk).fill(3);
      const nonce = new Uint8Array(aead.nn).fill(4);
      const aad = utf8Bytes('header');
      const pt = utf8Bytes('a hundred bytes or so of application message');
      const ct = await aead.seal(key, nonce, aad, pt);
      expect(ct.length).toBe(pt.length + 16);
      expect(toHex(await aead.open(key, nonce, aad, ct))).toBe(toHex(pt));
      expect(toHex(await aead.open(key, nonce, new Uint8Array(0), await aead.seal(key, nonce, new Uint8Array(0), pt)))).toBe(toHex(pt));

      for (const bit of [0, 8 * 7 + 3, 8 * (ct.length - 1)]) {
        const bad = ct.slice();
        bad[bit >> 3]! ^= 1 << (bit & 7);
        const open = aead.open(key, nonce, aad, bad);
        await expect(open).rejects.toBeInstanceOf(CryptoError);
        await expect(open).rejects.toMatchObject({ code: 'aead-open-failed' });
      }
      const badAad = aad.slice();
      badAad[0]! ^= 0x80;
      await expect(aead.open(key, nonce, badAad, ct)).rejects.toMatchObject({ code: 'aead-open-failed' });
      const badNonce = nonce.slice();
      badNonce[11]! ^= 1;
      await expect(aead.open(key, badNonce, aad, ct)).rejects.toMatchObject({ code: 'aead-open-failed' });
      await expect(aead.open(key, nonce, aad, ct.subarray(0, 15))).rejects.toMatchObject({ code: 'aead-open-failed' });
      await expect(aead.seal(key.subarray(1), nonce, aad, pt)).rejects.toMatchObject({ code: 'invalid-key-length' });
    });
  }
});

describe('DH', () => {
  it('X25519 agrees with RFC 7748 §6.1', async () => {
    const g = new MontgomeryDh('X25519');
    const alice = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bobPub = fromHex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    expect(toHex(await g.publicKeyOf(alice))).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(toHex(await g.dh(alice, bobPub))).toBe('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');
  });

  it('X25519 and X448 refuse a low-order peer with dh-all-zero', async () => {
    for (const [g, n] of [[new MontgomeryDh('X25519'), 32], [new MontgomeryDh('X448'), 56]] as const) {
      const mine = await g.generateKeyPair();
      await expect(g.dh(mine.privateKey, new Uint8Array(n))).rejects.toMatchObject({ code: 'dh-all-zero' });
      await expect(g.ephemeralDh(new Uint8Array(n))).rejects.toMatchObject({ code: 'dh-all-zero' });
    }
  });

  for (const g of [new MontgomeryDh('X25519'), new MontgomeryDh('X448'), new NistDh('P-256'), new NistDh('P-384'), new NistDh('P-521')]) {
    it(`${g.curve}: DH is symmetric; an off-curve or malformed peer key is invalid-public-key`, async () => {
      const a = await g.generateKeyPair();
      const b = await g.generateKeyPair();
      expect(toHex(await g.dh(a.privateKey, b.publicKey))).toBe(toHex(await g.dh(b.privateKey, a.publicKey)));
      const eph = await g.ephemeralDh(b.publicKey);
      expect(toHex(await g.dh(b.privateKey, eph.publicKey))).toBe(toHex(eph.shared));
      await expect(g.dh(a.privateKey, b.publicKey.subarray(1))).rejects.toMatchObject({ code: 'invalid-public-key' });
      if (g instanceof NistDh) {
        const offCurve = b.publicKey.slice();
        offCurve[offCurve.length - 1]! ^= 1;
        await expect(g.dh(a.privateKey, offCurve)).rejects.toMatchObject({ code: 'invalid-public-key' });
        // A scalar at or above the group order is not a private key.
        await expect(g.publicKeyOf(new Uint8Array(a.privateKey.length).fill(0xff))).rejects.toMatchObject({ code: 'invalid-private-key' });
      }
    });
  }
});

describe('signatures', () => {
  it('Ed25519 signs as RFC 8032 §7.1 TEST 1', async () => {
    const s = suite(1).signature;
    const sk = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    const pk = await s.publicKeyOf(sk);
    expect(toHex(pk)).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const sig = await s.sign(sk, new Uint8Array(0));
    expect(toHex(sig)).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    expect(await s.verify(pk, new Uint8Array(0), sig)).toBe(true);
  });

  for (const id of [1, 2, 4, 5, 7] as const) {
    const scheme = SUITES[id].signature;
    it(`suite ${id} (${scheme}): sign/verify; garbage keys and signatures give false, never a throw`, async () => {
      const s = suite(id).signature;
      const kp = await s.generateKeyPair();
      expect(toHex(await s.publicKeyOf(kp.privateKey))).toBe(toHex(kp.publicKey));
      const msg = utf8Bytes('SignContent bytes');
      const sig = await s.sign(kp.privateKey, msg);
      expect(await s.verify(kp.publicKey, msg, sig)).toBe(true);
      if (scheme.startsWith('ecdsa')) {
        // RFC 9420 §5.1.1: DER-encoded Ecdsa-Sig-Value, a SEQUENCE.
        expect(sig[0]).toBe(0x30);
      } else {
        expect(sig.length).toBe(scheme === 'ed25519' ? 64 : 114);
      }

      const other = await s.generateKeyPair();
      const flippedMsg = msg.slice();
      flippedMsg[0]! ^= 1;
      const flippedSig = sig.slice();
      flippedSig[sig.length - 2]! ^= 1;
      const rnd = (n: number) => suite(id).randomBytes(n);
      const cases: [string, Uint8Array, Uint8Array, Uint8Array][] = [
        ['other key', other.publicKey, msg, sig],
        ['flipped message', kp.publicKey, flippedMsg, sig],
        ['flipped signature', kp.publicKey, msg, flippedSig],
        ['empty signature', kp.publicKey, msg, new Uint8Array(0)],
        ['random signature', kp.publicKey, msg, rnd(sig.length)],
        ['truncated signature', kp.publicKey, msg, sig.subarray(0, sig.length - 1)],
        ['DER garbage', kp.publicKey, msg, fromHex('3006020100020100')],
        ['empty key', new Uint8Array(0), msg, sig],
        ['short key', kp.publicKey.subarray(1), msg, sig],
        ['random key', rnd(kp.publicKey.length), msg, sig],
        ['all-zero key', new Uint8Array(kp.publicKey.length), msg, sig],
        ['private key as public key', kp.privateKey, msg, sig],
      ];
      if (scheme.startsWith('ecdsa')) {
        const offCurve = kp.publicKey.slice();
        offCurve[offCurve.length - 1]! ^= 1;
        cases.push(['off-curve point', offCurve, msg, sig]);
        cases.push(['compressed prefix', Uint8Array.from([0x02, ...kp.publicKey.subarray(1)]), msg, sig]);
      }
      for (const [what, pk, m, sg] of cases) {
        await expect(s.verify(pk, m, sg), what).resolves.toBe(false);
      }
      // The good signature still verifies after the failures (no poisoned cache).
      expect(await s.verify(kp.publicKey, msg, sig)).toBe(true);
    });
  }

  it('a bad private key is a CryptoError whose message holds no key bytes', async () => {
    const bad = new Uint8Array(32).fill(0xff); // above the P-256 group order
    const attempt = suite(2).signature.sign(bad, utf8Bytes('x'));
    await expect(attempt).rejects.toMatchObject({ code: 'invalid-private-key' });
    const error = await attempt.catch((e: unknown) => e);
    expect(String(error)).not.toContain('ffffffff');
    expect(JSON.stringify(error)).not.toContain('ffffffff');
    await expect(suite(1).signature.sign(new Uint8Array(31), utf8Bytes('x'))).rejects.toMatchObject({ code: 'invalid-private-key' });
  });
});
