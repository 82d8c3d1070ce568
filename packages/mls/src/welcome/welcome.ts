// RFC 9420 §12.4.3 Welcome: encrypting the GroupSecrets to each new member's init key
// and the GroupInfo under the welcome key (sender side), and, for a joiner (§12.4.3.1),
// finding its EncryptedGroupSecrets by KeyPackageRef, decrypting them with the
// KeyPackage's init private key, deriving psk_secret and welcome_secret, decrypting the
// GroupInfo, verifying its signature, and recomputing its confirmation tag from the
// epoch secrets. The tree checks of §12.4.3.1 (ratchet tree, path secret) are the
// group layer's; this module hands it the checked GroupInfo and the epoch's secrets.

import { decode, encode } from '../codec/index.js';
import { decryptWithLabel, encryptWithLabelMany, makeKeyPackageRef, signWithLabel, verifyWithLabel } from '../crypto/labeled.js';
import type { CipherSuite } from '../crypto/provider.js';
import { CryptoError, ValidationError } from '../errors.js';
import { encodeGroupContext } from '../messages/group-context.js';
import { encodeKeyPackage, type KeyPackage } from '../messages/key-package.js';
import type { PreSharedKeyID } from '../messages/proposal.js';
import {
  decodeGroupInfo,
  decodeGroupSecrets,
  encodeGroupInfo,
  encodeGroupInfoTbs,
  encodeGroupSecrets,
  type EncryptedGroupSecrets,
  type GroupInfo,
  type UnsignedGroupInfo,
  type Welcome,
} from '../messages/welcome.js';
import { deriveEpochSecret, deriveEpochSecrets, deriveWelcomeSecret, type EpochSecrets, welcomeKeyNonce } from '../schedule/key-schedule.js';
import { resolvePskSecret } from '../schedule/psk.js';
import { asSecret, type JoinerSecret, type PskSecret, type WelcomeSecret } from '../schedule/secrets.js';
import { verifyConfirmationTag } from '../schedule/transcript.js';
import { bytesEqual } from '../util/bytes.js';
import type { Secret } from '../util/secret.js';

/** The path secret a Welcome gives a new member (§12.4.3.1); the same tag as tree/treekem.ts `PathSecret`. */
export type WelcomePathSecret = Secret<'path-secret'>;

/** What a joiner learns from a Welcome, before the group layer checks the tree. */
export interface DecryptedWelcome {
  /** Decrypted, signature not yet verified: pass to `verifyGroupInfoSignature` with the signer's key from the tree. */
  readonly groupInfo: GroupInfo;
  readonly joinerSecret: JoinerSecret;
  readonly pskSecret: PskSecret;
  readonly pathSecret: WelcomePathSecret | undefined;
  readonly psks: readonly PreSharedKeyID[];
}

export interface WelcomeRecipient {
  readonly keyPackage: KeyPackage;
  readonly initPrivateKey: Uint8Array;
  /** The value of each PSK the Welcome names (external, or an earlier epoch's resumption_psk). */
  readonly resolvePsk?: (id: PreSharedKeyID) => Uint8Array | undefined;
}

function suiteCheck(suite: CipherSuite, value: number, what: string): void {
  if (value !== suite.id) throw new ValidationError('suite-mismatch', `${what} uses cipher suite ${value}, not ${suite.id}`);
}

async function opened<T>(code: string, message: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof CryptoError) throw new ValidationError(code, message, { cause: error });
    throw error;
  }
}

/**
 * §12.4.3.1 steps 1–3: decrypts the GroupSecrets meant for `recipient.keyPackage` and the
 * GroupInfo. Refuses with ValidationError `suite-mismatch`, `welcome-not-for-us`,
 * `undecryptable-group-secrets`, `missing-psk`, `bad-psk-nonce` or
 * `undecryptable-group-info`; malformed plaintexts with DecodeError.
 */
export async function decryptWelcome(suite: CipherSuite, welcome: Welcome, recipient: WelcomeRecipient): Promise<DecryptedWelcome> {
  suiteCheck(suite, welcome.cipherSuite, 'the Welcome');
  suiteCheck(suite, recipient.keyPackage.cipherSuite, 'the KeyPackage');
  const ref = await makeKeyPackageRef(suite, encode(encodeKeyPackage, recipient.keyPackage));
  const mine = welcome.secrets.find((s) => bytesEqual(s.newMember, ref));
  if (mine === undefined) throw new ValidationError('welcome-not-for-us', 'no EncryptedGroupSecrets names this KeyPackage');

  const { kemOutput, ciphertext } = mine.encryptedGroupSecrets;
  const plaintext = await opened('undecryptable-group-secrets', 'the GroupSecrets do not decrypt with this init key', () =>
    decryptWithLabel(suite, recipient.initPrivateKey, 'Welcome', welcome.encryptedGroupInfo, kemOutput, ciphertext),
  );
  const groupSecrets = decode(decodeGroupSecrets, plaintext);
  plaintext.fill(0);
  const joinerSecret: JoinerSecret = asSecret(groupSecrets.joinerSecret);
  const pathSecret = groupSecrets.pathSecret === undefined ? undefined : asSecret<'path-secret'>(groupSecrets.pathSecret.pathSecret);

  const pskSecret = await resolvePskSecret(suite, groupSecrets.psks, recipient.resolvePsk ?? (() => undefined));
  const welcomeSecret = await deriveWelcomeSecret(suite, joinerSecret, pskSecret);
  const groupInfo = await decryptGroupInfo(suite, welcomeSecret, welcome.encryptedGroupInfo);
  welcomeSecret.destroy();
  suiteCheck(suite, groupInfo.groupContext.cipherSuite, 'the GroupInfo');
  return { groupInfo, joinerSecret, pskSecret, pathSecret, psks: groupSecrets.psks };
}

async function decryptGroupInfo(suite: CipherSuite, welcomeSecret: WelcomeSecret, encryptedGroupInfo: Uint8Array): Promise<GroupInfo> {
  const { key, nonce } = await welcomeKeyNonce(suite, welcomeSecret);
  try {
    const bytes = await opened('undecryptable-group-info', 'the GroupInfo does not decrypt with the welcome key', () =>
      suite.aead.open(key.bytes, nonce.bytes, new Uint8Array(0), encryptedGroupInfo),
    );
    return decode(decodeGroupInfo, bytes);
  } finally {
    key.destroy();
    nonce.destroy();
  }
}

/** §12.4.3: VerifyWithLabel(signer's key, "GroupInfoTBS", GroupInfoTBS, signature); `invalid-group-info-signature`. */
export async function verifyGroupInfoSignature(suite: CipherSuite, groupInfo: GroupInfo, signerPublicKey: Uint8Array): Promise<void> {
  if (!(await verifyWithLabel(suite, signerPublicKey, 'GroupInfoTBS', encodeGroupInfoTbs(groupInfo), groupInfo.signature))) {
    throw new ValidationError('invalid-group-info-signature', 'the GroupInfo signature does not verify');
  }
}

export function signGroupInfo(suite: CipherSuite, unsigned: UnsignedGroupInfo, signaturePrivateKey: Uint8Array): Promise<Uint8Array> {
  return signWithLabel(suite, signaturePrivateKey, 'GroupInfoTBS', encodeGroupInfoTbs(unsigned));
}

/**
 * §12.4.3.1 step 6 (key schedule part): the joiner's epoch secrets from joiner_secret,
 * psk_secret and the GroupInfo's GroupContext, and the check that the GroupInfo's
 * confirmation tag is MAC(confirmation_key, confirmed_transcript_hash);
 * `invalid-confirmation-tag` otherwise. The joiner secret is consumed (§9.2).
 */
export async function joinedEpochSecrets(suite: CipherSuite, welcome: DecryptedWelcome): Promise<EpochSecrets> {
  const { groupContext } = welcome.groupInfo;
  const epochSecret = await deriveEpochSecret(suite, welcome.joinerSecret, welcome.pskSecret, encode(encodeGroupContext, groupContext));
  const secrets = await deriveEpochSecrets(suite, epochSecret);
  epochSecret.destroy();
  if (!(await verifyConfirmationTag(suite, secrets.confirmationKey, groupContext.confirmedTranscriptHash, welcome.groupInfo.confirmationTag))) {
    throw new ValidationError('invalid-confirmation-tag', 'the GroupInfo confirmation tag does not match the epoch');
  }
  welcome.joinerSecret.destroy();
  return secrets;
}

/** One new member of a Welcome: its KeyPackage, and the path secret of its lowest common ancestor with the committer, if any. */
export interface WelcomeNewMember {
  readonly keyPackage: KeyPackage;
  readonly pathSecret?: WelcomePathSecret | undefined;
}

/**
 * §12.4.3.1 sender side: encrypts a signed GroupInfo under the welcome key, and a
 * GroupSecrets to each new member's init key (with the encrypted GroupInfo as context).
 */
export async function createWelcome(
  suite: CipherSuite,
  input: {
    readonly groupInfo: GroupInfo;
    readonly joinerSecret: JoinerSecret;
    readonly welcomeSecret: WelcomeSecret;
    readonly psks: readonly PreSharedKeyID[];
    readonly newMembers: readonly WelcomeNewMember[];
  },
): Promise<Welcome> {
  const { key, nonce } = await welcomeKeyNonce(suite, input.welcomeSecret);
  const encryptedGroupInfo = await suite.aead.seal(key.bytes, nonce.bytes, new Uint8Array(0), encode(encodeGroupInfo, input.groupInfo));
  key.destroy();
  nonce.destroy();
  for (const m of input.newMembers) suiteCheck(suite, m.keyPackage.cipherSuite, 'a new member KeyPackage');
  const plaintexts = input.newMembers.map((m) =>
    encode(encodeGroupSecrets, {
      joinerSecret: input.joinerSecret.bytes,
      pathSecret: m.pathSecret === undefined ? undefined : { pathSecret: m.pathSecret.bytes },
      psks: input.psks,
    }),
  );
  // One batch: the EncryptContext (the whole encrypted GroupInfo) is hashed once.
  const [sealed, refs] = await Promise.all([
    encryptWithLabelMany(
      suite,
      'Welcome',
      encryptedGroupInfo,
      input.newMembers.map((m, i) => ({ publicKey: m.keyPackage.initKey, plaintext: plaintexts[i]! })),
    ),
    Promise.all(input.newMembers.map((m) => makeKeyPackageRef(suite, encode(encodeKeyPackage, m.keyPackage)))),
  ]);
  for (const p of plaintexts) p.fill(0);
  const secrets = sealed.map((encryptedGroupSecrets, i): EncryptedGroupSecrets => ({ newMember: refs[i]!, encryptedGroupSecrets }));
  return { cipherSuite: suite.id, secrets, encryptedGroupInfo };
}
