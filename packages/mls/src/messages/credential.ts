// RFC 9420 §5.3 Credentials: a basic credential carries an identity, an X.509
// credential a chain of DER certificates (leaf first).

import type { Decoder, Encoder } from '../codec/index.js';
import { DecodeError } from '../errors.js';
import { decodeOpaqueList, encodeOpaqueList } from './common.js';

/**
 * §5.3 `CredentialType` (uint16). Other values may appear in Capabilities and
 * RequiredCapabilities and round-trip there; a Credential of an unknown type cannot
 * be parsed and is refused.
 */
export const CredentialType = { basic: 1, x509: 2 } as const;
export type CredentialType = (typeof CredentialType)[keyof typeof CredentialType];

export interface BasicCredential {
  readonly credentialType: typeof CredentialType.basic;
  readonly identity: Uint8Array;
}

export interface X509Credential {
  readonly credentialType: typeof CredentialType.x509;
  /** `Certificate certificates<V>`: each entry is a Certificate's `cert_data` (DER). */
  readonly certificates: readonly Uint8Array[];
}

export type Credential = BasicCredential | X509Credential;

export const encodeCredential: Encoder<Credential> = (w, c) => {
  w.u16(c.credentialType);
  if (c.credentialType === CredentialType.basic) w.opaque(c.identity);
  else encodeOpaqueList(w, c.certificates);
};

export const decodeCredential: Decoder<Credential> = (r) => {
  const credentialType = r.u16();
  switch (credentialType) {
    case CredentialType.basic:
      return { credentialType, identity: r.opaque() };
    case CredentialType.x509:
      return { credentialType, certificates: decodeOpaqueList(r) };
    default:
      throw new DecodeError('unknown-value', `unknown CredentialType ${credentialType}`);
  }
};
