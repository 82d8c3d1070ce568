// `npm run vectors -- <file> [--kind <name>]` is a contract others script against:
// it ends with the plain line `N passed, N failed, N skipped` and exits non-zero on failure.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const vectors = fileURLToPath(new URL('./vectors/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'parley-vectors-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

async function vectorsCommand(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('npm', ['run', '--silent', 'vectors', '--', ...args], { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const lastLine = (s: string): string => s.trimEnd().split('\n').at(-1) ?? '';

describe('npm run vectors', () => {
  it('runs a file by its name and ends with the summary line', async () => {
    const { code, stdout } = await vectorsCommand([join(vectors, 'tree-math.json')]);
    expect(lastLine(stdout)).toBe('10 passed, 0 failed, 0 skipped');
    expect(code).toBe(0);
  });

  it('takes the kind from --kind for a file named otherwise', async () => {
    const file = join(tmp, 'my-cases.json');
    copyFileSync(join(vectors, 'deserialization.json'), file);
    const { code, stdout } = await vectorsCommand([file, '--kind', 'deserialization']);
    expect(lastLine(stdout)).toBe('14 passed, 0 failed, 0 skipped');
    expect(code).toBe(0);
  });

  it('counts a failing case and exits non-zero', async () => {
    const file = join(tmp, 'bad.json');
    writeFileSync(file, JSON.stringify([{ vlbytes_header: '00', length: 0 }, { vlbytes_header: '4001', length: 1 }]));
    const { code, stdout } = await vectorsCommand([file, '--kind', 'deserialization']);
    expect(lastLine(stdout)).toBe('1 passed, 1 failed, 0 skipped');
    expect(code).not.toBe(0);
  });

  it('refuses an unknown kind with a clear error', async () => {
    const { code, stderr } = await vectorsCommand([join(tmp, 'nothing.json'), '--kind', 'no-such-kind']);
    expect(code).toBe(2);
    expect(stderr).toContain("no runner for kind 'no-such-kind'");
  });
});
