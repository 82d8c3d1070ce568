// RFC 9420 §12.1 Proposals (Add, Update, Remove, PreSharedKey, ReInit, ExternalInit,
// GroupContextExtensions), §8.4 PreSharedKeyID, and §12.4 ProposalOrRef.

import type { Decoder, Encoder } from '../codec/index.js';
import { DecodeError } from '../errors.js';
import type { LeafIndex } from '../util/brand.js';
import { leafIndex } from '../util/brand.js';
import { checkEnum, decodeProtocolVersion, encodeProtocolVersion, type CipherSuiteValue, type ProtocolVersion } from './common.js';
import { decodeExtensions, encodeExtensions, type Extension } from './extension.js';
import { decodeKeyPackage, encodeKeyPackage, type KeyPackage } from './key-package.js';
import { decodeLeafNode, encodeLeafNode, type LeafNode } from './leaf-node.js';

/**
 * §17.4 ProposalType (uint16). Values outside this set may appear in Capabilities and
 * RequiredCapabilities (as opaque numbers); a Proposal of an unknown type cannot be parsed.
 */
export const ProposalType = {
  add: 1,
  update: 2,
  remove: 3,
  psk: 4,
  reinit: 5,
  external_init: 6,
  group_context_extensions: 7,
} as const;
export type ProposalType = (typeof ProposalType)[keyof typeof ProposalType];

/** §8.4 `enum { reserved(0), external(1), resumption(2), (255) } PSKType`. */
export const PSKType = { external: 1, resumption: 2 } as const;
export type PSKType = (typeof PSKType)[keyof typeof PSKType];

/** §8.4 `enum { reserved(0), application(1), reinit(2), branch(3), (255) } ResumptionPSKUsage`. */
export const ResumptionPSKUsage = { application: 1, reinit: 2, branch: 3 } as const;
export type ResumptionPSKUsage = (typeof ResumptionPSKUsage)[keyof typeof ResumptionPSKUsage];

/** §8.4 PreSharedKeyID. */
export type PreSharedKeyID =
  | { readonly psktype: typeof PSKType.external; readonly pskId: Uint8Array; readonly pskNonce: Uint8Array }
  | {
      readonly psktype: typeof PSKType.resumption;
      readonly usage: ResumptionPSKUsage;
      readonly pskGroupId: Uint8Array;
      readonly pskEpoch: bigint;
      readonly pskNonce: Uint8Array;
    };

export const encodePreSharedKeyID: Encoder<PreSharedKeyID> = (w, id) => {
  w.u8(id.psktype);
  if (id.psktype === PSKType.external) w.opaque(id.pskId);
  else w.u8(id.usage).opaque(id.pskGroupId).u64(id.pskEpoch);
  w.opaque(id.pskNonce);
};

export const decodePreSharedKeyID: Decoder<PreSharedKeyID> = (r) => {
  const psktype = checkEnum(PSKType, r.u8(), 'PSKType');
  if (psktype === PSKType.external) {
    const pskId = r.opaque();
    return { psktype, pskId, pskNonce: r.opaque() };
  }
  const usage = checkEnum(ResumptionPSKUsage, r.u8(), 'ResumptionPSKUsage');
  const pskGroupId = r.opaque();
  const pskEpoch = r.u64();
  return { psktype, usage, pskGroupId, pskEpoch, pskNonce: r.opaque() };
};

/** §12.1.1 `struct { KeyPackage key_package; } Add`. */
export interface Add {
  readonly keyPackage: KeyPackage;
}
export const encodeAdd: Encoder<Add> = (w, p) => {
  encodeKeyPackage(w, p.keyPackage);
};
export const decodeAdd: Decoder<Add> = (r) => ({ keyPackage: decodeKeyPackage(r) });

/** §12.1.2 `struct { LeafNode leaf_node; } Update`. */
export interface Update {
  readonly leafNode: LeafNode;
}
export const encodeUpdate: Encoder<Update> = (w, p) => {
  encodeLeafNode(w, p.leafNode);
};
export const decodeUpdate: Decoder<Update> = (r) => ({ leafNode: decodeLeafNode(r) });

/** §12.1.3 `struct { uint32 removed; } Remove`. */
export interface Remove {
  readonly removed: LeafIndex;
}
export const encodeRemove: Encoder<Remove> = (w, p) => {
  w.u32(p.removed);
};
export const decodeRemove: Decoder<Remove> = (r) => ({ removed: leafIndex(r.u32()) });

/** §12.1.4 `struct { PreSharedKeyID psk; } PreSharedKey`. */
export interface PreSharedKey {
  readonly psk: PreSharedKeyID;
}
export const encodePreSharedKey: Encoder<PreSharedKey> = (w, p) => {
  encodePreSharedKeyID(w, p.psk);
};
export const decodePreSharedKey: Decoder<PreSharedKey> = (r) => ({ psk: decodePreSharedKeyID(r) });

/** §12.1.5 ReInit. */
export interface ReInit {
  readonly groupId: Uint8Array;
  readonly version: ProtocolVersion;
  readonly cipherSuite: CipherSuiteValue;
  readonly extensions: readonly Extension[];
}
export const encodeReInit: Encoder<ReInit> = (w, p) => {
  w.opaque(p.groupId);
  encodeProtocolVersion(w, p.version);
  w.u16(p.cipherSuite);
  encodeExtensions(w, p.extensions);
};
export const decodeReInit: Decoder<ReInit> = (r) => ({
  groupId: r.opaque(),
  version: decodeProtocolVersion(r),
  cipherSuite: r.u16(),
  extensions: decodeExtensions(r),
});

/** §12.1.6 `struct { opaque kem_output<V>; } ExternalInit`. */
export interface ExternalInit {
  readonly kemOutput: Uint8Array;
}
export const encodeExternalInit: Encoder<ExternalInit> = (w, p) => {
  w.opaque(p.kemOutput);
};
export const decodeExternalInit: Decoder<ExternalInit> = (r) => ({ kemOutput: r.opaque() });

/** §12.1.7 `struct { Extension extensions<V>; } GroupContextExtensions`. */
export interface GroupContextExtensions {
  readonly extensions: readonly Extension[];
}
export const encodeGroupContextExtensions: Encoder<GroupContextExtensions> = (w, p) => {
  encodeExtensions(w, p.extensions);
};
export const decodeGroupContextExtensions: Decoder<GroupContextExtensions> = (r) => ({ extensions: decodeExtensions(r) });

/** §12.1 Proposal: `select (proposal_type)` over the seven RFC proposal types. */
export type Proposal =
  | { readonly proposalType: typeof ProposalType.add; readonly add: Add }
  | { readonly proposalType: typeof ProposalType.update; readonly update: Update }
  | { readonly proposalType: typeof ProposalType.remove; readonly remove: Remove }
  | { readonly proposalType: typeof ProposalType.psk; readonly psk: PreSharedKey }
  | { readonly proposalType: typeof ProposalType.reinit; readonly reinit: ReInit }
  | { readonly proposalType: typeof ProposalType.external_init; readonly externalInit: ExternalInit }
  | { readonly proposalType: typeof ProposalType.group_context_extensions; readonly groupContextExtensions: GroupContextExtensions };

export const encodeProposal: Encoder<Proposal> = (w, p) => {
  w.u16(p.proposalType);
  switch (p.proposalType) {
    case ProposalType.add:
      encodeAdd(w, p.add);
      return;
    case ProposalType.update:
      encodeUpdate(w, p.update);
      return;
    case ProposalType.remove:
      encodeRemove(w, p.remove);
      return;
    case ProposalType.psk:
      encodePreSharedKey(w, p.psk);
      return;
    case ProposalType.reinit:
      encodeReInit(w, p.reinit);
      return;
    case ProposalType.external_init:
      encodeExternalInit(w, p.externalInit);
      return;
    case ProposalType.group_context_extensions:
      encodeGroupContextExtensions(w, p.groupContextExtensions);
      return;
  }
};

export const decodeProposal: Decoder<Proposal> = (r) => {
  const proposalType = r.u16();
  switch (proposalType) {
    case ProposalType.add:
      return { proposalType, add: decodeAdd(r) };
    case ProposalType.update:
      return { proposalType, update: decodeUpdate(r) };
    case ProposalType.remove:
      return { proposalType, remove: decodeRemove(r) };
    case ProposalType.psk:
      return { proposalType, psk: decodePreSharedKey(r) };
    case ProposalType.reinit:
      return { proposalType, reinit: decodeReInit(r) };
    case ProposalType.external_init:
      return { proposalType, externalInit: decodeExternalInit(r) };
    case ProposalType.group_context_extensions:
      return { proposalType, groupContextExtensions: decodeGroupContextExtensions(r) };
    default:
      throw new DecodeError('unknown-value', `unknown ProposalType ${proposalType}`);
  }
};

/** §12.4 `enum { reserved(0), proposal(1), reference(2), (255) } ProposalOrRefType`. */
export const ProposalOrRefType = { proposal: 1, reference: 2 } as const;
export type ProposalOrRefType = (typeof ProposalOrRefType)[keyof typeof ProposalOrRefType];

/** §12.4 ProposalOrRef: a proposal inline, or a ProposalRef (§5.2 `opaque HashReference<V>`). */
export type ProposalOrRef =
  | { readonly type: typeof ProposalOrRefType.proposal; readonly proposal: Proposal }
  | { readonly type: typeof ProposalOrRefType.reference; readonly reference: Uint8Array };

export const encodeProposalOrRef: Encoder<ProposalOrRef> = (w, p) => {
  w.u8(p.type);
  if (p.type === ProposalOrRefType.proposal) encodeProposal(w, p.proposal);
  else w.opaque(p.reference);
};

export const decodeProposalOrRef: Decoder<ProposalOrRef> = (r) => {
  const type = checkEnum(ProposalOrRefType, r.u8(), 'ProposalOrRefType');
  return type === ProposalOrRefType.proposal ? { type, proposal: decodeProposal(r) } : { type, reference: r.opaque() };
};
