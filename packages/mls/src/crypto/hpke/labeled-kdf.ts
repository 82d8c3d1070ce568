// RFC 9180 §4 LabeledExtract / LabeledExpand, bound to one suite_id.

import { UsageError } from '../../errors.js';
import { utf8Bytes } from '../../util/bytes.js';
import type { HpkeKdf } from './primitives.js';

const HPKE_V1 = utf8Bytes('HPKE-v1');

export class LabeledKdf {
  readonly kdf: HpkeKdf;
  /** "HPKE-v1" || suite_id, shared by every labelled call. */
  private readonly prefix: Uint8Array;

  constructor(kdf: HpkeKdf, suiteId: Uint8Array) {
    this.kdf = kdf;
    this.prefix = new Uint8Array(HPKE_V1.length + suiteId.length);
    this.prefix.set(HPKE_V1);
    this.prefix.set(suiteId, HPKE_V1.length);
  }

  /** LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm) */
  extract(salt: Uint8Array, label: Uint8Array, ikm: Uint8Array): Promise<Uint8Array> {
    const input = new Uint8Array(this.prefix.length + label.length + ikm.length);
    input.set(this.prefix);
    input.set(label, this.prefix.length);
    input.set(ikm, this.prefix.length + label.length);
    return this.kdf.extract(salt, input);
  }

  /** LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L) */
  expand(prk: Uint8Array, label: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array> {
    if (!Number.isInteger(length) || length < 0 || length > 0xffff || length > 255 * this.kdf.nh) {
      throw new UsageError('bad-length', 'LabeledExpand length out of range');
    }
    const input = new Uint8Array(2 + this.prefix.length + label.length + info.length);
    input[0] = length >> 8;
    input[1] = length & 0xff;
    input.set(this.prefix, 2);
    input.set(label, 2 + this.prefix.length);
    input.set(info, 2 + this.prefix.length + label.length);
    return this.kdf.expand(prk, input, length);
  }
}
