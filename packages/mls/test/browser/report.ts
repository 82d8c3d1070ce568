// What the browser page reports back to the vitest test: one line per vector case.

/**
 * The vector kinds that exercise the CryptoProvider, run in the browser (and against the web
 * backend in Node) when their module exists. treekem is left out only for time: about a
 * minute and a half on this machine, against seconds for all of these together.
 */
export const BROWSER_KINDS = [
  'crypto-basics',
  'secret-tree',
  'key-schedule',
  'psk_secret',
  'transcript-hashes',
  'tree-operations',
  'tree-validation',
  'message-protection',
  'welcome',
  // A whole passive member: join from a Welcome, then process every epoch's commit.
  'passive-client-welcome',
  'passive-client-handling-commit',
] as const;

export type CaseResult = { readonly kind: string; readonly index: number; readonly label: string } & (
  | { readonly status: 'passed' }
  | { readonly status: 'skipped'; readonly reason: string }
  | { readonly status: 'failed'; readonly error: string }
);

export interface BrowserReport {
  readonly userAgent: string;
  /** The provider's name and suites, as the page saw them. */
  readonly provider: { readonly name: string; readonly supportedSuites: readonly number[] };
  readonly results: readonly CaseResult[];
}

/** The function the page defines on globalThis for the driver to call. */
export const RUN_FUNCTION = 'parleyRunVectors';
