// RFC 9420 §10 Key packages: KeyPackage and KeyPackageTBS, the bytes its signature covers.

import type { Decoder, Encoder } from '../codec/index.js';
import { Writer } from '../codec/writer.js';
import { decodeProtocolVersion, encodeProtocolVersion, type CipherSuiteValue, type ProtocolVersion } from './common.js';
import { decodeExtensions, encodeExtensions, type Extension } from './extension.js';
import { decodeLeafNode, encodeLeafNode, type LeafNode } from './leaf-node.js';

/** KeyPackage without its signature (the fields of KeyPackageTBS). */
export interface UnsignedKeyPackage {
  readonly version: ProtocolVersion;
  readonly cipherSuite: CipherSuiteValue;
  readonly initKey: Uint8Array;
  readonly leafNode: LeafNode;
  readonly extensions: readonly Extension[];
}

export interface KeyPackage extends UnsignedKeyPackage {
  readonly signature: Uint8Array;
}

function encodeKeyPackageBody(w: Writer, kp: UnsignedKeyPackage): void {
  encodeProtocolVersion(w, kp.version);
  w.u16(kp.cipherSuite).opaque(kp.initKey);
  encodeLeafNode(w, kp.leafNode);
  encodeExtensions(w, kp.extensions);
}

export const encodeKeyPackage: Encoder<KeyPackage> = (w, kp) => {
  encodeKeyPackageBody(w, kp);
  w.opaque(kp.signature);
};

export const decodeKeyPackage: Decoder<KeyPackage> = (r) => ({
  version: decodeProtocolVersion(r),
  cipherSuite: r.u16(),
  initKey: r.opaque(),
  leafNode: decodeLeafNode(r),
  extensions: decodeExtensions(r),
  signature: r.opaque(),
});

/** §10 KeyPackageTBS: every field of the KeyPackage but the signature. */
export function encodeKeyPackageTbs(kp: UnsignedKeyPackage): Uint8Array {
  const w = new Writer(512);
  encodeKeyPackageBody(w, kp);
  return w.finish();
}
