// `npm run vectors -- <file.json> [--kind <name>]`: runs one official vector file
// against the Node backend and ends with the line `N passed, N failed, N skipped`.
// The kind is the file's name without `.json` unless --kind says otherwise.

import { basename } from 'node:path';
import { defaultProvider, loadKind, loadVectorFile, runCase } from '../test/kinds/harness.js';

const ALIASES: Record<string, string> = { 'passive-client': 'passive-client' };

async function main(args: string[]): Promise<number> {
  let file: string | undefined;
  let kindName: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--kind') kindName = args[++i];
    else if (a.startsWith('--kind=')) kindName = a.slice('--kind='.length);
    else if (file === undefined) file = a;
    else {
      console.error(`vectors: unexpected argument '${a}'`);
      return 2;
    }
  }
  if (file === undefined) {
    console.error('usage: npm run vectors -- <path/to/file.json> [--kind <name>]');
    return 2;
  }
  kindName = kindName ?? basename(file, '.json');
  kindName = ALIASES[kindName] ?? kindName;
  let kind;
  try {
    kind = await loadKind(kindName);
  } catch {
    console.error(`vectors: no runner for kind '${kindName}' (give --kind <name>)`);
    return 2;
  }
  const cases = loadVectorFile(file);
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const [index, testCase] of cases.entries()) {
    const label = kind.describe?.(testCase, index) ?? `case ${index}`;
    try {
      const outcome = await runCase(kind, testCase, await defaultProvider());
      if (outcome.status === 'passed') passed++;
      else {
        skipped++;
        console.log(`skipped ${label}: ${outcome.reason}`);
      }
    } catch (error) {
      failed++;
      console.log(`FAILED ${label}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
