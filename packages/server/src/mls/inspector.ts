// What the server needs to know from MLS bytes it otherwise treats as opaque: the
// epoch a commit was built on and leads to, who sent it, which devices it adds and
// removes, and whether a key package belongs to the uploading device (RFC 9420 §6,
// §10, §12.4). The real implementation wraps the engine's public (secret-free) group
// view, `@parley/mls/public`, which the MLS engine's lead is providing; until then
// EnvelopeInspector below trusts what the client declares.

import type { DeviceRecord, GroupRecord } from '../store/store.js';

export interface DeclaredCommit {
  readonly epoch: number;
  readonly addedDevices: readonly string[];
  readonly removedDevices: readonly string[];
}

export interface InspectedCommit {
  /** The epoch of the GroupContext the commit was framed in (RFC 9420 §6.1 FramedContent.epoch). */
  readonly fromEpoch: number;
  readonly toEpoch: number;
  readonly addedDevices: readonly string[];
  readonly removedDevices: readonly string[];
}

export class InspectionError extends Error {
  constructor(
    readonly code: 'invalid-commit' | 'invalid-key-package' | 'invalid-group-info',
    message: string,
  ) {
    super(message);
    this.name = 'InspectionError';
  }
}

export interface MlsInspector {
  /** Checks a group's first GroupInfo (and ratchet tree); returns its epoch. */
  inspectGroupInfo(groupId: string, groupInfo: Uint8Array, ratchetTree: Uint8Array | null, declaredEpoch: number): Promise<{ epoch: number }>;
  /**
   * Validates a commit (PublicMessage) against the group's public state: the committer
   * is `senderDevice` and a member, the signatures, the resulting tree. Throws InspectionError.
   */
  inspectCommit(group: GroupRecord, senderDevice: string, commit: Uint8Array, declared: DeclaredCommit): Promise<InspectedCommit>;
  /** Checks a KeyPackage's signature and that its leaf's signature key is the device's. Throws InspectionError. */
  inspectKeyPackage(device: DeviceRecord, keyPackage: Uint8Array): Promise<void>;
}

/**
 * PLACEHOLDER, TO BE REPLACED by the implementation over `@parley/mls/public`.
 * It reads the epoch and membership changes the client declares in the envelope and
 * checks nothing inside the MLS bytes but their presence: a malicious member could make
 * the server's fan-out list differ from the real membership. Do not ship it.
 */
export class EnvelopeInspector implements MlsInspector {
  async inspectGroupInfo(_groupId: string, groupInfo: Uint8Array, _tree: Uint8Array | null, declaredEpoch: number): Promise<{ epoch: number }> {
    if (groupInfo.length === 0) throw new InspectionError('invalid-group-info', 'empty GroupInfo');
    return { epoch: declaredEpoch };
  }

  async inspectCommit(_group: GroupRecord, _sender: string, commit: Uint8Array, declared: DeclaredCommit): Promise<InspectedCommit> {
    if (commit.length === 0) throw new InspectionError('invalid-commit', 'empty commit');
    return { fromEpoch: declared.epoch, toEpoch: declared.epoch + 1, addedDevices: declared.addedDevices, removedDevices: declared.removedDevices };
  }

  async inspectKeyPackage(_device: DeviceRecord, keyPackage: Uint8Array): Promise<void> {
    if (keyPackage.length === 0) throw new InspectionError('invalid-key-package', 'empty key package');
  }
}
