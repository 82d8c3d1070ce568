// RFC 9180 §4.1 / §7.1 the DH groups under the DHKEMs, on node:crypto: X25519 and X448
// (RFC 7748) through KeyObjects, P-256/384/521 through the ECDH class (which checks
// that a peer point is on the curve, RFC 9180 §7.1.4).

import { diffieHellman, type KeyObject } from 'node:crypto';
import { CryptoError } from '../../errors.js';
import type { DhGroup } from '../hpke/primitives.js';
import type { KeyPair } from '../provider.js';
import { u8 } from './bytes.js';
import { NistKeys, RawKeys, type NistCurve } from './keys.js';

export class MontgomeryDh implements DhGroup {
  readonly curve: 'X25519' | 'X448';
  private readonly keys: RawKeys;

  constructor(curve: 'X25519' | 'X448') {
    this.curve = curve;
    this.keys = new RawKeys(curve);
  }

  async dh(privateKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array> {
    return this.agree(this.keys.privateKey(privateKey).key, this.keys.publicKey(publicKey));
  }

  async ephemeralDh(publicKey: Uint8Array): Promise<{ publicKey: Uint8Array; shared: Uint8Array }> {
    const peer = this.keys.publicKey(publicKey);
    const pair = this.keys.generate();
    try {
      return { publicKey: pair.publicKey, shared: this.agree(pair.key, peer) };
    } finally {
      pair.raw.fill(0);
    }
  }

  async generateKeyPair(): Promise<KeyPair> {
    const pair = this.keys.generate();
    return { privateKey: pair.raw, publicKey: pair.publicKey };
  }

  async publicKeyOf(privateKey: Uint8Array): Promise<Uint8Array> {
    return this.keys.privateKey(privateKey).publicKey;
  }

  private agree(privateKey: KeyObject, publicKey: KeyObject): Uint8Array {
    try {
      return u8(diffieHellman({ privateKey, publicKey }));
    } catch (error) {
      // OpenSSL refuses exactly one case for well-formed keys: the all-zero output of a
      // low-order point (RFC 7748 §6.1).
      throw new CryptoError('dh-all-zero', `${this.curve} DH produced the all-zero value (low-order public key)`, { cause: error });
    }
  }
}

export class NistDh implements DhGroup {
  readonly curve: NistCurve;
  private readonly keys: NistKeys;

  constructor(curve: NistCurve) {
    this.curve = curve;
    this.keys = new NistKeys(curve);
  }

  async dh(privateKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array> {
    const { ecdh } = this.keys.privateKey(privateKey);
    return this.compute(ecdh.computeSecret.bind(ecdh), publicKey);
  }

  async ephemeralDh(publicKey: Uint8Array): Promise<{ publicKey: Uint8Array; shared: Uint8Array }> {
    this.checkPoint(publicKey);
    const eph = this.keys.generate();
    return { publicKey: eph.publicKey, shared: this.compute(eph.ecdh.computeSecret.bind(eph.ecdh), publicKey) };
  }

  async generateKeyPair(): Promise<KeyPair> {
    const { privateKey, publicKey } = this.keys.generate();
    return { privateKey, publicKey };
  }

  async publicKeyOf(privateKey: Uint8Array): Promise<Uint8Array> {
    return this.keys.privateKey(privateKey).publicKey;
  }

  private checkPoint(point: Uint8Array): void {
    if (point.length !== this.keys.pointLength || point[0] !== 0x04) throw new CryptoError('invalid-public-key', `a ${this.curve} public key is an uncompressed point`);
  }

  private compute(computeSecret: (peer: NodeJS.ArrayBufferView) => Buffer, point: Uint8Array): Uint8Array {
    this.checkPoint(point);
    try {
      return this.keys.padScalar(computeSecret(point));
    } catch (error) {
      throw new CryptoError('invalid-public-key', `not a point on ${this.curve}`, { cause: error });
    }
  }
}
