// The import rules of DESIGN.md are enforced by dependency-cruiser: this proves that
// the check fails on forbidden imports (fixtures under test/fixtures/forbidden) and
// passes on the repository itself.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const depcruise = `${root}node_modules/.bin/depcruise`;
const config = `${root}.dependency-cruiser.cjs`;

interface Violation {
  readonly from: string;
  readonly to: string;
  readonly rule: { readonly name: string };
}

/** Runs the check as `npm run check:imports` does (its exit code), then again for the violations as JSON. */
async function cruise(cwd: string, dirs: string[]): Promise<{ code: number; violations: Violation[] }> {
  let code = 0;
  try {
    await run(depcruise, ['--config', config, ...dirs], { cwd });
  } catch (error) {
    code = (error as { code: number }).code;
  }
  const { stdout } = await run(depcruise, ['--config', config, '--output-type', 'json', ...dirs], { cwd, maxBuffer: 64 << 20 });
  const { violations } = (JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary;
  return { code, violations };
}

describe('import rules', () => {
  it('fail the check on each kind of forbidden import', async () => {
    const { code, violations } = await cruise(`${root}test/fixtures/forbidden`, ['packages']);
    expect(code).not.toBe(0);
    const seen = violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
    expect(seen).toEqual(
      expect.arrayContaining([
        'mls-and-protocol-are-leaves: packages/mls/src/bad.ts -> packages/server/src/index.ts',
        'client-never-imports-server: packages/client/src/bad.ts -> packages/server/src/index.ts',
        'no-cross-package-relative: packages/client/src/bad.ts -> packages/server/src/index.ts',
        'mls-is-pure: packages/mls/src/tree/uses-node.ts -> crypto',
      ]),
    );
    expect(violations.some((v) => v.rule.name === 'no-circular')).toBe(true);
  });

  it('pass on the repository itself', async () => {
    const { code, violations } = await cruise(root, ['packages', 'apps']);
    expect(violations).toEqual([]);
    expect(code).toBe(0);
  });
});
