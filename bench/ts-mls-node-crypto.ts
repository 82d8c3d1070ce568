// A node:crypto CryptoProvider for ts-mls, suite 1 only (DHKEM-X25519 / HKDF-SHA256 /
// AES-128-GCM / Ed25519), so the benchmark measures the peer at its best rather than
// through its WebCrypto + @hpke/core default. Written for the bench from RFC 9180 (HPKE
// base mode, single-shot seal/open and the exporter) and the ts-mls typings; it is not
// shipped and not used by tests. Imported keys are cached per raw value (the peer would
// otherwise re-import a KeyObject for every signature and verification).

import { createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman, randomBytes, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import type { Ciphersuite, CiphersuiteImpl, CryptoProvider, PrivateKey, PublicKey } from 'ts-mls';


const u8 = (b: Buffer | ArrayBuffer): Uint8Array => (b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
const cat = (...xs: readonly Uint8Array[]): Uint8Array => u8(Buffer.concat(xs));
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const i2osp2 = (n: number): Uint8Array => new Uint8Array([n >> 8, n & 0xff]);

/** Bounded cache of imported keys, by raw value. */
function keyCache(make: (raw: Uint8Array) => KeyObject): (raw: Uint8Array) => KeyObject {
  const m = new Map<string, KeyObject>();
  return (raw) => {
    const k = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
    let v = m.get(k);
    if (v === undefined) {
      if (m.size > 50_000) m.clear();
      v = make(raw);
      m.set(k, v);
    }
    return v;
  };
}
// JWK rather than DER: on OpenSSL 3 the raw-key path JWK takes is several times faster.
const b64u = (raw: Uint8Array): string => Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64url');
const okpPrivate = (crv: string, raw: Uint8Array): KeyObject => createPrivateKey({ key: { kty: 'OKP', crv, d: b64u(raw), x: '' }, format: 'jwk' });
const okpPublic = (crv: string, raw: Uint8Array): KeyObject => createPublicKey({ key: { kty: 'OKP', crv, x: b64u(raw) }, format: 'jwk' });
const edPriv = keyCache((raw) => (raw.length === 32 ? okpPrivate('Ed25519', raw) : createPrivateKey({ key: Buffer.from(raw), format: 'der', type: 'pkcs8' })));
const edPub = keyCache((raw) => okpPublic('Ed25519', raw));
const xPriv = keyCache((raw) => okpPrivate('X25519', raw));
const xPub = keyCache((raw) => okpPublic('X25519', raw));

function extract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return u8(createHmac('sha256', salt.length === 0 ? Buffer.alloc(32) : salt).update(ikm).digest());
}
function expand(prk: Uint8Array, info: Uint8Array, len: number): Uint8Array {
  // HKDF-Expand alone (RFC 5869 §2.3); node's hkdfSync always extracts first.
  const out: Buffer[] = [];
  let t: Buffer = Buffer.alloc(0);
  for (let i = 1, got = 0; got < len; i++) {
    t = createHmac('sha256', prk).update(t).update(info).update(new Uint8Array([i])).digest();
    out.push(t);
    got += t.length;
  }
  return u8(Buffer.concat(out).subarray(0, len));
}

function aesEncrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-128-gcm', key, nonce);
  if (aad.length > 0) c.setAAD(aad);
  return u8(Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]));
}
function aesDecrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ct: Uint8Array): Uint8Array {
  if (ct.length < 16) throw new Error('aead: ciphertext too short');
  const d = createDecipheriv('aes-128-gcm', key, nonce);
  if (aad.length > 0) d.setAAD(aad);
  d.setAuthTag(ct.subarray(ct.length - 16));
  return u8(Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]));
}

// ---- HPKE (RFC 9180), mode_base, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM

const KEM_SUITE = cat(ascii('KEM'), i2osp2(0x0020));
const HPKE_SUITE = cat(ascii('HPKE'), i2osp2(0x0020), i2osp2(0x0001), i2osp2(0x0001));
const V1 = ascii('HPKE-v1');
const labeledExtract = (suite: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array => extract(salt, cat(V1, suite, ascii(label), ikm));
const labeledExpand = (suite: Uint8Array, prk: Uint8Array, label: string, info: Uint8Array, len: number): Uint8Array => expand(prk, cat(i2osp2(len), V1, suite, ascii(label), info), len);
const EMPTY = new Uint8Array(0);

/** Runtime form of ts-mls's opaque PublicKey / PrivateKey handles in this provider. */
interface XKey {
  readonly type: 'public' | 'private';
  readonly raw: Uint8Array;
  readonly pub: Uint8Array;
}
const asPublic = (raw: Uint8Array): PublicKey => ({ type: 'public', raw, pub: raw }) as unknown as PublicKey;
const asPrivate = (raw: Uint8Array): PrivateKey => ({ type: 'private', raw, pub: xPublicOf(raw) }) as unknown as PrivateKey;
const keyOf = (k: PublicKey | PrivateKey): XKey => k as unknown as XKey;
function xPublicOf(sk: Uint8Array): Uint8Array {
  const jwk = createPublicKey(xPriv(sk)).export({ format: 'jwk' });
  return u8(Buffer.from(jwk.x ?? '', 'base64url'));
}
function dh(sk: Uint8Array, pk: Uint8Array): Uint8Array {
  return u8(diffieHellman({ privateKey: xPriv(sk), publicKey: xPub(pk) }));
}
function sharedSecret(dhv: Uint8Array, enc: Uint8Array, pkR: Uint8Array): Uint8Array {
  const prk = labeledExtract(KEM_SUITE, EMPTY, 'eae_prk', dhv);
  return labeledExpand(KEM_SUITE, prk, 'shared_secret', cat(enc, pkR), 32);
}
function keySchedule(shared: Uint8Array, info: Uint8Array): { key: Uint8Array; nonce: Uint8Array; exporter: Uint8Array } {
  const ctx = cat(new Uint8Array([0]), labeledExtract(HPKE_SUITE, EMPTY, 'psk_id_hash', EMPTY), labeledExtract(HPKE_SUITE, EMPTY, 'info_hash', info));
  const secret = labeledExtract(HPKE_SUITE, shared, 'secret', EMPTY);
  return {
    key: labeledExpand(HPKE_SUITE, secret, 'key', ctx, 16),
    nonce: labeledExpand(HPKE_SUITE, secret, 'base_nonce', ctx, 12),
    exporter: labeledExpand(HPKE_SUITE, secret, 'exp', ctx, 32),
  };
}
// Keys from random bytes, not generateKeyPairSync: on Node 20 exporting a key it made can
// deadlock with the GC of its KeyGenJob (packages/mls/src/crypto/node/keys.ts).
function okpPair(crv: 'X25519' | 'Ed25519'): { sk: Uint8Array; pk: Uint8Array } {
  const sk = u8(randomBytes(32));
  const privateKey = createPrivateKey({ key: { kty: 'OKP', crv, d: Buffer.from(sk).toString('base64url'), x: '' }, format: 'jwk' });
  return { sk, pk: u8(Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x ?? '', 'base64url')) };
}
function xGenerate(): { sk: Uint8Array; pk: Uint8Array } {
  return okpPair('X25519');
}
function encap(pkR: Uint8Array): { enc: Uint8Array; shared: Uint8Array } {
  const e = xGenerate();
  return { enc: e.pk, shared: sharedSecret(dh(e.sk, pkR), e.pk, pkR) };
}
function decap(enc: Uint8Array, key: XKey): Uint8Array {
  return sharedSecret(dh(key.raw, enc), enc, key.pub);
}

function edRawPair(): { signKey: Uint8Array; publicKey: Uint8Array } {
  const { sk, pk } = okpPair('Ed25519');
  return { signKey: sk, publicKey: pk };
}

const impl: CiphersuiteImpl = {
  name: 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519',
  hash: {
    digest: async (data) => u8(createHash('sha256').update(data).digest()),
    mac: async (key, data) => u8(createHmac('sha256', key).update(data).digest()),
    verifyMac: async (key, mac, data) => {
      const m = createHmac('sha256', key).update(data).digest();
      return m.length === mac.length && timingSafeEqual(m, mac);
    },
  },
  kdf: {
    extract: async (salt, ikm) => extract(salt, ikm),
    expand: async (prk, info, len) => expand(prk, info, len),
    size: 32,
  },
  signature: {
    sign: async (signKey, message) => u8(sign(null, message, edPriv(signKey))),
    verify: async (publicKey, message, signature) => verify(null, message, edPub(publicKey), signature),
    keygen: async () => edRawPair(),
  },
  rng: { randomBytes: (n) => u8(randomBytes(n)) },
  hpke: {
    keyLength: 16,
    nonceLength: 12,
    async seal(publicKey, plaintext, info, aad) {
      const pk = keyOf(publicKey).raw;
      const { enc, shared } = encap(pk);
      const ks = keySchedule(shared, info);
      return { ct: aesEncrypt(ks.key, ks.nonce, aad ?? EMPTY, plaintext), enc };
    },
    async open(privateKey, kemOutput, ciphertext, info, aad) {
      const ks = keySchedule(decap(kemOutput, keyOf(privateKey)), info);
      return aesDecrypt(ks.key, ks.nonce, aad ?? EMPTY, ciphertext);
    },
    async exportSecret(publicKey, exporterContext, length, info) {
      const { enc, shared } = encap(keyOf(publicKey).raw);
      return { enc, secret: labeledExpand(HPKE_SUITE, keySchedule(shared, info).exporter, 'sec', exporterContext, length) };
    },
    async importSecret(privateKey, exporterContext, kemOutput, length, info) {
      return labeledExpand(HPKE_SUITE, keySchedule(decap(kemOutput, keyOf(privateKey)), info).exporter, 'sec', exporterContext, length);
    },
    importPrivateKey: async (k) => asPrivate(k),
    importPublicKey: async (k) => {
      if (k.length !== 32) throw new Error('hpke: bad public key length');
      return asPublic(k);
    },
    exportPublicKey: async (k) => keyOf(k).raw,
    exportPrivateKey: async (k) => keyOf(k).raw,
    encryptAead: async (key, nonce, aad, pt) => aesEncrypt(key, nonce, aad ?? EMPTY, pt),
    decryptAead: async (key, nonce, aad, ct) => aesDecrypt(key, nonce, aad ?? EMPTY, ct),
    async deriveKeyPair(ikm) {
      const prk = labeledExtract(KEM_SUITE, EMPTY, 'dkp_prk', ikm);
      const sk = labeledExpand(KEM_SUITE, prk, 'sk', EMPTY, 32);
      const priv = asPrivate(sk);
      return { privateKey: priv, publicKey: asPublic(keyOf(priv).pub) };
    },
    async generateKeyPair() {
      const { sk, pk } = xGenerate();
      return { privateKey: asPrivate(sk), publicKey: asPublic(pk) };
    },
  },
};

/** ts-mls CryptoProvider on node:crypto; suite 1 only. */
export const tsMlsNodeCryptoProvider: CryptoProvider = {
  async getCiphersuiteImpl(cs: Ciphersuite): Promise<CiphersuiteImpl> {
    if (cs.name !== 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519') throw new Error(`bench provider: suite ${cs.name} not supported`);
    return impl;
  },
};
