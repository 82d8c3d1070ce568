// The browser stand-in for ../kinds/harness.ts: the same helpers the vector kinds import,
// without node:fs or Buffer. The bundler (run.ts) points the kinds' `./harness.js` here;
// only the parts that read files from disk are left out (the page fetches the vectors).

import type { CipherSuite, CryptoProvider } from '../../src/crypto/provider.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import type { CaseOutcome, VectorKind } from '../kinds/harness.js';

export type { CaseOutcome, VectorKind };

export const PASSED: CaseOutcome = { status: 'passed' };

export class SkipCase extends Error {}

export function suiteOrSkip(provider: CryptoProvider, id: number): CipherSuite {
  if (!(provider.supportedSuites as readonly number[]).includes(id)) {
    throw new SkipCase(`cipher suite ${id} is not offered by the ${provider.name} backend`);
  }
  return provider.suite(id);
}

export async function runCase<Case>(kind: VectorKind<Case>, testCase: Case, provider: CryptoProvider): Promise<CaseOutcome> {
  try {
    return await kind.run(testCase, provider);
  } catch (error) {
    if (error instanceof SkipCase) return { status: 'skipped', reason: error.message };
    throw error;
  }
}

export function hex(value: string): Uint8Array {
  return fromHex(value);
}

export function expectBytes(actual: Uint8Array, expectedHex: string, what: string): void {
  const got = toHex(actual);
  if (got !== expectedHex.toLowerCase()) throw new Error(`${what}: expected ${expectedHex}, got ${got}`);
}

export function expectEqual<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) throw new Error(`${what}: expected ${String(expected)}, got ${String(actual)}`);
}
