// RFC 9420 §10 key packages and §11 group creation: a client's key package (with its
// three private keys) and the one-member group at epoch 0.

import { encode } from '../codec/index.js';
import { signWithLabel } from '../crypto/labeled.js';
import type { CipherSuite, CryptoProvider } from '../crypto/provider.js';
import { UsageError } from '../errors.js';
import type { Capabilities } from '../messages/capabilities.js';
import { ProtocolVersion } from '../messages/common.js';
import type { Credential } from '../messages/credential.js';
import type { Extension } from '../messages/extension.js';
import { encodeGroupContext, type GroupContext } from '../messages/group-context.js';
import { encodeKeyPackageTbs, type KeyPackage } from '../messages/key-package.js';
import { LeafNodeSource, type Lifetime } from '../messages/leaf-node.js';
import { runKeySchedule, zeroSecret } from '../schedule/key-schedule.js';
import { asSecret } from '../schedule/secrets.js';
import { confirmationTag, nextInterimTranscriptHash } from '../schedule/transcript.js';
import { signLeafNode } from '../tree/leaf-signature.js';
import { TreePrivateKeys } from '../tree/private.js';
import { PublicTree } from '../tree/public-tree.js';
import { leafIndex } from '../util/brand.js';
import { Secret } from '../util/secret.js';
import { epochKeysFrom } from './epoch.js';
import { checkGroupConfig, type GroupConfig, type GroupState } from './state.js';
import type { KeyPackagePrivateKeys } from './welcome.js';

/** The last_resort key package extension (RFC 9420 §17.3 registry, value 0x000a). */
export const LAST_RESORT_EXTENSION = 0x000a;

/** A signature key pair in the suite's raw encodings. */
export interface SignatureKeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

export interface LeafParams {
  readonly credential: Credential;
  readonly signatureKey: SignatureKeyPair;
  /** Seconds since the Unix epoch; defaults to [0, 2^64 - 1] (no limit). */
  readonly lifetime?: Lifetime;
  /** Defaults to mls10, this suite, no extra extensions or proposals, the credential's type. */
  readonly capabilities?: Capabilities;
  /** LeafNode extensions. */
  readonly leafExtensions?: readonly Extension[];
}

export interface GenerateKeyPackageParams extends LeafParams {
  readonly suite: CipherSuite;
  /** KeyPackage extensions. */
  readonly extensions?: readonly Extension[];
  /** Marks the key package as last-resort (may be used more than once). */
  readonly lastResort?: boolean;
}

const NO_LIMIT: Lifetime = { notBefore: 0n, notAfter: 0xffff_ffff_ffff_ffffn };

function defaultCapabilities(suite: CipherSuite, credential: Credential, extensions: readonly number[] = []): Capabilities {
  return {
    versions: [ProtocolVersion.mls10],
    cipherSuites: [suite.id],
    extensions: [...extensions],
    proposals: [],
    credentials: [credential.credentialType],
  };
}

/**
 * §10: a signed KeyPackage and the private keys of its init key, leaf key and signature
 * key. §10: every KeyPackage extension must be listed in the leaf's capabilities — the
 * default capabilities list them; given ones that miss one are refused (UsageError
 * 'unlisted-key-package-extension').
 */
export async function generateKeyPackage(p: GenerateKeyPackageParams): Promise<{ keyPackage: KeyPackage; privateKeys: KeyPackagePrivateKeys }> {
  const { suite } = p;
  const extensions = [...(p.extensions ?? [])];
  if (p.lastResort === true) extensions.push({ extensionType: LAST_RESORT_EXTENSION, extensionData: new Uint8Array(0) });
  const types = [...new Set(extensions.map((e) => e.extensionType))];
  const capabilities = p.capabilities ?? defaultCapabilities(suite, p.credential, types);
  for (const t of types) {
    if (!capabilities.extensions.includes(t)) throw new UsageError('unlisted-key-package-extension', `the capabilities do not list KeyPackage extension ${t}`);
  }
  const [init, enc] = await Promise.all([suite.hpke.generateKeyPair(), suite.hpke.generateKeyPair()]);
  const leafNode = await signLeafNode(
    suite,
    {
      encryptionKey: enc.publicKey,
      signatureKey: p.signatureKey.publicKey,
      credential: p.credential,
      capabilities,
      leafNodeSource: LeafNodeSource.key_package,
      lifetime: p.lifetime ?? NO_LIMIT,
      extensions: p.leafExtensions ?? [],
    },
    p.signatureKey.privateKey,
  );
  const tbs = { version: ProtocolVersion.mls10, cipherSuite: suite.id, initKey: init.publicKey, leafNode, extensions };
  const signature = await signWithLabel(suite, p.signatureKey.privateKey, 'KeyPackageTBS', encodeKeyPackageTbs(tbs));
  return {
    keyPackage: { ...tbs, signature },
    privateKeys: { initPrivateKey: init.privateKey, encryptionPrivateKey: enc.privateKey, signaturePrivateKey: p.signatureKey.privateKey },
  };
}

export interface CreateGroupParams extends LeafParams {
  readonly provider: CryptoProvider;
  readonly suite: number;
  readonly groupId: Uint8Array;
  /** GroupContext extensions (required_capabilities, external_senders, …). */
  readonly extensions?: readonly Extension[];
  readonly config?: GroupConfig;
}

/** §11: a group whose only member is its creator, at epoch 0. */
export async function createGroup(p: CreateGroupParams): Promise<GroupState> {
  const suite = p.provider.suite(p.suite);
  const config = p.config ?? {};
  checkGroupConfig(config);
  if (p.groupId.length === 0) throw new UsageError('bad-group-id', 'a group id must not be empty');
  if (!(await suite.signature.publicKeyOf(p.signatureKey.privateKey)).every((b, i) => b === p.signatureKey.publicKey[i])) {
    throw new UsageError('signature-key-mismatch', 'the signature private key does not match its public key');
  }
  const enc = await suite.hpke.generateKeyPair();
  const leaf = await signLeafNode(
    suite,
    {
      encryptionKey: enc.publicKey,
      signatureKey: p.signatureKey.publicKey,
      credential: p.credential,
      capabilities: p.capabilities ?? defaultCapabilities(suite, p.credential),
      leafNodeSource: LeafNodeSource.key_package,
      lifetime: p.lifetime ?? NO_LIMIT,
      extensions: p.leafExtensions ?? [],
    },
    p.signatureKey.privateKey,
  );
  const tree = PublicTree.single(suite, leaf);
  const groupContext: GroupContext = {
    version: ProtocolVersion.mls10,
    cipherSuite: suite.id,
    groupId: p.groupId.slice(),
    epoch: 0n,
    treeHash: await tree.treeHash(),
    confirmedTranscriptHash: new Uint8Array(0),
    extensions: [...(p.extensions ?? [])],
  };
  const groupContextBytes = encode(encodeGroupContext, groupContext);
  const schedule = await runKeySchedule(suite, {
    initSecret: asSecret(suite.randomBytes(suite.kdf.nh)),
    commitSecret: asSecret(zeroSecret(suite)),
    pskSecret: asSecret(zeroSecret(suite)),
    groupContext: groupContextBytes,
  });
  schedule.joinerSecret.destroy();
  schedule.welcomeSecret.destroy();
  const tag = await confirmationTag(suite, schedule.confirmationKey, groupContext.confirmedTranscriptHash);
  const own = leafIndex(0);
  return {
    suite,
    config,
    groupContext,
    groupContextBytes,
    tree,
    ownLeaf: own,
    privateKeys: TreePrivateKeys.forLeaf(own, enc.privateKey),
    signaturePrivateKey: new Secret(p.signatureKey.privateKey.slice()),
    interimTranscriptHash: await nextInterimTranscriptHash(suite, groupContext.confirmedTranscriptHash, tag),
    confirmationTag: tag,
    keys: epochKeysFrom(suite, schedule, tree.leafCount, config),
    proposals: [],
    resumptionPsks: [],
    retained: [],
  };
}
