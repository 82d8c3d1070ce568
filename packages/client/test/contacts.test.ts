// Contacts' identity keys: first seen, changed (verified flag drops, a warning is due),
// and marked verified only for the key whose safety number was shown.
import { describe, expect, it } from 'vitest';
import { VerificationError } from '../src/errors.js';
import { createMemoryStore } from '../src/store/memory-store.js';
import { markVerified, observeKey, recordIdentityKey } from '../src/verify/contacts.js';

const k1 = new Uint8Array(32).fill(1);
const k2 = new Uint8Array(32).fill(2);

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
    expect(await store.getContact('bob')).toEqual({ userId: 'bob', identityKey: k2, verified: false, firstSeenAt: 10, keyChangedAt: 30, wasVerified: true });
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

  it('observeKey is pure', () => {
    const existing = { userId: 'bob', identityKey: k1, verified: true, firstSeenAt: 1 };
    const obs = observeKey(existing, 'bob', k2, 5);
    expect(obs.status).toBe('changed');
    expect(existing).toEqual({ userId: 'bob', identityKey: k1, verified: true, firstSeenAt: 1 });
  });
});
