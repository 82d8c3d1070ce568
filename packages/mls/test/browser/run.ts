// The browser driver: bundles page.ts with the vector kinds (esbuild), serves the bundle
// and the vector files from a node:http server on 127.0.0.1 (a random port; a secure
// context, so crypto.subtle exists), opens it in headless Chromium (playwright-core,
// Debian's /usr/bin/chromium) and returns what the page reports.

import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { chromium } from 'playwright-core';
import { kindsDir, vectorsDir } from './present.js';
import { type BrowserReport, RUN_FUNCTION } from './report.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_MISSING = 'chromium not installed (apt-get install chromium)';

const here = fileURLToPath(new URL('./', import.meta.url));
const shimPath = here + 'harness-shim.ts';

/** The kinds' `./harness.js` (Node-only: node:fs, Buffer) becomes the browser shim. */
const harnessShim: Plugin = {
  name: 'parley-harness-shim',
  setup(b) {
    b.onResolve({ filter: /^\.\/harness\.js$/ }, (args) => (args.resolveDir + '/' === kindsDir ? { path: shimPath } : undefined));
  },
};

export async function bundle(kinds: readonly string[]): Promise<string> {
  const imports = kinds.map((k, i) => `import kind${i} from ${JSON.stringify(`${kindsDir}${k}.ts`)};`).join('\n');
  const record = kinds.map((k, i) => `${JSON.stringify(k)}: kind${i}`).join(', ');
  const result = await build({
    stdin: { contents: `${imports}\nimport { start } from './page.ts';\nstart({ ${record} });\n`, resolveDir: here, loader: 'ts' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    conditions: ['parley:source'],
    plugins: [harnessShim],
    logLevel: 'silent',
  });
  const out = result.outputFiles[0];
  if (out === undefined) throw new Error('esbuild produced no output');
  return out.text;
}

async function serve(script: string, kinds: readonly string[]): Promise<{ server: Server; url: string }> {
  const page = '<!doctype html><meta charset="utf-8"><title>parley crypto-web</title><script type="module" src="/bundle.js"></script>';
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    const vector = /^\/vectors\/([a-z_-]+)\.json$/.exec(path)?.[1];
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    } else if (path === '/bundle.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(script);
    } else if (vector !== undefined && kinds.includes(vector)) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(readFileSync(`${vectorsDir}${vector}.json`));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/` };
}

/** Runs the given vector kinds in headless Chromium against the WebCrypto backend. */
export async function runInChromium(kinds: readonly string[]): Promise<BrowserReport> {
  const script = await bundle(kinds);
  const { server, url } = await serve(script, kinds);
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(url);
    try {
      await page.waitForFunction((name) => typeof (globalThis as Record<string, unknown>)[name] === 'function', RUN_FUNCTION, { timeout: 20_000 });
    } catch (error) {
      throw new Error(`the page did not start: ${pageErrors.length > 0 ? pageErrors.join('; ') : String(error)}`);
    }
    return await page.evaluate((name) => (globalThis as unknown as Record<string, () => Promise<BrowserReport>>)[name]!(), RUN_FUNCTION);
  } finally {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
  }
}
