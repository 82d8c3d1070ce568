// Contacts' identity keys: first seen, changed (verified flag drops, a warning is due),
// and marked verified only for the key whose safety number was shown; the key trusted
// before a change stays pinned until the user acknowledges or verifies the new one.
import { describe, expect, it } from 'vitest';
import { VerificationError } from '../src/errors.js';
import { createMemoryStore } from '../src/store/memory-store.js';
import { acknowledgeKeyChange, markVerified, observeKey, recordIdentityKey } from '../src/verify/contacts.js';

const k1 = new Uint8Array(32).fill(1);
const k2 = new Uint8Array(32).fill(2);
const k3 = new Uint8Array(32).fill(3);

describe('contacts', () => {
  it('records a new key, ignores the same key, flags a changed key', async () => {
    const store = createMemoryStore();
    expect((await recordIdentityKey(store, 'bob', k1, 10)).status).toBe('new');
    await markVerified(store, 'bob', k1);
    expect((await store.getContact('bob'))?.verified).toBe(true);
    expect((await recordIdentityKey(store, 'bob', k1, 20)).status).toBe('unchanged');
    expect((await store.getContact('bob'))?.verified).toBe(true);
    const changed = await recordIdentityKey(store, 'bob', k2, 30);
    expect(changed.status).toBe('changed');
    expect(await store.getContact('bob')).toEqual({ userId: 'bob', identityKey: k2, verified: false, firstSeenAt: 10, keyChangedAt: 30, wasVerified: true, pinnedIdentityKey: k1 });
    await store.close();
  });

  it('does not mark a key verified after it changed, nor an unknown user', async () => {
    const store = createMemoryStore();
    await recordIdentityKey(store, 'bob', k1, 10);
    await recordIdentityKey(store, 'bob', k2, 20);
    await expect(markVerified(store, 'bob', k1)).rejects.toThrow(VerificationError);
    await expect(markVerified(store, 'bob', k1)).rejects.toMatchObject({ code: 'identity-key-changed' });
    await expect(markVerified(store, 'carol', k1)).rejects.toMatchObject({ code: 'unknown-contact' });
    expect((await store.getContact('bob'))?.verified).toBe(false);
    await store.close();
  });

  it('pins the key trusted before a change until the change is acknowledged or verified', async () => {
    const store = createMemoryStore();
    await recordIdentityKey(store, 'bob', k1, 10);
    expect((await store.getContact('bob'))?.pinnedIdentityKey).toBeUndefined();
    await recordIdentityKey(store, 'bob', k2, 20);
    expect((await store.getContact('bob'))?.pinnedIdentityKey).toEqual(k1);
    // A second change keeps the first pin; a change back to the pinned key ends it.
    await recordIdentityKey(store, 'bob', k3, 30);
    expect((await store.getContact('bob'))?.pinnedIdentityKey).toEqual(k1);
    await recordIdentityKey(store, 'bob', k1, 40);
    expect(await store.getContact('bob')).toMatchObject({ identityKey: k1, keyChangedAt: 40 });
    expect((await store.getContact('bob'))?.pinnedIdentityKey).toBeUndefined();
    // Acknowledged: only the key shown, and without verifying it.
    await recordIdentityKey(store, 'bob', k2, 50);
    await expect(acknowledgeKeyChange(store, 'bob', k3)).rejects.toMatchObject({ code: 'identity-key-changed' });
    await expect(acknowledgeKeyChange(store, 'carol', k3)).rejects.toMatchObject({ code: 'unknown-contact' });
    expect(await acknowledgeKeyChange(store, 'bob', k2)).toEqual({ userId: 'bob', identityKey: k2, verified: false, firstSeenAt: 10, keyChangedAt: 50 });
    expect(await store.getContact('bob')).toEqual({ userId: 'bob', identityKey: k2, verified: false, firstSeenAt: 10, keyChangedAt: 50 });
    // Verified: the pin goes too.
    await recordIdentityKey(store, 'bob', k3, 60);
    expect((await store.getContact('bob'))?.pinnedIdentityKey).toEqual(k2);
    expect((await markVerified(store, 'bob', k3)).pinnedIdentityKey).toBeUndefined();
    await store.close();
  });

  it('observeKey is pure', () => {
    const existing = { userId: 'bob', identityKey: k1, verified: true, firstSeenAt: 1 };
    const obs = observeKey(existing, 'bob', k2, 5);
    expect(obs.status).toBe('changed');
    expect(existing).toEqual({ userId: 'bob', identityKey: k1, verified: true, firstSeenAt: 1 });
  });
});
