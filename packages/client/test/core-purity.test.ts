// The client core runs in browsers too: outside src/node/ no file may import a Node
// built-in or a native module, or use Node's Buffer / process globals.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

const FORBIDDEN: [string, RegExp][] = [
  ['a node: import', /from\s+['"]node:/],
  ['a Node built-in import', /from\s+['"](fs|path|crypto|os|child_process|util|buffer)['"]/],
  ['better-sqlite3', /better-sqlite3/],
  ['Buffer', /\bBuffer\./],
  ['process', /\bprocess\./],
];

describe('client core purity', () => {
  const core = files(src).filter((f) => !relative(src, f).startsWith('node'));

  it('finds the core files', () => {
    expect(core.length).toBeGreaterThan(5);
    expect(files(src).some((f) => relative(src, f).startsWith('node'))).toBe(true);
  });

  it('uses only web-standard APIs outside src/node', () => {
    const offences: string[] = [];
    for (const f of core) {
      // Comments may mention Node; code may not.
      const code = readFileSync(f, 'utf8').replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
      for (const [what, re] of FORBIDDEN) if (re.test(code)) offences.push(`${relative(src, f)}: ${what}`);
    }
    expect(offences).toEqual([]);
  });
});
