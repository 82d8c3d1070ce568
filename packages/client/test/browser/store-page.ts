// Runs in Chromium: exposes the IndexedDB store to the Node-side test as a tiny RPC
// (open a profile, call a ClientStore method on it, read the raw database rows).
// Arguments and results cross as the store codec's tagged JSON (bytes, bigints, secrets).

import { decodeRecord, encodeRecord, type ClientStore } from '../../src/index.js';
import { databaseName, openIndexedDbStore } from '../../src/browser/index.js';

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
