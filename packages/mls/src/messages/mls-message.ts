// RFC 9420 §6 MLSMessage: the outermost wire structure, a protocol version and a wire
// format selecting PublicMessage, PrivateMessage, Welcome, GroupInfo or KeyPackage.

import type { Decoder, Encoder } from '../codec/index.js';
import { decodeProtocolVersion, encodeProtocolVersion, type ProtocolVersion } from './common.js';
import {
  decodePrivateMessage,
  decodePublicMessage,
  decodeWireFormat,
  encodePrivateMessage,
  encodePublicMessage,
  WireFormat,
  type PrivateMessage,
  type PublicMessage,
} from './framing.js';
import { decodeKeyPackage, encodeKeyPackage, type KeyPackage } from './key-package.js';
import { decodeGroupInfo, decodeWelcome, encodeGroupInfo, encodeWelcome, type GroupInfo, type Welcome } from './welcome.js';

export type MLSMessageBody =
  | { readonly wireFormat: typeof WireFormat.mls_public_message; readonly publicMessage: PublicMessage }
  | { readonly wireFormat: typeof WireFormat.mls_private_message; readonly privateMessage: PrivateMessage }
  | { readonly wireFormat: typeof WireFormat.mls_welcome; readonly welcome: Welcome }
  | { readonly wireFormat: typeof WireFormat.mls_group_info; readonly groupInfo: GroupInfo }
  | { readonly wireFormat: typeof WireFormat.mls_key_package; readonly keyPackage: KeyPackage };

/** `struct { ProtocolVersion version = mls10; WireFormat wire_format; select (wire_format) {…}; } MLSMessage`. */
export type MLSMessage = { readonly version: ProtocolVersion } & MLSMessageBody;

export const encodeMLSMessage: Encoder<MLSMessage> = (w, m) => {
  encodeProtocolVersion(w, m.version);
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
  const version = decodeProtocolVersion(r);
  const wireFormat = decodeWireFormat(r);
  switch (wireFormat) {
    case WireFormat.mls_public_message:
      return { version, wireFormat, publicMessage: decodePublicMessage(r) };
    case WireFormat.mls_private_message:
      return { version, wireFormat, privateMessage: decodePrivateMessage(r) };
    case WireFormat.mls_welcome:
      return { version, wireFormat, welcome: decodeWelcome(r) };
    case WireFormat.mls_group_info:
      return { version, wireFormat, groupInfo: decodeGroupInfo(r) };
    case WireFormat.mls_key_package:
      return { version, wireFormat, keyPackage: decodeKeyPackage(r) };
  }
};
