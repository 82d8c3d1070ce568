// Persistence of a GroupState: a compact binary encoding (RFC 9420 §2.1 presentation
// language, versioned) of the current epoch — GroupContext, ratchet tree, our private
// keys, the epoch's remaining secrets and secret tree — plus, for each retained past
// epoch, only what late application messages need (sender-data secret, the secret
// tree's remaining keys, the GroupContext and the members' signature keys).
// Secrets deleted before serialising are absent, so they stay deleted after restore.
// The bytes hold secrets: store them encrypted (the client's store does).

import { decode, type Reader } from '../codec/index.js';
import { Writer } from '../codec/writer.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { DecodeError } from '../errors.js';
import { decodeSender, encodeSender } from '../messages/framing.js';
import { decodeGroupContext, encodeGroupContext } from '../messages/group-context.js';
import { decodeProposal, decodeReInit, encodeProposal, encodeReInit } from '../messages/proposal.js';
import { decodeRatchetTree, encodeRatchetTree } from '../messages/ratchet-tree.js';
import { SecretTree, type RatchetState, type SecretTreeState } from '../schedule/secret-tree.js';
import { asSecret } from '../schedule/secrets.js';
import { TreePrivateKeys, type HpkePrivateKey } from '../tree/private.js';
import { PublicTree } from '../tree/public-tree.js';
import { leafIndex, nodeIndex, type NodeIndex } from '../util/brand.js';
import { Secret } from '../util/secret.js';
import { checkGroupConfig, type CachedProposal, type EpochKeys, type GroupConfig, type GroupState, type RetainedEpoch } from './state.js';

const FORMAT_VERSION = 1;

function writeRatchet(w: Writer, r: RatchetState): void {
  w.optional(r.secret, (ww, s) => ww.opaque(s));
  w.u32(r.generation).u32(r.evictedThrough + 1);
  w.vector(r.skipped, (ww, k) => ww.u32(k.generation).opaque(k.key).opaque(k.nonce));
}

function readRatchet(r: Reader): RatchetState {
  return {
    secret: r.optional((rr) => rr.opaque()),
    generation: r.u32(),
    evictedThrough: r.u32() - 1,
    skipped: r.vector((rr) => ({ generation: rr.u32(), key: rr.opaque(), nonce: rr.opaque() })),
  };
}

function writeSecretTree(w: Writer, t: SecretTree): void {
  const s = t.exportState();
  w.u32(s.nLeaves);
  w.vector(s.nodes, (ww, n) => ww.u32(n.node).opaque(n.secret));
  w.vector(s.ratchets, (ww, x) => {
    ww.u32(x.leaf);
    writeRatchet(ww, x.handshake);
    writeRatchet(ww, x.application);
  });
}

function readSecretTree(r: Reader): SecretTreeState {
  return {
    nLeaves: r.u32(),
    nodes: r.vector((rr) => ({ node: rr.u32(), secret: rr.opaque() })),
    ratchets: r.vector((rr) => ({ leaf: rr.u32(), handshake: readRatchet(rr), application: readRatchet(rr) })),
  };
}

/** Encodes a group state (secrets included: encrypt at rest). */
export function serializeState(state: GroupState): Uint8Array {
  const w = new Writer(4096);
  w.u8(FORMAT_VERSION).u16(state.suite.id);
  encodeGroupContext(w, state.groupContext);
  encodeRatchetTree(w, state.tree.toNodes());
  w.u32(state.ownLeaf);
  w.vector([...state.privateKeys.entries()], (ww, [x, k]) => ww.u32(x).opaque(k.bytes));
  w.opaque(state.signaturePrivateKey.bytes).opaque(state.interimTranscriptHash).opaque(state.confirmationTag);
  const k = state.keys;
  for (const s of [k.senderDataSecret, k.exporterSecret, k.externalSecret, k.confirmationKey, k.membershipKey, k.resumptionPsk, k.epochAuthenticator, k.initSecret]) w.opaque(s.bytes);
  writeSecretTree(w, k.secretTree);
  w.vector(state.proposals, (ww, p) => {
    ww.opaque(p.ref);
    encodeProposal(ww, p.proposal);
    encodeSender(ww, p.sender);
    ww.optional(p.updatePrivateKey, (www, key) => www.opaque(key.bytes));
  });
  w.vector(state.resumptionPsks, (ww, r) => ww.u64(r.epoch).opaque(r.psk.bytes));
  w.vector(state.retained, (ww, e) => {
    ww.u64(e.epoch).opaque(e.senderDataSecret.bytes);
    encodeGroupContext(ww, e.groupContext);
    writeSecretTree(ww, e.secretTree);
    ww.vector([...e.signatureKeys], (www, [i, key]) => www.u32(i).opaque(key));
  });
  // Last, and only when set, so that states written before ReInit existed still read.
  if (state.reinit !== undefined) w.optional(state.reinit, encodeReInit);
  return w.finish();
}

/** Restores a state from `serializeState`; the configuration (callbacks, clock) is given again. */
export function deserializeState(bytes: Uint8Array, provider: CryptoProvider, config: GroupConfig = {}): GroupState {
  checkGroupConfig(config);
  return decode((r) => {
    if (r.u8() !== FORMAT_VERSION) throw new DecodeError('unknown-state-version', 'unknown group state format');
    const suite = provider.suite(r.u16());
    const groupContext = decodeGroupContext(r);
    const tree = PublicTree.fromNodes(suite, decodeRatchetTree(r));
    const ownLeaf = leafIndex(r.u32());
    const keyEntries = r.vector((rr) => [nodeIndex(rr.u32()), new Secret(rr.opaque())] as [NodeIndex, HpkePrivateKey]);
    const signaturePrivateKey = new Secret<'signature-private-key'>(r.opaque());
    const interimTranscriptHash = r.opaque();
    const confirmationTag = r.opaque();
    const keys: EpochKeys = {
      senderDataSecret: asSecret(r.opaque()),
      exporterSecret: asSecret(r.opaque()),
      externalSecret: asSecret(r.opaque()),
      confirmationKey: asSecret(r.opaque()),
      membershipKey: asSecret(r.opaque()),
      resumptionPsk: asSecret(r.opaque()),
      epochAuthenticator: asSecret(r.opaque()),
      initSecret: asSecret(r.opaque()),
      secretTree: SecretTree.restore(suite, readSecretTree(r), config.secretTree),
    };
    const proposals: CachedProposal[] = r.vector((rr) => {
      const ref = rr.opaque();
      const proposal = decodeProposal(rr);
      const sender = decodeSender(rr);
      const key = rr.optional((x) => x.opaque());
      return key === undefined ? { ref, proposal, sender } : { ref, proposal, sender, updatePrivateKey: new Secret(key) };
    });
    const resumptionPsks = r.vector((rr) => ({ epoch: rr.u64(), psk: asSecret<'resumption_psk'>(rr.opaque()) }));
    const retained: RetainedEpoch[] = r.vector((rr) => {
      const epoch = rr.u64();
      const senderDataSecret = asSecret<'sender_data_secret'>(rr.opaque());
      const retainedContext = decodeGroupContext(rr);
      const secretTree = SecretTree.restore(suite, readSecretTree(rr), config.secretTree);
      const signatureKeys = new Map(rr.vector((x) => [x.u32(), x.opaque()] as [number, Uint8Array]));
      return { epoch, senderDataSecret, groupContext: retainedContext, secretTree, signatureKeys };
    });
    const reinit = r.remaining > 0 ? r.optional(decodeReInit) : undefined;
    const groupContextBytes = new Writer(256);
    encodeGroupContext(groupContextBytes, groupContext);
    return {
      suite,
      config,
      groupContext,
      groupContextBytes: groupContextBytes.finish(),
      tree,
      ownLeaf,
      privateKeys: new TreePrivateKeys(ownLeaf, new Map(keyEntries)),
      signaturePrivateKey,
      interimTranscriptHash,
      confirmationTag,
      keys,
      proposals,
      resumptionPsks,
      retained,
      ...(reinit === undefined ? {} : { reinit }),
    };
  }, bytes);
}
