// RFC 9420 §6 MLSMessage, §12.4.3 GroupInfo / GroupInfoTBS, §12.4.3.1 GroupSecrets,
// EncryptedGroupSecrets and Welcome: the wire structures the group layer needs that
// src/messages/ does not carry yet.
// TODO(messages owner): move these codecs to src/messages/welcome.ts and
// src/messages/mls-message.ts when they land there, and import them from there.

import type { Decoder, Encoder } from '../codec/index.js';
import { Writer } from '../codec/writer.js';
import { DecodeError } from '../errors.js';
import { decodeProtocolVersion, encodeProtocolVersion, ProtocolVersion } from '../messages/common.js';
import { decodeExtensions, encodeExtensions, type Extension } from '../messages/extension.js';
import {
  decodePrivateMessage,
  decodePublicMessage,
  decodeWireFormat,
  encodePrivateMessage,
  encodePublicMessage,
  WireFormat,
  type PrivateMessage,
  type PublicMessage,
} from '../messages/framing.js';
import { decodeGroupContext, encodeGroupContext, type GroupContext } from '../messages/group-context.js';
import { decodeKeyPackage, encodeKeyPackage, type KeyPackage } from '../messages/key-package.js';
import { decodePreSharedKeyID, encodePreSharedKeyID, type PreSharedKeyID } from '../messages/proposal.js';
import { decodeHPKECiphertext, encodeHPKECiphertext, type HPKECiphertext } from '../messages/ratchet-tree.js';

/** §12.4.3 GroupInfo without its signature (the fields of GroupInfoTBS). */
export interface GroupInfoTbs {
  readonly groupContext: GroupContext;
  readonly extensions: readonly Extension[];
  readonly confirmationTag: Uint8Array;
  readonly signer: number;
}

export interface GroupInfo extends GroupInfoTbs {
  readonly signature: Uint8Array;
}

function encodeGroupInfoBody(w: Writer, g: GroupInfoTbs): void {
  encodeGroupContext(w, g.groupContext);
  encodeExtensions(w, g.extensions);
  w.opaque(g.confirmationTag).u32(g.signer);
}

export function encodeGroupInfoTbs(g: GroupInfoTbs): Uint8Array {
  const w = new Writer(512);
  encodeGroupInfoBody(w, g);
  return w.finish();
}

export const encodeGroupInfo: Encoder<GroupInfo> = (w, g) => {
  encodeGroupInfoBody(w, g);
  w.opaque(g.signature);
};

export const decodeGroupInfo: Decoder<GroupInfo> = (r) => ({
  groupContext: decodeGroupContext(r),
  extensions: decodeExtensions(r),
  confirmationTag: r.opaque(),
  signer: r.u32(),
  signature: r.opaque(),
});

/** §12.4.3.1 GroupSecrets (`optional<PathSecret>` is a struct holding one opaque<V>). */
export interface GroupSecrets {
  readonly joinerSecret: Uint8Array;
  readonly pathSecret: Uint8Array | undefined;
  readonly psks: readonly PreSharedKeyID[];
}

export const encodeGroupSecrets: Encoder<GroupSecrets> = (w, s) => {
  w.opaque(s.joinerSecret);
  w.optional(s.pathSecret, (ww, p) => ww.opaque(p));
  w.vector(s.psks, encodePreSharedKeyID);
};

export const decodeGroupSecrets: Decoder<GroupSecrets> = (r) => ({
  joinerSecret: r.opaque(),
  pathSecret: r.optional((rr) => rr.opaque()),
  psks: r.vector(decodePreSharedKeyID),
});

/** §12.4.3.1 `struct { KeyPackageRef new_member; HPKECiphertext encrypted_group_secrets; }`. */
export interface EncryptedGroupSecrets {
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

/** §12.4.3.1 Welcome. */
export interface Welcome {
  readonly cipherSuite: number;
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

/** §6 MLSMessage: the version, then one of the five wire formats. */
export type MLSMessage =
  | { readonly wireFormat: typeof WireFormat.mls_public_message; readonly publicMessage: PublicMessage }
  | { readonly wireFormat: typeof WireFormat.mls_private_message; readonly privateMessage: PrivateMessage }
  | { readonly wireFormat: typeof WireFormat.mls_welcome; readonly welcome: Welcome }
  | { readonly wireFormat: typeof WireFormat.mls_group_info; readonly groupInfo: GroupInfo }
  | { readonly wireFormat: typeof WireFormat.mls_key_package; readonly keyPackage: KeyPackage };

export const encodeMLSMessage: Encoder<MLSMessage> = (w, m) => {
  encodeProtocolVersion(w, ProtocolVersion.mls10);
  w.u16(m.wireFormat);
  switch (m.wireFormat) {
    case WireFormat.mls_public_message:
      encodePublicMessage(w, m.publicMessage);
      return;
    case WireFormat.mls_private_message:
      encodePrivateMessage(w, m.privateMessage);
      return;
    case WireFormat.mls_welcome:
      encodeWelcome(w, m.welcome);
      return;
    case WireFormat.mls_group_info:
      encodeGroupInfo(w, m.groupInfo);
      return;
    case WireFormat.mls_key_package:
      encodeKeyPackage(w, m.keyPackage);
      return;
  }
};

export const decodeMLSMessage: Decoder<MLSMessage> = (r) => {
  decodeProtocolVersion(r);
  const wireFormat = decodeWireFormat(r);
  switch (wireFormat) {
    case WireFormat.mls_public_message:
      return { wireFormat, publicMessage: decodePublicMessage(r) };
    case WireFormat.mls_private_message:
      return { wireFormat, privateMessage: decodePrivateMessage(r) };
    case WireFormat.mls_welcome:
      return { wireFormat, welcome: decodeWelcome(r) };
    case WireFormat.mls_group_info:
      return { wireFormat, groupInfo: decodeGroupInfo(r) };
    case WireFormat.mls_key_package:
      return { wireFormat, keyPackage: decodeKeyPackage(r) };
    default:
      throw new DecodeError('unknown-value', 'unknown wire format');
  }
};
