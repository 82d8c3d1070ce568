// RFC 9420 §12.4.3 Joining via Welcome: GroupInfo (+ GroupInfoTBS, §12.4.3),
// GroupSecrets with PathSecret, EncryptedGroupSecrets and Welcome.

import type { Decoder, Encoder } from '../codec/index.js';
import { Writer } from '../codec/writer.js';
import { leafIndex, type LeafIndex } from '../util/brand.js';
import type { CipherSuiteValue } from './common.js';
import { decodeExtensions, encodeExtensions, type Extension } from './extension.js';
import { decodeGroupContext, encodeGroupContext, type GroupContext } from './group-context.js';
import { decodePreSharedKeyID, encodePreSharedKeyID, type PreSharedKeyID } from './proposal.js';
import { decodeHPKECiphertext, encodeHPKECiphertext, type HPKECiphertext } from './ratchet-tree.js';

/** GroupInfo without its signature (the fields of GroupInfoTBS). */
export interface UnsignedGroupInfo {
  readonly groupContext: GroupContext;
  readonly extensions: readonly Extension[];
  /** `MAC confirmation_tag` (opaque<V>). */
  readonly confirmationTag: Uint8Array;
  readonly signer: LeafIndex;
}

export interface GroupInfo extends UnsignedGroupInfo {
  readonly signature: Uint8Array;
}

function encodeGroupInfoBody(w: Writer, g: UnsignedGroupInfo): void {
  encodeGroupContext(w, g.groupContext);
  encodeExtensions(w, g.extensions);
  w.opaque(g.confirmationTag).u32(g.signer);
}

export const encodeGroupInfo: Encoder<GroupInfo> = (w, g) => {
  encodeGroupInfoBody(w, g);
  w.opaque(g.signature);
};

export const decodeGroupInfo: Decoder<GroupInfo> = (r) => ({
  groupContext: decodeGroupContext(r),
  extensions: decodeExtensions(r),
  confirmationTag: r.opaque(),
  signer: leafIndex(r.u32()),
  signature: r.opaque(),
});

/** §12.4.3 GroupInfoTBS: every field of the GroupInfo but the signature. */
export function encodeGroupInfoTbs(g: UnsignedGroupInfo): Uint8Array {
  const w = new Writer(512);
  encodeGroupInfoBody(w, g);
  return w.finish();
}

/** §12.4.3.1 `struct { opaque path_secret<V>; } PathSecret`. */
export interface PathSecret {
  readonly pathSecret: Uint8Array;
}

export const encodePathSecret: Encoder<PathSecret> = (w, p) => {
  w.opaque(p.pathSecret);
};
export const decodePathSecret: Decoder<PathSecret> = (r) => ({ pathSecret: r.opaque() });

/**
 * §12.4.3.1 GroupSecrets. Holds secrets: callers should wrap `joinerSecret` and
 * `pathSecret` in Secret as soon as they are decoded, and never log this object.
 */
export interface GroupSecrets {
  readonly joinerSecret: Uint8Array;
  readonly pathSecret: PathSecret | undefined;
  readonly psks: readonly PreSharedKeyID[];
}

export const encodeGroupSecrets: Encoder<GroupSecrets> = (w, g) => {
  w.opaque(g.joinerSecret);
  w.optional(g.pathSecret, encodePathSecret);
  w.vector(g.psks, encodePreSharedKeyID);
};

export const decodeGroupSecrets: Decoder<GroupSecrets> = (r) => ({
  joinerSecret: r.opaque(),
  pathSecret: r.optional(decodePathSecret),
  psks: r.vector(decodePreSharedKeyID),
});

/** §12.4.3.1 `struct { KeyPackageRef new_member; HPKECiphertext encrypted_group_secrets; } EncryptedGroupSecrets`. */
export interface EncryptedGroupSecrets {
  /** KeyPackageRef (§5.2 `opaque HashReference<V>`). */
  readonly newMember: Uint8Array;
  readonly encryptedGroupSecrets: HPKECiphertext;
}

export const encodeEncryptedGroupSecrets: Encoder<EncryptedGroupSecrets> = (w, e) => {
  w.opaque(e.newMember);
  encodeHPKECiphertext(w, e.encryptedGroupSecrets);
};

export const decodeEncryptedGroupSecrets: Decoder<EncryptedGroupSecrets> = (r) => ({
  newMember: r.opaque(),
  encryptedGroupSecrets: decodeHPKECiphertext(r),
});

/** §12.4.3.1 `struct { CipherSuite cipher_suite; EncryptedGroupSecrets secrets<V>; opaque encrypted_group_info<V>; } Welcome`. */
export interface Welcome {
  readonly cipherSuite: CipherSuiteValue;
  readonly secrets: readonly EncryptedGroupSecrets[];
  readonly encryptedGroupInfo: Uint8Array;
}

export const encodeWelcome: Encoder<Welcome> = (w, m) => {
  w.u16(m.cipherSuite);
  w.vector(m.secrets, encodeEncryptedGroupSecrets);
  w.opaque(m.encryptedGroupInfo);
};

export const decodeWelcome: Decoder<Welcome> = (r) => ({
  cipherSuite: r.u16(),
  secrets: r.vector(decodeEncryptedGroupSecrets),
  encryptedGroupInfo: r.opaque(),
});
