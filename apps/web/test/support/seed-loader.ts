// Puts support/seed.ts (bundled by esbuild) into a page: helpers that write into the app's
// encrypted profile with the app's own store code (page.evaluate goes through the DevTools
// protocol, which the page's Content-Security-Policy does not block).
import { fileURLToPath } from 'node:url';
import { build as esbuild } from 'esbuild';
import type { Page } from 'playwright-core';

let bundled: Promise<string> | undefined;

export async function loadSeed(page: Page): Promise<void> {
  bundled ??= esbuild({
    entryPoints: [fileURLToPath(new URL('./seed.ts', import.meta.url))],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    conditions: ['parley:source', 'browser'],
    logLevel: 'silent',
  }).then((r) => r.outputFiles[0]!.text);
  await page.evaluate(await bundled);
}
