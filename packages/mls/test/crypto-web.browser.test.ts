// The WebCrypto backend in a real browser: the crypto-only vector kinds, bundled and run
// in headless Chromium against the page's own crypto.subtle; one vitest test per case,
// failing on any case that fails in the browser. Skipped when Chromium is not installed.

import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_MISSING, CHROMIUM_PATH, runInChromium } from './browser/run.js';
import { presentKinds } from './browser/present.js';
import { BROWSER_KINDS, type BrowserReport, type CaseResult } from './browser/report.js';
import { loadVectorFile, vectorsDir } from './kinds/harness.js';

const hasChromium = existsSync(CHROMIUM_PATH);
const kinds = presentKinds(BROWSER_KINDS);
const casesOf = new Map(kinds.map((k) => [k, loadVectorFile<{ cipher_suite?: number }>(`${vectorsDir}${k}.json`)]));

let report: BrowserReport | undefined;

beforeAll(async () => {
  if (hasChromium) report = await runInChromium(kinds);
}, 240_000);

function browserReport(): BrowserReport {
  if (report === undefined) throw new Error('the browser run produced no report');
  return report;
}

function resultOf(kind: string, index: number): CaseResult {
  const found = browserReport().results.find((r) => r.kind === kind && r.index === index);
  if (found === undefined) throw new Error(`the page reported nothing for ${kind} case ${index}`);
  return found;
}

it('runs in headless Chromium, on the browser WebCrypto', (ctx) => {
  if (!hasChromium) ctx.skip(CHROMIUM_MISSING);
  const r = browserReport();
  expect(r.userAgent).toMatch(/HeadlessChrome\/\d+/);
  expect(r.provider.name).toBe('webcrypto');
  expect(r.provider.supportedSuites).toEqual(expect.arrayContaining([1, 2, 3]));
  expect(kinds).toContain('crypto-basics');
  const expected = [...casesOf.values()].reduce((n, cases) => n + cases.length, 0);
  expect(r.results).toHaveLength(expected);
});

it('reports the suites it does not offer as skipped, with the reason', (ctx) => {
  if (!hasChromium) ctx.skip(CHROMIUM_MISSING);
  const cases = casesOf.get('crypto-basics') ?? [];
  for (const [index, c] of cases.entries()) {
    const r = resultOf('crypto-basics', index);
    if ([1, 2, 3].includes(c.cipher_suite ?? 0)) expect(r.status, r.label).toBe('passed');
    if ([4, 6].includes(c.cipher_suite ?? 0)) {
      expect(r).toMatchObject({ status: 'skipped', reason: `cipher suite ${c.cipher_suite} is not offered by the webcrypto backend` });
    }
  }
});

for (const [kind, cases] of casesOf) {
  describe(`${kind} in Chromium`, () => {
    cases.forEach((_, index) => {
      it(`case ${index}`, (ctx) => {
        if (!hasChromium) ctx.skip(CHROMIUM_MISSING);
        const r = resultOf(kind, index);
        if (r.status === 'failed') throw new Error(`${r.label}: ${r.error}`);
        if (r.status === 'skipped') ctx.skip(r.reason);
      });
    });
  });
}
