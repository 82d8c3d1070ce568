// The real MlsInspector: every group's GroupInfo, every commit and every KeyPackage is
// checked with the MLS engine's public (secret-free) group view (`@parley/mls/public`,
// RFC 9420 §12.4.2), and membership is read from the ratchet tree's leaves — each leaf's
// credential is a Parley device certificate naming user and device — so the server's
// fan-out list is the group's real membership, not what a client declares. Each commit is
// also run through the Parley group policy (`checkCommitAgainstPolicy`, issue 7 item 1):
// defence in depth, the clients check the same.
//
// What the view cannot check, holding no secret: membership tags and confirmation tags
// (the members do). A commit's GroupInfo is checked to describe exactly the epoch the
// view computed, so a rejoining device gets what the members hold.
//
// The view of each group is cached in memory (bounded, least recently used first out);
// after a restart or eviction it is rebuilt from the stored GroupInfo and ratchet tree,
// which were checked when they were stored.

import {
  checkGroupInfoForView,
  decodePublicRatchetTree,
  MlsError,
  processPublicMessage,
  publicGroupFromGroupInfo,
  publicMembers,
  validatePublicKeyPackage,
  type CryptoProvider,
  type PublicGroupState,
  type PublicMember,
} from '@parley/mls/public';
import {
  checkCommitAgainstPolicy,
  decodeDeviceCertificate,
  DeviceCertificateError,
  findGroupPolicy,
  GROUP_POLICY_EXTENSION_TYPE,
  GroupPolicyError,
  verifyDeviceCertificate,
  type GroupPolicy,
  type MemberDevice,
  type MembershipChange,
} from '@parley/protocol';
import type { DeviceRecord, GroupRecord, Store } from '../store/store.js';
import { InspectionError, type CommitInput, type InspectedCommit, type MlsInspector } from './inspector.js';
import { ed25519Verify } from '../auth/ed25519.js';

const BASIC_CREDENTIAL = 1;
const utf8 = new TextEncoder();

/** A leaf, and the device its certificate names. */
interface LeafDevice extends MemberDevice {
  readonly leaf: PublicMember;
  readonly certificate: Uint8Array;
}

interface View {
  readonly epoch: number;
  readonly state: PublicGroupState;
  readonly leaves: readonly LeafDevice[];
}

/** What a group allows when it carries no Parley policy: any member may add and remove. */
const NO_POLICY: GroupPolicy = { kind: 'group', name: '', admins: [], add: 'members', remove: 'members', edit: 'members', updateIntervalSeconds: 7 * 24 * 3600 };

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

function mlsFailure(code: InspectionError['code'], e: unknown): InspectionError {
  if (e instanceof MlsError) return new InspectionError(code, `${e.code}: ${e.message}`);
  if (e instanceof GroupPolicyError || e instanceof DeviceCertificateError) return new InspectionError(code, e.message);
  if (e instanceof InspectionError) return e;
  throw e;
}

/** The (user, device) a leaf's credential names; the certificate's key must be the leaf's. */
function leafDevice(leaf: PublicMember, code: InspectionError['code']): LeafDevice {
  if (leaf.credential.credentialType !== BASIC_CREDENTIAL) throw new InspectionError(code, `leaf ${leaf.leafIndex} does not carry a device certificate`);
  const certificate = leaf.credential.identity;
  let cert;
  try {
    cert = decodeDeviceCertificate(certificate);
  } catch (e) {
    throw mlsFailure(code, e);
  }
  if (!bytesEqual(cert.signatureKey, leaf.signatureKey)) throw new InspectionError(code, `leaf ${leaf.leafIndex}: the certificate names another signature key`);
  return { userId: cert.userId, deviceId: cert.deviceId, leaf, certificate };
}

function sameLeaf(a: LeafDevice, b: LeafDevice): boolean {
  return a.leaf.leafIndex === b.leaf.leafIndex && bytesEqual(a.certificate, b.certificate) && bytesEqual(a.leaf.signatureKey, b.leaf.signatureKey);
}

const device = (d: MemberDevice): MemberDevice => ({ userId: d.userId, deviceId: d.deviceId });

export interface PublicInspectorOptions {
  readonly provider: CryptoProvider;
  readonly store: Pick<Store, 'getDevice' | 'getUser'>;
  /** Milliseconds since the Unix epoch (key-package lifetimes are checked against it). */
  readonly now: () => number;
  /** How many groups' views stay in memory. Default 1,000. */
  readonly cacheSize?: number;
}

export class PublicInspector implements MlsInspector {
  private readonly views = new Map<string, View>();
  private readonly cacheSize: number;

  constructor(private readonly o: PublicInspectorOptions) {
    this.cacheSize = o.cacheSize ?? 1000;
  }

  private config() {
    return { now: () => BigInt(Math.floor(this.o.now() / 1000)) };
  }

  private remember(groupId: string, view: View): void {
    this.views.delete(groupId);
    this.views.set(groupId, view);
    if (this.views.size > this.cacheSize) this.views.delete(this.views.keys().next().value!);
  }

  private async fromGroupInfo(groupInfo: Uint8Array, ratchetTree: Uint8Array | null, code: InspectionError['code']): Promise<View> {
    try {
      const state = await publicGroupFromGroupInfo({
        provider: this.o.provider,
        groupInfo,
        ...(ratchetTree === null ? {} : { ratchetTree: decodePublicRatchetTree(ratchetTree) }),
        config: this.config(),
      });
      findGroupPolicy(state.groupContext.extensions); // throws if malformed
      return { epoch: Number(state.groupContext.epoch), state, leaves: publicMembers(state).map((l) => leafDevice(l, code)) };
    } catch (e) {
      throw mlsFailure(code, e);
    }
  }

  private async view(group: GroupRecord): Promise<View> {
    const cached = this.views.get(group.id);
    if (cached?.epoch === group.epoch) {
      this.remember(group.id, cached);
      return cached;
    }
    const view = await this.fromGroupInfo(group.groupInfo, group.ratchetTree, 'invalid-group-info');
    if (view.epoch !== group.epoch) throw new InspectionError('invalid-group-info', 'the stored GroupInfo is not of the group’s epoch');
    this.remember(group.id, view);
    return view;
  }

  /**
   * A leaf the server has not seen in the group before: its device is registered, with
   * this very signature key, and its certificate is signed by its user's identity key on
   * record (DESIGN.md "Devices and identities").
   */
  private async checkNewLeaf(d: LeafDevice, code: InspectionError['code']): Promise<void> {
    const registered = await this.o.store.getDevice(d.deviceId);
    if (registered?.userId !== d.userId || !bytesEqual(registered.signatureKey, d.leaf.signatureKey)) {
      throw new InspectionError(code, `leaf ${d.leaf.leafIndex} is not a registered device of its user`);
    }
    const user = await this.o.store.getUser(d.userId);
    if (user?.identityKey == null || !user.active) throw new InspectionError(code, `leaf ${d.leaf.leafIndex}: its user has no identity key or is deactivated`);
    try {
      await verifyDeviceCertificate(d.certificate, user.identityKey, ed25519Verify);
    } catch (e) {
      throw mlsFailure(code, e);
    }
  }

  async inspectGroupInfo(groupId: string, groupInfo: Uint8Array, ratchetTree: Uint8Array | null, declaredEpoch: number, creator: DeviceRecord): Promise<{ epoch: number }> {
    const view = await this.fromGroupInfo(groupInfo, ratchetTree, 'invalid-group-info');
    if (!bytesEqual(view.state.groupContext.groupId, utf8.encode(groupId))) throw new InspectionError('invalid-group-info', 'the GroupInfo is of another group id');
    if (view.epoch !== declaredEpoch) throw new InspectionError('invalid-group-info', `the GroupInfo is of epoch ${view.epoch}, not ${declaredEpoch}`);
    const [only, ...rest] = view.leaves;
    if (only === undefined || rest.length > 0 || only.deviceId !== creator.id || only.userId !== creator.userId) {
      throw new InspectionError('invalid-group-info', 'a new group has one member: the creating device');
    }
    await this.checkNewLeaf(only, 'invalid-group-info');
    this.remember(groupId, view);
    return { epoch: view.epoch };
  }

  async inspectCommit(group: GroupRecord, sender: DeviceRecord, input: CommitInput): Promise<InspectedCommit> {
    const base = await this.view(group);
    let next: Awaited<ReturnType<typeof processPublicMessage>>;
    try {
      next = await processPublicMessage(base.state, input.commit);
    } catch (e) {
      if (e instanceof MlsError && e.code === 'wrong-epoch') throw new InspectionError('stale-epoch', 'the commit is not for the group’s current epoch');
      throw mlsFailure('invalid-commit', e);
    }
    const { state, event } = next;
    if (event.type !== 'commit') throw new InspectionError('invalid-commit', 'a proposal alone is not accepted; commit it');
    const external = event.sender.senderType !== 1; // member(1); new_member_commit otherwise (the view refuses the rest)
    const after = publicMembers(state).map((l) => leafDevice(l, 'invalid-commit'));
    const seen = new Set<string>();
    for (const d of after) {
      if (seen.has(d.deviceId)) throw new InspectionError('invalid-commit', `device ${d.deviceId} would sit in two leaves`);
      seen.add(d.deviceId);
    }
    const addedLeaves = after.filter((a) => !base.leaves.some((b) => sameLeaf(a, b)));
    const removedLeaves = base.leaves.filter((b) => !after.some((a) => sameLeaf(a, b)));
    for (const d of addedLeaves) await this.checkNewLeaf(d, external ? 'external-join-refused' : 'invalid-commit');

    let committer: LeafDevice;
    if (!external) {
      const leafIndex = (event.sender as { leafIndex: number }).leafIndex;
      const c = base.leaves.find((l) => l.leaf.leafIndex === leafIndex);
      if (c === undefined) throw new InspectionError('invalid-commit', 'the committer is not a member');
      committer = c;
    } else {
      // The joiner's leaf is the one its UpdatePath put in; it is among the new leaves.
      // A resync of the same device (§12.4.3.2: it removes its prior leaf and takes the
      // freed index again, same certificate and signature key) adds no new-looking leaf.
      const joiner = addedLeaves.find((d) => d.deviceId === sender.id) ?? after.find((d) => d.deviceId === sender.id && base.leaves.some((b) => sameLeaf(d, b)));
      if (joiner === undefined) throw new InspectionError('external-join-refused', 'the external commit does not add the sending device');
      committer = joiner;
    }
    if (committer.deviceId !== sender.id || committer.userId !== sender.userId) {
      throw new InspectionError('invalid-commit', 'the commit is signed by another device than the one sending it');
    }

    const policy = findGroupPolicy(base.state.groupContext.extensions);
    const oldExt = base.state.groupContext.extensions;
    const newExt = state.groupContext.extensions;
    const other = (xs: typeof oldExt): string =>
      JSON.stringify(xs.filter((x) => x.extensionType !== GROUP_POLICY_EXTENSION_TYPE).map((x) => [x.extensionType, Buffer.from(x.extensionData).toString('base64')]));
    const policyExt = (xs: typeof oldExt): string | undefined => {
      const p = xs.find((x) => x.extensionType === GROUP_POLICY_EXTENSION_TYPE);
      return p === undefined ? undefined : Buffer.from(p.extensionData).toString('base64');
    };
    let policyAfter: GroupPolicy | null | undefined;
    try {
      policyAfter = policyExt(oldExt) === policyExt(newExt) ? undefined : (findGroupPolicy(newExt) ?? null);
    } catch (e) {
      throw mlsFailure('policy-violation', e);
    }
    const proposer = device(committer);
    const change = (d: LeafDevice): MembershipChange => ({ device: device(d), proposer });
    const decision = checkCommitAgainstPolicy(policy ?? NO_POLICY, {
      committer: proposer,
      external,
      members: base.leaves.map(device),
      added: addedLeaves.filter((d) => !(external && d === committer) && !base.leaves.some((b) => b.deviceId === d.deviceId)).map(change),
      removed: removedLeaves.filter((d) => !after.some((a) => a.deviceId === d.deviceId)).map(change).concat(
        // a resync: the joining device's prior leaf goes, whatever device id it had
        external ? removedLeaves.filter((d) => d.deviceId === committer.deviceId).map(change) : [],
      ),
      ...(policy !== undefined && policyAfter !== undefined ? { policyAfter } : {}),
      ...(policy === undefined && policyAfter !== undefined ? { otherExtensionsChanged: true } : {}),
      ...(other(oldExt) !== other(newExt) ? { otherExtensionsChanged: true } : {}),
    });
    if (!decision.ok) {
      throw new InspectionError(decision.reason.startsWith('external-join') ? 'external-join-refused' : 'policy-violation', `${decision.reason}: ${decision.message}`);
    }

    try {
      await checkGroupInfoForView(state, input.groupInfo, input.ratchetTree === null ? undefined : decodePublicRatchetTree(input.ratchetTree));
    } catch (e) {
      throw mlsFailure('invalid-group-info', e);
    }

    const beforeIds = new Set(base.leaves.map((d) => d.deviceId));
    const afterIds = new Set(after.map((d) => d.deviceId));
    const view: View = { epoch: Number(state.groupContext.epoch), state, leaves: after };
    return {
      fromEpoch: base.epoch,
      toEpoch: view.epoch,
      addedDevices: [...afterIds].filter((id) => !beforeIds.has(id)),
      removedDevices: [...beforeIds].filter((id) => !afterIds.has(id)),
      external,
      accepted: () => {
        const current = this.views.get(group.id);
        if (current === undefined || current.epoch < view.epoch) this.remember(group.id, view);
      },
    };
  }

  async inspectKeyPackage(owner: DeviceRecord, keyPackage: Uint8Array): Promise<void> {
    let checked;
    try {
      checked = await validatePublicKeyPackage(this.o.provider, keyPackage, this.config().now);
    } catch (e) {
      throw mlsFailure('invalid-key-package', e);
    }
    if (checked.cipherSuite !== owner.cipherSuite) throw new InspectionError('invalid-key-package', 'the key package is of another cipher suite than the device');
    if (!bytesEqual(checked.signatureKey, owner.signatureKey)) throw new InspectionError('invalid-key-package', 'the key package’s leaf is not signed with this device’s registered key');
    const d = leafDevice({ leafIndex: 0 as PublicMember['leafIndex'], credential: checked.credential, signatureKey: checked.signatureKey }, 'invalid-key-package');
    if (d.deviceId !== owner.id || d.userId !== owner.userId) throw new InspectionError('invalid-key-package', 'the key package’s certificate names another device');
  }
}
