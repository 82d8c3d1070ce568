// RFC 9420 §7.2 Capabilities: what a client supports. Every list holds opaque uint16
// code points (unknown values, including GREASE, §13.5, round-trip unchanged).

import type { Decoder, Encoder } from '../codec/index.js';
import { decodeU16List, encodeU16List } from './common.js';

export interface Capabilities {
  readonly versions: readonly number[];
  readonly cipherSuites: readonly number[];
  readonly extensions: readonly number[];
  readonly proposals: readonly number[];
  readonly credentials: readonly number[];
}

export const encodeCapabilities: Encoder<Capabilities> = (w, c) => {
  encodeU16List(w, c.versions);
  encodeU16List(w, c.cipherSuites);
  encodeU16List(w, c.extensions);
  encodeU16List(w, c.proposals);
  encodeU16List(w, c.credentials);
};

export const decodeCapabilities: Decoder<Capabilities> = (r) => ({
  versions: decodeU16List(r),
  cipherSuites: decodeU16List(r),
  extensions: decodeU16List(r),
  proposals: decodeU16List(r),
  credentials: decodeU16List(r),
});
