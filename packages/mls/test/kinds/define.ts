// Defines the vitest tests of one vector file: one test per case, skipped cases
// reported with their reason.

import { it } from 'vitest';
import { defaultProvider, loadKind, loadVectorFile, runCase, vectorsDir } from './harness.js';

export function defineVectorTests(kindName: string, file = `${kindName}.json`): void {
  const cases = loadVectorFile(vectorsDir + file);
  const kind = loadKind(kindName);
  cases.forEach((testCase, index) => {
    it(`case ${index}`, async (ctx) => {
      const k = await kind;
      const outcome = await runCase(k, testCase, await defaultProvider());
      if (outcome.status === 'skipped') ctx.skip(outcome.reason);
    });
  });
}
