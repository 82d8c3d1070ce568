// CPU per appended message and per acknowledgement of the server's store, outside the relay:
// a SqliteStore on a temp file with the server's options (deferredSync, backgroundCheckpoint,
// synchronous=FULL), 300 groups of 2 devices as in bench:relay, 250-byte random payloads with
// 16-byte random ids to random groups, after a prefill. Times appendMessagesCommitted in
// batches of 1, 8 and 32 (each run awaits its syncs) and ackBatch of 200 acks (every recipient's
// ack of the messages just appended).
//   npx tsx --conditions=parley:source bench/store-append.ts [store module …] [--runs 5] [--messages 4000] [--batches 1,8,32] [--prefill 20000]
// Each store module (default: this checkout's sqlite.ts) gets its own database; the runs of the
// modules are interleaved, so a module beside another (an older copy of sqlite.ts) is compared
// under the same load. Figures: the medians of the runs, in µs per message (per ack), of the
// main thread's CPU time (/proc schedstat, in ns) and of the process's (process.cpuUsage: the
// checkpointer and the thread pool's fdatasyncs too).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { SqliteStore as Store } from '../packages/server/src/store/sqlite.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '5' },
    messages: { type: 'string', default: '4000' },
    prefill: { type: 'string', default: '20000' },
    batches: { type: 'string', default: '1,8,32' },
  },
});
const RUNS = Number(values.runs);
const MESSAGES = Number(values.messages);
const PREFILL = Number(values.prefill);
const modules = positionals.length > 0 ? positionals.map((p) => resolve(p)) : [new URL('../packages/server/src/store/sqlite.ts', import.meta.url).pathname];
const GROUPS = 300;
const BATCHES = values.batches.split(',').map(Number);
const ACK_BATCH = 200;

const schedstat = `/proc/${process.pid}/task/${process.pid}/schedstat`;
/** The main thread's CPU time in ns (Linux). */
const mainCpu = (): number => Number(readFileSync(schedstat, 'latin1').split(' ')[0]);
const processCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

interface Subject {
  readonly name: string;
  readonly store: Store;
  /** [group, sender, recipient] */
  readonly pairs: [string, string, string][];
}

async function open(modPath: string, k: number): Promise<Subject> {
  const { SqliteStore } = (await import(modPath)) as typeof import('../packages/server/src/store/sqlite.js');
  const file = join(mkdtempSync(join(tmpdir(), 'store-append-')), 'p.db');
  const store = new SqliteStore(file, { deferredSync: true, backgroundCheckpoint: true, synchronous: 'full' });
  const pw = { hash: new Uint8Array(32), salt: new Uint8Array(16), params: { N: 1024, r: 8, p: 1, keylen: 32 } };
  const pairs: [string, string, string][] = [];
  for (let i = 0; i < GROUPS * 2; i++) {
    const tok = randomBytes(32);
    await store.createUser({ id: `u${i}`, email: null, password: pw, admin: false, active: true, identityKey: null, createdAt: 1 });
    await store.createSession({ tokenHash: tok, userId: `u${i}`, deviceId: null, createdAt: 1, expiresAt: 1e13 });
    await store.addDevice({ id: `dev-${i}`, userId: `u${i}`, signatureKey: new Uint8Array(32), cipherSuite: 1, certificate: new Uint8Array(64), createdAt: 1 }, tok);
  }
  for (let i = 0; i < GROUPS; i++) {
    const [a, b] = [`dev-${2 * i}`, `dev-${2 * i + 1}`];
    const g = `grp-${randomBytes(8).toString('hex')}`;
    await store.createGroup({ id: g, epoch: 0, groupInfo: new Uint8Array(16), ratchetTree: null, createdAt: 1 }, a);
    const message = { groupId: g, id: randomBytes(16), sender: a, data: new Uint8Array(16), createdAt: Date.now() };
    await store.applyCommit({ groupId: g, fromEpoch: 0, toEpoch: 1, message, groupInfo: new Uint8Array(16), ratchetTree: null, addDevices: [b], removeDevices: [], welcome: null });
    pairs.push([g, a, b], [g, b, a]);
  }
  const s = { name: `${modPath.split('/').slice(-2).join('/')}#${k}`, store, pairs };
  await appendRun(s, inputs(s, 32, PREFILL));
  return s;
}

type Batch = { m: { groupId: string; id: Uint8Array; sender: string; data: Uint8Array; createdAt: number }; recipient: string }[];

/** `n` messages to random groups, in batches of `b`. */
function inputs(s: Subject, b: number, n: number): Batch[] {
  const make = (): Batch[number] => {
    const [groupId, sender, recipient] = s.pairs[Math.floor(Math.random() * s.pairs.length)]!;
    return { m: { groupId, id: new Uint8Array(randomBytes(16)), sender, data: new Uint8Array(randomBytes(250)), createdAt: Date.now() }, recipient };
  };
  return Array.from({ length: Math.ceil(n / b) }, () => Array.from({ length: b }, make));
}

/** Appends the batches and awaits their syncs; returns the acks their recipients would send. */
async function appendRun(s: Subject, batches: Batch[]): Promise<{ deviceId: string; groupId: string; seq: number }[]> {
  const acks: { deviceId: string; groupId: string; seq: number }[] = [];
  const durable: Promise<void>[] = [];
  for (const batch of batches) {
    const out = await s.store.appendMessagesCommitted(batch.map((x) => x.m));
    durable.push(out.durable);
    out.results.forEach((r, i) => {
      if (!r.ok) throw new Error(`append refused: ${r.reason}`);
      acks.push({ deviceId: batch[i]!.recipient, groupId: batch[i]!.m.groupId, seq: r.seq });
    });
  }
  await Promise.all(durable);
  return acks;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const subjects: Subject[] = [];
for (const [k, m] of modules.entries()) subjects.push(await open(m, k));
const figures = new Map<string, { main: number[]; proc: number[] }>();
const record = (key: string, main: number, proc: number): void => {
  const f = figures.get(key) ?? { main: [], proc: [] };
  f.main.push(main);
  f.proc.push(proc);
  figures.set(key, f);
};
for (let run = 0; run < RUNS; run++) {
  for (const s of subjects) {
    for (const b of BATCHES) {
      // The inputs are made before the clock starts.
      const batches = inputs(s, b, MESSAGES);
      const m0 = mainCpu();
      const p0 = processCpu();
      const acks = await appendRun(s, batches);
      record(`${s.name} append batch ${b}`, (mainCpu() - m0) / 1000 / MESSAGES, (processCpu() - p0) / 1000 / MESSAGES);
      // The acks of these messages, as the gateway batches them (in delivery order).
      const ackBatches = Array.from({ length: Math.ceil(acks.length / ACK_BATCH) }, (_, i) => acks.slice(i * ACK_BATCH, (i + 1) * ACK_BATCH));
      const a0 = mainCpu();
      const q0 = processCpu();
      for (const batch of ackBatches) await s.store.ackBatch(batch);
      record(`${s.name} ackBatch ${ACK_BATCH} (after batch ${b})`, (mainCpu() - a0) / 1000 / acks.length, (processCpu() - q0) / 1000 / acks.length);
    }
  }
}
console.log(`store-append: ${RUNS} runs of ${MESSAGES} messages, ${GROUPS} groups of 2, prefill ${PREFILL}; µs per message (per ack), medians`);
console.log('main thread  process  case');
for (const [key, f] of figures) console.log(`${median(f.main).toFixed(1).padStart(11)}  ${median(f.proc).toFixed(1).padStart(7)}  ${key}`);
for (const s of subjects) await s.store.close();
