// RFC 9420 §8 Key schedule: from the previous epoch's init_secret, the commit_secret, the
// psk_secret and the new GroupContext to joiner_secret, welcome_secret, epoch_secret and
// the secrets of Table 4; §8.3 external key pair; §8.5 MLS-Exporter; §12.4.3.1 welcome
// key and nonce. The GroupContext is taken as its encoding, which the caller already
// holds (it is also signed in every FramedContentTBS), so it is not encoded twice.

import type { CipherSuite, KeyPair } from '../crypto/provider.js';
import { deriveSecret, expandWithLabel } from '../crypto/labeled.js';
import { UsageError } from '../errors.js';
import {
  type AeadKey,
  type AeadNonce,
  type CommitSecret,
  type ConfirmationKey,
  type EncryptionSecret,
  type EpochAuthenticator,
  type EpochSecret,
  type ExporterSecret,
  type ExternalSecret,
  type InitSecret,
  type JoinerSecret,
  type MembershipKey,
  type PskSecret,
  type ResumptionPsk,
  type SenderDataSecret,
  type WelcomeSecret,
  asSecret,
} from './secrets.js';

/** The secrets derived from epoch_secret (§8, Table 4), each with its own type. */
export interface EpochSecrets {
  readonly senderDataSecret: SenderDataSecret;
  readonly encryptionSecret: EncryptionSecret;
  readonly exporterSecret: ExporterSecret;
  readonly externalSecret: ExternalSecret;
  readonly confirmationKey: ConfirmationKey;
  readonly membershipKey: MembershipKey;
  readonly resumptionPsk: ResumptionPsk;
  readonly epochAuthenticator: EpochAuthenticator;
  /** init_secret of the next epoch. */
  readonly initSecret: InitSecret;
}

/** Everything one run of the key schedule produces for an epoch. */
export interface KeyScheduleEpoch extends EpochSecrets {
  readonly joinerSecret: JoinerSecret;
  readonly welcomeSecret: WelcomeSecret;
}

/** The all-zero KDF.Nh-byte value the RFC writes as "0" (commit_secret without a path, psk_secret without PSKs). */
export function zeroSecret(suite: CipherSuite): Uint8Array {
  return new Uint8Array(suite.kdf.nh);
}

/** joiner_secret = ExpandWithLabel(KDF.Extract(init_secret, commit_secret), "joiner", GroupContext, KDF.Nh). */
export async function deriveJoinerSecret(
  suite: CipherSuite,
  initSecret: InitSecret,
  commitSecret: CommitSecret,
  groupContext: Uint8Array,
): Promise<JoinerSecret> {
  const prk = await suite.kdf.extract(initSecret.bytes, commitSecret.bytes);
  const joiner = await expandWithLabel(suite, prk, 'joiner', groupContext, suite.kdf.nh);
  prk.fill(0);
  return asSecret(joiner);
}

/**
 * From joiner_secret and psk_secret to welcome_secret and epoch_secret: both hang off
 * the same KDF.Extract(joiner_secret, psk_secret), computed once.
 */
export async function deriveFromJoiner(
  suite: CipherSuite,
  joinerSecret: JoinerSecret,
  pskSecret: PskSecret,
  groupContext: Uint8Array,
): Promise<{ welcomeSecret: WelcomeSecret; epochSecret: EpochSecret }> {
  const member = await suite.kdf.extract(joinerSecret.bytes, pskSecret.bytes);
  const [welcome, epoch] = await Promise.all([
    deriveSecret(suite, member, 'welcome'),
    expandWithLabel(suite, member, 'epoch', groupContext, suite.kdf.nh),
  ]);
  member.fill(0);
  return { welcomeSecret: asSecret(welcome), epochSecret: asSecret(epoch) };
}

/** welcome_secret = DeriveSecret(KDF.Extract(joiner_secret, psk_secret), "welcome"): a joiner needs it before it knows the GroupContext. */
export async function deriveWelcomeSecret(suite: CipherSuite, joinerSecret: JoinerSecret, pskSecret: PskSecret): Promise<WelcomeSecret> {
  const member = await suite.kdf.extract(joinerSecret.bytes, pskSecret.bytes);
  const welcome = await deriveSecret(suite, member, 'welcome');
  member.fill(0);
  return asSecret(welcome);
}

/** epoch_secret = ExpandWithLabel(KDF.Extract(joiner_secret, psk_secret), "epoch", GroupContext, KDF.Nh). */
export async function deriveEpochSecret(suite: CipherSuite, joinerSecret: JoinerSecret, pskSecret: PskSecret, groupContext: Uint8Array): Promise<EpochSecret> {
  const member = await suite.kdf.extract(joinerSecret.bytes, pskSecret.bytes);
  const epoch = await expandWithLabel(suite, member, 'epoch', groupContext, suite.kdf.nh);
  member.fill(0);
  return asSecret(epoch);
}

/** The secrets of Table 4, all DeriveSecret(epoch_secret, label). */
export async function deriveEpochSecrets(suite: CipherSuite, epochSecret: EpochSecret): Promise<EpochSecrets> {
  const e = epochSecret.bytes;
  const [senderData, encryption, exporter, external, confirm, membership, resumption, authentication, init] = await Promise.all([
    deriveSecret(suite, e, 'sender data'),
    deriveSecret(suite, e, 'encryption'),
    deriveSecret(suite, e, 'exporter'),
    deriveSecret(suite, e, 'external'),
    deriveSecret(suite, e, 'confirm'),
    deriveSecret(suite, e, 'membership'),
    deriveSecret(suite, e, 'resumption'),
    deriveSecret(suite, e, 'authentication'),
    deriveSecret(suite, e, 'init'),
  ]);
  return {
    senderDataSecret: asSecret(senderData),
    encryptionSecret: asSecret(encryption),
    exporterSecret: asSecret(exporter),
    externalSecret: asSecret(external),
    confirmationKey: asSecret(confirm),
    membershipKey: asSecret(membership),
    resumptionPsk: asSecret(resumption),
    epochAuthenticator: asSecret(authentication),
    initSecret: asSecret(init),
  };
}

/**
 * One full run of §8 for a member moving to a new epoch. The epoch_secret is consumed
 * here and destroyed (§9.2); the joiner and welcome secrets are returned for the
 * Welcome that a committer sends.
 */
export async function runKeySchedule(
  suite: CipherSuite,
  input: { initSecret: InitSecret; commitSecret: CommitSecret; pskSecret: PskSecret; groupContext: Uint8Array },
): Promise<KeyScheduleEpoch> {
  const joinerSecret = await deriveJoinerSecret(suite, input.initSecret, input.commitSecret, input.groupContext);
  const { welcomeSecret, epochSecret } = await deriveFromJoiner(suite, joinerSecret, input.pskSecret, input.groupContext);
  const secrets = await deriveEpochSecrets(suite, epochSecret);
  epochSecret.destroy();
  return { joinerSecret, welcomeSecret, ...secrets };
}

/** §12.4.3.1: welcome_key and welcome_nonce that encrypt the GroupInfo of a Welcome. */
export async function welcomeKeyNonce(suite: CipherSuite, welcomeSecret: WelcomeSecret): Promise<{ key: AeadKey; nonce: AeadNonce }> {
  const empty = new Uint8Array(0);
  const [key, nonce] = await Promise.all([
    expandWithLabel(suite, welcomeSecret.bytes, 'key', empty, suite.aead.nk),
    expandWithLabel(suite, welcomeSecret.bytes, 'nonce', empty, suite.aead.nn),
  ]);
  return { key: asSecret(key), nonce: asSecret(nonce) };
}

/** §8.3: the external key pair, DeriveKeyPair(external_secret); its public half goes in the external_pub extension. */
export function externalKeyPair(suite: CipherSuite, externalSecret: ExternalSecret): Promise<KeyPair> {
  return suite.hpke.deriveKeyPair(externalSecret.bytes);
}

/**
 * §8.5 MLS-Exporter(Label, Context, Length) =
 *   ExpandWithLabel(DeriveSecret(exporter_secret, Label), "exported", Hash(Context), Length).
 * The label is a string, used as its UTF-8 bytes after the "MLS 1.0 " prefix.
 */
export async function mlsExporter(
  suite: CipherSuite,
  exporterSecret: ExporterSecret,
  label: string,
  context: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  if (!Number.isInteger(length) || length < 0 || length > 0xffff) throw new UsageError('bad-length', 'exporter length must be a uint16');
  const [derived, contextHash] = await Promise.all([deriveSecret(suite, exporterSecret.bytes, label), suite.hash.digest(context)]);
  const out = await expandWithLabel(suite, derived, 'exported', contextHash, length);
  derived.fill(0);
  return out;
}
