// The browser's IndexedDB ClientStore passes the ClientStore conformance suite, in real
// headless Chromium: the store lives in the page, and each ClientStore call of the suite
// crosses into it (tagged JSON both ways), so the suite runs unchanged. Plus what is
// specific to an encrypted profile: nothing readable on disk, wrong passphrase, moved rows.
// Skipped (with the reason) when Chromium is not installed.

import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientStoreConformance } from '@parley/testing';
import { ClientUsageError, StoreError, decodeRecord, encodeRecord, type ClientStore } from '../src/index.js';
import { nodeClientCrypto } from '../src/node/index.js';

const CHROMIUM_PATH = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM_PATH);
const SKIP = 'chromium not installed (apt-get install chromium)';

let browser: Browser | undefined;
let server: Server | undefined;
let page: Page | undefined;
let profiles = 0;

beforeAll(async () => {
  if (!hasChromium) return;
  const out = await build({
    entryPoints: [fileURLToPath(new URL('./browser/store-page.ts', import.meta.url))],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    conditions: ['parley:source'],
    logLevel: 'silent',
  });
  const script = out.outputFiles[0]!.text;
  server = createServer((req, res) => {
    if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><meta charset="utf-8"><title>store</title><script type="module" src="/page.js"></script>');
    else if (req.url === '/page.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction(() => 'parleyStore' in globalThis);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (server !== undefined) await new Promise((resolve) => server!.close(resolve));
});

type Failure = { error: { name: string; code: string; message: string } };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function rethrow(f: Failure): never {
  const { name, code, message } = f.error;
  if (name === 'StoreError') throw new StoreError(code, message);
  if (name === 'ClientUsageError') throw new ClientUsageError(code, message);
  throw new Error(`${name}: ${message}`);
}

function evaluate<T>(fn: string, ...args: unknown[]): Promise<T> {
  if (page === undefined) throw new Error('no browser page');
  return page.evaluate(([f, a]) => (globalThis as unknown as Record<string, Record<string, (...x: unknown[]) => Promise<unknown>>>)['parleyStore']![f]!(...(a)), [fn, args] as const) as Promise<T>;
}

/** A ClientStore whose every call runs on the IndexedDB store inside the page. */
async function openRemote(name: string, passphrase = 'correct horse'): Promise<ClientStore> {
  const opened = await evaluate<{ handle: number } | Failure>('open', name, passphrase);
  if ('error' in opened) rethrow(opened);
  const call = async (method: string, args: unknown[]): Promise<unknown> => {
    const r = await evaluate<{ result: string } | Failure>('call', opened.handle, method, decoder.decode(encodeRecord({ v: args })));
    if ('error' in r) rethrow(r);
    return (decodeRecord(encoder.encode(r.result)) as { v: unknown }).v;
  };
  // Not a thenable: `then` must stay undefined, or awaiting the proxy would call the page.
  return new Proxy({} as ClientStore, { get: (_, method) => (method === 'then' || typeof method !== 'string' ? undefined : (...args: unknown[]) => call(method, args)) });
}

if (hasChromium) {
  clientStoreConformance('IndexedDB in Chromium', async () => {
    const name = `conformance-${++profiles}`;
    return { store: await openRemote(name), reopen: () => openRemote(name) };
  });
} else {
  it.skip(`ClientStore conformance: IndexedDB in Chromium (${SKIP})`, () => undefined);
}

describe('ClientCrypto on WebCrypto', () => {
  it('agrees byte for byte with the node:crypto one (Ed25519 is deterministic; AES-GCM with a fixed nonce)', async (ctx) => {
    if (!hasChromium) ctx.skip(SKIP);
    const seed = Buffer.alloc(32, 7);
    const message = Buffer.from('parley device certificate');
    const key = Buffer.alloc(32, 9);
    const nonce = Buffer.alloc(12, 3);
    const r = await evaluate<Record<string, string | boolean>>('crypto', seed.toString('hex'), message.toString('hex'), key.toString('hex'), nonce.toString('hex'));
    const node = nodeClientCrypto;
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    expect(r['publicKey']).toBe(hex(await node.ed25519.publicKeyOf(seed)));
    expect(r['signature']).toBe(hex(await node.ed25519.sign(seed, message)));
    expect(r['verifies']).toBe(true);
    expect(r['verifiesOther']).toBe(false);
    expect(r['freshMatches']).toBe(true);
    expect(r['sha256']).toBe(hex(await node.digest('SHA-256', message)));
    expect(r['sealed']).toBe(hex(await node.aesGcm.seal(key, nonce, message, message)));
    expect(r['badOpen']).toBe('aead-open-failed');
  });
});

describe('the IndexedDB profile at rest', () => {
  it('holds no plaintext: texts, ids and names are sealed', async (ctx) => {
    if (!hasChromium) ctx.skip(SKIP);
    const store = await openRemote('at-rest');
    await store.commit({
      conversations: [{ groupId: 'group-visible-id', kind: 'group', name: 'Secret project', createdAt: 1 }],
      messages: [{ groupId: 'group-visible-id', messageId: 'msg-1', sender: { userId: 'alice', deviceId: 'a1' }, senderSeq: 1, sentAt: 1, receivedAt: 1, body: { type: 'text', text: 'meet at noon' }, status: 'received', receipts: [] }],
      cursors: { inbox: '5' },
    });
    expect((await store.listMessages('group-visible-id'))[0]?.body).toEqual({ type: 'text', text: 'meet at noon' });
    await store.close();
    const raw = await evaluate<string>('rawText', 'at-rest');
    expect(raw.length).toBeGreaterThan(100);
    for (const clear of ['meet at noon', 'Secret project', 'group-visible-id', 'msg-1', 'alice']) expect(raw).not.toContain(clear);
  });

  it('is open once per browser: a second opener gets profile-in-use until the first closes', async (ctx) => {
    if (!hasChromium) ctx.skip(SKIP);
    const first = await openRemote('locked');
    const err = await openRemote('locked').then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('profile-in-use');
    await first.commit({ cursors: { inbox: '3' } });
    await first.close();
    const again = await openRemote('locked');
    expect(await again.getCursor('inbox')).toBe('3');
    await again.close();
  });

  it('refuses a wrong passphrase with wrong-passphrase', async (ctx) => {
    if (!hasChromium) ctx.skip(SKIP);
    const store = await openRemote('passphrase', 'first');
    await store.commit({ cursors: { inbox: '1' } });
    await store.close();
    const err = await openRemote('passphrase', 'second').then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('wrong-passphrase');
    expect(await (await openRemote('passphrase', 'first')).getCursor('inbox')).toBe('1');
  });

  it('after a reopen (rows still sealed), updates and duplicate inserts find the stored messages', async (ctx) => {
    if (!hasChromium) ctx.skip(SKIP);
    const m = { groupId: 'g', sender: { userId: 'alice', deviceId: 'a1' }, sentAt: 1, receivedAt: 1, status: 'received' as const, receipts: [] };
    const first = await openRemote('lazy');
    await first.commit({ messages: [1, 2, 3].map((i) => ({ ...m, messageId: `m${i}`, senderSeq: i, body: { type: 'text' as const, text: `text ${i}` } })) });
    await first.close();
    const second = await openRemote('lazy');
    // Neither message was read since the reopen: the batch must open them to apply itself.
    await second.commit({
      messages: [{ ...m, messageId: 'm2', senderSeq: 9, body: { type: 'text', text: 'a replay' } }],
      messageUpdates: [{ groupId: 'g', messageId: 'm1', status: 'read' }],
    });
    const expected = [['m1', 'read', 'text 1'], ['m2', 'received', 'text 2'], ['m3', 'received', 'text 3']];
    const seen = (list: Awaited<ReturnType<ClientStore['listMessages']>>) => list.map((x) => [x.messageId, x.status, x.body.type === 'text' ? x.body.text : '']);
    expect(seen(await second.listMessages('g'))).toEqual(expected);
    expect(await second.getSenderSeq('g', { userId: 'alice', deviceId: 'a1' })).toBe(3);
    await second.close();
    const third = await openRemote('lazy');
    expect((await third.getMessage('g', 'm1'))?.status).toBe('read');
    expect(seen(await third.listMessages('g', { limit: 2 }))).toEqual(expected.slice(1));
    expect(seen(await third.listMessages('g'))).toEqual(expected);
    await third.close();
  });

  it('counts the summary of a conversation written before summaries from its history, then keeps it', async (ctx) => {
    if (!hasChromium) ctx.skip(SKIP);
    const m = { groupId: 'g', sender: { userId: 'alice', deviceId: 'a1' }, sentAt: 1, receivedAt: 1, status: 'received' as const, receipts: [] };
    const first = await openRemote('legacy');
    await first.commit({ messages: [{ ...m, messageId: 'a', senderSeq: 1, body: { type: 'text', text: 'one' } }, { ...m, messageId: 'b', senderSeq: 1, sender: { userId: 'bob', deviceId: 'b1' }, body: { type: 'text', text: 'two' } }] });
    await first.close();
    expect(await evaluate<number>('summaries', 'legacy', true)).toBe(1);
    expect(await evaluate<number>('summaries', 'legacy', false)).toBe(0);
    const second = await openRemote('legacy');
    const orders = (await second.listMessages('g')).map((x) => x.order);
    expect(await second.getMessageSummary('g')).toEqual({ count: 2, lastOrder: orders[1], senders: [{ userId: 'alice', count: 1 }, { userId: 'bob', count: 1 }] });
    await second.close();
    // Nothing read before the insert: the batch counts the history it has not opened yet.
    const third = await openRemote('legacy');
    await third.commit({ messages: [{ ...m, messageId: 'c', senderSeq: 2, body: { type: 'text', text: 'three' } }] });
    await third.close();
    expect(await evaluate<number>('summaries', 'legacy', false)).toBe(1);
    const fourth = await openRemote('legacy');
    const last = (await fourth.listMessages('g', { limit: 1 }))[0]!;
    expect(await fourth.getMessageSummary('g')).toEqual({ count: 3, lastOrder: last.order, senders: [{ userId: 'alice', count: 2 }, { userId: 'bob', count: 1 }] });
    await fourth.close();
  });

  it('refuses a message row moved to another row (corrupt-record) when it is read: rows are opened lazily', async (ctx) => {
    if (!hasChromium) ctx.skip(SKIP);
    const store = await openRemote('moved');
    const m = { groupId: 'g', sender: { userId: 'alice', deviceId: 'a1' }, senderSeq: 1, sentAt: 1, receivedAt: 1, status: 'received' as const, receipts: [] };
    await store.commit({ messages: [{ ...m, messageId: 'a', body: { type: 'text', text: 'one' } }, { ...m, messageId: 'b', senderSeq: 2, body: { type: 'text', text: 'two' } }] });
    await store.close();
    await evaluate('swapMessages', 'moved');
    // Opening reads message rows sealed; the first read of a moved row refuses it.
    const reopened = await openRemote('moved');
    for (const read of [() => reopened.listMessages('g'), () => reopened.getMessage('g', 'a'), () => reopened.listMessages('g', { limit: 1 })]) {
      const err = await read().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).code).toBe('corrupt-record');
    }
    await reopened.close();
  });
});
