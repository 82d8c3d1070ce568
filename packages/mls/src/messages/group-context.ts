// RFC 9420 §8.1 GroupContext: the group's shared state summary that every key
// derivation and signature of an epoch is bound to.

import type { Decoder, Encoder } from '../codec/index.js';
import { decodeProtocolVersion, encodeProtocolVersion, type CipherSuiteValue, type ProtocolVersion } from './common.js';
import { decodeExtensions, encodeExtensions, type Extension } from './extension.js';

export interface GroupContext {
  readonly version: ProtocolVersion;
  readonly cipherSuite: CipherSuiteValue;
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  readonly treeHash: Uint8Array;
  readonly confirmedTranscriptHash: Uint8Array;
  readonly extensions: readonly Extension[];
}

export const encodeGroupContext: Encoder<GroupContext> = (w, g) => {
  encodeProtocolVersion(w, g.version);
  w.u16(g.cipherSuite).opaque(g.groupId).u64(g.epoch).opaque(g.treeHash).opaque(g.confirmedTranscriptHash);
  encodeExtensions(w, g.extensions);
};

export const decodeGroupContext: Decoder<GroupContext> = (r) => ({
  version: decodeProtocolVersion(r),
  cipherSuite: r.u16(),
  groupId: r.opaque(),
  epoch: r.u64(),
  treeHash: r.opaque(),
  confirmedTranscriptHash: r.opaque(),
  extensions: decodeExtensions(r),
});
