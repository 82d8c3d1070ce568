// What the server needs to know from MLS bytes it otherwise treats as opaque: the
// epoch a commit was built on and leads to, who sent it, which devices it adds and
// removes, and whether a key package belongs to the uploading device (RFC 9420 §6,
// §10, §12.4). `PublicInspector` (public-inspector.ts) is the implementation over the
// engine's public group view and is what `parley serve` runs. `EnvelopeInspector` below
// trusts the client's envelope: only for tests and benchmarks that send stand-in bytes.

import type { DeviceRecord, GroupRecord } from '../store/store.js';

export interface DeclaredCommit {
  readonly epoch: number;
  readonly addedDevices: readonly string[];
  readonly removedDevices: readonly string[];
}

/** A commit as it arrives: the PublicMessage, the new epoch's GroupInfo (and tree), and what the client declares. */
export interface CommitInput {
  readonly commit: Uint8Array;
  readonly groupInfo: Uint8Array;
  readonly ratchetTree: Uint8Array | null;
  readonly declared: DeclaredCommit;
}

export interface InspectedCommit {
  /** The epoch of the GroupContext the commit was framed in (RFC 9420 §6.1 FramedContent.epoch). */
  readonly fromEpoch: number;
  readonly toEpoch: number;
  readonly addedDevices: readonly string[];
  readonly removedDevices: readonly string[];
  /** An external commit (sender new_member_commit, §12.4.3.2): the sender joins by it. */
  readonly external: boolean;
  /** To call once the store has accepted the commit: the inspector's view moves on. */
  readonly accepted?: () => void;
}

export type InspectionCode = 'invalid-commit' | 'invalid-key-package' | 'invalid-group-info' | 'stale-epoch' | 'policy-violation' | 'external-join-refused';

export class InspectionError extends Error {
  constructor(
    readonly code: InspectionCode,
    message: string,
  ) {
    super(message);
    this.name = 'InspectionError';
  }
}

export interface MlsInspector {
  /** Checks a group's first GroupInfo (and ratchet tree), whose one member is `creator`; returns its epoch. */
  inspectGroupInfo(groupId: string, groupInfo: Uint8Array, ratchetTree: Uint8Array | null, declaredEpoch: number, creator: DeviceRecord): Promise<{ epoch: number }>;
  /**
   * Validates a commit (PublicMessage) against the group's public state: the committer
   * is `sender` and a member (or, for an external commit, a new device of a member), the
   * signatures, the proposals, the resulting tree, the group policy, the new GroupInfo.
   * Throws InspectionError.
   */
  inspectCommit(group: GroupRecord, sender: DeviceRecord, input: CommitInput): Promise<InspectedCommit>;
  /** Checks a KeyPackage's signature and that its leaf's signature key is the device's. Throws InspectionError. */
  inspectKeyPackage(device: DeviceRecord, keyPackage: Uint8Array): Promise<void>;
}

/**
 * FOR TESTS AND BENCHMARKS ONLY, never for `parley serve`: reads the epoch and the
 * membership changes the client declares and checks nothing inside the MLS bytes but
 * their presence, so that a test of delivery or durability can use stand-in bytes. A
 * malicious member could make the fan-out list differ from the real membership.
 */
export class EnvelopeInspector implements MlsInspector {
  async inspectGroupInfo(_groupId: string, groupInfo: Uint8Array, _tree: Uint8Array | null, declaredEpoch: number): Promise<{ epoch: number }> {
    if (groupInfo.length === 0) throw new InspectionError('invalid-group-info', 'empty GroupInfo');
    return { epoch: declaredEpoch };
  }

  async inspectCommit(_group: GroupRecord, _sender: DeviceRecord, input: CommitInput): Promise<InspectedCommit> {
    if (input.commit.length === 0) throw new InspectionError('invalid-commit', 'empty commit');
    const d = input.declared;
    return { fromEpoch: d.epoch, toEpoch: d.epoch + 1, addedDevices: d.addedDevices, removedDevices: d.removedDevices, external: false };
  }

  async inspectKeyPackage(_device: DeviceRecord, keyPackage: Uint8Array): Promise<void> {
    if (keyPackage.length === 0) throw new InspectionError('invalid-key-package', 'empty key package');
  }
}
