// Which of the browser-runnable vector kinds exist yet (Node side: reads the disk).

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const kindsDir = fileURLToPath(new URL('../kinds/', import.meta.url));
export const vectorsDir = fileURLToPath(new URL('../vectors/', import.meta.url));

/** The kinds among `wanted` whose module and vector file exist (others are still being written). */
export function presentKinds(wanted: readonly string[]): string[] {
  return wanted.filter((k) => existsSync(`${kindsDir}${k}.ts`) && existsSync(`${vectorsDir}${k}.json`));
}
