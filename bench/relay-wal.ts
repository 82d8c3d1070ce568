// WAL frames (4 KiB pages) written per appended 1:1 message, by B-tree, shaped like
// bench:relay: 600 groups of 2, 250-byte random payloads, 16-byte random ids, batches of B
// to random groups, after a prefill. Deterministic where the relay bench is noisy: it reads
// the page numbers of the WAL's own frames and names their tree with dbstat.
//   npx tsx --conditions=parley:source bench/relay-wal.ts <path to a sqlite.ts> [batch=16] [prefill=60000]
// The store module is an argument so that another checkout's store can be measured beside this one.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

const [modPath, batchArg, prefillArg] = process.argv.slice(2);
if (modPath === undefined) throw new Error('usage: relay-wal.ts <store module> [batch] [prefill]');
const { SqliteStore } = (await import(modPath)) as typeof import('../packages/server/src/store/sqlite.js');
const B = Number(batchArg ?? 16);
const PREFILL = Number(prefillArg ?? 60000);
const file = join(mkdtempSync(join(tmpdir(), 'walc-')), 'p.db');
const store = new SqliteStore(file, { deferredSync: true });
const pw = { hash: new Uint8Array(32), salt: new Uint8Array(16), params: { N: 1024, r: 8, p: 1, keylen: 32 } };
const C = 200;
for (let i = 0; i < C; i++) {
  const tok = randomBytes(32);
  await store.createUser({ id: `u${i}`, email: null, password: pw, admin: false, active: true, identityKey: null, createdAt: 1 });
  await store.createSession({ tokenHash: tok, userId: `u${i}`, deviceId: null, createdAt: 1, expiresAt: 1e13 });
  await store.addDevice({ id: `dev-${i}`, userId: `u${i}`, signatureKey: new Uint8Array(32), cipherSuite: 1, certificate: new Uint8Array(64), createdAt: 1 }, tok);
}
const groups: [string, string][] = [];
for (let i = 0; i < C; i++) for (let k = 0; k < 3; k++) {
  const j = (i + 1 + Math.floor(Math.random() * (C - 1))) % C;
  const g = `grp-${randomBytes(8).toString('hex')}`;
  await store.createGroup({ id: g, epoch: 0, groupInfo: new Uint8Array(16), ratchetTree: null, createdAt: 1 }, `dev-${i}`);
  await store.applyCommit({ groupId: g, fromEpoch: 0, toEpoch: 1, message: { groupId: g, id: randomBytes(16), sender: `dev-${i}`, data: new Uint8Array(16), createdAt: Date.now() }, groupInfo: new Uint8Array(16), ratchetTree: null, addDevices: [`dev-${j}`], removeDevices: [], welcome: null });
  groups.push([g, `dev-${i}`], [g, `dev-${j}`]);
}
const batch = () => Array.from({ length: B }, () => {
  const [g, s] = groups[Math.floor(Math.random() * groups.length)]!;
  return { groupId: g, id: new Uint8Array(randomBytes(16)), sender: s, data: new Uint8Array(randomBytes(250)), createdAt: Date.now() };
});
const prefilled: Promise<void>[] = [];
for (let n = 0; n < PREFILL; n += B) prefilled.push((await store.appendMessagesCommitted(batch())).durable);
await Promise.all(prefilled);
const raw = new Database(file);
let frames = 0;
let msgs = 0;
const byTree = new Map<string, number>();
const treeOf = new Map<number, string>();
for (let round = 0; round < 25; round++) {
  raw.pragma('wal_checkpoint(TRUNCATE)');
  for (let k = 0; k < Math.ceil(200 / B); k++) { await store.appendMessages(batch()); msgs += B; }
  const wal = readFileSync(`${file}-wal`);
  for (let off = 32; off + 24 + 4096 <= wal.length; off += 24 + 4096) {
    frames++;
    const page = wal.readUInt32BE(off);
    if (!treeOf.has(page)) for (const r of raw.prepare('SELECT pageno, name, pagetype FROM dbstat').all() as { pageno: number; name: string; pagetype: string }[]) treeOf.set(r.pageno, `${r.name} ${r.pagetype}`);
    const t = treeOf.get(page) ?? 'other';
    byTree.set(t, (byTree.get(t) ?? 0) + 1);
  }
}
raw.close();
// The process's CPU per message on the server's path (commit without fsync, fdatasync
// behind), batches made beforehand; it counts the fdatasyncs and SQLite's inline checkpoints
// as well (no checkpointer worker here), which grow with the pages written.
const timed = Array.from({ length: Math.ceil(20_000 / B) }, batch);
const durable: Promise<void>[] = [];
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (const b of timed) durable.push((await store.appendMessagesCommitted(b)).durable);
const cpu = process.cpuUsage(cpu0);
const ms = performance.now() - t0;
await Promise.all(durable);
const n = timed.length * B;
console.log(JSON.stringify({ appendProcessCpuUsPerMessage: +((cpu.user + cpu.system) / n).toFixed(1), appendWallUsPerMessage: +((ms * 1000) / n).toFixed(1) }));
console.log(Object.fromEntries([...byTree].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, +(v / msgs).toFixed(3)])));
await store.close();
console.log(JSON.stringify({ module: modPath, batch: B, prefill: PREFILL, messages: msgs, walFramesPerMessage: +(frames / msgs).toFixed(3), walBytesPerMessage: Math.round((frames * 4120) / msgs) }));
