// Real MLS for server tests: a device with an MLS signature key that its user's identity
// key certifies (the certificate rides in the leaf's basic credential, as the SDK does),
// its key packages, and its group state, driven by hand so that a test can build both
// honest and hostile commits and send them to a real server.

import { sign } from 'node:crypto';
import { nodeCryptoProvider } from '@parley/mls/crypto-node';
import {
  createCommit,
  createGroup,
  CredentialType,
  encode,
  encodeKeyPackage,
  encodeMLSMessage,
  encodeGroupInfoTbs,
  encodeRatchetTree,
  ExtensionType,
  generateKeyPackage,
  joinExternal,
  joinFromWelcome,
  mergeCommit,
  ProposalType,
  ProtocolVersion,
  WireFormat,
  Writer,
  type Capabilities,
  type CreatedCommit,
  type Credential,
  type Extension,
  type GroupState,
  type KeyPackage,
  type KeyPackagePrivateKeys,
  type Proposal,
} from '@parley/mls';
import { deviceCertificateSignedBytes, encodeDeviceCertificate, GROUP_POLICY_EXTENSION_TYPE } from '@parley/protocol';
import { b64, http, type HttpAnswer, type TestDevice, type TestUser } from './server-client.js';

export const provider = nodeCryptoProvider;
export const SUITE = 1;
const suite = provider.suite(SUITE);
const utf8 = new TextEncoder();
const config = { now: (): bigint => BigInt(Math.floor(Date.now() / 1000)) };

/** Leaves that support the Parley group policy extension and last-resort key packages. */
const capabilities: Capabilities = {
  versions: [ProtocolVersion.mls10],
  cipherSuites: [SUITE],
  extensions: [GROUP_POLICY_EXTENSION_TYPE, 0x000a],
  proposals: [],
  credentials: [CredentialType.basic],
};

export interface HeldKeyPackage {
  readonly keyPackage: KeyPackage;
  readonly privateKeys: KeyPackagePrivateKeys;
  readonly bytes: Uint8Array;
}

/** A certificate for `signatureKey` signed by `user`'s identity key (or `signer`'s, to forge one). */
export function mlsDeviceCertificate(user: Pick<TestUser, 'userId' | 'identity'>, deviceId: string, signatureKey: Uint8Array, signer = user): Uint8Array {
  const tbs = { userId: user.userId, deviceId, signatureKey, cipherSuite: SUITE, createdAt: Date.now() };
  const signature = new Uint8Array(sign(null, deviceCertificateSignedBytes(tbs), signer.identity.privateKey));
  return encodeDeviceCertificate({ ...tbs, signature });
}

export class MlsDevice {
  /** Group states by group id, after each accepted commit. */
  readonly groups = new Map<string, GroupState>();

  private constructor(
    readonly device: TestDevice,
    readonly signatureKey: { readonly publicKey: Uint8Array; readonly privateKey: Uint8Array },
    readonly credential: Credential,
  ) {}

  get token(): string {
    return this.device.token;
  }

  get deviceId(): string {
    return this.device.deviceId;
  }

  /** Logs in a new session, registers a device whose certificate names a fresh MLS signature key. */
  static async register(base: string, user: TestUser, deviceId = `mls-${Math.random().toString(36).slice(2, 12)}`): Promise<MlsDevice> {
    const signatureKey = await suite.signature.generateKeyPair();
    const certificate = mlsDeviceCertificate(user, deviceId, signatureKey.publicKey);
    const s = await http<{ token: string }>(base, 'POST', '/v1/sessions', { username: user.userId, password: user.password });
    if (s.status !== 201) throw new Error(`login failed: ${s.status}`);
    const d = await http(base, 'POST', '/v1/devices', { certificate: b64(certificate) }, s.body.token);
    if (d.status !== 201) throw new Error(`device failed: ${d.status} ${JSON.stringify(d.body)}`);
    return new MlsDevice({ userId: user.userId, deviceId, token: s.body.token }, signatureKey, { credentialType: CredentialType.basic, identity: certificate });
  }

  async keyPackage(lastResort = false, credential = this.credential): Promise<HeldKeyPackage> {
    const { keyPackage, privateKeys } = await generateKeyPackage({ suite, credential, signatureKey: this.signatureKey, capabilities, lastResort });
    return { keyPackage, privateKeys, bytes: encode(encodeKeyPackage, keyPackage) };
  }

  /** Creates the group (epoch 0) and commits once alone (epoch 1), as the SDK does; sends nothing. */
  async prepareGroup(groupId: string, extensions: readonly Extension[] = []): Promise<{ state: GroupState; groupInfo: Uint8Array }> {
    const created = await createGroup({ provider, suite: SUITE, groupId: utf8.encode(groupId), credential: this.credential, signatureKey: this.signatureKey, capabilities, extensions, config });
    const first = await createCommit(created, { withPath: true });
    return { state: mergeCommit(created, first.pending), groupInfo: first.groupInfo };
  }

  /** prepareGroup, then registers the group with the server (POST /v1/groups). */
  async createGroup(base: string, groupId: string, extensions: readonly Extension[] = []): Promise<HttpAnswer> {
    const { state, groupInfo } = await this.prepareGroup(groupId, extensions);
    const r = await http(base, 'POST', '/v1/groups', { groupId, epoch: Number(state.groupContext.epoch), groupInfo: b64(groupInfo) }, this.token);
    if (r.status === 201) this.groups.set(groupId, state);
    return r;
  }

  state(groupId: string): GroupState {
    const s = this.groups.get(groupId);
    if (s === undefined) throw new Error(`no state for ${groupId}`);
    return s;
  }

  /** Builds a commit of `proposals` (by value) on the current state, without sending it. */
  build(groupId: string, proposals: readonly Proposal[] = [], withPath = true): Promise<CreatedCommit> {
    return createCommit(this.state(groupId), { proposals, withPath });
  }

  /** Sends a built commit; on 201 the state moves to the new epoch. `body` overrides fields. */
  async send(base: string, groupId: string, c: CreatedCommit, body: Record<string, unknown> = {}): Promise<HttpAnswer> {
    const state = this.state(groupId);
    const r = await http(
      base,
      'POST',
      `/v1/groups/${groupId}/commits`,
      { epoch: Number(state.groupContext.epoch), commit: b64(c.commitMessage), groupInfo: b64(c.groupInfo), ...(c.welcome === undefined ? {} : { welcome: b64(c.welcome) }), ...body },
      this.token,
    );
    if (r.status === 201) this.groups.set(groupId, mergeCommit(state, c.pending));
    return r;
  }

  async commit(base: string, groupId: string, proposals: readonly Proposal[] = [], body: Record<string, unknown> = {}): Promise<HttpAnswer> {
    return this.send(base, groupId, await this.build(groupId, proposals), body);
  }

  /** Joins from a Welcome (as received in the inbox) with one of its own key packages. */
  async join(groupId: string, welcome: Uint8Array, held: HeldKeyPackage): Promise<void> {
    this.groups.set(groupId, await joinFromWelcome({ provider, welcome, keyPackage: held.keyPackage, privateKeys: held.privateKeys, config }));
  }

  /**
   * An external commit from the GroupInfo (RFC 9420 §12.4.3.2), with the GroupInfo of the
   * new epoch that the joiner signs (the server stores it for the next one to rejoin).
   */
  async externalJoin(groupInfo: Uint8Array, credential = this.credential, removePrior?: number): Promise<{ state: GroupState; commit: Uint8Array; groupInfo: Uint8Array }> {
    const { state, commitMessage } = await joinExternal({
      provider,
      groupInfo,
      credential,
      signatureKey: this.signatureKey,
      capabilities,
      config,
      ...(removePrior === undefined ? {} : { removePrior: removePrior as Parameters<typeof joinExternal>[0]['removePrior'] & number }),
    });
    return { state, commit: commitMessage, groupInfo: await signedGroupInfo(state) };
  }
}

/** The GroupInfo of a member's current epoch, signed by it, with the ratchet tree (§12.4.3). */
export async function signedGroupInfo(state: GroupState): Promise<Uint8Array> {
  const tbs = {
    groupContext: state.groupContext,
    extensions: [{ extensionType: ExtensionType.ratchet_tree, extensionData: encode(encodeRatchetTree, state.tree.toNodes()) }],
    confirmationTag: state.confirmationTag,
    signer: state.ownLeaf,
  };
  // SignWithLabel (§5.1.2): sign SignContent { "MLS 1.0 GroupInfoTBS", GroupInfoTBS }.
  const content = new Writer(1024).opaque(utf8.encode('MLS 1.0 GroupInfoTBS')).opaque(encodeGroupInfoTbs(tbs)).finish();
  const signature = await suite.signature.sign(state.signaturePrivateKey.bytes, content);
  return encode(encodeMLSMessage, { version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_group_info, groupInfo: { ...tbs, signature } });
}

/**
 * A group the real server accepts, made by real MLS: `owner` creates it, then adds every
 * device of `members` by one commit with their fresh key packages (no Welcome is processed:
 * for tests of what the server does with the group, not of the members' states).
 */
export async function mlsGroup(base: string, owner: MlsDevice, members: readonly MlsDevice[] = [], groupId = `grp-${Math.random().toString(36).slice(2, 14)}`): Promise<string> {
  const created = await owner.createGroup(base, groupId);
  if (created.status !== 201) throw new Error(`group creation failed: ${created.status} ${JSON.stringify(created.body)}`);
  if (members.length === 0) return groupId;
  const held = await Promise.all(members.map((m) => m.keyPackage()));
  const added = await owner.commit(base, groupId, held.map((h) => ({ proposalType: ProposalType.add, add: { keyPackage: h.keyPackage } })));
  if (added.status !== 201) throw new Error(`add commit failed: ${added.status} ${JSON.stringify(added.body)}`);
  return groupId;
}
