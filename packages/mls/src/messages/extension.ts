// RFC 9420 §13.4 Extensions (the generic container) and the bodies of the extensions
// the RFC defines: application_id (§5.3.3), ratchet_tree (§12.4.3.3, see
// ratchet-tree.ts), required_capabilities (§11.1), external_pub (§12.4.3.2),
// external_senders (§12.1.8.1).

import type { Decoder, Encoder } from '../codec/index.js';
import { decodeU16List, encodeU16List } from './common.js';
import { decodeCredential, encodeCredential, type Credential } from './credential.js';

/** §17.3 ExtensionType (uint16); unknown values are allowed and round-trip. */
export const ExtensionType = {
  application_id: 1,
  ratchet_tree: 2,
  required_capabilities: 3,
  external_pub: 4,
  external_senders: 5,
} as const;
export type ExtensionType = number;

/** `struct { ExtensionType extension_type; opaque extension_data<V>; } Extension`. */
export interface Extension {
  readonly extensionType: ExtensionType;
  readonly extensionData: Uint8Array;
}

export const encodeExtension: Encoder<Extension> = (w, e) => {
  w.u16(e.extensionType).opaque(e.extensionData);
};

export const decodeExtension: Decoder<Extension> = (r) => ({ extensionType: r.u16(), extensionData: r.opaque() });

/** `Extension extensions<V>`. */
export const encodeExtensions: Encoder<readonly Extension[]> = (w, list) => {
  w.vector(list, encodeExtension);
};

export const decodeExtensions: Decoder<Extension[]> = (r) => r.vector(decodeExtension);

/** §5.3.3 `opaque application_id<V>`. */
export const encodeApplicationId: Encoder<Uint8Array> = (w, id) => {
  w.opaque(id);
};
export const decodeApplicationId: Decoder<Uint8Array> = (r) => r.opaque();

/** §11.1 RequiredCapabilities. Code points are opaque uint16 values. */
export interface RequiredCapabilities {
  readonly extensionTypes: readonly number[];
  readonly proposalTypes: readonly number[];
  readonly credentialTypes: readonly number[];
}

export const encodeRequiredCapabilities: Encoder<RequiredCapabilities> = (w, c) => {
  encodeU16List(w, c.extensionTypes);
  encodeU16List(w, c.proposalTypes);
  encodeU16List(w, c.credentialTypes);
};

export const decodeRequiredCapabilities: Decoder<RequiredCapabilities> = (r) => ({
  extensionTypes: decodeU16List(r),
  proposalTypes: decodeU16List(r),
  credentialTypes: decodeU16List(r),
});

/** §12.4.3.2 `struct { HPKEPublicKey external_pub; } ExternalPub`. */
export interface ExternalPub {
  readonly externalPub: Uint8Array;
}

export const encodeExternalPub: Encoder<ExternalPub> = (w, e) => {
  w.opaque(e.externalPub);
};
export const decodeExternalPub: Decoder<ExternalPub> = (r) => ({ externalPub: r.opaque() });

/** §12.1.8.1 `struct { SignaturePublicKey signature_key; Credential credential; } ExternalSender`. */
export interface ExternalSender {
  readonly signatureKey: Uint8Array;
  readonly credential: Credential;
}

export const encodeExternalSender: Encoder<ExternalSender> = (w, s) => {
  w.opaque(s.signatureKey);
  encodeCredential(w, s.credential);
};

export const decodeExternalSender: Decoder<ExternalSender> = (r) => ({
  signatureKey: r.opaque(),
  credential: decodeCredential(r),
});

/** The external_senders extension body: `ExternalSender external_senders<V>`. */
export const encodeExternalSenders: Encoder<readonly ExternalSender[]> = (w, list) => {
  w.vector(list, encodeExternalSender);
};
export const decodeExternalSenders: Decoder<ExternalSender[]> = (r) => r.vector(decodeExternalSender);
