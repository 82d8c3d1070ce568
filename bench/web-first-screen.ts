// `npm run bench:web [-- --json] [-- --messages 10000] [-- --runs 5]`: the web app's first
// screen for a returning user (issue 8, item 5). A fresh Vite build served by a real
// `parley serve` on loopback, headless Chromium (Debian's /usr/bin/chromium through
// playwright-core). Alice registers in the browser; Bob (a Node client) opens a 1:1 chat
// with her and writes, so her profile holds a real MLS group; then N messages are written
// into her encrypted profile (the app's own IndexedDB store code). Each run reloads the
// page, types the passphrase and measures, inside the page, from the unlock click to the
// frame that shows the newest message. Printed beside it, each part alone: scrypt over the
// passphrase (the intended cost of the key derivation, reported apart), opening the
// profile without it, the conversation list's reads, one 300-message page.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild } from 'esbuild';
import { chromium, type Page } from 'playwright-core';
import { ParleyClient, createMemoryStore } from '@parley/client';
import { nodeClientCrypto, nodeCryptoProvider, nodeWebSocketFactory } from '@parley/client/node';
import { startTestServer } from '@parley/testing';

const args = process.argv.slice(2);
const json = args.includes('--json');
const arg = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const MESSAGES = arg('--messages', 10_000);
const RUNS = arg('--runs', 5);
const CHROMIUM = '/usr/bin/chromium';
const PASSPHRASE = 'alice passphrase, long enough';
const webDir = fileURLToPath(new URL('../apps/web/', import.meta.url));

type Bench = {
  seed(groupId: string, passphrase: string, n: number, peer: string, self: string): Promise<void>;
  parts(passphrase: string, groupId: string): Promise<Record<string, number>>;
  firstScreen(text: string): Promise<Record<string, number>>;
};

function report(name: string, values: readonly number[], unit: string): void {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? NaN;
  if (json) console.log(JSON.stringify({ bench: 'web', name, value: Math.round(median), unit, runs: values.map(Math.round) }));
  else console.log(`${name.padEnd(56)} ${median.toFixed(0).padStart(7)} ${unit}  (runs: ${values.map((v) => v.toFixed(0)).join(', ')})`);
}

async function loadHelpers(page: Page): Promise<void> {
  const out = await esbuild({
    entryPoints: [fileURLToPath(new URL('./web-first-screen.page.ts', import.meta.url))],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    conditions: ['parley:source', 'browser'],
    logLevel: 'silent',
  });
  // Through the DevTools protocol, which the page's Content-Security-Policy does not block.
  await page.evaluate(out.outputFiles[0]!.text);
}

const helpers = (page: Page) => ({
  seed: (...a: Parameters<Bench['seed']>) => page.evaluate((x) => (globalThis as unknown as { parleyBench: Bench }).parleyBench.seed(...x), a),
  parts: (...a: Parameters<Bench['parts']>) => page.evaluate((x) => (globalThis as unknown as { parleyBench: Bench }).parleyBench.parts(...x), a),
  firstScreen: (text: string) => page.evaluate((t) => (globalThis as unknown as { parleyBench: Bench }).parleyBench.firstScreen(t), text),
});

async function main(): Promise<void> {
  const { build } = await import('vite');
  const webRoot = mkdtempSync(join(tmpdir(), 'parley-web-bench-'));
  await build({ configFile: join(webDir, 'vite.config.ts'), root: webDir, logLevel: 'silent', build: { outDir: webRoot, emptyOutDir: true } });
  const server = await startTestServer({ webRoot });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  let bob: ParleyClient | undefined;
  try {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1100, height: 760 } });
    const page = await context.newPage();
    await page.goto(server.url + '/');
    const alice = `alice${String(Date.now() % 100_000)}`;
    await page.locator('input[name=username]').fill(alice);
    await page.locator('input[name=password]').fill(`${alice} account password`);
    await page.locator('input[name=passphrase]').fill(PASSPHRASE);
    await page.locator('button[type=submit]').click();
    await page.locator('[data-testid=connection].online').waitFor({ timeout: 60_000 });

    bob = await ParleyClient.register(
      { serverUrl: server.url, store: createMemoryStore(), crypto: nodeClientCrypto, provider: nodeCryptoProvider, webSocket: nodeWebSocketFactory, keyPackages: 2, backupKdf: { logN: 10, r: 8, p: 1 } },
      `bob${String(Date.now() % 100_000)}`,
      'bob account password',
      undefined,
      'bob backup passphrase',
    );
    const groupId = await bob.openDirect(alice);
    await bob.sendText(groupId, 'hello from bob');
    await page.locator('[data-testid=message]', { hasText: 'hello from bob' }).waitFor({ timeout: 60_000 });

    // Lock (the app lets go of the profile), seed it, and measure reloads.
    await page.getByRole('button', { name: 'Lock' }).click();
    await page.locator('input[name=passphrase]').waitFor();
    await loadHelpers(page);
    await helpers(page).seed(groupId, PASSPHRASE, MESSAGES, bob.userId, alice);
    const newest = `seeded message ${String(MESSAGES - 1)}`;

    const screen: Record<string, number[]> = {};
    const parts: Record<string, number[]> = {};
    for (let run = 0; run < RUNS; run++) {
      await page.reload();
      await page.locator('input[name=passphrase]').waitFor();
      await loadHelpers(page);
      for (const [k, v] of Object.entries(await helpers(page).parts(PASSPHRASE, groupId))) (parts[k] ??= []).push(v);
      const shown = helpers(page).firstScreen(newest);
      await page.locator('input[name=passphrase]').fill(PASSPHRASE);
      await page.locator('button[type=submit]').click();
      for (const [k, v] of Object.entries(await shown)) (screen[k] ??= []).push(v);
      await page.locator('[data-testid=connection].online').waitFor({ timeout: 60_000 });
    }
    const rows = await page.locator('[data-testid=message]').count();
    report(`first screen, ${String(MESSAGES)} messages: unlock click → newest message shown`, screen['totalMs'] ?? [], 'ms');
    report('  unlock click → profile open (scrypt included)', screen['storeOpenMs'] ?? [], 'ms');
    report('  unlock click → conversation list ready', screen['listReadyMs'] ?? [], 'ms');
    report('  first screen without scrypt (total − scrypt alone)', (screen['totalMs'] ?? []).map((t, i) => t - (parts['scryptMs']?.[i] ?? NaN)), 'ms');
    report('alone: scrypt over the passphrase (intended cost)', parts['scryptMs'] ?? [], 'ms');
    report('alone: open the profile (scrypt included)', parts['openMs'] ?? [], 'ms');
    report('alone: read the sealed message rows (IndexedDB getAll)', parts['rowsMs'] ?? [], 'ms');
    report('alone: list conversations + last message', parts['lastMessageMs'] ?? [], 'ms');
    report('alone: one page of history (300 messages)', parts['pageMs'] ?? [], 'ms');
    report('alone: the whole history (what opening used to decrypt)', parts['allMs'] ?? [], 'ms');
    report('message rows in the DOM after the first screen', [rows], 'rows');
  } finally {
    await bob?.close();
    await browser.close();
    await server.close();
  }
}

await main();
