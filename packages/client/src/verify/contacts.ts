// Contacts' identity keys (issue 6 item 5): remember the first key seen for a user, notice
// when it changes (the verified flag drops and a warning is due in every conversation
// with them), and mark a key verified once the safety numbers were compared. A change
// also keeps the key trusted before it pinned until the user acknowledges the new one:
// meanwhile no new device of that user is let into a group (client.ts, deviceRefusal).

import { VerificationError } from '../errors.js';
import type { ClientStore, ContactRecord } from '../store/client-store.js';
import { bytesEqual } from '../util/bytes.js';

/** The `event` of the MessageBody a conversation shows when a member's identity key changed. */
export const IDENTITY_KEY_CHANGED_EVENT = 'identity-key-changed';

export type KeyObservation =
  | { readonly status: 'new'; readonly contact: ContactRecord }
  | { readonly status: 'unchanged'; readonly contact: ContactRecord }
  | { readonly status: 'changed'; readonly contact: ContactRecord; readonly previous: ContactRecord };

/** Pure: what the contact record becomes when `identityKey` is seen for `userId` at `now`. */
export function observeKey(existing: ContactRecord | undefined, userId: string, identityKey: Uint8Array, now: number): KeyObservation {
  if (existing === undefined) return { status: 'new', contact: { userId, identityKey: identityKey.slice(), verified: false, firstSeenAt: now } };
  if (bytesEqual(existing.identityKey, identityKey)) return { status: 'unchanged', contact: existing };
  // The pin stays the key trusted before the first unacknowledged change; a change back to it ends the pin.
  const pinned = existing.pinnedIdentityKey ?? existing.identityKey;
  return {
    status: 'changed',
    previous: existing,
    contact: {
      userId,
      identityKey: identityKey.slice(),
      verified: false,
      firstSeenAt: existing.firstSeenAt,
      keyChangedAt: now,
      ...(existing.verified || existing.wasVerified === true ? { wasVerified: true } : {}),
      ...(bytesEqual(pinned, identityKey) ? {} : { pinnedIdentityKey: pinned.slice() }),
    },
  };
}

/** Records an identity key seen for a user (writes only when something changed). */
export async function recordIdentityKey(store: ClientStore, userId: string, identityKey: Uint8Array, now: number): Promise<KeyObservation> {
  const obs = observeKey(await store.getContact(userId), userId, identityKey, now);
  if (obs.status !== 'unchanged') await store.commit({ contacts: [obs.contact] });
  return obs;
}

/**
 * Marks the user's identity key verified, but only if it is still `identityKey` (the
 * key the safety number shown to the user was computed from). Otherwise throws
 * VerificationError('identity-key-changed') or ('unknown-contact').
 */
export async function markVerified(store: ClientStore, userId: string, identityKey: Uint8Array): Promise<ContactRecord> {
  const c = await store.getContact(userId);
  if (c === undefined) throw new VerificationError('unknown-contact', 'no identity key is known for this user');
  if (!bytesEqual(c.identityKey, identityKey)) throw new VerificationError('identity-key-changed', "the user's identity key changed since the safety number was shown");
  const { wasVerified: _, pinnedIdentityKey: __, ...rest } = c;
  const verified: ContactRecord = { ...rest, verified: true };
  await store.commit({ contacts: [verified] });
  return verified;
}

/**
 * Acknowledges a change of the user's identity key without verifying it: `identityKey`
 * (the key the user was shown) becomes the pinned one, so devices it certifies may join
 * groups again. Sending to a contact who was verified stays refused until `markVerified`.
 * Throws VerificationError('identity-key-changed') if the key changed again meanwhile,
 * or ('unknown-contact').
 */
export async function acknowledgeKeyChange(store: ClientStore, userId: string, identityKey: Uint8Array): Promise<ContactRecord> {
  const c = await store.getContact(userId);
  if (c === undefined) throw new VerificationError('unknown-contact', 'no identity key is known for this user');
  if (!bytesEqual(c.identityKey, identityKey)) throw new VerificationError('identity-key-changed', "the user's identity key changed since it was shown");
  if (c.pinnedIdentityKey === undefined) return c;
  const { pinnedIdentityKey: _, ...rest } = c;
  await store.commit({ contacts: [rest] });
  return rest;
}
