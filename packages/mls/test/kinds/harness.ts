// Shared machinery for the official test vectors: each vector kind is a module in this
// folder (`<kind>.ts`) whose default export runs one case. The same module serves the
// vitest file of that kind and `npm run vectors`.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CipherSuite, CryptoProvider } from '../../src/crypto/provider.js';
import { fromHex } from '../../src/util/bytes.js';

export type CaseOutcome = { readonly status: 'passed' } | { readonly status: 'skipped'; readonly reason: string };

export const PASSED: CaseOutcome = { status: 'passed' };

export interface VectorKind<Case = unknown> {
  /** Runs one case; throws (an assertion error or an engine error) when it fails. */
  run(testCase: Case, provider: CryptoProvider): Promise<CaseOutcome>;
  /** A short name for the case in reports, e.g. "suite 1, 8 leaves". */
  describe?(testCase: Case, index: number): string;
}

/** Raised by `suiteOrSkip` when the backend does not offer a case's cipher suite. */
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

export const vectorsDir = fileURLToPath(new URL('../vectors/', import.meta.url));

export function loadVectorFile<Case = unknown>(path: string): Case[] {
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!Array.isArray(parsed)) throw new Error(`${path}: a vector file is a JSON array of cases`);
  return parsed as Case[];
}

export async function loadKind(name: string): Promise<VectorKind> {
  if (!/^[a-z_-]+$/.test(name)) throw new Error(`invalid vector kind '${name}'`);
  const mod = (await import(`./${name}.ts`)) as { default: VectorKind };
  return mod.default;
}

/** The Node backend (loaded on first use, so kinds that need no crypto run without it). */
export async function defaultProvider(): Promise<CryptoProvider> {
  const { nodeCryptoProvider } = await import('../../src/crypto/node/index.js');
  return nodeCryptoProvider;
}

/** Hex field of a vector, decoded; `null` stays `undefined`. */
export function hex(value: string): Uint8Array {
  return fromHex(value);
}

/** Fails with a message naming the field, showing both sides in hex. */
export function expectBytes(actual: Uint8Array, expectedHex: string, what: string): void {
  const got = Buffer.from(actual).toString('hex');
  if (got !== expectedHex.toLowerCase()) throw new Error(`${what}: expected ${expectedHex}, got ${got}`);
}

export function expectEqual<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) throw new Error(`${what}: expected ${String(expected)}, got ${String(actual)}`);
}
