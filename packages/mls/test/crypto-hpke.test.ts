// RFC 9180 HPKE (crypto/hpke over the Node backend): the RFC's own test vectors for
// three KEMs, the all-zero DH refusal, and interoperability with @hpke/core on every
// MLS cipher suite.
//
// The vectors below are copied from RFC 9180 Appendix A (A.1.1, A.3.1, A.6.1: base
// mode, first encryption and the exported values), © IETF Trust, used as test data.
import { Aes128Gcm, Aes256Gcm, CipherSuite as LibSuite, DhkemP256HkdfSha256, DhkemP384HkdfSha384, DhkemP521HkdfSha512, DhkemX25519HkdfSha256, DhkemX448HkdfSha512, HkdfSha256, HkdfSha384, HkdfSha512 } from '@hpke/core';
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { describe, expect, it } from 'vitest';
import { CryptoError } from '../src/errors.js';
import { DhKem } from '../src/crypto/hpke/dhkem.js';
import { HpkeBase } from '../src/crypto/hpke/hpke.js';
import type { DhGroup } from '../src/crypto/hpke/primitives.js';
import { nodeCryptoProvider } from '../src/crypto/node/index.js';
import { NodeKdf } from '../src/crypto/node/primitives.js';
import type { CipherSuiteId } from '../src/crypto/provider.js';
import { ALL_SUITE_IDS, KEMS, SUITES } from '../src/crypto/suites.js';
import { fromHex, toHex } from '../src/util/bytes.js';

interface Rfc9180Vector {
  section: string;
  kemId: number;
  kdfId: number;
  aeadId: number;
  info: string;
  ikmE: string;
  pkEm: string;
  skEm: string;
  ikmR: string;
  pkRm: string;
  skRm: string;
  enc: string;
  shared_secret: string;
  seq0: { pt: string; aad: string; ct: string };
  exports: { context: string; length: number; value: string }[];
}

const VECTORS: Rfc9180Vector[] = [
  {
    section: 'A.1.1',
    kemId: 32,
    kdfId: 1,
    aeadId: 1,
    info: '4f6465206f6e2061204772656369616e2055726e',
    ikmE: '7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234',
    pkEm: '37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431',
    skEm: '52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736',
    ikmR: '6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037',
    pkRm: '3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d',
    skRm: '4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8',
    enc: '37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431',
    shared_secret: 'fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc',
    seq0: { pt: '4265617574792069732074727574682c20747275746820626561757479', aad: '436f756e742d30', ct: 'f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a' },
    exports: [
      { context: '', length: 32, value: '3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee' },
      { context: '00', length: 32, value: '2e8f0b54673c7029649d4eb9d5e33bf1872cf76d623ff164ac185da9e88c21a5' },
      { context: '54657374436f6e74657874', length: 32, value: 'e9e43065102c3836401bed8c3c3c75ae46be1639869391d62c61f1ec7af54931' },
    ],
  },
  {
    section: 'A.3.1',
    kemId: 16,
    kdfId: 1,
    aeadId: 1,
    info: '4f6465206f6e2061204772656369616e2055726e',
    ikmE: '4270e54ffd08d79d5928020af4686d8f6b7d35dbe470265f1f5aa22816ce860e',
    pkEm: '04a92719c6195d5085104f469a8b9814d5838ff72b60501e2c4466e5e67b325ac98536d7b61a1af4b78e5b7f951c0900be863c403ce65c9bfcb9382657222d18c4',
    skEm: '4995788ef4b9d6132b249ce59a77281493eb39af373d236a1fe415cb0c2d7beb',
    ikmR: '668b37171f1072f3cf12ea8a236a45df23fc13b82af3609ad1e354f6ef817550',
    pkRm: '04fe8c19ce0905191ebc298a9245792531f26f0cece2460639e8bc39cb7f706a826a779b4cf969b8a0e539c7f62fb3d30ad6aa8f80e30f1d128aafd68a2ce72ea0',
    skRm: 'f3ce7fdae57e1a310d87f1ebbde6f328be0a99cdbcadf4d6589cf29de4b8ffd2',
    enc: '04a92719c6195d5085104f469a8b9814d5838ff72b60501e2c4466e5e67b325ac98536d7b61a1af4b78e5b7f951c0900be863c403ce65c9bfcb9382657222d18c4',
    shared_secret: 'c0d26aeab536609a572b07695d933b589dcf363ff9d93c93adea537aeabb8cb8',
    seq0: { pt: '4265617574792069732074727574682c20747275746820626561757479', aad: '436f756e742d30', ct: '5ad590bb8baa577f8619db35a36311226a896e7342a6d836d8b7bcd2f20b6c7f9076ac232e3ab2523f39513434' },
    exports: [
      { context: '', length: 32, value: '5e9bc3d236e1911d95e65b576a8a86d478fb827e8bdfe77b741b289890490d4d' },
      { context: '00', length: 32, value: '6cff87658931bda83dc857e6353efe4987a201b849658d9b047aab4cf216e796' },
      { context: '54657374436f6e74657874', length: 32, value: 'd8f1ea7942adbba7412c6d431c62d01371ea476b823eb697e1f6e6cae1dab85a' },
    ],
  },
  {
    section: 'A.6.1',
    kemId: 18,
    kdfId: 3,
    aeadId: 2,
    info: '4f6465206f6e2061204772656369616e2055726e',
    ikmE: '7f06ab8215105fc46aceeb2e3dc5028b44364f960426eb0d8e4026c2f8b5d7e7a986688f1591abf5ab753c357a5d6f0440414b4ed4ede71317772ac98d9239f70904',
    pkEm: '040138b385ca16bb0d5fa0c0665fbbd7e69e3ee29f63991d3e9b5fa740aab8900aaeed46ed73a49055758425a0ce36507c54b29cc5b85a5cee6bae0cf1c21f2731ece2013dc3fb7c8d21654bb161b463962ca19e8c654ff24c94dd2898de12051f1ed0692237fb02b2f8d1dc1c73e9b366b529eb436e98a996ee522aef863dd5739d2f29b0',
    skEm: '014784c692da35df6ecde98ee43ac425dbdd0969c0c72b42f2e708ab9d535415a8569bdacfcc0a114c85b8e3f26acf4d68115f8c91a66178cdbd03b7bcc5291e374b',
    ikmR: '2ad954bbe39b7122529f7dde780bff626cd97f850d0784a432784e69d86eccaade43b6c10a8ffdb94bf943c6da479db137914ec835a7e715e36e45e29b587bab3bf1',
    pkRm: '0401b45498c1714e2dce167d3caf162e45e0642afc7ed435df7902ccae0e84ba0f7d373f646b7738bbbdca11ed91bdeae3cdcba3301f2457be452f271fa6837580e661012af49583a62e48d44bed350c7118c0d8dc861c238c72a2bda17f64704f464b57338e7f40b60959480c0e58e6559b190d81663ed816e523b6b6a418f66d2451ec64',
    skRm: '01462680369ae375e4b3791070a7458ed527842f6a98a79ff5e0d4cbde83c27196a3916956655523a6a2556a7af62c5cadabe2ef9da3760bb21e005202f7b2462847',
    enc: '040138b385ca16bb0d5fa0c0665fbbd7e69e3ee29f63991d3e9b5fa740aab8900aaeed46ed73a49055758425a0ce36507c54b29cc5b85a5cee6bae0cf1c21f2731ece2013dc3fb7c8d21654bb161b463962ca19e8c654ff24c94dd2898de12051f1ed0692237fb02b2f8d1dc1c73e9b366b529eb436e98a996ee522aef863dd5739d2f29b0',
    shared_secret: '776ab421302f6eff7d7cb5cb1adaea0cd50872c71c2d63c30c4f1d5e43653336fef33b103c67e7a98add2d3b66e2fda95b5b2a667aa9dac7e59cc1d46d30e818',
    seq0: { pt: '4265617574792069732074727574682c20747275746820626561757479', aad: '436f756e742d30', ct: '170f8beddfe949b75ef9c387e201baf4132fa7374593dfafa90768788b7b2b200aafcc6d80ea4c795a7c5b841a' },
    exports: [
      { context: '', length: 32, value: '05e2e5bd9f0c30832b80a279ff211cc65eceb0d97001524085d609ead60d0412' },
      { context: '00', length: 32, value: 'fca69744bb537f5b7a1596dbf34eaa8d84bf2e3ee7f1a155d41bd3624aa92b63' },
      { context: '54657374436f6e74657874', length: 32, value: 'f389beaac6fcf6c0d9376e20f97e364f0609a88f1bc76d7328e9104df8477013' },
    ],
  },
];

/** The MLS suite whose HPKE is the vector's (KEM, KDF, AEAD). */
function suiteFor(v: Rfc9180Vector): CipherSuiteId {
  const id = ALL_SUITE_IDS.find((s) => {
    const d = SUITES[s];
    return d.kem === v.kemId && d.kdf === v.kdfId && d.aead === v.aeadId;
  });
  if (id === undefined) throw new Error(`no MLS suite for ${v.section}`);
  return id;
}

function hpkeOf(id: CipherSuiteId): HpkeBase {
  const hpke = nodeCryptoProvider.suite(id).hpke;
  if (!(hpke instanceof HpkeBase)) throw new Error('the node backend is expected to use crypto/hpke');
  return hpke;
}

describe('RFC 9180 Appendix A vectors (base mode)', () => {
  for (const v of VECTORS) {
    describe(`${v.section} (suite ${suiteFor(v)})`, () => {
      const hpke = hpkeOf(suiteFor(v));

      it('DeriveKeyPair gives the vector keys', async () => {
        const e = await hpke.deriveKeyPair(fromHex(v.ikmE));
        expect(toHex(e.privateKey)).toBe(v.skEm);
        expect(toHex(e.publicKey)).toBe(v.pkEm);
        const r = await hpke.deriveKeyPair(fromHex(v.ikmR));
        expect(toHex(r.privateKey)).toBe(v.skRm);
        expect(toHex(r.publicKey)).toBe(v.pkRm);
      });

      it('Encap with skE gives enc and shared_secret; Decap agrees', async () => {
        const encap = await hpke.kem.encapWith(fromHex(v.skEm), fromHex(v.pkRm));
        expect(toHex(encap.enc)).toBe(v.enc);
        expect(toHex(encap.sharedSecret)).toBe(v.shared_secret);
        expect(toHex(await hpke.kem.decap(fromHex(v.enc), fromHex(v.skRm)))).toBe(v.shared_secret);
      });

      it('seals the first message to the vector ciphertext, and opens it', async () => {
        const encap = await hpke.kem.encapWith(fromHex(v.skEm), fromHex(v.pkRm));
        const sealed = await hpke.sealWith(encap, fromHex(v.info), fromHex(v.seq0.aad), fromHex(v.seq0.pt));
        expect(toHex(sealed.ciphertext)).toBe(v.seq0.ct);
        const opened = await hpke.open(fromHex(v.enc), fromHex(v.skRm), fromHex(v.info), fromHex(v.seq0.aad), fromHex(v.seq0.ct));
        expect(toHex(opened)).toBe(v.seq0.pt);
      });

      it('exports the vector values on both sides', async () => {
        for (const x of v.exports) {
          expect(toHex(await hpke.exportFrom(fromHex(v.shared_secret), fromHex(v.info), fromHex(x.context), x.length))).toBe(x.value);
          expect(toHex(await hpke.exportReceiver(fromHex(v.enc), fromHex(v.skRm), fromHex(v.info), fromHex(x.context), x.length))).toBe(x.value);
        }
      });
    });
  }
});

describe('all-zero DH output is refused (RFC 9180 §7.1.4, RFC 7748 §6.1)', () => {
  // Low-order points: u = 0 and u = 1 on both curves, and a point of order 8 on Curve25519.
  const lowOrder: [CipherSuiteId, string, Uint8Array][] = [
    [1, 'X25519 u=0', new Uint8Array(32)],
    [1, 'X25519 u=1', Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0))],
    [1, 'X25519 order 8', fromHex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800')],
    [4, 'X448 u=0', new Uint8Array(56)],
    [4, 'X448 u=1', Uint8Array.from({ length: 56 }, (_, i) => (i === 0 ? 1 : 0))],
  ];
  for (const [id, name, point] of lowOrder) {
    it(`${name}: seal to it and open from it both fail with a CryptoError`, async () => {
      const suite = nodeCryptoProvider.suite(id);
      const seal = suite.hpke.seal(point, new Uint8Array(0), new Uint8Array(0), new Uint8Array(8));
      await expect(seal).rejects.toBeInstanceOf(CryptoError);
      await expect(seal).rejects.toMatchObject({ code: 'dh-all-zero' });
      const recipient = await suite.hpke.generateKeyPair();
      const open = suite.hpke.open(point, recipient.privateKey, new Uint8Array(0), new Uint8Array(0), new Uint8Array(24));
      await expect(open).rejects.toMatchObject({ code: 'hpke-open-failed', cause: { code: 'dh-all-zero' } });
    });
  }

  it('the generic DHKEM refuses zeros even from a backend that returns them', async () => {
    const desc = KEMS[0x0020];
    const zeros: DhGroup = {
      curve: 'X25519',
      dh: async () => new Uint8Array(32),
      ephemeralDh: async () => ({ publicKey: new Uint8Array(32).fill(9), shared: new Uint8Array(32) }),
      generateKeyPair: async () => ({ privateKey: new Uint8Array(32), publicKey: new Uint8Array(32) }),
      publicKeyOf: async () => new Uint8Array(32).fill(9),
    };
    const kem = new DhKem(desc, zeros, new NodeKdf(0x0001, 'SHA-256'));
    await expect(kem.encap(new Uint8Array(32).fill(5))).rejects.toMatchObject({ code: 'dh-all-zero' });
    await expect(kem.decap(new Uint8Array(32).fill(5), new Uint8Array(32).fill(1))).rejects.toMatchObject({ code: 'dh-all-zero' });
  });
});

describe('HPKE on every suite', () => {
  for (const id of ALL_SUITE_IDS) {
    const suite = nodeCryptoProvider.suite(id);
    it(`suite ${id}: seal/open and exporter round trip; tampering and wrong keys refused`, async () => {
      const r = await suite.hpke.generateKeyPair();
      expect(r.publicKey.length).toBe(suite.hpke.nPk);
      expect(r.privateKey.length).toBe(suite.hpke.nSk);
      expect(toHex(await suite.hpke.publicKeyOf(r.privateKey))).toBe(toHex(r.publicKey));
      const info = fromHex('0102');
      const aad = fromHex('aa');
      const pt = fromHex('48656c6c6f');
      const { kemOutput, ciphertext } = await suite.hpke.seal(r.publicKey, info, aad, pt);
      expect(kemOutput.length).toBe(suite.hpke.nEnc);
      expect(toHex(await suite.hpke.open(kemOutput, r.privateKey, info, aad, ciphertext))).toBe(toHex(pt));

      const flipped = ciphertext.slice();
      flipped[0]! ^= 1;
      await expect(suite.hpke.open(kemOutput, r.privateKey, info, aad, flipped)).rejects.toMatchObject({ code: 'hpke-open-failed' });
      await expect(suite.hpke.open(kemOutput, r.privateKey, fromHex('0103'), aad, ciphertext)).rejects.toMatchObject({ code: 'hpke-open-failed' });
      const other = await suite.hpke.generateKeyPair();
      await expect(suite.hpke.open(kemOutput, other.privateKey, info, aad, ciphertext)).rejects.toMatchObject({ code: 'hpke-open-failed' });
      await expect(suite.hpke.open(kemOutput.subarray(1), r.privateKey, info, aad, ciphertext)).rejects.toMatchObject({ code: 'hpke-open-failed' });

      const exported = await suite.hpke.exportSender(r.publicKey, info, fromHex('cc'), 42);
      expect(exported.secret.length).toBe(42);
      expect(toHex(await suite.hpke.exportReceiver(exported.kemOutput, r.privateKey, info, fromHex('cc'), 42))).toBe(toHex(exported.secret));
      expect(toHex(await suite.hpke.exportReceiver(exported.kemOutput, r.privateKey, info, fromHex('cd'), 42))).not.toBe(toHex(exported.secret));
    });

    it(`suite ${id}: DeriveKeyPair is deterministic and gives a usable key`, async () => {
      const ikm = new Uint8Array(32).fill(id);
      const a = await suite.hpke.deriveKeyPair(ikm);
      const b = await suite.hpke.deriveKeyPair(ikm.slice());
      expect(toHex(a.privateKey)).toBe(toHex(b.privateKey));
      expect(toHex(a.publicKey)).toBe(toHex(b.publicKey));
      expect(toHex(await suite.hpke.publicKeyOf(a.privateKey))).toBe(toHex(a.publicKey));
      const c = await suite.hpke.deriveKeyPair(new Uint8Array(32).fill(id + 100));
      expect(toHex(c.privateKey)).not.toBe(toHex(a.privateKey));
    });
  }
});

describe('interoperability with @hpke/core', () => {
  const libSuites: Record<CipherSuiteId, () => LibSuite> = {
    1: () => new LibSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() }),
    2: () => new LibSuite({ kem: new DhkemP256HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() }),
    3: () => new LibSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() }),
    4: () => new LibSuite({ kem: new DhkemX448HkdfSha512(), kdf: new HkdfSha512(), aead: new Aes256Gcm() }),
    5: () => new LibSuite({ kem: new DhkemP521HkdfSha512(), kdf: new HkdfSha512(), aead: new Aes256Gcm() }),
    6: () => new LibSuite({ kem: new DhkemX448HkdfSha512(), kdf: new HkdfSha512(), aead: new Chacha20Poly1305() }),
    7: () => new LibSuite({ kem: new DhkemP384HkdfSha384(), kdf: new HkdfSha384(), aead: new Aes256Gcm() }),
  };
  const buf = (b: Uint8Array): ArrayBuffer => b.slice().buffer;

  for (const id of ALL_SUITE_IDS) {
    it(`suite ${id}: each opens what the other sealed, and exports agree`, async () => {
      const ours = nodeCryptoProvider.suite(id).hpke;
      const lib = libSuites[id]();
      const r = await ours.generateKeyPair();
      const libPk = await lib.kem.deserializePublicKey(buf(r.publicKey));
      const libSk = await lib.kem.deserializePrivateKey(buf(r.privateKey));
      const info = fromHex('696e666f');
      const aad = fromHex('616164');
      const pt = fromHex('0011223344556677');

      const a = await ours.seal(r.publicKey, info, aad, pt);
      const openedByLib = await lib.open({ recipientKey: libSk, enc: buf(a.kemOutput), info }, a.ciphertext, aad);
      expect(toHex(new Uint8Array(openedByLib))).toBe(toHex(pt));

      const b = await lib.seal({ recipientPublicKey: libPk, info }, pt, aad);
      expect(toHex(await ours.open(new Uint8Array(b.enc), r.privateKey, info, aad, new Uint8Array(b.ct)))).toBe(toHex(pt));

      const sender = await lib.createSenderContext({ recipientPublicKey: libPk, info });
      const libSecret = new Uint8Array(await sender.export(fromHex('657870'), 32));
      expect(toHex(await ours.exportReceiver(new Uint8Array(sender.enc), r.privateKey, info, fromHex('657870'), 32))).toBe(toHex(libSecret));

      const derived = await ours.deriveKeyPair(fromHex('0101010101010101010101010101010101010101010101010101010101010101'));
      const libDerived = await lib.kem.deriveKeyPair(buf(fromHex('0101010101010101010101010101010101010101010101010101010101010101')));
      expect(toHex(derived.publicKey)).toBe(toHex(new Uint8Array(await lib.kem.serializePublicKey(libDerived.publicKey))));
    });
  }
});
