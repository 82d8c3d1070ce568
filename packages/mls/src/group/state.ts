// RFC 9420 §8, §11–§12: the state one member holds for one group, as an immutable value.
// Every group operation takes a GroupState and returns a new one; the input is never
// changed. That includes protecting and unprotecting messages: the returned state's
// SecretTree no longer holds the used key (§9.2 forward secrecy), while a state the
// caller kept still does (schedule/secret-tree.ts).

import type { CipherSuite } from '../crypto/provider.js';
import type { Credential } from '../messages/credential.js';
import type { Proposal, ReInit } from '../messages/proposal.js';
import { UsageError } from '../errors.js';
import { encode } from '../codec/index.js';
import { encodeExtensions } from '../messages/extension.js';
import { bytesEqual } from '../util/bytes.js';
import type { GroupContext } from '../messages/group-context.js';
import type { Sender } from '../messages/framing.js';
import type { SecretTree, SecretTreeOptions } from '../schedule/secret-tree.js';
import type {
  ConfirmationKey,
  EpochAuthenticator,
  ExporterSecret,
  ExternalSecret,
  InitSecret,
  MembershipKey,
  ResumptionPsk,
  SenderDataSecret,
} from '../schedule/secrets.js';
import type { PublicTree } from '../tree/public-tree.js';
import type { HpkePrivateKey, TreePrivateKeys } from '../tree/private.js';
import type { LeafIndex } from '../util/brand.js';
import type { Secret } from '../util/secret.js';

export type SignaturePrivateKey = Secret<'signature-private-key'>;

/** What the application decides about a credential (§5.3.1): true to accept. */
export type CredentialValidator = (credential: Credential, signatureKey: Uint8Array) => boolean | Promise<boolean>;

/** Options that are not part of the group's cryptographic state; given again on restore. */
export interface GroupConfig {
  /**
   * §7.3: refuse key packages whose lifetime does not cover `now()`. On by default;
   * switch off only to replay recorded vectors whose key packages have expired.
   */
  readonly checkLifetimes?: boolean;
  /** Seconds since the Unix epoch; the engine has no clock of its own. Needed when lifetimes are checked. */
  readonly now?: () => bigint;
  /** §5.3.1: the application's verdict on each credential it sees; accepts all when absent. */
  readonly validateCredential?: CredentialValidator;
  /**
   * §12.4.3.2: whether a new credential belongs to the same client as a previous one —
   * asked when an external commit removes a leaf (a resync must remove the joiner's own
   * prior leaf), when a commit adds a client (§12.2: not one already in the group, nor
   * twice), and when a ReInit's new group or a branch is checked against the old group's
   * members (§11.2, §11.3). By default the two credentials must be identical.
   */
  readonly isSameClient?: (previous: Credential, next: Credential) => boolean | Promise<boolean>;
  /**
   * The same question as isSameClient, answered as a key: two credentials belong to one
   * client when their keys are equal (a string, e.g. a user and device id). Asked once
   * per credential rather than once per pair, so a commit adding N clients to a group of
   * M costs N + M calls instead of about N·M. Give this or isSameClient, not both.
   */
  readonly clientKey?: (credential: Credential) => string;
  /** §8.4: values of external PSKs by psk_id. */
  readonly externalPsk?: (pskId: Uint8Array) => Uint8Array | undefined;
  /** Out-of-order window of each epoch's secret tree (§9.2). */
  readonly secretTree?: SecretTreeOptions;
  /** How many past epochs keep their secret tree for late application messages. Default 2. */
  readonly retainedEpochs?: number;
  /**
   * §8.6: how many past epochs keep their resumption_psk, for PreSharedKey proposals
   * and Welcomes that name one (usage application; a re-initialised or branched group's
   * old state holds its own). With k, at epoch n the epochs n-k…n are available and
   * older ones are refused as `missing-psk`. An integer in 0…RESUMPTION_PSK_EPOCHS_MAX;
   * default 8. The members should agree: a member keeping fewer refuses a commit that
   * names an epoch it has dropped. Not stored by serializeState: given again on restore.
   */
  readonly resumptionPskEpochs?: number;
  /** PrivateMessage padding: content is padded to a multiple of this many bytes. Default 32 (src/framing). */
  readonly paddingBlock?: number;
}

/** The secrets of one epoch that outlive the key schedule run (§8 Table 4). */
export interface EpochKeys {
  readonly senderDataSecret: SenderDataSecret;
  readonly exporterSecret: ExporterSecret;
  readonly externalSecret: ExternalSecret;
  readonly confirmationKey: ConfirmationKey;
  readonly membershipKey: MembershipKey;
  readonly resumptionPsk: ResumptionPsk;
  readonly epochAuthenticator: EpochAuthenticator;
  readonly initSecret: InitSecret;
  readonly secretTree: SecretTree;
}

/** A past epoch kept for late application messages: only what unprotecting needs. */
export interface RetainedEpoch {
  readonly epoch: bigint;
  readonly senderDataSecret: SenderDataSecret;
  readonly secretTree: SecretTree;
  readonly groupContext: GroupContext;
  /** The members' signature keys of that epoch, by leaf index. */
  readonly signatureKeys: ReadonlyMap<number, Uint8Array>;
}

/** A proposal received (or sent) in this epoch, kept until a commit references it (§12.4). */
export interface CachedProposal {
  readonly ref: Uint8Array;
  readonly proposal: Proposal;
  readonly sender: Sender;
  /** For our own Update proposals: the private key of the proposed leaf. */
  readonly updatePrivateKey?: HpkePrivateKey;
}

export interface GroupState {
  readonly suite: CipherSuite;
  readonly config: GroupConfig;
  readonly groupContext: GroupContext;
  /** The GroupContext's encoding, signed into every FramedContentTBS of the epoch. */
  readonly groupContextBytes: Uint8Array;
  readonly tree: PublicTree;
  readonly ownLeaf: LeafIndex;
  readonly privateKeys: TreePrivateKeys;
  readonly signaturePrivateKey: SignaturePrivateKey;
  readonly interimTranscriptHash: Uint8Array;
  /** The confirmation tag of the commit that started this epoch (for GroupInfo). */
  readonly confirmationTag: Uint8Array;
  readonly keys: EpochKeys;
  readonly proposals: readonly CachedProposal[];
  /** resumption_psk of recent epochs, newest first (§8.6). */
  readonly resumptionPsks: readonly { readonly epoch: bigint; readonly psk: ResumptionPsk }[];
  readonly retained: readonly RetainedEpoch[];
  /**
   * §11.2: set once a ReInit has been committed. The epoch then serves only to start the
   * new group (its resumption PSK of usage reinit); no further commit or message.
   */
  readonly reinit?: ReInit | undefined;
}

/**
 * §11.2: `next` may re-initialise `old` — old's ReInit is committed and next, at epoch 0,
 * has the group id, version, cipher suite and extensions it names (UsageError 'not-a-reinit').
 */
export function assertReinitTarget(old: Pick<GroupState, 'reinit'>, next: Pick<GroupState, 'groupContext'>): void {
  if (old.reinit === undefined || next.groupContext.epoch !== 0n || !matchesReinit(old.reinit, next.groupContext)) throw new UsageError('not-a-reinit', 'the group is not the new group that the old group’s committed ReInit describes');
}

/** §11.2: the GroupContext has the group id, version, cipher suite and extensions the ReInit names. */
export function matchesReinit(r: ReInit, gc: GroupContext): boolean {
  return bytesEqual(gc.groupId, r.groupId) && gc.version === r.version && gc.cipherSuite === r.cipherSuite && bytesEqual(encode(encodeExtensions, gc.extensions), encode(encodeExtensions, r.extensions));
}

/** §11.2: refuses an operation on a group whose ReInit has been committed (UsageError 'group-reinitialising'). */
export function assertNotReinitialising(state: Pick<GroupState, 'reinit'>): void {
  if (state.reinit !== undefined) throw new UsageError('group-reinitialising', 'a ReInit has been committed: this group only re-initialises now');
}

export function retainedEpochCount(config: GroupConfig): number {
  return config.retainedEpochs ?? 2;
}

export const DEFAULT_RESUMPTION_PSK_EPOCHS = 8;
/** The most past resumption PSKs a state keeps (each is KDF.Nh bytes, in every saved state). */
export const RESUMPTION_PSK_EPOCHS_MAX = 1024;

/** config.resumptionPskEpochs, checked (UsageError 'bad-option'), or its default. */
export function resumptionPskEpochCount(config: GroupConfig): number {
  const k = config.resumptionPskEpochs ?? DEFAULT_RESUMPTION_PSK_EPOCHS;
  if (!Number.isSafeInteger(k) || k < 0 || k > RESUMPTION_PSK_EPOCHS_MAX) {
    throw new UsageError('bad-option', `resumptionPskEpochs must be an integer in 0..${RESUMPTION_PSK_EPOCHS_MAX}`);
  }
  return k;
}

/** Checks a GroupConfig's options (at the entry points that take one; UsageError 'bad-option'). */
export function checkGroupConfig(config: GroupConfig): void {
  resumptionPskEpochCount(config);
  if (config.clientKey !== undefined && config.isSameClient !== undefined) {
    throw new UsageError('bad-option', 'give config.clientKey or config.isSameClient, not both');
  }
}
