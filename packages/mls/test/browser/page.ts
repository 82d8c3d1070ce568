// Runs in the browser page: the vector kinds against the WebCrypto backend on the page's
// own crypto.subtle. The driver (run.ts) bundles this with the kinds and calls the
// function it defines on globalThis; vectors are fetched from the driver's server.

import { webCryptoProvider } from '../../src/crypto/web/index.js';
import { runCase, type VectorKind } from './harness-shim.js';
import { type BrowserReport, type CaseResult, RUN_FUNCTION } from './report.js';

export function start(kinds: Readonly<Record<string, VectorKind>>): void {
  const run = async (): Promise<BrowserReport> => {
    const provider = webCryptoProvider(globalThis.crypto.subtle);
    const results: CaseResult[] = [];
    for (const [name, kind] of Object.entries(kinds)) {
      const response = await fetch(`/vectors/${name}.json`);
      if (!response.ok) throw new Error(`GET /vectors/${name}.json: ${response.status}`);
      const cases = (await response.json()) as unknown[];
      for (const [index, testCase] of cases.entries()) {
        const label = kind.describe?.(testCase, index) ?? `case ${index}`;
        try {
          const outcome = await runCase(kind, testCase, provider);
          results.push({ kind: name, index, label, ...outcome });
        } catch (error) {
          const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          results.push({ kind: name, index, label, status: 'failed', error: message });
        }
      }
    }
    return { userAgent: navigator.userAgent, provider: { name: provider.name, supportedSuites: [...provider.supportedSuites] }, results };
  };
  (globalThis as Record<string, unknown>)[RUN_FUNCTION] = run;
}
