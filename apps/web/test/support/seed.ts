// Bundled into the page by app.test.ts and key-change.test.ts: writes into the app's
// encrypted profile (the same IndexedDB store code the app uses): many messages for the
// long-conversation test, a changed identity key, the lines the client writes about itself.
import { openIndexedDbStore } from '@parley/client/browser';
import { observeKey, type MessageRecord } from '@parley/client';

async function seed(groupId: string, passphrase: string, n: number): Promise<void> {
  const store = await openIndexedDbStore({ name: 'main', passphrase });
  const start = Date.UTC(2026, 0, 1);
  for (let at = 0; at < n; at += 1000) {
    const messages: MessageRecord[] = [];
    for (let i = at; i < Math.min(n, at + 1000); i++) {
      // A separate device id, so the real devices' sequence numbers are not disturbed.
      const sender = i % 3 === 0 ? { userId: 'bob', deviceId: 'seeded-b' } : { userId: 'alice', deviceId: 'seeded-a' };
      const t = start + i * 7 * 60_000;
      messages.push({ groupId, messageId: `seed-${i}`, sender, senderSeq: i + 1, sentAt: t, receivedAt: t, body: { type: 'text', text: `seeded message ${i}` }, status: 'received', receipts: [] });
    }
    await store.commit({ messages });
  }
  await store.close();
}

/**
 * Records that `userId`'s identity key changed (as the client does when the directory shows
 * a new one). With `asClient`, exactly as the SDK's observeKey writes it: a contact that was
 * verified keeps `wasVerified`, which blocks sending until they are verified again.
 */
async function keyChange(passphrase: string, userId: string, asClient = false): Promise<void> {
  const store = await openIndexedDbStore({ name: 'main', passphrase });
  const c = await store.getContact(userId);
  if (c === undefined) throw new Error(`no contact ${userId}`);
  // The client's own rule (observeKey): the verified flag drops and the old key is pinned.
  // Without `asClient`, `wasVerified` is left out (the send block that comes with it is not wanted).
  const obs = observeKey(c, userId, c.identityKey.map((b) => b ^ 0xff), Date.now());
  const { wasVerified, ...rest } = obs.contact;
  await store.commit({ contacts: [asClient && wasVerified === true ? obs.contact : rest] });
  await store.close();
}

/** What the profile holds about `userId`'s key: pinned (new devices refused), verified. */
async function contactState(passphrase: string, userId: string): Promise<{ pinned: boolean; verified: boolean; changed: boolean }> {
  const store = await openIndexedDbStore({ name: 'main', passphrase });
  const c = await store.getContact(userId);
  await store.close();
  if (c === undefined) throw new Error(`no contact ${userId}`);
  return { pinned: c.pinnedIdentityKey !== undefined, verified: c.verified, changed: c.keyChangedAt !== undefined };
}

/** Writes lines a conversation shows about itself (`event`, about user `detail`), as the client writes them. */
async function eventLines(passphrase: string, groupId: string, self: string, lines: readonly (readonly [string, string | undefined])[]): Promise<void> {
  const store = await openIndexedDbStore({ name: 'main', passphrase });
  const at = Date.now();
  const messages: MessageRecord[] = lines.map(([event, detail], i) => ({
    groupId,
    messageId: `event-${i}-${at}`,
    sender: { userId: detail ?? self, deviceId: '-' },
    senderSeq: 0,
    sentAt: at + i,
    receivedAt: at + i,
    body: detail === undefined ? { type: 'event', event } : { type: 'event', event, detail },
    status: 'received',
    receipts: [],
  }));
  await store.commit({ messages });
  await store.close();
}
(globalThis as unknown as { parleyContactState: typeof contactState; parleyEventLines: typeof eventLines }).parleyContactState = contactState;
(globalThis as unknown as { parleyEventLines: typeof eventLines }).parleyEventLines = eventLines;

(globalThis as unknown as { parleySeed: typeof seed; parleyKeyChange: typeof keyChange }).parleySeed = seed;
(globalThis as unknown as { parleyKeyChange: typeof keyChange }).parleyKeyChange = keyChange;

/** How long opening the profile, reading its last page and decrypting the whole conversation take, in ms (for the report). */
async function timeOpen(passphrase: string, groupId: string): Promise<{ open: number; page: number; all: number; count: number }> {
  const t0 = performance.now();
  const store = await openIndexedDbStore({ name: 'main', passphrase });
  const t1 = performance.now();
  await store.listMessages(groupId, { limit: 300 });
  const t2 = performance.now();
  const all = await store.listMessages(groupId);
  const t3 = performance.now();
  await store.close();
  return { open: Math.round(t1 - t0), page: Math.round(t2 - t1), all: Math.round(t3 - t2), count: all.length };
}
(globalThis as unknown as { parleyTimeOpen: typeof timeOpen }).parleyTimeOpen = timeOpen;
