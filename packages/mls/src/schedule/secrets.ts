// RFC 9420 §8 Key schedule: one type per secret, so that a membership key can never be
// passed where a confirmation key is expected. Each is a `Secret` (util/secret.ts):
// it never prints its bytes. `asSecret` is the single place where bytes become one.

import { Secret } from '../util/secret.js';

export type InitSecret = Secret<'init_secret'>;
export type CommitSecret = Secret<'commit_secret'>;
export type PskSecret = Secret<'psk_secret'>;
export type JoinerSecret = Secret<'joiner_secret'>;
export type WelcomeSecret = Secret<'welcome_secret'>;
export type EpochSecret = Secret<'epoch_secret'>;
export type SenderDataSecret = Secret<'sender_data_secret'>;
export type EncryptionSecret = Secret<'encryption_secret'>;
export type ExporterSecret = Secret<'exporter_secret'>;
export type ExternalSecret = Secret<'external_secret'>;
export type ConfirmationKey = Secret<'confirmation_key'>;
export type MembershipKey = Secret<'membership_key'>;
export type ResumptionPsk = Secret<'resumption_psk'>;
export type EpochAuthenticator = Secret<'epoch_authenticator'>;
/** A per-message AEAD key or nonce from the secret tree or the sender-data secret (§6.3, §9.1). */
export type AeadKey = Secret<'aead_key'>;
export type AeadNonce = Secret<'aead_nonce'>;

/** Wraps bytes as the named secret; the Secret takes ownership of the buffer. */
export function asSecret<Tag extends string>(bytes: Uint8Array): Secret<Tag> {
  return new Secret<Tag>(bytes);
}
