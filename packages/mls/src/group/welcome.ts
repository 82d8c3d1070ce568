// RFC 9420 §12.4.3.1 Joining via a Welcome message: find our entry, decrypt the
// GroupSecrets with the key package's init key, derive welcome_secret (with any PSKs),
// decrypt and verify the GroupInfo, check the ratchet tree, place our private keys
// (and those derived from path_secret) and enter the epoch.

import { decode, encode } from '../codec/index.js';
import { decryptWithLabel, expandWithLabel, makeKeyPackageRef } from '../crypto/labeled.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { CryptoError, UsageError, ValidationError } from '../errors.js';
import { ExtensionType } from '../messages/extension.js';
import { WireFormat } from '../messages/framing.js';
import { encodeGroupContext } from '../messages/group-context.js';
import { encodeKeyPackage, type KeyPackage } from '../messages/key-package.js';
import { encodeLeafNode } from '../messages/leaf-node.js';
import { decodeRatchetTree, type Node } from '../messages/ratchet-tree.js';
import { welcomeKeyNonce } from '../schedule/key-schedule.js';
import { asSecret } from '../schedule/secrets.js';
import { nextInterimTranscriptHash, verifyConfirmationTag } from '../schedule/transcript.js';
import { commonAncestor, leafToNode } from '../tree/math.js';
import { TreePrivateKeys, type HpkePrivateKey } from '../tree/private.js';
import { PublicTree } from '../tree/public-tree.js';
import { deriveNodeKeyPair, nextPathSecret } from '../tree/treekem.js';
import { validateRatchetTree } from '../tree/validate.js';
import type { LeafIndex, NodeIndex } from '../util/brand.js';
import { bytesEqual } from '../util/bytes.js';
import { Secret } from '../util/secret.js';
import { verifyGroupInfo } from './content-auth.js';
import { epochFromJoiner, type PskSource } from './epoch.js';
import { checkResumedGroup, checkWelcomePsks, welcomePskSecret } from './resumption.js';
import { checkGroupConfig, type GroupConfig, type GroupState } from './state.js';
import { validateTreeLeaves } from './validation.js';
import { decodeMLSMessage } from '../messages/mls-message.js';
import { decodeGroupInfo, decodeGroupSecrets, type Welcome } from '../messages/welcome.js';

/** The private keys that go with one of our key packages (see generateKeyPackage). */
export interface KeyPackagePrivateKeys {
  readonly initPrivateKey: Uint8Array;
  readonly encryptionPrivateKey: Uint8Array;
  readonly signaturePrivateKey: Uint8Array;
}

export interface JoinFromWelcomeParams {
  readonly provider: CryptoProvider;
  /** The Welcome, as an MLSMessage or as the bare Welcome structure. */
  readonly welcome: Uint8Array | Welcome;
  readonly keyPackage: KeyPackage;
  readonly privateKeys: KeyPackagePrivateKeys;
  /** The ratchet tree, when the Welcome does not carry the ratchet_tree extension. */
  readonly ratchetTree?: readonly (Node | undefined)[];
  readonly config?: GroupConfig;
  /**
   * §11.2: for the Welcome of a group that re-initialises an old one, our state of the old
   * group (its ReInit committed). The Welcome must then name the old group's reinit PSK of
   * that epoch, and describe the group the ReInit asked for at epoch 1.
   */
  readonly resumeFrom?: GroupState;
  /**
   * §11.3: for the Welcome of a subgroup branched from a group we are in, our state of
   * that group. The Welcome must then name its branch PSK, and the new group keep its
   * version and cipher suite, start at epoch 1 and hold only its members.
   */
  readonly branchFrom?: GroupState;
  /**
   * §8.6: our states of groups (e.g. one we were removed from) whose retained resumption
   * PSKs of usage application the Welcome's GroupSecrets may name.
   */
  readonly pskSources?: readonly PskSource[];
}

function welcomeOf(w: Uint8Array | Welcome): Welcome {
  if (!(w instanceof Uint8Array)) return w;
  const m = decode(decodeMLSMessage, w);
  if (m.wireFormat !== WireFormat.mls_welcome) throw new UsageError('not-a-welcome', 'the message is not a Welcome');
  return m.welcome;
}

export async function joinFromWelcome(p: JoinFromWelcomeParams): Promise<GroupState> {
  const config = p.config ?? {};
  checkGroupConfig(config);
  const welcome = welcomeOf(p.welcome);
  const kp = p.keyPackage;
  if (welcome.cipherSuite !== kp.cipherSuite) throw new ValidationError('cipher-suite-mismatch', 'the Welcome and the key package use different cipher suites');
  const suite = p.provider.suite(welcome.cipherSuite);
  const ref = await makeKeyPackageRef(suite, encode(encodeKeyPackage, kp));
  const entry = welcome.secrets.find((s) => bytesEqual(s.newMember, ref));
  if (entry === undefined) throw new ValidationError('not-for-us', 'the Welcome has no entry for this key package');

  let secretsBytes: Uint8Array;
  try {
    secretsBytes = await decryptWithLabel(
      suite,
      p.privateKeys.initPrivateKey,
      'Welcome',
      welcome.encryptedGroupInfo,
      entry.encryptedGroupSecrets.kemOutput,
      entry.encryptedGroupSecrets.ciphertext,
    );
  } catch (error) {
    if (error instanceof CryptoError) throw new ValidationError('group-secrets-decrypt-failed', 'the GroupSecrets do not decrypt', { cause: error });
    throw error;
  }
  const secrets = decode(decodeGroupSecrets, secretsBytes);
  secretsBytes.fill(0);
  const resumption = { resumeFrom: p.resumeFrom, branchFrom: p.branchFrom, pskSources: p.pskSources };
  const flow = checkWelcomePsks(secrets.psks, resumption);
  const pskSecret = await welcomePskSecret(suite, secrets.psks, config, resumption);
  const joinerSecret = asSecret<'joiner_secret'>(secrets.joinerSecret);

  // welcome_secret does not depend on the GroupContext; derive it first to open the GroupInfo.
  const member = await suite.kdf.extract(joinerSecret.bytes, pskSecret.bytes);
  const welcomeSecret = asSecret<'welcome_secret'>(await expandWithLabel(suite, member, 'welcome', new Uint8Array(0), suite.kdf.nh));
  member.fill(0);
  const { key, nonce } = await welcomeKeyNonce(suite, welcomeSecret);
  welcomeSecret.destroy();
  let infoBytes: Uint8Array;
  try {
    infoBytes = await suite.aead.open(key.bytes, nonce.bytes, new Uint8Array(0), welcome.encryptedGroupInfo);
  } catch (error) {
    if (error instanceof CryptoError) throw new ValidationError('group-info-decrypt-failed', 'the GroupInfo does not decrypt', { cause: error });
    throw error;
  } finally {
    key.destroy();
    nonce.destroy();
  }
  const info = decode(decodeGroupInfo, infoBytes);
  const gc = info.groupContext;
  if (gc.cipherSuite !== kp.cipherSuite) throw new ValidationError('cipher-suite-mismatch', 'the GroupInfo and the key package use different cipher suites');

  const treeExt = info.extensions.find((e) => e.extensionType === ExtensionType.ratchet_tree);
  const nodes = treeExt !== undefined ? decode(decodeRatchetTree, treeExt.extensionData) : p.ratchetTree;
  if (nodes === undefined) throw new UsageError('missing-ratchet-tree', 'the Welcome carries no ratchet tree and none was given');
  const tree = PublicTree.fromNodes(suite, nodes);

  const signerLeaf = tree.leaf(info.signer);
  if (signerLeaf === undefined) throw new ValidationError('unknown-signer', 'the GroupInfo signer is not a member');
  if (!(await verifyGroupInfo(suite, signerLeaf.signatureKey, info))) throw new ValidationError('invalid-group-info-signature', 'the GroupInfo signature does not verify');
  await validateRatchetTree(tree, { groupId: gc.groupId, treeHash: gc.treeHash });
  // §7.3 makes the lifetime check of a joined tree's leaves only RECOMMENDED: a member
  // added months ago may hold a key-package leaf that has expired since, and refusing
  // the tree would lock every newcomer out until that member updates. Lifetimes are
  // checked where a leaf enters the group (Add, Update, commit path), not here.
  await validateTreeLeaves({ suite, config, groupExtensions: gc.extensions }, tree);
  if (flow !== undefined) await checkResumedGroup(flow, resumption, config, gc, tree);

  // Our leaf is the one equal to our key package's; the encryption key (unique in a
  // valid tree) finds the candidate, the full encoding confirms it.
  const ownBytes = encode(encodeLeafNode, kp.leafNode);
  let ownLeaf: LeafIndex | undefined;
  for (let i = 0; i < tree.leafCount && ownLeaf === undefined; i++) {
    const leaf = tree.leaf(i as LeafIndex);
    if (leaf !== undefined && bytesEqual(leaf.encryptionKey, kp.leafNode.encryptionKey) && bytesEqual(encode(encodeLeafNode, leaf), ownBytes)) ownLeaf = i as LeafIndex;
  }
  if (ownLeaf === undefined) throw new ValidationError('own-leaf-missing', 'our key package leaf is not in the tree');
  const keys = new Map<NodeIndex, HpkePrivateKey>([[leafToNode(ownLeaf), new Secret(p.privateKeys.encryptionPrivateKey.slice())]]);
  if (secrets.pathSecret !== undefined) {
    const ancestor = commonAncestor(leafToNode(ownLeaf), leafToNode(info.signer));
    const path = tree.filteredDirectPath(info.signer);
    const start = path.indexOf(ancestor);
    if (start < 0) throw new ValidationError('bad-path-secret', 'the common ancestor is not on the signer’s filtered direct path');
    let secret: Uint8Array = secrets.pathSecret.pathSecret.slice();
    for (let i = start; i < path.length; i++) {
      const kpair = await deriveNodeKeyPair(suite, secret);
      const node = tree.parentNode(path[i]!);
      if (node === undefined || !bytesEqual(node.encryptionKey, kpair.publicKey)) {
        throw new ValidationError('path-key-mismatch', `the path secret does not give the public key of node ${path[i]}`);
      }
      keys.set(path[i]!, kpair.privateKey);
      const next = await nextPathSecret(suite, secret);
      secret.fill(0);
      secret = next;
    }
    secret.fill(0);
  }

  const groupContextBytes = encode(encodeGroupContext, gc);
  const { keys: epochKeys, welcomeSecret: ws } = await epochFromJoiner(suite, joinerSecret, pskSecret, groupContextBytes, tree.leafCount, config);
  ws.destroy();
  joinerSecret.destroy();
  pskSecret.destroy();
  if (!(await verifyConfirmationTag(suite, epochKeys.confirmationKey, gc.confirmedTranscriptHash, info.confirmationTag))) {
    throw new ValidationError('invalid-confirmation-tag', 'the GroupInfo confirmation tag does not verify');
  }
  return {
    suite,
    config,
    groupContext: gc,
    groupContextBytes,
    tree,
    ownLeaf,
    privateKeys: new TreePrivateKeys(ownLeaf, keys),
    signaturePrivateKey: new Secret(p.privateKeys.signaturePrivateKey.slice()),
    interimTranscriptHash: await nextInterimTranscriptHash(suite, gc.confirmedTranscriptHash, info.confirmationTag),
    confirmationTag: info.confirmationTag,
    keys: epochKeys,
    proposals: [],
    resumptionPsks: [],
    retained: [],
  };
}
