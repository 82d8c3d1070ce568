// Prints what the browser downloads for the web app's first screen: every file of
// apps/web/dist referenced by index.html, raw and gzip-compressed (as parley serve sends it).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const dist = join(import.meta.dirname, '..', 'dist');
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const rows = [];
for (const name of ['index.html', ...readdirSync(join(dist, 'assets')).map((f) => `assets/${f}`)]) {
  const body = readFileSync(join(dist, name));
  rows.push({ name, raw: body.length, gzip: gzipSync(body, { level: 9 }).length });
}
const width = Math.max(...rows.map((r) => r.name.length));
for (const r of rows) process.stdout.write(`web: ${r.name.padEnd(width)}  ${kib(r.raw).padStart(10)}  ${kib(r.gzip).padStart(10)} gzip\n`);
const js = rows.filter((r) => r.name.endsWith('.js'));
const sum = (k) => js.reduce((n, r) => n + r[k], 0);
process.stdout.write(`web: JavaScript sent to the browser: ${kib(sum('raw'))} raw, ${kib(sum('gzip'))} gzip\n`);
