// RFC 9420 §5.1.2–§5.2, §8: the labelled constructions over a cipher suite.
// Labels are given without the "MLS 1.0 " prefix, which is added here.

import { Writer } from '../codec/writer.js';
import { UsageError } from '../errors.js';
import { utf8Bytes } from '../util/bytes.js';
import type { CipherSuite } from './provider.js';

const PREFIX = 'MLS 1.0 ';

// The labels are a few fixed strings used on every message: encode each once.
const LABELS = new Map<string, Uint8Array>();
function labelBytes(label: string): Uint8Array {
  let bytes = LABELS.get(label);
  if (bytes === undefined) {
    bytes = utf8Bytes(PREFIX + label);
    if (LABELS.size < 256) LABELS.set(label, bytes);
  }
  return bytes;
}

/** KDFLabel = struct { uint16 length; opaque label<V>; opaque context<V>; } */
export function kdfLabel(label: string, context: Uint8Array, length: number): Uint8Array {
  const l = labelBytes(label);
  // The hot case (every message: short label and context) without a Writer.
  if (l.length < 0x40 && context.length < 0x40 && Number.isInteger(length) && length >= 0 && length <= 0xffff) {
    const out = new Uint8Array(4 + l.length + context.length);
    out[0] = length >>> 8;
    out[1] = length & 0xff;
    out[2] = l.length;
    out.set(l, 3);
    out[3 + l.length] = context.length;
    out.set(context, 4 + l.length);
    return out;
  }
  return new Writer(16 + l.length + context.length).u16(length).opaque(l).opaque(context).finish();
}

export function expandWithLabel(suite: CipherSuite, secret: Uint8Array, label: string, context: Uint8Array, length: number): Promise<Uint8Array> {
  return suite.kdf.expand(secret, kdfLabel(label, context, length), length);
}

export function deriveSecret(suite: CipherSuite, secret: Uint8Array, label: string): Promise<Uint8Array> {
  return expandWithLabel(suite, secret, label, new Uint8Array(0), suite.kdf.nh);
}

export function deriveTreeSecret(suite: CipherSuite, secret: Uint8Array, label: string, generation: number, length: number): Promise<Uint8Array> {
  if (!Number.isInteger(generation) || generation < 0 || generation > 0xffff_ffff) throw new UsageError('bad-integer', 'uint32 out of range');
  const context = new Uint8Array(4);
  new DataView(context.buffer).setUint32(0, generation);
  return expandWithLabel(suite, secret, label, context, length);
}

/** SignContent = struct { opaque label<V>; opaque content<V>; } */
function signContent(label: string, content: Uint8Array): Uint8Array {
  return new Writer(16 + label.length + content.length).opaque(labelBytes(label)).opaque(content).finish();
}

export function signWithLabel(suite: CipherSuite, signatureKey: Uint8Array, label: string, content: Uint8Array): Promise<Uint8Array> {
  return suite.signature.sign(signatureKey, signContent(label, content));
}

export function verifyWithLabel(suite: CipherSuite, verificationKey: Uint8Array, label: string, content: Uint8Array, signature: Uint8Array): Promise<boolean> {
  return suite.signature.verify(verificationKey, signContent(label, content), signature);
}

/** One VerifyWithLabel to run in a batch. */
export interface LabeledSignatureCheck {
  readonly verificationKey: Uint8Array;
  readonly label: string;
  readonly content: Uint8Array;
  readonly signature: Uint8Array;
}

/**
 * VerifyWithLabel for each check, verdicts in check order: through the backend's
 * `verifyMany` when it has one (node:crypto checks the batch on its threadpool, in
 * parallel), else `verify` per check. Every signature is checked either way.
 */
export function verifyWithLabelMany(suite: CipherSuite, checks: readonly LabeledSignatureCheck[]): Promise<boolean[]> {
  const items = checks.map((c) => ({ publicKey: c.verificationKey, message: signContent(c.label, c.content), signature: c.signature }));
  if (suite.signature.verifyMany !== undefined) return suite.signature.verifyMany(items);
  return Promise.all(items.map((i) => suite.signature.verify(i.publicKey, i.message, i.signature)));
}

/** EncryptContext = struct { opaque label<V>; opaque context<V>; } */
function encryptContext(label: string, context: Uint8Array): Uint8Array {
  return new Writer(16 + label.length + context.length).opaque(labelBytes(label)).opaque(context).finish();
}

/** RFC 9420 §5.1.3 HPKECiphertext fields. */
export interface HpkeCiphertext {
  readonly kemOutput: Uint8Array;
  readonly ciphertext: Uint8Array;
}

export function encryptWithLabel(suite: CipherSuite, publicKey: Uint8Array, label: string, context: Uint8Array, plaintext: Uint8Array): Promise<HpkeCiphertext> {
  return suite.hpke.seal(publicKey, encryptContext(label, context), new Uint8Array(0), plaintext);
}

/**
 * EncryptWithLabel to several recipients under one label and context (a Welcome's
 * GroupSecrets, an UpdatePath node's path secret): the EncryptContext is built once and,
 * when the backend has `sealMany`, hashed once. Results are in recipient order.
 */
export function encryptWithLabelMany(
  suite: CipherSuite,
  label: string,
  context: Uint8Array,
  recipients: readonly { readonly publicKey: Uint8Array; readonly plaintext: Uint8Array }[],
): Promise<HpkeCiphertext[]> {
  const info = encryptContext(label, context);
  const empty = new Uint8Array(0);
  if (suite.hpke.sealMany !== undefined) return suite.hpke.sealMany(info, empty, recipients);
  return Promise.all(recipients.map((r) => suite.hpke.seal(r.publicKey, info, empty, r.plaintext)));
}

export function decryptWithLabel(suite: CipherSuite, privateKey: Uint8Array, label: string, context: Uint8Array, kemOutput: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array> {
  return suite.hpke.open(kemOutput, privateKey, encryptContext(label, context), new Uint8Array(0), ciphertext);
}

/** RefHashInput = struct { opaque label<V>; opaque value<V>; }; the label is used as given. */
export async function refHash(suite: CipherSuite, label: string, value: Uint8Array): Promise<Uint8Array> {
  return suite.hash.digest(new Writer(16 + label.length + value.length).opaque(utf8Bytes(label)).opaque(value).finish());
}

export const makeKeyPackageRef = (suite: CipherSuite, keyPackage: Uint8Array): Promise<Uint8Array> =>
  refHash(suite, 'MLS 1.0 KeyPackage Reference', keyPackage);
export const makeProposalRef = (suite: CipherSuite, authenticatedContent: Uint8Array): Promise<Uint8Array> =>
  refHash(suite, 'MLS 1.0 Proposal Reference', authenticatedContent);
