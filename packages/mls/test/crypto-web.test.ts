// The WebCrypto backend (src/crypto/web), run in Node on Node's globalThis.crypto: the
// crypto-only vector kinds, then each primitive against an independent implementation
// (node:crypto, @hpke/core), the strict ECDSA DER, key caching, and refusals.

import {
  createCipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  hkdfSync,
  randomBytes as nodeRandomBytes,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { Aes128Gcm, CipherSuite as HpkeSuite, DhkemP256HkdfSha256, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CryptoError, MlsError, UsageError } from '../src/errors.js';
import { deriveSecret } from '../src/crypto/labeled.js';
import type { CipherSuite } from '../src/crypto/provider.js';
import { derToP1363, p1363ToDer } from '../src/crypto/web/ecdsa-der.js';
import { webCryptoProvider } from '../src/crypto/web/index.js';
import { pkcs8 } from '../src/crypto/web/keys.js';
import { concat, fromHex, toHex, utf8Bytes } from '../src/util/bytes.js';
import { presentKinds } from './browser/present.js';
import { BROWSER_KINDS } from './browser/report.js';
import { loadKind, loadVectorFile, runCase, vectorsDir } from './kinds/harness.js';

const provider = webCryptoProvider();
const OFFERED = [1, 2, 3, 5, 7] as const;
const msg = utf8Bytes('the quick brown fox');

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

function b64u(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** node:crypto key objects from raw MLS signature keys, for cross-checks. */
function nodeKeys(id: number, priv: Uint8Array, pub: Uint8Array) {
  if (id === 1 || id === 3) {
    return {
      privateKey: createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64u(priv), x: b64u(pub) }, format: 'jwk' }),
      publicKey: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64u(pub) }, format: 'jwk' }),
      hash: null,
    };
  }
  const crv = id === 2 ? 'P-256' : id === 7 ? 'P-384' : 'P-521';
  const hash = id === 2 ? 'sha256' : id === 7 ? 'sha384' : 'sha512';
  const n = (pub.length - 1) / 2;
  const jwk = { kty: 'EC', crv, x: b64u(pub.subarray(1, 1 + n)), y: b64u(pub.subarray(1 + n)) };
  return {
    privateKey: createPrivateKey({ key: { ...jwk, d: b64u(priv) }, format: 'jwk' }),
    publicKey: createPublicKey({ key: jwk, format: 'jwk' }),
    hash,
  };
}

describe('vectors against the WebCrypto backend (in Node)', () => {
  const kinds = presentKinds(BROWSER_KINDS);
  it('include crypto-basics', () => {
    expect(kinds).toContain('crypto-basics');
  });
  for (const name of kinds) {
    const cases = loadVectorFile(`${vectorsDir}${name}.json`);
    cases.forEach((testCase, index) => {
      it(`${name} case ${index}`, async (ctx) => {
        const outcome = await runCase(await loadKind(name), testCase, provider);
        if (outcome.status === 'skipped') ctx.skip(outcome.reason);
      });
    });
  }
});

describe('suites', () => {
  it('offers 1, 2, 3, 5, 7 and refuses the X448/Ed448 suites with a typed error', async () => {
    expect([...provider.supportedSuites]).toEqual([...OFFERED]);
    for (const id of [0, 4, 6, 8]) {
      expect(() => provider.suite(id)).toThrow(expect.objectContaining({ code: 'unsupported-cipher-suite' }));
    }
    const suite4 = loadVectorFile<{ cipher_suite: number }>(`${vectorsDir}crypto-basics.json`).find((c) => c.cipher_suite === 4);
    expect(await runCase(await loadKind('crypto-basics'), suite4, provider)).toEqual({
      status: 'skipped',
      reason: 'cipher suite 4 is not offered by the webcrypto backend',
    });
  });

  it('builds each suite once', () => {
    expect(provider.suite(1)).toBe(provider.suite(1));
  });
});

describe.each(OFFERED.map((id) => [id]))('suite %i', (id) => {
  const suite: CipherSuite = provider.suite(id);
  const hashName = suite.hash.nh === 32 ? 'sha256' : suite.hash.nh === 48 ? 'sha384' : 'sha512';

  it('hash and HMAC match node:crypto (empty and long keys too)', async () => {
    for (const len of [0, 1, 64, 200]) {
      const data = nodeRandomBytes(len);
      expect(toHex(await suite.hash.digest(data))).toBe(createHash(hashName).update(data).digest('hex'));
      const key = nodeRandomBytes(len);
      expect(toHex(await suite.hash.mac(key, data))).toBe(createHmac(hashName, key).update(data).digest('hex'));
    }
  });

  it('HKDF Extract then Expand equals node:crypto HKDF, at every block boundary', async () => {
    for (const [saltLen, length] of [[0, 1], [16, suite.kdf.nh], [0, suite.kdf.nh + 1], [200, 3 * suite.kdf.nh + 5], [32, 255 * suite.kdf.nh]] as const) {
      const [salt, ikm, info] = [nodeRandomBytes(saltLen), nodeRandomBytes(40), nodeRandomBytes(30)];
      const prk = await suite.kdf.extract(salt, ikm);
      expect(prk.length).toBe(suite.kdf.nh);
      const okm = await suite.kdf.expand(prk, info, length);
      expect(toHex(okm)).toBe(Buffer.from(hkdfSync(hashName, ikm, salt, info, length)).toString('hex'));
    }
    expect(await rejection(suite.kdf.expand(new Uint8Array(suite.kdf.nh), new Uint8Array(0), 255 * suite.kdf.nh + 1))).toBeInstanceOf(UsageError);
  });

  it('signs and verifies; node:crypto agrees both ways; bad input is false, never a throw', async () => {
    const { privateKey, publicKey } = await suite.signature.generateKeyPair();
    expect(toHex(await suite.signature.publicKeyOf(privateKey))).toBe(toHex(publicKey));
    const sig = await suite.signature.sign(privateKey, msg);
    expect(await suite.signature.verify(publicKey, msg, sig)).toBe(true);

    const node = nodeKeys(id, privateKey, publicKey);
    const dsa = node.hash === null ? {} : { dsaEncoding: 'der' as const };
    expect(nodeVerify(node.hash, msg, { key: node.publicKey, ...dsa }, sig)).toBe(true);
    expect(await suite.signature.verify(publicKey, msg, nodeSign(node.hash, msg, { key: node.privateKey, ...dsa }))).toBe(true);

    const other = await suite.signature.generateKeyPair();
    expect(await suite.signature.verify(publicKey, utf8Bytes('another message'), sig)).toBe(false);
    expect(await suite.signature.verify(other.publicKey, msg, sig)).toBe(false);
    expect(await suite.signature.verify(publicKey, msg, sig.subarray(0, sig.length - 1))).toBe(false);
    expect(await suite.signature.verify(publicKey, msg, new Uint8Array(0))).toBe(false);
    expect(await suite.signature.verify(publicKey.subarray(1), msg, sig)).toBe(false);
    const offCurve = publicKey.slice();
    offCurve[offCurve.length - 1]! ^= 1;
    expect(await suite.signature.verify(offCurve, msg, sig)).toBe(false);
  });

  it('refuses a private key of the wrong length without printing it', async () => {
    const bad = fromHex('00112233445566778899aabbccddeeff');
    const error = await rejection(suite.signature.sign(bad, msg));
    expect(error).toBeInstanceOf(CryptoError);
    expect((error as CryptoError).code).toBe('invalid-private-key');
    expect(String(error)).not.toContain(toHex(bad));
  });

  it('AEAD matches node:crypto, and a changed byte does not open', async () => {
    const [key, nonce, aad, pt] = [nodeRandomBytes(suite.aead.nk), nodeRandomBytes(suite.aead.nn), nodeRandomBytes(13), nodeRandomBytes(100)];
    const ct = await suite.aead.seal(key, nonce, aad, pt);
    const algorithm = id === 3 ? 'chacha20-poly1305' : suite.aead.nk === 16 ? 'aes-128-gcm' : 'aes-256-gcm';
    const cipher = createCipheriv(algorithm as 'aes-128-gcm', key, nonce, { authTagLength: 16 });
    cipher.setAAD(aad);
    expect(toHex(ct)).toBe(toHex(concat(cipher.update(pt), cipher.final(), cipher.getAuthTag())));
    expect(toHex(await suite.aead.open(key, nonce, aad, ct))).toBe(toHex(pt));
    for (const [k, n, a, c] of [
      [key, nonce, aad.subarray(1), ct],
      [key, nonce.map((b, i) => (i === 0 ? b ^ 1 : b)), aad, ct],
      [key, nonce, aad, ct.map((b, i) => (i === 5 ? b ^ 1 : b))],
      [key, nonce, aad, ct.subarray(0, 10)],
    ] as const) {
      expect(await rejection(suite.aead.open(k, n, a, c))).toMatchObject({ code: 'aead-open-failed' });
    }
  });

  it('HPKE seals and opens, exports agree, and a wrong key does not open', async () => {
    const { privateKey, publicKey } = await suite.hpke.generateKeyPair();
    expect(toHex(await suite.hpke.publicKeyOf(privateKey))).toBe(toHex(publicKey));
    const info = utf8Bytes('info');
    const aad = utf8Bytes('aad');
    const { kemOutput, ciphertext } = await suite.hpke.seal(publicKey, info, aad, msg);
    expect(kemOutput).toHaveLength(suite.hpke.nEnc);
    expect(toHex(await suite.hpke.open(kemOutput, privateKey, info, aad, ciphertext))).toBe(toHex(msg));
    const other = await suite.hpke.generateKeyPair();
    expect(await rejection(suite.hpke.open(kemOutput, other.privateKey, info, aad, ciphertext))).toMatchObject({ code: 'hpke-open-failed' });
    expect(await rejection(suite.hpke.open(kemOutput, privateKey, utf8Bytes('other info'), aad, ciphertext))).toMatchObject({ code: 'hpke-open-failed' });

    const sent = await suite.hpke.exportSender(publicKey, info, utf8Bytes('ctx'), 42);
    expect(toHex(await suite.hpke.exportReceiver(sent.kemOutput, privateKey, info, utf8Bytes('ctx'), 42))).toBe(toHex(sent.secret));
  });
});

describe('HPKE interoperates with @hpke/core', () => {
  const libraries = {
    1: () => new HpkeSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() }),
    2: () => new HpkeSuite({ kem: new DhkemP256HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() }),
    3: () => new HpkeSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() }),
  } as const;
  const ab = (b: Uint8Array): ArrayBuffer => b.slice().buffer;

  it.each([1, 2, 3] as const)('suite %i: both directions, and DeriveKeyPair', async (id) => {
    const ours = provider.suite(id).hpke;
    const lib = libraries[id]();
    const info = utf8Bytes('hpke info');
    const aad = utf8Bytes('hpke aad');

    const ikm = nodeRandomBytes(32);
    const derived = await ours.deriveKeyPair(ikm);
    const theirs = await lib.kem.deriveKeyPair(ab(ikm));
    expect(toHex(new Uint8Array(await lib.kem.serializePrivateKey(theirs.privateKey)))).toBe(toHex(derived.privateKey));
    expect(toHex(new Uint8Array(await lib.kem.serializePublicKey(theirs.publicKey)))).toBe(toHex(derived.publicKey));

    const sealed = await ours.seal(derived.publicKey, info, aad, msg);
    const opened = await lib.open({ recipientKey: theirs, enc: ab(sealed.kemOutput), info: ab(info) }, ab(sealed.ciphertext), ab(aad));
    expect(toHex(new Uint8Array(opened))).toBe(toHex(msg));

    const libSealed = await lib.seal({ recipientPublicKey: theirs.publicKey, info: ab(info) }, ab(msg), ab(aad));
    const ourOpen = await ours.open(new Uint8Array(libSealed.enc), derived.privateKey, info, aad, new Uint8Array(libSealed.ct));
    expect(toHex(ourOpen)).toBe(toHex(msg));
  });
});

describe('X25519', () => {
  // The all-zero point and the point of order 2 (u = 1) give the all-zero shared secret.
  const lowOrder = [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31))];

  it.each([1, 3])('suite %i refuses a low-order peer key (all-zero DH output)', async (id) => {
    const suite = provider.suite(id);
    const { privateKey } = await suite.hpke.generateKeyPair();
    for (const bad of lowOrder) {
      const sealError = await rejection(suite.hpke.seal(bad, new Uint8Array(0), new Uint8Array(0), msg));
      expect(sealError).toBeInstanceOf(CryptoError);
      expect(sealError).toMatchObject({ code: 'dh-all-zero' });
      const openError = await rejection(suite.hpke.open(bad, privateKey, new Uint8Array(0), new Uint8Array(0), new Uint8Array(32)));
      expect(openError).toMatchObject({ code: 'hpke-open-failed' });
      expect((openError as Error).cause).toMatchObject({ code: 'dh-all-zero' });
    }
  });
});

describe('ECDSA signature encoding (strict DER)', () => {
  it('round-trips r||s through DER for any values', () => {
    for (const n of [32, 48, 66]) {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 2 * n, maxLength: 2 * n }), (raw) => {
          // r and s are at least 1 in a signature
          raw[n - 1]! |= 1;
          raw[2 * n - 1]! |= 1;
          const der = p1363ToDer(raw, n);
          expect(toHex(derToP1363(der, n)!)).toBe(toHex(raw));
        }),
        { numRuns: 200 },
      );
    }
  });

  it('accepts only DER, and verify says false for the BER forms', async () => {
    const suite = provider.suite(2);
    const { privateKey, publicKey } = await suite.signature.generateKeyPair();
    let der = await suite.signature.sign(privateKey, msg);
    // Find a signature whose r has its high bit set, so it carries a 0x00 pad byte.
    while (der[3] !== 33) der = await suite.signature.sign(privateKey, msg);
    expect(await suite.signature.verify(publicKey, msg, der)).toBe(true);
    const body = der.subarray(2);
    const r = body.subarray(2, 2 + 33);
    const s = body.subarray(2 + 33 + 2);
    const seq = (content: Uint8Array): Uint8Array => concat(Uint8Array.of(0x30, content.length), content);
    const int = (v: Uint8Array): Uint8Array => concat(Uint8Array.of(0x02, v.length), v);
    const variants: Record<string, Uint8Array> = {
      'long-form length': concat(Uint8Array.of(0x30, 0x81, body.length), body),
      'extra zero padding': seq(concat(int(concat(Uint8Array.of(0), r)), int(s))),
      'negative r (pad removed)': seq(concat(int(r.subarray(1)), int(s))),
      'trailing byte': concat(der, Uint8Array.of(0)),
      'r = 0': seq(concat(int(Uint8Array.of(0)), int(s))),
      'wrong tag': concat(Uint8Array.of(0x31), der.subarray(1)),
      'raw r||s': derToP1363(der, 32)!,
    };
    for (const [what, bytes] of Object.entries(variants)) {
      expect(derToP1363(bytes, 32), what).toBeUndefined();
      expect(await suite.signature.verify(publicKey, msg, bytes), what).toBe(false);
    }
  });
});

describe('key caching', () => {
  function countingSubtle() {
    const calls: string[] = [];
    const real = globalThis.crypto.subtle;
    const subtle = new Proxy(real, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (property === 'importKey') calls.push(`importKey:${String(args[0])}`);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    return { subtle, imports: (format: string) => calls.filter((c) => c === `importKey:${format}`).length };
  }

  it('imports a signature key once, even when its bytes arrive in fresh buffers', async () => {
    const { subtle, imports } = countingSubtle();
    const suite = webCryptoProvider(subtle).suite(1);
    const { privateKey, publicKey } = await provider.suite(1).signature.generateKeyPair();
    for (let i = 0; i < 3; i++) {
      const sig = await suite.signature.sign(privateKey.slice(), msg);
      expect(await suite.signature.verify(publicKey.slice(), msg, sig)).toBe(true);
    }
    expect(imports('pkcs8')).toBe(1);
    expect(imports('raw')).toBe(1);
  });

  it('re-imports a secret whose buffer changed in place, and gets the right answer', async () => {
    const { subtle, imports } = countingSubtle();
    const suite = webCryptoProvider(subtle).suite(1);
    const secret = nodeRandomBytes(32);
    const first = await deriveSecret(suite, secret, 'test');
    expect(toHex(await deriveSecret(suite, secret, 'test'))).toBe(toHex(first));
    expect(imports('raw')).toBe(1);
    secret[0]! ^= 0xff;
    const second = await deriveSecret(suite, secret, 'test');
    expect(imports('raw')).toBe(2);
    expect(toHex(second)).not.toBe(toHex(first));
    expect(toHex(second)).toBe(toHex(await deriveSecret(webCryptoProvider().suite(1), new Uint8Array(secret), 'test')));
  });
});

describe('building blocks', () => {
  it('wraps private keys in minimal DER (Chromium refuses BER lengths)', () => {
    for (const [curve, n] of [['Ed25519', 32], ['X25519', 32], ['P-256', 32], ['P-384', 48], ['P-521', 66]] as const) {
      const der = pkcs8(curve, new Uint8Array(n));
      expect(der[0]).toBe(0x30);
      expect(der[1], curve).toBe(der.length - 2); // short-form length: all these fit in 127 bytes
    }
  });

  it('gives random bytes beyond the 64 KiB getRandomValues limit', () => {
    const r = provider.suite(1).randomBytes(70_000);
    expect(r).toHaveLength(70_000);
    expect(r.subarray(65_536).some((b) => b !== 0)).toBe(true);
  });

  it('fails with a typed error when there is no WebCrypto', () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
    Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true });
    try {
      expect(() => webCryptoProvider()).toThrow(MlsError);
    } finally {
      Object.defineProperty(globalThis, 'crypto', saved!);
    }
  });
});
