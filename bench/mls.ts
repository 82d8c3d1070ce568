// MLS engine benchmark (issue 4 item 8): Parley's group layer next to ts-mls (npm 1.6.4,
// on a node:crypto provider, bench/ts-mls-node-crypto.ts) in the same process, Node backend, suite 1
// (MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519). Each figure is the median of several
// runs, Parley and ts-mls interleaved run by run, with the ratio Parley / ts-mls
// (for times, ts-mls / Parley, so a ratio above 1 always means Parley is better).
//
//   protect / unprotect   100-byte application messages per second, groups of 10 and 1,000;
//                         the note gives each as a fraction of one Ed25519 sign (protect) or
//                         verify (unprotect), measured between the runs (median of per-run
//                         ratios), which a shared machine's load changes far less than rates
//   add N                 one commit adding N members (N = 10, 100, 1,000), and one new
//                         member processing its Welcome (with the ratchet_tree extension)
//   update commit         a member creates an empty commit with a path (§12.4.1) and another
//                         member processes it, groups of 100, 1,000 and 10,000; the groups
//                         are built by one add commit, so parent nodes are blank and the
//                         committer encrypts to about N-1 leaves (the worst case for it)
//   state bytes           serialised state of a member of a 1,000-member group
//   floor                 Ed25519 sign / verify and HPKE seal rates of this run, and for
//                         each add size the time its unavoidable signature checks and
//                         seals take at those rates
//
// Timed rows note the CPU-time medians too: on a shared machine the wall time includes
// waiting for a core.
//
//   npm run bench:mls [-- --json] [-- --quick] [-- --runs 5] [-- --no-tsmls-10k] [-- --tsmls-default] [-- --only floor,protect@10]
//
// --json prints one JSON object per line. --quick makes a short run (fewer runs, shorter
// windows, no 10,000-member groups). ts-mls at 10,000 members is measured when its
// group can be built within the budget (see TS_MLS_10K_BUDGET_MS); otherwise Parley only.
// --only restricts the run to some sections, comma-separated: floor, protect, add, update,
// state, each optionally at one size (protect@10, update@1000); rows keep their format.

import {
  createApplicationMessage,
  createCommit as tsCreateCommit,
  createGroup as tsCreateGroup,
  decodeMlsMessage,
  defaultCapabilities,
  emptyPskIndex,
  encodeGroupState,
  encodeMlsMessage,
  generateKeyPackage as tsGenerateKeyPackage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup as tsJoinGroup,
  processMessage as tsProcessMessage,
  acceptAll,
  type CiphersuiteImpl,
  type ClientState,
  type KeyPackage as TsKeyPackage,
  type MLSMessage as TsMLSMessage,
  type PrivateKeyPackage,
} from 'ts-mls';
import { nodeCryptoProvider } from '@parley/mls/crypto-node';
import { tsMlsNodeCryptoProvider } from './ts-mls-node-crypto.js';
import {
  createCommit,
  createGroup,
  encryptApplication,
  generateKeyPackage,
  joinFromWelcome,
  mergeCommit,
  processMessage,
  serializeState,
  type GroupState,
} from '../packages/mls/src/group/index.js';
import type { KeyPackagePrivateKeys } from '../packages/mls/src/group/welcome.js';
import { CredentialType } from '../packages/mls/src/messages/credential.js';
import type { KeyPackage } from '../packages/mls/src/messages/key-package.js';
import { ProposalType } from '../packages/mls/src/messages/proposal.js';

// ------------------------------------------------------------------------- options

const argv = process.argv.slice(2);
const JSON_OUT = argv.includes('--json');
const QUICK = argv.includes('--quick');
function numArg(name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}
const RUNS = numArg('runs', QUICK ? 3 : 5);
const WINDOW_MS = numArg('ms', QUICK ? 300 : 1000);
const UPDATE_SIZES = QUICK ? [100, 1000] : [100, 1000, 10_000];
const ADD_SIZES = [10, 100, 1000];
const TS_MLS_10K = !argv.includes('--no-tsmls-10k');
const ONLY: readonly { readonly section: string; readonly size: number | undefined }[] | undefined = (() => {
  const i = argv.indexOf('--only');
  if (i < 0) return undefined;
  return (argv[i + 1] ?? '').split(',').filter((x) => x !== '').map((item) => {
    const [section = '', size] = item.split('@');
    return { section, size: size === undefined ? undefined : Number(size) };
  });
})();
/** Whether the section (at this size) is part of the run. */
function wanted(section: string, size?: number): boolean {
  return ONLY === undefined || ONLY.some((o) => o.section === section && (o.size === undefined || size === undefined || o.size === size));
}
/** If building ts-mls's 1,000-member group takes longer than this / 10 ms, 10,000 is skipped for it. */
const TS_MLS_10K_BUDGET_MS = 120_000;

const SUITE = 1;
const provider = nodeCryptoProvider;
const suite = provider.suite(SUITE);
// ts-mls runs on a node:crypto provider written for this bench (bench/ts-mls-node-crypto.ts)
// so that the peer is measured at its best; --tsmls-default uses its own default provider.
const TS_DEFAULT = argv.includes('--tsmls-default');
const tsImpl: CiphersuiteImpl = await getCiphersuiteImpl(getCiphersuiteFromName('MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519'), TS_DEFAULT ? undefined : tsMlsNodeCryptoProvider);
const TEXT = new Uint8Array(100).fill(0x61);
const enc = new TextEncoder();

// ------------------------------------------------------------------------- helpers

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Wall time of `f`, and the process CPU time (user + system) it used. */
async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; cpuMs: number; value: T }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { ms, cpuMs: (c.user + c.system) / 1000, value };
}

/**
 * The note of a timed row: the CPU-time medians beside the wall-time ones. The machine
 * is shared, so wall time includes waiting for a core; CPU time is the work done.
 */
function cpuNote(parley: readonly number[], tsmls: readonly number[] | null): string {
  const f = (xs: readonly number[]): string => (median(xs) >= 100 ? Math.round(median(xs)).toString() : median(xs).toFixed(2));
  return `CPU ms: Parley ${f(parley)}${tsmls === null || tsmls.length === 0 ? '' : `, ts-mls ${f(tsmls)}`}`;
}

function lifetime() {
  const now = BigInt(Math.floor(Date.now() / 1000));
  return { notBefore: now - 3600n, notAfter: now + 20n * 86_400n };
}
const parleyConfig = { now: () => BigInt(Math.floor(Date.now() / 1000)) };

function tsDecode(bytes: Uint8Array): TsMLSMessage {
  const d = decodeMlsMessage(bytes, 0);
  if (d === undefined) throw new Error('ts-mls: undecodable message');
  return d[0];
}

interface Row {
  readonly metric: string;
  readonly size: number;
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  readonly parley: number;
  readonly tsmls: number | null;
  /** > 1 means Parley is better. */
  readonly ratio: number | null;
  readonly parleyRuns: readonly number[];
  readonly tsmlsRuns: readonly number[] | null;
  readonly note?: string;
  /** protect / unprotect: median over runs of the rate divided by the Ed25519 sign / verify rate measured next to it. */
  readonly ofFloor?: number;
}
const rows: Row[] = [];

function report(metric: string, size: number, unit: string, better: 'higher' | 'lower', parleyRuns: number[], tsRuns: number[] | null, note?: string, ofFloor?: number): void {
  const p = median(parleyRuns);
  const t = tsRuns === null || tsRuns.length === 0 ? null : median(tsRuns);
  const ratio = t === null ? null : better === 'higher' ? p / t : t / p;
  const round = (x: number): number => Math.round(x * 100) / 100;
  const row: Row = {
    metric,
    size,
    unit,
    better,
    parley: round(p),
    tsmls: t === null ? null : round(t),
    ratio: ratio === null ? null : round(ratio),
    parleyRuns: parleyRuns.map(round),
    tsmlsRuns: tsRuns === null ? null : tsRuns.map(round),
    ...(note === undefined ? {} : { note }),
    ...(ofFloor === undefined ? {} : { ofFloor: round(ofFloor) }),
  };
  rows.push(row);
  if (JSON_OUT) {
    process.stdout.write(`${JSON.stringify(row)}\n`);
  } else {
    const fmt = (x: number | null): string => (x === null ? '—' : x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(2));
    const r = row.ratio === null ? '' : `  x${row.ratio.toFixed(2)} ${row.ratio >= 1 ? 'Parley better' : 'ts-mls better'}`;
    process.stdout.write(`${`${metric} @${size}`.padEnd(28)} ${fmt(row.parley).padStart(12)} ${fmt(row.tsmls).padStart(12)}  ${unit}${r}${note === undefined ? '' : `  (${note})`}\n`);
  }
}

function progress(msg: string): void {
  process.stderr.write(`  … ${msg}\n`);
}

// ------------------------------------------------------------------------- Parley side

interface ParleyKp {
  readonly keyPackage: KeyPackage;
  readonly privateKeys: KeyPackagePrivateKeys;
}

async function parleyKeyPackage(name: string): Promise<ParleyKp> {
  const signatureKey = await suite.signature.generateKeyPair();
  return generateKeyPackage({ suite, signatureKey, credential: { credentialType: CredentialType.basic, identity: enc.encode(name) }, lifetime: lifetime() });
}

async function parleyCreator(name: string): Promise<GroupState> {
  const signatureKey = await suite.signature.generateKeyPair();
  return createGroup({
    provider,
    suite: SUITE,
    groupId: enc.encode(`bench-${name}-${Math.random()}`),
    signatureKey,
    credential: { credentialType: CredentialType.basic, identity: enc.encode(name) },
    lifetime: lifetime(),
    config: parleyConfig,
  });
}

async function parleyKeyPackages(n: number): Promise<ParleyKp[]> {
  const out: ParleyKp[] = [];
  for (let i = 0; i < n; i++) out.push(await parleyKeyPackage(`member-${i}`));
  return out;
}

/** One add commit of kps by `a`; returns the creator's state after merge and the Welcome. */
async function parleyAdd(a: GroupState, kps: readonly ParleyKp[]): Promise<{ a: GroupState; welcome: Uint8Array }> {
  const c = await createCommit(a, { proposals: kps.map((k) => ({ proposalType: ProposalType.add, add: { keyPackage: k.keyPackage } }) as const) });
  if (c.welcome === undefined) throw new Error('parley: no welcome');
  return { a: mergeCommit(a, c.pending), welcome: c.welcome };
}

/** A group of `size` members in which members 0 (creator) and 1 hold state. */
async function parleyGroup(size: number): Promise<{ a: GroupState; b: GroupState }> {
  const kps = await parleyKeyPackages(size - 1);
  const { a, welcome } = await parleyAdd(await parleyCreator('alice'), kps);
  const b = await joinFromWelcome({ provider, welcome, keyPackage: kps[0]!.keyPackage, privateKeys: kps[0]!.privateKeys, config: parleyConfig });
  return { a, b };
}

// ------------------------------------------------------------------------- ts-mls side

interface TsKp {
  readonly publicPackage: TsKeyPackage;
  readonly privatePackage: PrivateKeyPackage;
}

function tsKeyPackage(name: string): Promise<TsKp> {
  return tsGenerateKeyPackage({ credentialType: 'basic', identity: enc.encode(name) }, defaultCapabilities(), lifetime(), [], tsImpl);
}

async function tsKeyPackages(n: number): Promise<TsKp[]> {
  const out: TsKp[] = [];
  for (let i = 0; i < n; i++) out.push(await tsKeyPackage(`member-${i}`));
  return out;
}

async function tsCreator(name: string): Promise<ClientState> {
  const kp = await tsKeyPackage(name);
  return tsCreateGroup(enc.encode(`bench-${name}-${Math.random()}`), kp.publicPackage, kp.privatePackage, [], tsImpl);
}

async function tsAdd(a: ClientState, kps: readonly TsKp[]): Promise<{ a: ClientState; welcome: Uint8Array }> {
  const r = await tsCreateCommit(
    { state: a, cipherSuite: tsImpl },
    { extraProposals: kps.map((k) => ({ proposalType: 'add' as const, add: { keyPackage: k.publicPackage } })), ratchetTreeExtension: true },
  );
  if (r.welcome === undefined) throw new Error('ts-mls: no welcome');
  return { a: r.newState, welcome: encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: r.welcome }) };
}

async function tsJoin(welcome: Uint8Array, kp: TsKp): Promise<ClientState> {
  const m = tsDecode(welcome);
  if (m.wireformat !== 'mls_welcome') throw new Error('ts-mls: not a welcome');
  return tsJoinGroup(m.welcome, kp.publicPackage, kp.privatePackage, emptyPskIndex, tsImpl);
}

async function tsGroup(size: number): Promise<{ a: ClientState; b: ClientState }> {
  const kps = await tsKeyPackages(size - 1);
  const { a, welcome } = await tsAdd(await tsCreator('alice'), kps);
  return { a, b: await tsJoin(welcome, kps[0]!) };
}

async function tsReceive(state: ClientState, bytes: Uint8Array): Promise<{ state: ClientState; app: boolean }> {
  const m = tsDecode(bytes);
  if (m.wireformat !== 'mls_private_message' && m.wireformat !== 'mls_public_message') throw new Error('ts-mls: not a group message');
  const r = await tsProcessMessage(m, state, emptyPskIndex, acceptAll, tsImpl);
  return { state: r.newState, app: r.kind === 'applicationMessage' };
}

// ------------------------------------------------------------------------- benches

// The floor: one Ed25519 signature per protect, one verification per unprotect
// (node:crypto through Parley's Node backend), over a message of about a
// FramedContentTBS's size.
const floorKey = await suite.signature.generateKeyPair();
const floorMessage = new Uint8Array(300).fill(0x62);
const floorSignature = await suite.signature.sign(floorKey.privateKey, floorMessage);

async function floorRates(ms: number): Promise<{ sign: number; verify: number }> {
  let n = 0;
  let t0 = performance.now();
  while (performance.now() - t0 < ms) {
    await suite.signature.sign(floorKey.privateKey, floorMessage);
    n++;
  }
  const sign = n / ((performance.now() - t0) / 1000);
  n = 0;
  t0 = performance.now();
  while (performance.now() - t0 < ms) {
    if (!(await suite.signature.verify(floorKey.publicKey, floorMessage, floorSignature))) throw new Error('verify failed');
    n++;
  }
  return { sign, verify: n / ((performance.now() - t0) / 1000) };
}

/** Protect for WINDOW_MS, then unprotect the same messages in order at the other member. */
async function protectParley(g: { a: GroupState; b: GroupState }): Promise<{ protect: number; unprotect: number }> {
  const msgs: Uint8Array[] = [];
  let a = g.a;
  const t0 = performance.now();
  while (performance.now() - t0 < WINDOW_MS) {
    const r = await encryptApplication(a, TEXT);
    a = r.state;
    msgs.push(r.message);
  }
  const protect = msgs.length / ((performance.now() - t0) / 1000);
  let b = g.b;
  const t1 = performance.now();
  for (const m of msgs) {
    const r = await processMessage(b, m);
    if (r.event.type !== 'application' || r.event.data.length !== TEXT.length) throw new Error('parley: unprotect failed');
    b = r.state;
  }
  const unprotect = msgs.length / ((performance.now() - t1) / 1000);
  g.a = a;
  g.b = b;
  return { protect, unprotect };
}

async function protectTs(g: { a: ClientState; b: ClientState }): Promise<{ protect: number; unprotect: number }> {
  const msgs: Uint8Array[] = [];
  let a = g.a;
  const t0 = performance.now();
  while (performance.now() - t0 < WINDOW_MS) {
    const r = await createApplicationMessage(a, TEXT, tsImpl);
    a = r.newState;
    msgs.push(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_private_message', privateMessage: r.privateMessage }));
  }
  const protect = msgs.length / ((performance.now() - t0) / 1000);
  let b = g.b;
  const t1 = performance.now();
  for (const m of msgs) {
    const r = await tsReceive(b, m);
    if (!r.app) throw new Error('ts-mls: unprotect failed');
    b = r.state;
  }
  const unprotect = msgs.length / ((performance.now() - t1) / 1000);
  g.a = a;
  g.b = b;
  return { protect, unprotect };
}

async function benchProtect(size: number, pg: { a: GroupState; b: GroupState }, tg: { a: ClientState; b: ClientState }): Promise<void> {
  const pp: number[] = [];
  const pu: number[] = [];
  const tp: number[] = [];
  const tu: number[] = [];
  const pOfSign: number[] = [];
  const uOfVerify: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const p = await protectParley(pg);
    pp.push(p.protect);
    pu.push(p.unprotect);
    const f = await floorRates(WINDOW_MS / 4);
    pOfSign.push(p.protect / f.sign);
    uOfVerify.push(p.unprotect / f.verify);
    const t = await protectTs(tg);
    tp.push(t.protect);
    tu.push(t.unprotect);
  }
  const of = (xs: number[], what: string): string => `Parley ${median(xs).toFixed(2)} of one Ed25519 ${what}, measured between runs`;
  report('protect', size, 'msg/s', 'higher', pp, tp, of(pOfSign, 'sign'), median(pOfSign));
  report('unprotect', size, 'msg/s', 'higher', pu, tu, of(uOfVerify, 'verify'), median(uOfVerify));
}

async function benchAdd(n: number): Promise<void> {
  const runs = n >= 1000 ? Math.max(3, RUNS - 2) : RUNS;
  const pc: number[] = [];
  const pw: number[] = [];
  const tc: number[] = [];
  const tw: number[] = [];
  const cpu = { pc: [] as number[], pw: [] as number[], tc: [] as number[], tw: [] as number[] };
  for (let r = 0; r < runs; r++) {
    progress(`add ${n}: run ${r + 1}/${runs}`);
    {
      const kps = await parleyKeyPackages(n);
      const a0 = await parleyCreator('alice');
      const c = await timed(() => parleyAdd(a0, kps));
      pc.push(c.ms);
      cpu.pc.push(c.cpuMs);
      const last = kps[n - 1]!;
      const w = await timed(() => joinFromWelcome({ provider, welcome: c.value.welcome, keyPackage: last.keyPackage, privateKeys: last.privateKeys, config: parleyConfig }));
      if (w.value.tree.memberCount !== n + 1) throw new Error('parley: wrong member count after join');
      pw.push(w.ms);
      cpu.pw.push(w.cpuMs);
    }
    {
      const kps = await tsKeyPackages(n);
      const a0 = await tsCreator('alice');
      const c = await timed(() => tsAdd(a0, kps));
      tc.push(c.ms);
      cpu.tc.push(c.cpuMs);
      const w = await timed(() => tsJoin(c.value.welcome, kps[n - 1]!));
      if (w.value.groupContext.epoch !== 1n) throw new Error('ts-mls: join failed');
      tw.push(w.ms);
      cpu.tw.push(w.cpuMs);
    }
  }
  report('add commit (create)', n, 'ms', 'lower', pc, tc, cpuNote(cpu.pc, cpu.tc));
  report('add welcome (process)', n, 'ms', 'lower', pw, tw, cpuNote(cpu.pw, cpu.tw));
  const sum = (a: readonly number[], b: readonly number[]): number[] => a.map((x, i) => x + b[i]!);
  report('add total', n, 'ms', 'lower', sum(pc, pw), sum(tc, tw), cpuNote(sum(cpu.pc, cpu.pw), sum(cpu.tc, cpu.tw)));
}

/** b commits an update with a path, a processes it; both advance. */
async function updateParley(g: { a: GroupState; b: GroupState }): Promise<{ create: number; process: number; createCpu: number; processCpu: number }> {
  const c = await timed(async () => {
    const made = await createCommit(g.b, { withPath: true });
    return { b: mergeCommit(g.b, made.pending), bytes: made.commitMessage };
  });
  const p = await timed(() => processMessage(g.a, c.value.bytes));
  if (p.value.event.type !== 'commit') throw new Error('parley: update not processed as a commit');
  g.a = p.value.state;
  g.b = c.value.b;
  return { create: c.ms, process: p.ms, createCpu: c.cpuMs, processCpu: p.cpuMs };
}

async function updateTs(g: { a: ClientState; b: ClientState }): Promise<{ create: number; process: number; createCpu: number; processCpu: number }> {
  const c = await timed(async () => {
    const r = await tsCreateCommit({ state: g.b, cipherSuite: tsImpl }, {});
    return { b: r.newState, bytes: encodeMlsMessage(r.commit) };
  });
  const p = await timed(() => tsReceive(g.a, c.value.bytes));
  if (p.value.state.groupContext.epoch !== c.value.b.groupContext.epoch) throw new Error('ts-mls: update not processed');
  g.a = p.value.state;
  g.b = c.value.b;
  return { create: c.ms, process: p.ms, createCpu: c.cpuMs, processCpu: p.cpuMs };
}

async function benchUpdate(size: number, withTs: boolean, pg: { a: GroupState; b: GroupState }, tg: { a: ClientState; b: ClientState } | undefined): Promise<void> {
  const runs = size >= 10_000 ? Math.max(3, RUNS - 2) : RUNS;
  const pc: number[] = [];
  const pp: number[] = [];
  const tc: number[] = [];
  const tp: number[] = [];
  const cpu = { pc: [] as number[], pp: [] as number[], tc: [] as number[], tp: [] as number[] };
  // One warm-up commit each (fills the committer's own path once).
  await updateParley(pg);
  if (withTs && tg !== undefined) await updateTs(tg);
  for (let r = 0; r < runs; r++) {
    progress(`update @${size}: run ${r + 1}/${runs}`);
    const p = await updateParley(pg);
    pc.push(p.create);
    pp.push(p.process);
    cpu.pc.push(p.createCpu);
    cpu.pp.push(p.processCpu);
    if (withTs && tg !== undefined) {
      const t = await updateTs(tg);
      tc.push(t.create);
      tp.push(t.process);
      cpu.tc.push(t.createCpu);
      cpu.tp.push(t.processCpu);
    }
  }
  const note = withTs ? undefined : tsFailure !== undefined ? `Parley only: ts-mls could not build this group (${tsFailure})` : 'Parley only: ts-mls too slow to build this group within the budget';
  const withNote = (cpuPart: string): string => (note === undefined ? cpuPart : `${note}; ${cpuPart}`);
  report('update commit (create)', size, 'ms', 'lower', pc, withTs ? tc : null, withNote(cpuNote(cpu.pc, withTs ? cpu.tc : null)));
  report('update commit (process)', size, 'ms', 'lower', pp, withTs ? tp : null, withNote(cpuNote(cpu.pp, withTs ? cpu.tp : null)));
}

// ------------------------------------------------------------------------- run

/** Signature verifications and HPKE seals per second, when the floor section ran. */
let measuredFloor: { readonly verify: number; readonly seal: number } | undefined;

const started = performance.now();
if (!JSON_OUT) {
  process.stdout.write(`MLS engine bench, suite ${SUITE}, Node ${process.version}, runs ${RUNS}, window ${WINDOW_MS} ms${QUICK ? ' (quick)' : ''}\n`);
  process.stdout.write(`${'metric'.padEnd(28)} ${'Parley'.padStart(12)} ${'ts-mls'.padStart(12)}\n`);
}

// The floor under this run's conditions. The machine is shared, so compare
// application-message rates with these rather than with fixed numbers.
if (wanted('floor')) {
  const signs: number[] = [];
  const verifies: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const f = await floorRates(WINDOW_MS / 2);
    signs.push(f.sign);
    verifies.push(f.verify);
  }
  // One HPKE seal per new member's Welcome and per UpdatePath recipient.
  const recipient = await suite.hpke.generateKeyPair();
  const seals: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < WINDOW_MS / 2) {
      await suite.hpke.seal(recipient.publicKey, TEXT, new Uint8Array(0), TEXT);
      n++;
    }
    seals.push(n / ((performance.now() - t0) / 1000));
  }
  report('floor: Ed25519 sign', 1, 'op/s', 'higher', signs, null, 'node:crypto, this run');
  report('floor: Ed25519 verify', 1, 'op/s', 'higher', verifies, null, 'node:crypto, this run');
  report('floor: HPKE seal', 1, 'op/s', 'higher', seals, null, 'suite 1, 100-byte info and plaintext, this run');
  measuredFloor = { verify: median(verifies), seal: median(seals) };
}

// Groups of 10.
if (wanted('protect', 10)) {
  progress('building groups of 10');
  const pg = await parleyGroup(10);
  const tg = await tsGroup(10);
  await benchProtect(10, pg, tg);
}

// Add N members + process Welcome.
for (const n of ADD_SIZES) {
  if (!wanted('add', n)) continue;
  await benchAdd(n);
  // What cannot be avoided: 2N signature checks by the committer (KeyPackage and its leaf,
  // §10.1, §7.3), N by the joiner (every leaf of the tree, §12.4.3.1), N HPKE seals (one
  // GroupSecrets per new member), at the rates the floor section measured in this run.
  if (measuredFloor !== undefined) {
    const ms = ((3 * n) / measuredFloor.verify + n / measuredFloor.seal) * 1000;
    report('add floor', n, 'ms', 'lower', [ms], null, '3N signature checks + N HPKE seals at this run\'s floor rates');
  }
}

// Groups of 100 and 1,000: update commits; at 1,000 also protect and state bytes.
let tsBuild1000Ms = 0;
let tsFailure: string | undefined;
for (const size of UPDATE_SIZES) {
  const atThousand = size === 1000 && (wanted('protect', 1000) || wanted('state', 1000));
  if (!wanted('update', size) && !atThousand) continue;
  progress(`building groups of ${size}`);
  const pg = await parleyGroup(size);
  let tg: { a: ClientState; b: ClientState } | undefined;
  let withTs = true;
  if (size >= 10_000 && (!TS_MLS_10K || tsBuild1000Ms * 10 > TS_MLS_10K_BUDGET_MS)) {
    withTs = false;
  } else {
    try {
      const t = await timed(() => tsGroup(size));
      tg = t.value;
      if (size === 1000) tsBuild1000Ms = t.ms;
    } catch (error) {
      // ts-mls 1.6.4 overflows the stack encoding the 10,000-member add commit (its
      // recursive variable-length vector writer); Parley is then measured alone.
      if (size < 10_000) throw error;
      withTs = false;
      tsFailure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
  }
  if (size === 1000 && tg !== undefined) {
    if (wanted('protect', 1000)) await benchProtect(1000, pg, tg);
  }
  if (wanted('update', size)) await benchUpdate(size, withTs, pg, tg);
  if (size === 1000 && tg !== undefined && wanted('state', 1000)) {
    // Steady state: after the application traffic above and, when the update section ran,
    // several update commits (retained epochs included); if not, a few are made here.
    if (!wanted('update', size)) for (let i = 0; i < 4; i++) { await updateParley(pg); await updateTs(tg); }
    const note = `median of the two members holding state, epoch ${pg.a.groupContext.epoch}`;
    report('state bytes per member', 1000, 'bytes', 'lower', [serializeState(pg.b).length, serializeState(pg.a).length], [encodeGroupState(tg.b).length, encodeGroupState(tg.a).length], note);
  }
}

if (!JSON_OUT) process.stdout.write(`done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
