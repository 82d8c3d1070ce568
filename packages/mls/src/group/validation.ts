// RFC 9420 §7.3 Leaf node validation, §10.1 key package validation, and the policy
// checks of §11 (required capabilities) and §5.3.1 (the application's credential
// verdict). Each failure is a ValidationError with a stable code.

import { verifyWithLabel, verifyWithLabelMany } from '../crypto/labeled.js';
import type { CipherSuite } from '../crypto/provider.js';
import { UsageError, ValidationError } from '../errors.js';
import { ProtocolVersion } from '../messages/common.js';
import { decodeRequiredCapabilities, ExtensionType, type Extension, type RequiredCapabilities } from '../messages/extension.js';
import { encodeKeyPackageTbs, type KeyPackage } from '../messages/key-package.js';
import { LeafNodeSource, type LeafNode } from '../messages/leaf-node.js';
import { decode } from '../codec/index.js';
import { leafNodeSignatureCheck, verifyLeafNodeSignature } from '../tree/leaf-signature.js';
import type { PublicTree } from '../tree/public-tree.js';
import type { LeafIndex } from '../util/brand.js';
import { bytesEqual } from '../util/bytes.js';
import type { GroupConfig } from './state.js';

/** The default extension types (§13.4) need not be listed in a leaf's capabilities. */
const DEFAULT_EXTENSIONS = new Set<number>(Object.values(ExtensionType));
/** The default proposal types (§13.4) need not be listed either. */
const DEFAULT_PROPOSALS = new Set<number>([1, 2, 3, 4, 5, 6, 7]);

export function requiredCapabilities(extensions: readonly Extension[]): RequiredCapabilities | undefined {
  const ext = extensions.find((e) => e.extensionType === ExtensionType.required_capabilities);
  return ext === undefined ? undefined : decode(decodeRequiredCapabilities, ext.extensionData);
}

/** §11.1: the leaf supports every extension, proposal and credential type the group requires. */
export function checkRequiredCapabilities(leaf: LeafNode, required: RequiredCapabilities | undefined): void {
  if (required === undefined) return;
  const caps = leaf.capabilities;
  for (const e of required.extensionTypes) {
    if (!DEFAULT_EXTENSIONS.has(e) && !caps.extensions.includes(e)) throw new ValidationError('unsupported-required-capability', `leaf does not support required extension ${e}`);
  }
  for (const p of required.proposalTypes) {
    if (!DEFAULT_PROPOSALS.has(p) && !caps.proposals.includes(p)) throw new ValidationError('unsupported-required-capability', `leaf does not support required proposal ${p}`);
  }
  for (const c of required.credentialTypes) {
    if (!caps.credentials.includes(c)) throw new ValidationError('unsupported-required-capability', `leaf does not support required credential ${c}`);
  }
}

export interface LeafCheckContext {
  readonly suite: CipherSuite;
  readonly config: GroupConfig;
  readonly groupId: Uint8Array;
  readonly groupExtensions: readonly Extension[];
  /** The tree the leaf joins (before the change), for uniqueness and credential-type checks. */
  readonly tree: PublicTree;
}

/**
 * §7.3 Leaf node validation. `at` is the leaf index the node will occupy (update and
 * commit leaves sign it); `replacing` is that leaf's current index, whose keys it may
 * keep (signature key) when it updates itself.
 */
export async function validateLeafNode(
  ctx: LeafCheckContext,
  leaf: LeafNode,
  expectedSource: LeafNodeSource,
  at: LeafIndex | undefined,
  replacing?: LeafIndex,
  signatureVerdict?: boolean,
): Promise<void> {
  checkLeafSource(leaf, expectedSource);
  const sigCtx = expectedSource === LeafNodeSource.key_package || at === undefined ? undefined : { groupId: ctx.groupId, leafIndex: at };
  checkLeafSignature(signatureVerdict ?? (await verifyLeafNodeSignature(ctx.suite, leaf, sigCtx)));
  await validateLeafPolicy(ctx, leaf, replacing);
}

function checkLeafSource(leaf: LeafNode, expected: LeafNodeSource): void {
  if (leaf.leafNodeSource !== expected) throw new ValidationError('invalid-leaf-node-source', `leaf node source ${leaf.leafNodeSource} where ${expected} is required`);
}

function checkLeafSignature(signed: boolean): void {
  if (!signed) throw new ValidationError('invalid-leaf-signature', 'leaf node signature does not verify');
}

/** §7.3: the leaf fits the group — required capabilities, suite, version, and the extensions it carries and must support. */
function checkLeafCapabilities(ctx: Pick<LeafCheckContext, 'suite' | 'groupExtensions'>, leaf: LeafNode): void {
  checkRequiredCapabilities(leaf, requiredCapabilities(ctx.groupExtensions));
  if (!leaf.capabilities.cipherSuites.includes(ctx.suite.id)) {
    throw new ValidationError('unsupported-cipher-suite', 'leaf does not list the group cipher suite in its capabilities');
  }
  if (!leaf.capabilities.versions.includes(ProtocolVersion.mls10)) throw new ValidationError('unsupported-version', 'leaf does not support mls10');
  for (const e of leaf.extensions) {
    if (!DEFAULT_EXTENSIONS.has(e.extensionType) && !leaf.capabilities.extensions.includes(e.extensionType)) {
      throw new ValidationError('unlisted-leaf-extension', `leaf carries extension ${e.extensionType} not listed in its capabilities`);
    }
  }
  for (const e of ctx.groupExtensions) {
    if (!DEFAULT_EXTENSIONS.has(e.extensionType) && !leaf.capabilities.extensions.includes(e.extensionType)) {
      throw new ValidationError('unsupported-group-extension', `leaf does not support group extension ${e.extensionType}`);
    }
  }
}

/** The checks of §7.3 other than the signature and source. */
export async function validateLeafPolicy(ctx: LeafCheckContext, leaf: LeafNode, replacing?: LeafIndex): Promise<void> {
  checkLeafPolicy(ctx, leaf, replacing);
  await checkCredential(ctx.config, leaf);
}

/** validateLeafPolicy without the application's verdict on the credential: pure checks, no callback. */
function checkLeafPolicy(ctx: LeafCheckContext, leaf: LeafNode, replacing?: LeafIndex): void {
  checkLeafCapabilities(ctx, leaf);
  // Credential types: this leaf's must be supported by every member, and it must support
  // all in use. One indexed pass (this runs for every commit path leaf and every Add, so
  // in a group of thousands it must cost little per member).
  const tree = ctx.tree;
  const ownType = leaf.credential.credentialType;
  const ownSupported = leaf.capabilities.credentials;
  const sig = leaf.signatureKey;
  const sig0 = sig[0];
  const sig1 = sig[1];
  for (let i = 0; i < tree.leafCount; i++) {
    if (i === replacing) continue;
    const other = tree.leaf(i as LeafIndex);
    if (other === undefined) continue;
    if (!other.capabilities.credentials.includes(ownType)) {
      throw new ValidationError('unsupported-credential-type', `member ${i} does not support credential type ${ownType}`);
    }
    const otherType = other.credential.credentialType;
    if (!ownSupported.includes(otherType)) {
      throw new ValidationError('unsupported-credential-type', `leaf does not support credential type ${otherType} used by member ${i}`);
    }
    const k = other.signatureKey;
    if (k[0] === sig0 && k[1] === sig1 && bytesEqual(k, sig)) throw new ValidationError('duplicate-signature-key', `signature key already used by member ${i}`);
  }
  if (ctx.tree.findEncryptionKey([leaf.encryptionKey]) !== undefined) {
    throw new ValidationError('duplicate-encryption-key', 'encryption key already in the tree');
  }
  if (leaf.leafNodeSource === LeafNodeSource.key_package && ctx.config.checkLifetimes !== false) {
    const now = ctx.config.now?.();
    if (now === undefined) throw new UsageError('no-clock', 'lifetimes are checked but the configuration gives no clock (config.now)');
    if (now < leaf.lifetime.notBefore || now > leaf.lifetime.notAfter) throw new ValidationError('lifetime-expired', 'leaf node lifetime does not cover the current time');
  }
}

/** §5.3.1: the application's verdict on a leaf's credential (config.validateCredential), if it gives one. */
async function checkCredential(config: GroupConfig, leaf: LeafNode): Promise<void> {
  const validator = config.validateCredential;
  if (validator !== undefined && !(await validator(leaf.credential, leaf.signatureKey))) {
    throw new ValidationError('credential-rejected', 'the application rejected the credential');
  }
}

/** The verdicts of a key package's two signatures, when checked beforehand in a batch (keyPackageSignatureChecks). */
export interface KeyPackageSignatureVerdicts {
  readonly keyPackage: boolean;
  readonly leafNode: boolean;
}

const KEY_PACKAGE_TBS = 'KeyPackageTBS';

/**
 * The two signatures §10.1 checks for each key package (the KeyPackageTBS and its leaf
 * node's LeafNodeTBS, both under the leaf's signature key), verified in one batch that
 * the backend may run in parallel. Verdicts in `kps` order, for validateKeyPackage.
 */
export async function keyPackageSignatureVerdicts(suite: CipherSuite, kps: readonly KeyPackage[]): Promise<KeyPackageSignatureVerdicts[]> {
  const checks = kps.flatMap((kp) => [
    { verificationKey: kp.leafNode.signatureKey, label: KEY_PACKAGE_TBS, content: encodeKeyPackageTbs(kp), signature: kp.signature },
    leafNodeSignatureCheck(kp.leafNode),
  ]);
  const v = await verifyWithLabelMany(suite, checks);
  return kps.map((_, i) => ({ keyPackage: v[2 * i]!, leafNode: v[2 * i + 1]! }));
}

/**
 * §10.1 key package validation (the leaf node's policy checks included). `verdicts`
 * are the results of its two signature checks when already made
 * (keyPackageSignatureVerdicts); without them the signatures are verified here. The
 * checks run, and fail, in the same order either way.
 */
export async function validateKeyPackage(ctx: LeafCheckContext, kp: KeyPackage, verdicts?: KeyPackageSignatureVerdicts): Promise<void> {
  checkKeyPackageHeader(ctx, kp);
  checkKeyPackageSignature(verdicts?.keyPackage ?? (await verifyWithLabel(ctx.suite, kp.leafNode.signatureKey, KEY_PACKAGE_TBS, encodeKeyPackageTbs(kp), kp.signature)));
  checkInitKey(kp);
  await validateLeafNode(ctx, kp.leafNode, LeafNodeSource.key_package, undefined, undefined, verdicts?.leafNode);
}

/**
 * validateKeyPackage in two halves, for checking while the signatures are still being
 * verified (a commit's Adds, see applyProposals): `precheckKeyPackage` makes every check
 * that needs neither signature nor the application (no callback, nothing awaited), in
 * validateKeyPackage's order; `confirmKeyPackage` then makes the rest with the verdicts:
 * the key package signature, the leaf signature, the application's credential verdict.
 * When the prechecks pass, confirmKeyPackage throws exactly what validateKeyPackage
 * would, since the checks it skipped are the only ones that can still fail.
 */
export function precheckKeyPackage(ctx: LeafCheckContext, kp: KeyPackage): void {
  checkKeyPackageHeader(ctx, kp);
  checkInitKey(kp);
  checkLeafSource(kp.leafNode, LeafNodeSource.key_package);
  checkLeafPolicy(ctx, kp.leafNode);
}

/** The second half of validateKeyPackage (see precheckKeyPackage), in its order. */
export async function confirmKeyPackage(ctx: LeafCheckContext, kp: KeyPackage, verdicts: KeyPackageSignatureVerdicts): Promise<void> {
  checkKeyPackageSignature(verdicts.keyPackage);
  checkLeafSignature(verdicts.leafNode);
  await checkCredential(ctx.config, kp.leafNode);
}

function checkKeyPackageHeader(ctx: LeafCheckContext, kp: KeyPackage): void {
  if (kp.version !== ProtocolVersion.mls10) throw new ValidationError('unsupported-version', 'key package version is not mls10');
  if (kp.cipherSuite !== ctx.suite.id) throw new ValidationError('cipher-suite-mismatch', 'key package cipher suite differs from the group');
}

function checkKeyPackageSignature(signed: boolean): void {
  if (!signed) throw new ValidationError('invalid-key-package-signature', 'key package signature does not verify');
}

function checkInitKey(kp: KeyPackage): void {
  if (bytesEqual(kp.initKey, kp.leafNode.encryptionKey)) throw new ValidationError('init-key-reused', 'init_key equals the leaf encryption key');
}

/**
 * §12.4.3.1 / §7.3 for a tree received whole (a Welcome's, or a GroupInfo's for an
 * external join or the server's view): every leaf fits the group's extensions, suite
 * and version, supports every credential type in use, and its credential is accepted by
 * the application. Signatures, parent hashes, the tree hash and key uniqueness are
 * checked by tree/validate.ts. Lifetimes are not: §7.3 only RECOMMENDS it for a joined
 * tree, and a member's expired key-package leaf would lock every newcomer out.
 */
export async function validateTreeLeaves(ctx: Pick<LeafCheckContext, 'suite' | 'config' | 'groupExtensions'>, tree: PublicTree): Promise<void> {
  const inUse = new Set<number>();
  for (const [, leaf] of tree.leaves()) inUse.add(leaf.credential.credentialType);
  const validator = ctx.config.validateCredential;
  for (const [i, leaf] of tree.leaves()) {
    checkLeafCapabilities(ctx, leaf);
    for (const t of inUse) {
      if (!leaf.capabilities.credentials.includes(t)) throw new ValidationError('unsupported-credential-type', `member ${i} does not support credential type ${t} in use`);
    }
    if (validator !== undefined && !(await validator(leaf.credential, leaf.signatureKey))) {
      throw new ValidationError('credential-rejected', `the application rejected the credential of member ${i}`);
    }
  }
}
