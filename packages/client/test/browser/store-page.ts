// Runs in Chromium: exposes the IndexedDB store to the Node-side test as a tiny RPC
// (open a profile, call a ClientStore method on it, read the raw database rows).
// Arguments and results cross as the store codec's tagged JSON (bytes, bigints, secrets).

import { decodeRecord, encodeRecord, type ClientStore } from '../../src/index.js';
import { databaseName, openIndexedDbStore, webClientCrypto } from '../../src/browser/index.js';

const stores = new Map<number, ClientStore>();
let next = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const enc = (v: unknown): string => decoder.decode(encodeRecord({ v }));
const dec = (s: string): unknown => (decodeRecord(encoder.encode(s)) as { v: unknown }).v;

function failure(e: unknown): { error: { name: string; code: string; message: string } } {
  const err = e as { name?: unknown; code?: unknown; message?: unknown };
  return { error: { name: String(err.name), code: typeof err.code === 'string' ? err.code : 'none', message: String(err.message) } };
}

const api = {
  /** WebCrypto ClientCrypto outputs for fixed inputs, as hex, for the Node side to compare. */
  async crypto(seedHex: string, messageHex: string, keyHex: string, nonceHex: string): Promise<Record<string, string | boolean>> {
    const c = webClientCrypto();
    const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
    const un = (h: string): Uint8Array => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));
    const seed = un(seedHex);
    const message = un(messageHex);
    const pub = await c.ed25519.publicKeyOf(seed);
    const sig = await c.ed25519.sign(seed, message);
    const fresh = await c.ed25519.generateKeyPair();
    const sealed = await c.aesGcm.seal(un(keyHex), un(nonceHex), message, message);
    let badOpen = 'none';
    try {
      const flipped = sealed.slice();
      flipped[0]! ^= 1;
      await c.aesGcm.open(un(keyHex), un(nonceHex), message, flipped);
    } catch (e) {
      badOpen = (e as { code?: string }).code ?? 'no code';
    }
    return {
      publicKey: hex(pub),
      signature: hex(sig),
      verifies: await c.ed25519.verify(pub, message, sig),
      verifiesOther: await c.ed25519.verify(pub, un(messageHex + '00'), sig),
      freshMatches: hex(await c.ed25519.publicKeyOf(fresh.privateKey)) === hex(fresh.publicKey),
      sha256: hex(await c.digest('SHA-256', message)),
      sealed: hex(sealed),
      badOpen,
    };
  },
  async open(name: string, passphrase: string): Promise<{ handle: number } | ReturnType<typeof failure>> {
    try {
      const store = await openIndexedDbStore({ name, passphrase, kdf: { N: 1024, r: 8, p: 1 } });
      const handle = next++;
      stores.set(handle, store);
      return { handle };
    } catch (e) {
      return failure(e);
    }
  },
  async call(handle: number, method: string, args: string): Promise<{ result: string } | ReturnType<typeof failure>> {
    const store = stores.get(handle) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    try {
      const result = await store[method]!(...(dec(args) as unknown[]));
      return { result: enc(result) };
    } catch (e) {
      return failure(e);
    }
  },
  /** Every stored row of the profile's database, as text (to look for plaintext on disk). */
  async rawText(name: string): Promise<string> {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open(databaseName(name));
      r.onsuccess = () => { resolve(r.result); };
      r.onerror = () => { reject(new Error('open failed')); };
    });
    const tx = db.transaction(['kv', 'messages', 'meta'], 'readonly');
    const all = async (s: string): Promise<unknown[]> =>
      new Promise((resolve) => {
        const r = tx.objectStore(s).getAll();
        r.onsuccess = () => { resolve(r.result as unknown[]); };
      });
    const rows = [...(await all('kv')), ...(await all('messages')), ...(await all('meta'))];
    db.close();
    return rows
      .map((row) => {
        const v = (row as { v?: unknown }).v ?? row;
        return v instanceof Uint8Array ? String.fromCharCode(...v) : JSON.stringify(row);
      })
      .join('\n');
  },
  /** Swaps the sealed values of two message rows (a moved record must not open). */
  /** Counts the conversation summary rows and, if `drop`, deletes them (as in a profile written before they existed). */
  async summaries(name: string, drop: boolean): Promise<number> {
    const db = await new Promise<IDBDatabase>((resolve) => {
      const r = indexedDB.open(databaseName(name));
      r.onsuccess = () => { resolve(r.result); };
    });
    const tx = db.transaction('kv', 'readwrite');
    const s = tx.objectStore('kv');
    const rows = await new Promise<{ ns: string; k: string }[]>((resolve) => {
      const r = s.getAll();
      r.onsuccess = () => { resolve(r.result as { ns: string; k: string }[]); };
    });
    const dropped = rows.filter((row) => row.ns === 'message-summary');
    if (drop) for (const row of dropped) s.delete([row.ns, row.k]);
    await new Promise((resolve) => (tx.oncomplete = resolve));
    db.close();
    return dropped.length;
  },
  async swapMessages(name: string): Promise<void> {
    const db = await new Promise<IDBDatabase>((resolve) => {
      const r = indexedDB.open(databaseName(name));
      r.onsuccess = () => { resolve(r.result); };
    });
    const tx = db.transaction('messages', 'readwrite');
    const s = tx.objectStore('messages');
    const rows = await new Promise<{ order: number; v: Uint8Array }[]>((resolve) => {
      const r = s.getAll();
      r.onsuccess = () => { resolve(r.result as { order: number; v: Uint8Array }[]); };
    });
    const [a, b] = rows;
    if (a !== undefined && b !== undefined) {
      s.put({ ...a, v: b.v });
      s.put({ ...b, v: a.v });
    }
    await new Promise((resolve) => (tx.oncomplete = resolve));
    db.close();
  },
};

(globalThis as unknown as { parleyStore: typeof api }).parleyStore = api;
