// Bundled into the web app's page by bench/web-first-screen.ts: seeds the app's encrypted
// profile (the same IndexedDB store code the app runs) and times its parts on their own.
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { DEFAULT_BROWSER_KDF, openIndexedDbStore } from '@parley/client/browser';
import type { MessageRecord } from '@parley/client';

/** The app's one profile (apps/web/src/session.ts). */
const PROFILE = 'main';

async function seed(groupId: string, passphrase: string, n: number, peer: string, self: string): Promise<void> {
  const store = await openIndexedDbStore({ name: PROFILE, passphrase });
  const start = Date.UTC(2026, 0, 1);
  for (let at = 0; at < n; at += 1000) {
    const messages: MessageRecord[] = [];
    for (let i = at; i < Math.min(n, at + 1000); i++) {
      // Separate device ids, so the real devices' sequence numbers are not disturbed.
      const sender = i % 3 === 0 ? { userId: peer, deviceId: 'seeded-peer' } : { userId: self, deviceId: 'seeded-self' };
      const t = start + i * 7 * 60_000;
      messages.push({ groupId, messageId: `seed-${i}`, sender, senderSeq: i + 1, sentAt: t, receivedAt: t, body: { type: 'text', text: `seeded message ${i}` }, status: 'received', receipts: [] });
    }
    await store.commit({ messages });
  }
  await store.close();
}

/** The parts of the first screen, alone: scrypt, opening the profile, the conversation list's reads, one page. */
async function parts(passphrase: string, groupId: string): Promise<Record<string, number>> {
  const t0 = performance.now();
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const k = DEFAULT_BROWSER_KDF;
  await scryptAsync(new TextEncoder().encode(passphrase), salt, { N: k.N, r: k.r, p: k.p, dkLen: 32, maxmem: 256 * k.N * k.r + (1 << 20) });
  const t1 = performance.now();
  const store = await openIndexedDbStore({ name: PROFILE, passphrase });
  const t2 = performance.now();
  await store.listConversations();
  await store.listMessages(groupId, { limit: 1 });
  const t3 = performance.now();
  const page = await store.listMessages(groupId, { limit: 300 });
  const t4 = performance.now();
  const all = await store.listMessages(groupId);
  const t5 = performance.now();
  await store.close();
  // Reading the sealed message rows alone (what opening still does before any decryption).
  const t6 = performance.now();
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const r = indexedDB.open(`parley-profile:${PROFILE}`);
    r.onsuccess = () => { resolve(r.result); };
    r.onerror = () => { reject(new Error('open failed')); };
  });
  const rows = await new Promise<number>((resolve, reject) => {
    const r = db.transaction('messages', 'readonly').objectStore('messages').getAll();
    r.onsuccess = () => { resolve((r.result as unknown[]).length); };
    r.onerror = () => { reject(new Error('getAll failed')); };
  });
  db.close();
  const t7 = performance.now();
  return { rowsMs: t7 - t6, rows, scryptMs: t1 - t0, openMs: t2 - t1, lastMessageMs: t3 - t2, pageMs: t4 - t3, page: page.length, allMs: t5 - t4, all: all.length };
}

/**
 * Resolves with the ms from the unlock button's click to the frame that first shows `text`
 * in a message row, and to the app's marks on the way (apps/web/src/session.ts).
 */
function firstScreen(text: string): Promise<Record<string, number>> {
  return new Promise((resolve) => {
    let clicked: number | undefined;
    document.addEventListener(
      'click',
      (e) => {
        if ((e.target as Element | null)?.closest('button[type=submit]') !== null) clicked = performance.now();
      },
      { capture: true },
    );
    const seen = (): boolean => Array.from(document.querySelectorAll('[data-testid=message]')).some((el) => el.textContent?.includes(text));
    const observer = new MutationObserver(() => {
      if (clicked === undefined || !seen()) return;
      observer.disconnect();
      // The frame that paints it.
      requestAnimationFrame(() => {
        const mark = (name: string): number => (performance.getEntriesByName(name).pop()?.startTime ?? NaN) - clicked!;
        resolve({ totalMs: performance.now() - clicked!, storeOpenMs: mark('parley:unlock:store-open'), listReadyMs: mark('parley:unlock:list-ready') });
      });
    });
    observer.observe(document.body, { childList: true, subtree: true, characterData: true });
  });
}

(globalThis as unknown as Record<string, unknown>)['parleyBench'] = { seed, parts, firstScreen };
