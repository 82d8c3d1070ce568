// Shared by the web app's browser tests: build the app once per test file (Vite, into a
// temp dir), start a real `parley serve` on loopback serving it, drive headless Chromium
// (Debian's /usr/bin/chromium through playwright-core), run axe-core, save screenshots.

import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestServer, type TestServer } from '@parley/testing';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM_PATH);
export const NO_CHROMIUM = 'chromium not installed (apt-get install chromium)';

const webDir = fileURLToPath(new URL('../../', import.meta.url));
/** Where screenshots go (gitignored; named in the README). */
export const SCREENSHOTS = fileURLToPath(new URL('../../../../artifacts/screenshots/', import.meta.url));

export async function buildApp(): Promise<string> {
  const { build } = await import('vite');
  const outDir = mkdtempSync(join(tmpdir(), 'parley-web-build-'));
  await build({ configFile: join(webDir, 'vite.config.ts'), root: webDir, logLevel: 'silent', build: { outDir, emptyOutDir: true } });
  return outDir;
}

export interface Harness {
  readonly server: TestServer;
  /** The app's build, for another server in the same test file. */
  readonly webRoot: string;
  /** Stops the server, then starts it again on the same port and data (a restart). */
  stopServer(): Promise<() => Promise<void>>;
  readonly browser: Browser;
  /** Messages Chromium printed about the Content-Security-Policy (must stay empty). */
  readonly cspViolations: string[];
  context(locale: string): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const webRoot = await buildApp();
  let server = await startTestServer({ webRoot });
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const cspViolations: string[] = [];
  return {
    get server() {
      return server;
    },
    async stopServer() {
      const { port } = new URL(server.url);
      const dataDir = server.dataDir;
      await server.close();
      return async () => {
        server = await startTestServer({ webRoot, dataDir, port: Number(port) });
      };
    },
    webRoot,
    browser,
    cspViolations,
    async context(locale) {
      const context = await browser.newContext({ locale, viewport: { width: 1100, height: 760 } });
      const page = await context.newPage();
      page.on('console', (m) => {
        if (/content security policy/i.test(m.text())) cspViolations.push(m.text());
      });
      page.on('pageerror', (e) => {
        cspViolations.push(`page error: ${e.message}`);
      });
      await page.goto(server.url + '/');
      return { context, page };
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: number;
}

/** axe-core's WCAG 2.1 A/AA rules on the page as it is; returns the serious and critical violations. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  // page.evaluate goes through the DevTools protocol, which the page's CSP does not block.
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (ctx: Document, opts: unknown) => Promise<{ violations: { id: string; impact: string | null; help: string; nodes: unknown[] }[] }> } }).axe;
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }));
  });
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}
