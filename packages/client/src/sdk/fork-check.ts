// Fork detection (issue 7): a malicious server that hands two members different commits
// for the same epoch splits the group into branches with different key schedules. Each
// branch still works on its own, so without a check the members would silently talk
// past each other. Every member therefore derives, per epoch, a fork-check value with
// the MLS exporter (RFC 9420 §8.5: MLS-Exporter("parley fork check", "", 8)) and puts it
// in the authenticated_data of every PrivateMessage it sends (§6.3: authenticated, not
// encrypted, so a receiver can read it before it tries to decrypt). A receiver in the
// same epoch compares it with its own value: a mismatch means the sender's epoch is not
// ours — the group was forked — and the conversation is marked split.
//
// Bytes of the authenticated_data:
//
//   struct {
//     uint8 version = 1;
//     opaque fork_tag[8];   // MLS-Exporter("parley fork check", "", 8) of the epoch
//   } ParleyAuthenticatedData;
//
// Why this is sound: the exporter secret is known only to members of that exact epoch
// of that exact branch; the server can neither compute the tag of another branch (to
// hide a fork) nor change the tag of a real message without breaking its AEAD (RFC 9420
// §6.3.1 binds authenticated_data into the content encryption). What it CAN do is make
// a message look forked by flipping its tag — but that message would not decrypt
// anyway; it is a denial of service, which a server always has.
//
// Only the current epoch is compared (the tags of retained past epochs are not kept);
// a message without the field (a client before this version) is unchecked.

import { constantTimeEqual, decode, decodeMLSMessage, exportSecret, WireFormat, type GroupState } from '@parley/mls';
import { bytesEqual } from '../util/bytes.js';

export const FORK_CHECK_LABEL = 'parley fork check';
export const FORK_TAG_LENGTH = 8;
const AAD_VERSION = 1;

/** Tags by state: a GroupState is an immutable value, so its epoch's tag is derived once, not per message. */
const tags = new WeakMap<GroupState, Promise<Uint8Array>>();

/** The fork-check value of the state's current epoch. */
export function forkTag(state: GroupState): Promise<Uint8Array> {
  let tag = tags.get(state);
  if (tag === undefined) {
    tag = exportSecret(state, FORK_CHECK_LABEL, new Uint8Array(0), FORK_TAG_LENGTH);
    tags.set(state, tag);
  }
  return tag;
}

/** The authenticated_data to send with every PrivateMessage from `state`. */
export async function forkCheckAad(state: GroupState): Promise<Uint8Array> {
  const aad = new Uint8Array(1 + FORK_TAG_LENGTH);
  aad[0] = AAD_VERSION;
  aad.set(await forkTag(state), 1);
  return aad;
}

/** The tag carried in `aad`, or undefined if it holds none we understand. */
export function readForkTag(aad: Uint8Array): Uint8Array | undefined {
  if (aad.length !== 1 + FORK_TAG_LENGTH || aad[0] !== AAD_VERSION) return undefined;
  return aad.subarray(1);
}

export type ForkVerdict =
  /** Not a PrivateMessage of our group and epoch, or no tag in it: nothing to compare. */
  | { readonly kind: 'unchecked' }
  | { readonly kind: 'match'; readonly epoch: bigint }
  /** The sender is in an epoch with our number but another key schedule: a fork. */
  | { readonly kind: 'mismatch'; readonly epoch: bigint };

/**
 * Compares the fork tag of a received MLSMessage (undecrypted bytes) with our own for
 * the same epoch. Never throws: bytes that do not decode are left to the decryption,
 * which refuses them with its own error.
 */
export async function checkForkTag(state: GroupState, message: Uint8Array): Promise<ForkVerdict> {
  let m;
  try {
    m = decode(decodeMLSMessage, message);
  } catch {
    return { kind: 'unchecked' };
  }
  if (m.wireFormat !== WireFormat.mls_private_message) return { kind: 'unchecked' };
  const pm = m.privateMessage;
  const epoch = state.groupContext.epoch;
  if (pm.epoch !== epoch || !bytesEqual(pm.groupId, state.groupContext.groupId)) return { kind: 'unchecked' };
  const theirs = readForkTag(pm.authenticatedData);
  if (theirs === undefined) return { kind: 'unchecked' };
  return constantTimeEqual(theirs, await forkTag(state)) ? { kind: 'match', epoch } : { kind: 'mismatch', epoch };
}

/** What the client keeps about a split conversation (in a cursor record). */
export interface SplitRecord {
  /** The epoch in which the branches were found to differ. */
  readonly epoch: bigint;
  /** Milliseconds since the Unix epoch. */
  readonly detectedAt: number;
}

export const splitCursor = (groupId: string): string => `split:${groupId}`;

export function encodeSplit(r: SplitRecord): string {
  return JSON.stringify({ epoch: r.epoch.toString(), detectedAt: r.detectedAt });
}

/** Undefined for no record; a record that does not parse still counts as split (fail closed). */
export function decodeSplit(value: string | undefined): SplitRecord | undefined {
  if (value === undefined) return undefined;
  try {
    const o = JSON.parse(value) as { epoch?: unknown; detectedAt?: unknown };
    if (typeof o.epoch === 'string' && /^[0-9]{1,20}$/.test(o.epoch) && typeof o.detectedAt === 'number') return { epoch: BigInt(o.epoch), detectedAt: o.detectedAt };
  } catch {
    // fall through
  }
  return { epoch: 0n, detectedAt: 0 };
}
