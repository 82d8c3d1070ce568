// The Node backend: RFC 9420 §5.1 cipher suites 1–7 on node:crypto (OpenSSL), with
// HPKE (RFC 9180) from crypto/hpke over node primitives. This folder is the only place
// in the engine that imports node:crypto.

import { CryptoError } from '../../errors.js';
import { DhKem } from '../hpke/dhkem.js';
import { HpkeBase } from '../hpke/hpke.js';
import type { DhGroup } from '../hpke/primitives.js';
import type { CipherSuite, CipherSuiteId, CryptoProvider } from '../provider.js';
import { ALL_SUITE_IDS, HASH_LENGTH, isCipherSuiteId, KDF_HASH, KEMS, SUITES, type DhCurve, type KdfId } from '../suites.js';
import { random } from './bytes.js';
import { MontgomeryDh, NistDh } from './dh.js';
import { digest, hmac, NodeAead, NodeKdf } from './primitives.js';
import { signatureOps } from './signature.js';

// One DH group and one KDF per kind, shared by the suites that use it (and their caches).
const dhGroups = new Map<DhCurve, DhGroup>();
function dhGroup(curve: DhCurve): DhGroup {
  let g = dhGroups.get(curve);
  if (g === undefined) {
    g = curve === 'X25519' || curve === 'X448' ? new MontgomeryDh(curve) : new NistDh(curve);
    dhGroups.set(curve, g);
  }
  return g;
}

const kdfs = new Map<KdfId, NodeKdf>();
function kdf(id: KdfId): NodeKdf {
  let k = kdfs.get(id);
  if (k === undefined) {
    k = new NodeKdf(id, KDF_HASH[id]);
    kdfs.set(id, k);
  }
  return k;
}

function buildSuite(id: CipherSuiteId): CipherSuite {
  const d = SUITES[id];
  const kemDescriptor = KEMS[d.kem];
  const suiteKdf = kdf(d.kdf);
  const aead = new NodeAead(d.aead);
  const hashName = d.hash;
  const signature = signatureOps(d.signature);
  return {
    id,
    name: d.name,
    hash: {
      nh: HASH_LENGTH[hashName],
      digest: async (data) => digest(hashName, data),
      mac: async (key, data) => hmac(hashName, key, data),
    },
    kdf: suiteKdf,
    aead,
    hpke: new HpkeBase(new DhKem(kemDescriptor, dhGroup(kemDescriptor.curve), kdf(kemDescriptor.kdf)), suiteKdf, aead),
    signature,
    randomBytes: random,
    sync: {
      expand: (prk, info, length) => suiteKdf.expandSync(prk, info, length),
      seal: (key, nonce, aad, plaintext) => aead.sealSync(key, nonce, aad, plaintext),
      open: (key, nonce, aad, ciphertext) => aead.openSync(key, nonce, aad, ciphertext),
      sign: (privateKey, message) => signature.signSync(privateKey, message),
      verify: (publicKey, message, sig) => signature.verifySync(publicKey, message, sig),
    },
  };
}

const built = new Map<CipherSuiteId, CipherSuite>();

export const nodeCryptoProvider: CryptoProvider = {
  name: 'node',
  supportedSuites: ALL_SUITE_IDS,
  suite(id: number): CipherSuite {
    if (!isCipherSuiteId(id)) throw new CryptoError('unsupported-cipher-suite', `cipher suite ${id} is not offered by the node backend`);
    let s = built.get(id);
    if (s === undefined) {
      s = buildSuite(id);
      built.set(id, s);
    }
    return s;
  },
};
