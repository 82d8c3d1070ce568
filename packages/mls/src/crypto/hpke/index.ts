// RFC 9180 HPKE over pluggable primitives: what a backend needs to build a suite's Hpke.

export type { DhGroup, HpkeAead, HpkeKdf } from './primitives.js';
export { DhKem, keyPairMatches, type Encapsulation } from './dhkem.js';
export { HpkeBase } from './hpke.js';
export { LabeledKdf } from './labeled-kdf.js';
