// RFC 9180 §4.1 DH-Based KEM (DHKEM), generic over a DhGroup and the KEM's own KDF,
// with §7.1.3 DeriveKeyPair: a single expansion for X25519/X448, the rejection-sampling
// loop for the P-curves. A DH output of all zeros (a low-order peer key) is refused.

import { CryptoError } from '../../errors.js';
import { bytesEqual, concat, fromHex, isAllZero, utf8Bytes } from '../../util/bytes.js';
import type { KeyPair } from '../provider.js';
import type { KemDescriptor } from '../suites.js';
import { LabeledKdf } from './labeled-kdf.js';
import type { DhGroup, HpkeKdf } from './primitives.js';

const EMPTY = new Uint8Array(0);
const L_EAE_PRK = utf8Bytes('eae_prk');
const L_SHARED_SECRET = utf8Bytes('shared_secret');
const L_DKP_PRK = utf8Bytes('dkp_prk');
const L_SK = utf8Bytes('sk');
const L_CANDIDATE = utf8Bytes('candidate');

/**
 * The group orders of the P-curves (SEC 2 / FIPS 186-4 `n`), big-endian on Nsk bytes,
 * with the §7.1.3 bitmask applied to the first byte of each candidate.
 */
const NIST_ORDER: Readonly<Record<string, { order: Uint8Array; bitmask: number }>> = {
  'P-256': { order: fromHex('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'), bitmask: 0xff },
  'P-384': {
    order: fromHex('ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973'),
    bitmask: 0xff,
  },
  'P-521': {
    order: fromHex(
      '01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff' +
        'fa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409',
    ),
    bitmask: 0x01,
  },
};

/** Big-endian comparison of two byte strings of equal length: is a < b? */
function lessThan(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) {
    if (a[i]! !== b[i]!) return a[i]! < b[i]!;
  }
  return false;
}

export interface Encapsulation {
  readonly sharedSecret: Uint8Array;
  readonly enc: Uint8Array;
}

export class DhKem {
  readonly descriptor: KemDescriptor;
  private readonly group: DhGroup;
  private readonly labeled: LabeledKdf;

  constructor(descriptor: KemDescriptor, group: DhGroup, kdf: HpkeKdf) {
    if (group.curve !== descriptor.curve) throw new CryptoError('internal-kem-mismatch', `DH group ${group.curve} does not match KEM ${descriptor.curve}`);
    this.descriptor = descriptor;
    this.group = group;
    // suite_id = concat("KEM", I2OSP(kem_id, 2))
    this.labeled = new LabeledKdf(kdf, concat(utf8Bytes('KEM'), new Uint8Array([descriptor.id >> 8, descriptor.id & 0xff])));
  }

  /** Encap(pkR) with a fresh ephemeral key. */
  async encap(pkR: Uint8Array): Promise<Encapsulation> {
    this.checkPublicKey(pkR);
    const { publicKey: enc, shared } = await this.group.ephemeralDh(pkR);
    return { sharedSecret: await this.extractAndExpand(this.checkDh(shared), concat(enc, pkR)), enc };
  }

  /** Encap(pkR) with a given ephemeral key: the deterministic form the RFC 9180 test vectors use. */
  async encapWith(skE: Uint8Array, pkR: Uint8Array): Promise<Encapsulation> {
    this.checkPublicKey(pkR);
    const dh = this.checkDh(await this.group.dh(skE, pkR));
    const enc = await this.group.publicKeyOf(skE);
    return { sharedSecret: await this.extractAndExpand(dh, concat(enc, pkR)), enc };
  }

  /** Decap(enc, skR). */
  async decap(enc: Uint8Array, skR: Uint8Array): Promise<Uint8Array> {
    this.checkPublicKey(enc);
    const dh = this.checkDh(await this.group.dh(skR, enc));
    const pkRm = await this.group.publicKeyOf(skR);
    return this.extractAndExpand(dh, concat(enc, pkRm));
  }

  generateKeyPair(): Promise<KeyPair> {
    return this.group.generateKeyPair();
  }

  publicKeyOf(sk: Uint8Array): Promise<Uint8Array> {
    if (sk.length !== this.descriptor.nSk) throw new CryptoError('invalid-private-key', `a ${this.descriptor.curve} private key has ${this.descriptor.nSk} bytes`);
    return this.group.publicKeyOf(sk);
  }

  /** RFC 9180 §7.1.3 DeriveKeyPair(ikm). */
  async deriveKeyPair(ikm: Uint8Array): Promise<KeyPair> {
    const { nSk, curve } = this.descriptor;
    const dkpPrk = await this.labeled.extract(EMPTY, L_DKP_PRK, ikm);
    const nist = NIST_ORDER[curve];
    let sk: Uint8Array | undefined;
    if (nist === undefined) {
      // X25519/X448: the expansion is the private key as is; clamping belongs to the DH
      // function (RFC 7748 §5), so the serialised key stays unclamped.
      sk = await this.labeled.expand(dkpPrk, L_SK, EMPTY, nSk);
    } else {
      for (let counter = 0; counter <= 255 && sk === undefined; counter++) {
        const bytes = await this.labeled.expand(dkpPrk, L_CANDIDATE, new Uint8Array([counter]), nSk);
        bytes[0]! &= nist.bitmask;
        if (!isAllZero(bytes) && lessThan(bytes, nist.order)) sk = bytes;
      }
      if (sk === undefined) throw new CryptoError('derive-key-pair-failed', 'DeriveKeyPair found no valid scalar in 256 candidates');
    }
    return { privateKey: sk, publicKey: await this.group.publicKeyOf(sk) };
  }

  private checkPublicKey(pk: Uint8Array): void {
    if (pk.length !== this.descriptor.nPk) throw new CryptoError('invalid-public-key', `a ${this.descriptor.curve} public key has ${this.descriptor.nPk} bytes`);
  }

  private checkDh(dh: Uint8Array): Uint8Array {
    if (isAllZero(dh)) throw new CryptoError('dh-all-zero', `${this.descriptor.curve} DH produced the all-zero value (low-order public key)`);
    return dh;
  }

  private async extractAndExpand(dh: Uint8Array, kemContext: Uint8Array): Promise<Uint8Array> {
    const eaePrk = await this.labeled.extract(EMPTY, L_EAE_PRK, dh);
    return this.labeled.expand(eaePrk, L_SHARED_SECRET, kemContext, this.descriptor.nSecret);
  }
}

/** Does `privateKey` belong to `publicKey`? */
export async function keyPairMatches(kem: DhKem, privateKey: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  try {
    return bytesEqual(await kem.publicKeyOf(privateKey), publicKey);
  } catch {
    return false;
  }
}
