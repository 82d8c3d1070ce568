// `npm run bench:relay [-- --json] [-- --clients 200] [-- --runs 3] [-- --seconds 3] [-- --quick]`:
// the relay benchmark of issue 5. The server runs as its own process; its CPU time comes
// from /proc/<pid>/stat so the load generator (this process, on the same 2 cores) does not
// count; the generator's own CPU (process.cpuUsage) is printed beside it. Figures, each the
// median of --runs runs (a fresh server per run), printed with the issue's target beside:
//   1. 1:1 relay: highest sustained delivered msg/s with nothing lost (250-byte
//      payloads to random peers over 1:1 groups), server CPU per delivered message,
//      and p50/p99 end-to-end latency at half that rate;
//   2. fan-out in a 100-member group: deliveries/s and server CPU per delivery;
//   3. server memory per idle authenticated connection at 1,000 and 5,000;
//   4. time for an offline device to receive a 500-message backlog after it connects.
// --quick is a smoke test: one run, 1 s steps, a coarse ramp, idle connections at 200.
// --only 1:1 runs the 1:1 relay figures alone (for iterating on the hot path).
// --latency-rate N measures the latency at N msg/s instead of half the max (to compare
// two servers at the same rate when the max differs, or the machine's load does).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { decodeDeliverFrame, encodeSendFrame } from '@parley/protocol';
import { b64, http, newDevice, newUser, type TestDevice } from '@parley/testing';
import { fmt, median, parseRelayArgs, rampSearch, relayTargets, reportLine, sustained } from './relay-lib.js';

const opts = parseRelayArgs(process.argv.slice(2));
const { json, quick } = opts;
const C = opts.clients;
const RUNS = opts.runs;
const STEP_S = opts.seconds;
/** `--server-prof DIR`: the server writes a V8 CPU profile there when it stops (for finding hot spots). */
const PROF_DIR = opts.serverProf;
const IDLE_AT = opts.idleAt;
const ONLY = opts.only;
const LATENCY_RATE = opts.latencyRate;
const root = fileURLToPath(new URL('..', import.meta.url));
const PAYLOAD = 250;
const BACKLOG = 500;

const TARGETS = relayTargets(IDLE_AT);

function report(name: string, value: number, unit: string, extra: Record<string, unknown> = {}): void {
  console.log(reportLine(json, TARGETS, name, value, unit, extra));
}

function note(s: string): void {
  if (!json) console.log(s);
}

function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.system;
}

/** utime and stime of a process in seconds (clock ticks, USER_HZ = 100). */
function cpuTimes(pid: number): { user: number; system: number } {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

/** CPU seconds the whole machine spent busy (all cores, /proc/stat): what other processes took shows as the rest. */
function machineBusySeconds(): number {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100;
  } catch {
    return NaN;
  }
}

/** This process's (the load generator's) CPU seconds, user + system. */
function genCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

/** A process's event-loop delay (p99, max) and GC pauses (longest, total) over a span, in ms. */
interface LoopStats {
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly gcMaxMs: number;
  readonly gcTotalMs: number;
}

/** The generator's own event loop and GC, measured like the server's (bench/relay-server.ts). */
const genLoop = monitorEventLoopDelay({ resolution: 1 });
genLoop.enable();
let genGc = { max: 0, total: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) genGc = { max: Math.max(genGc.max, e.duration), total: genGc.total + e.duration };
}).observe({ entryTypes: ['gc'] });
function genLoopStats(): LoopStats {
  const r = { p99Ms: genLoop.percentile(99) / 1e6, maxMs: genLoop.max / 1e6, gcMaxMs: genGc.max, gcTotalMs: genGc.total };
  genLoop.reset();
  genGc = { max: 0, total: 0 };
  return r;
}

interface Server {
  readonly child: ChildProcess;
  /** The server's loop and GC since the last call (SIGUSR2, answered by a LOOP line). */
  readonly loopStats: () => Promise<LoopStats>;
  readonly url: string;
  readonly wsUrl: string;
  readonly pid: number;
  readonly dir: string;
}

async function spawnServer(): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
  // node with tsx's loader (not the tsx wrapper): the child is the server, so its pid is the one to read.
  const prof = PROF_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROF_DIR}`];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', '--conditions=parley:source', join(root, 'bench/relay-server.ts'), dir], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const waiting: ((s: LoopStats) => void)[] = [];
  let lines = '';
  child.stdout.on('data', (d: Buffer) => {
    lines += d.toString();
    for (let nl = lines.indexOf('\n'); nl >= 0; nl = lines.indexOf('\n')) {
      const l = lines.slice(0, nl);
      lines = lines.slice(nl + 1);
      if (l.startsWith('LOOP ')) waiting.shift()?.(JSON.parse(l.slice(5)) as LoopStats);
    }
  });
  const loopStats = (): Promise<LoopStats> =>
    new Promise((resolve) => {
      waiting.push(resolve);
      child.kill('SIGUSR2');
    });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /LISTENING (\S+)/.exec(out);
      if (m !== null) resolve(m[1]!);
    });
    child.once('exit', () => {
      reject(new Error('server exited'));
    });
  });
  return { child, loopStats, url, wsUrl: url.replace(/^http/, 'ws') + '/v1/ws', pid: child.pid!, dir };
}

async function stopServer(s: Server): Promise<void> {
  if (s.child.exitCode === null) {
    const exited = new Promise((r) => s.child.once('exit', r));
    s.child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
  }
  rmSync(s.dir, { recursive: true, force: true });
}

/** Raises this process's soft open-file limit to its hard limit (the idle phase opens 5,000 sockets). */
function raiseFileLimit(): void {
  // Node has no setrlimit; the soft limit is read to warn when it is too low.
  try {
    const m = /Max open files\s+(\d+)\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    const soft = Number(m?.[1] ?? 0);
    const need = Math.max(...IDLE_AT) + C + 100;
    if (soft > 0 && soft < need) note(`warning: open-file limit ${soft} < ${need}; run \`ulimit -n ${need}\` first`);
  } catch {
    // not Linux: nothing to check
  }
}

interface Conn {
  readonly device: TestDevice;
  readonly ws: WebSocket;
  received: number;
  sentAcks: number;
  errors: number;
  readonly latencies: number[];
  pendingAcks: Map<string, number>;
}

async function connect(wsUrl: string, device: TestDevice, onDeliver?: (c: Conn, groupId: string, seq: number, payload: Uint8Array) => void): Promise<Conn> {
  const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${device.token}` }, perMessageDeflate: false });
  const c: Conn = { device, ws, received: 0, sentAcks: 0, errors: 0, latencies: [], pendingAcks: new Map() };
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        const s = (data as Buffer).toString();
        if (s.includes('"ready"')) resolve();
        else if (s.includes('"sent"')) c.sentAcks++;
        else if (s.includes('"error"')) c.errors++;
        return;
      }
      const f = decodeDeliverFrame(new Uint8Array(data as Buffer));
      if (f.kind !== 'application') return;
      c.received++;
      c.pendingAcks.set(f.groupId, f.seq);
      onDeliver?.(c, f.groupId, f.seq, f.payload);
    });
    ws.once('error', reject);
  });
  return c;
}

function flushAcks(conns: readonly Conn[]): void {
  for (const c of conns) {
    if (c.pendingAcks.size === 0) continue;
    c.ws.send(JSON.stringify({ type: 'ack', groups: [...c.pendingAcks].map(([groupId, seq]) => ({ groupId, seq })) }));
    c.pendingAcks = new Map();
  }
}

// Random payload bytes (an MLS PrivateMessage looks random); the first 8 carry the send time.
const noise = new Uint8Array(randomBytes(PAYLOAD * 64));
let ref = 0;
function sendTo(c: Conn, groupId: string): void {
  const off = Math.floor(Math.random() * 63) * PAYLOAD;
  const payload = noise.slice(off, off + PAYLOAD);
  new DataView(payload.buffer).setFloat64(0, performance.now());
  c.ws.send(encodeSendFrame({ ref: ++ref, groupId, messageId: new Uint8Array(randomBytes(16)), payload }));
}

async function makeGroup(url: string, owner: TestDevice, members: readonly TestDevice[]): Promise<string> {
  const groupId = `grp-${randomBytes(8).toString('hex')}`;
  await http(url, 'POST', '/v1/groups', { groupId, epoch: 0, groupInfo: b64(new Uint8Array(16)) }, owner.token);
  const r = await http(url, 'POST', `/v1/groups/${groupId}/commits`, { epoch: 0, commit: b64(new Uint8Array(16)), groupInfo: b64(new Uint8Array(16)), welcome: b64(new Uint8Array(16)), addedDevices: members.map((m) => m.deviceId) }, owner.token);
  if (r.status !== 201) throw new Error(`group setup failed: ${JSON.stringify(r.body)}`);
  return groupId;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const total = (conns: readonly Conn[], k: 'received' | 'sentAcks' | 'errors'): number => conns.reduce((s, c) => s + c[k], 0);

/** Waits until no message arrived for 500 ms (an overloaded step has drained). */
async function quiesce(conns: readonly Conn[]): Promise<void> {
  let last = -1;
  for (;;) {
    const now = total(conns, 'received');
    if (now === last) return;
    last = now;
    await sleep(500);
  }
}

interface Step {
  readonly rate: number;
  readonly offered: number;
  /** Deliveries expected: offered times the fan-out. */
  readonly expected: number;
  readonly delivered: number;
  readonly lost: number;
  readonly errors: number;
  /** Server and generator CPU seconds over the step and its drain. */
  readonly cpu: number;
  /** The kernel's share of the server's CPU (socket writes, fsync). */
  readonly sys: number;
  readonly genCpu: number;
  /** CPU seconds the rest of the machine took (other processes) during the step. */
  readonly otherCpu: number;
  readonly wallS: number;
  readonly drainMs: number;
  readonly ok: boolean;
}

/** Offers `rate` msg/s for STEP_S seconds, spread over the senders; counts what arrived and the CPU it took. */
async function load(pid: number, conns: readonly Conn[], targets: readonly (readonly [Conn, string])[], rate: number, fanout = 1): Promise<Step> {
  const before = total(conns, 'received');
  const errors0 = total(conns, 'errors');
  const cpu0 = cpuTimes(pid);
  const gen0 = genCpuSeconds();
  const busy0 = machineBusySeconds();
  let offered = 0;
  let lastAck = 0;
  const start = performance.now();
  while (performance.now() - start < STEP_S * 1000) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate) - offered;
    for (let i = 0; i < due; i++) {
      const [c, g] = targets[Math.floor(Math.random() * targets.length)]!;
      sendTo(c, g);
      offered++;
    }
    // Clients acknowledge in batches, every 200 ms.
    if (performance.now() - lastAck > 200) {
      flushAcks(conns);
      lastAck = performance.now();
    }
    await sleep(2);
  }
  // Drain: wait until everything offered has arrived (or 3 s pass). A step whose drain
  // takes more than 250 ms was queueing, not keeping up.
  const drainStart = performance.now();
  const deadline = drainStart + 3000;
  while (total(conns, 'received') - before < offered * fanout && performance.now() < deadline) await sleep(5);
  const drainMs = performance.now() - drainStart;
  flushAcks(conns);
  const delivered = total(conns, 'received') - before;
  const wallS = (performance.now() - start) / 1000;
  const errors = total(conns, 'errors') - errors0;
  const lost = Math.max(0, offered * fanout - delivered);
  const ok = sustained({ rate, fanout, offered, delivered, errors, drainMs, stepS: STEP_S });
  const cpu1 = cpuTimes(pid);
  const sys = cpu1.system - cpu0.system;
  const cpu = cpu1.user - cpu0.user + sys;
  const genCpu = genCpuSeconds() - gen0;
  const otherCpu = Math.max(0, machineBusySeconds() - busy0 - cpu - genCpu);
  return { rate, offered, expected: offered * fanout, delivered, lost, errors, cpu, sys, genCpu, otherCpu, wallS, drainMs, ok };
}

function describe(label: string, s: Step, per: string): string {
  const n = Math.max(1, s.delivered);
  return `  ${label}: delivered ${s.delivered}/${s.expected}, server ${fmt((s.cpu / n) * 1e6)} µs/${per} (${fmt(s.cpu / s.wallS)} cores, ${Math.round((100 * s.sys) / Math.max(1e-9, s.cpu))} % kernel), generator ${fmt((s.genCpu / n) * 1e6)} µs/${per} (${fmt(s.genCpu / s.wallS)} cores), others ${fmt(s.otherCpu / s.wallS)} cores, drain ${s.drainMs.toFixed(0)} ms${s.lost > 0 ? `, ${s.lost} not arrived when the 3 s drain ended` : ''}${s.errors > 0 ? `, ${s.errors} errors` : ''}${s.ok ? '' : '  (not sustained)'}`;
}

/** Ramps the offered rate until a step is not sustained, then bisects (twice, none with --quick) between the last good and the first bad rate. */
async function ramp(pid: number, conns: readonly Conn[], targets: readonly (readonly [Conn, string])[], rates: readonly number[], fanout: number, label: (r: number) => string, per: string): Promise<Step | undefined> {
  return rampSearch(rates, opts.bisections, async (rate) => {
    const s = await load(pid, conns, targets, rate, fanout);
    note(describe(label(rate), s, per));
    if (!s.ok) await quiesce(conns);
    return s;
  });
}

interface Figures {
  maxRate: number;
  cpuPerMsg: number;
  genCpuPerMsg: number;
  serverCores: number;
  genCores: number;
  otherCores: number;
  p50: number;
  p99: number;
  halfRate: number;
  /** During the half-rate step: each process's event-loop delay and GC (see LoopStats). */
  serverLoop: LoopStats;
  genLoop: LoopStats;
  fanDeliveries: number;
  fanCpuPer: number;
  fanGenCpuPer: number;
  fanServerCores: number;
  fanGenCores: number;
  backlogMs: number;
  idleKB: number[];
}

/** Idle authenticated connections against a fresh server process, so earlier phases' garbage does not blur the figure. */
async function idleConnections(): Promise<number[]> {
  const srv = await spawnServer();
  const out: number[] = [];
  try {
    const own: TestDevice[] = [];
    for (let i = 0; i < 50; i++) own.push(await newDevice(srv.url, await newUser(srv.url, `idle-${i}-${randomBytes(3).toString('hex')}`)));
    const warm = await connect(srv.wsUrl, own[0]!);
    warm.ws.terminate();
    await sleep(1000);
    const base = rssBytes(srv.pid);
    const idle: WebSocket[] = [];
    for (const target of IDLE_AT) {
      // 20 handshakes at a time: faster than one by one, gentle enough not to look like a flood.
      while (idle.length < target) {
        const batch = await Promise.all(Array.from({ length: Math.min(20, target - idle.length) }, (_, k) => connect(srv.wsUrl, own[(idle.length + k) % own.length]!)));
        for (const c of batch) idle.push(c.ws);
      }
      await sleep(2000);
      const rss = rssBytes(srv.pid);
      out.push((rss - base) / target / 1024);
      note(`  idle: ${target} connections, server RSS ${Math.round(rss / 1048576)} MiB (base ${Math.round(base / 1048576)} MiB)`);
    }
    for (const w of idle) w.terminate();
  } finally {
    await stopServer(srv);
  }
  return out;
}

async function oneRun(run: number): Promise<Figures> {
  note(`run ${run + 1}/${RUNS}`);
  const srv = await spawnServer();
  const { pid, url, wsUrl } = srv;
  try {
    // ---- setup: C users with one device each; each in 1:1 groups with 3 random peers.
    const devices: TestDevice[] = [];
    for (let i = 0; i < C; i++) devices.push(await newDevice(url, await newUser(url, `bench-${i}-${randomBytes(3).toString('hex')}`)));
    const pairs: [number, number, string][] = [];
    for (let i = 0; i < C; i++) {
      for (let k = 0; k < 3; k++) {
        let j = Math.floor(Math.random() * C);
        if (j === i) j = (j + 1) % C;
        pairs.push([i, j, await makeGroup(url, devices[i]!, [devices[j]!])]);
      }
    }
    let measuring = false;
    let measureStart = 0;
    const onDeliver = (c: Conn, _g: string, _s: number, p: Uint8Array): void => {
      const sentAt = new DataView(p.buffer, p.byteOffset).getFloat64(0);
      // Only messages sent during the measurement: stragglers of an overloaded step do not count.
      if (measuring && sentAt >= measureStart) c.latencies.push(performance.now() - sentAt);
    };
    const conns: Conn[] = [];
    for (const d of devices) conns.push(await connect(wsUrl, d, onDeliver));
    const targets = pairs.flatMap(([i, j, g]) => [[conns[i]!, g] as const, [conns[j]!, g] as const]);

    // What the server burns with C idle connections: a floor under every per-message figure.
    const floor0 = cpuSeconds(pid);
    await sleep(STEP_S * 1000);
    note(`  idle with ${C} clients: server ${fmt((cpuSeconds(pid) - floor0) / STEP_S)} cores`);

    // ---- 1:1 relay: ramp the offered rate until something is lost or it cannot keep up.
    const rates = quick ? [1000, 3000, 6000, 12_000] : [1000, 2000, 3000, 4000, 5000, 6000, 8000, 10_000, 12_000, 15_000, 20_000];
    const best = await ramp(pid, conns, targets, rates, 1, (r) => `offered ${r}/s`, 'msg');
    await quiesce(conns);
    for (const c of conns) c.latencies.length = 0;
    const halfRate = LATENCY_RATE ?? Math.max(500, (best?.rate ?? 0) / 2);
    await srv.loopStats();
    genLoopStats();
    measureStart = performance.now();
    measuring = true;
    const half = await load(pid, conns, targets, halfRate);
    measuring = false;
    const serverLoop = await srv.loopStats();
    const genLoopNow = genLoopStats();
    note(describe(`half rate ${halfRate}/s`, half, 'msg'));
    const ms = (x: number): string => x.toFixed(1);
    note(`  half rate: event-loop delay p99 / max, longest GC: server ${ms(serverLoop.p99Ms)} / ${ms(serverLoop.maxMs)} ms, ${ms(serverLoop.gcMaxMs)} ms; generator ${ms(genLoopNow.p99Ms)} / ${ms(genLoopNow.maxMs)} ms, ${ms(genLoopNow.gcMaxMs)} ms`);
    const lat = conns.flatMap((c) => c.latencies).sort((a, b) => a - b);
    const per = (x: Step | undefined, k: 'cpu' | 'genCpu'): number => (x === undefined ? NaN : (x[k] / x.delivered) * 1e6);
    const cores = (x: Step | undefined, k: 'cpu' | 'genCpu' | 'otherCpu'): number => (x === undefined ? NaN : x[k] / x.wallS);
    const relay = {
      maxRate: best === undefined ? 0 : best.delivered / STEP_S,
      cpuPerMsg: per(best, 'cpu'),
      genCpuPerMsg: per(best, 'genCpu'),
      serverCores: cores(best, 'cpu'),
      genCores: cores(best, 'genCpu'),
      otherCores: cores(best, 'otherCpu'),
      p50: lat[Math.floor(lat.length * 0.5)] ?? NaN,
      p99: lat[Math.floor(lat.length * 0.99)] ?? NaN,
      halfRate,
      serverLoop,
      genLoop: genLoopNow,
    };
    if (ONLY === '1:1') {
      for (const c of conns) c.ws.terminate();
      return { ...relay, fanDeliveries: NaN, fanCpuPer: NaN, fanGenCpuPer: NaN, fanServerCores: NaN, fanGenCores: NaN, backlogMs: NaN, idleKB: [] };
    }

    // ---- fan-out: one group of 100 members, messages from random members.
    const members = conns.slice(0, Math.min(100, C));
    const big = await makeGroup(url, members[0]!.device, members.slice(1).map((m) => m.device));
    await sleep(500);
    const fanTargets = members.map((m) => [m, big] as const);
    await quiesce(conns);
    const fanRates = quick ? [50, 200, 800] : [50, 100, 200, 400, 600, 800, 1200, 1600, 2400];
    const fan = await ramp(pid, members, fanTargets, fanRates, members.length - 1, (r) => `fan-out ${r} msg/s`, 'delivery');
    for (const c of conns) c.ws.terminate();
    await sleep(500);

    // ---- backlog: 500 messages for an offline device, then it connects.
    const [s, r] = [devices[0]!, devices[1]!];
    const g = await makeGroup(url, s, [r]);
    const sender = await connect(wsUrl, s);
    for (let i = 0; i < BACKLOG; i++) sendTo(sender, g);
    while (sender.sentAcks < BACKLOG && sender.errors === 0) await sleep(10);
    await sleep(200);
    const t0 = performance.now();
    let backlogMs = NaN;
    await new Promise<void>((resolve) => {
      void connect(wsUrl, r, (c) => {
        if (c.received === BACKLOG) {
          backlogMs = performance.now() - t0;
          c.ws.terminate();
          resolve();
        }
      });
    });
    sender.ws.terminate();
    note(`  backlog of ${BACKLOG}: ${fmt(backlogMs)} ms`);

    const figures: Figures = {
      ...relay,
      fanDeliveries: fan === undefined ? 0 : fan.delivered / STEP_S,
      fanCpuPer: per(fan, 'cpu'),
      fanGenCpuPer: per(fan, 'genCpu'),
      fanServerCores: cores(fan, 'cpu'),
      fanGenCores: cores(fan, 'genCpu'),
      backlogMs,
      idleKB: [],
    };
    await stopServer(srv);
    figures.idleKB = await idleConnections();
    return figures;
  } finally {
    await stopServer(srv);
  }
}

async function main(): Promise<void> {
  raiseFileLimit();
  const runs: Figures[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await oneRun(i));
  const m = (f: (x: Figures) => number): { value: number; runs: number[] } => {
    const xs = runs.map(f);
    return { value: median(xs), runs: xs.map((x) => Number(x.toFixed(2))) };
  };
  const line = (name: string, f: (x: Figures) => number, unit: string, extra: Record<string, unknown> = {}): void => {
    const r = m(f);
    report(name, r.value, unit, { ...extra, ...(RUNS > 1 ? { runs: r.runs } : {}) });
  };
  note(`medians of ${RUNS} run(s), ${STEP_S} s steps, ${C} clients:`);
  line('1:1 relay: max sustained delivered', (x) => x.maxRate, 'msg/s', { clients: C, durable: true, lost: 0 });
  line('1:1 relay: server CPU per delivered message', (x) => x.cpuPerMsg, 'µs');
  line('1:1 relay: generator CPU per delivered message', (x) => x.genCpuPerMsg, 'µs');
  line('1:1 relay: server cores at max rate', (x) => x.serverCores, 'cores');
  line('1:1 relay: generator cores at max rate', (x) => x.genCores, 'cores');
  line('1:1 relay: other processes\' cores at max rate', (x) => x.otherCores, 'cores');
  line('1:1 relay: p50 latency at half rate', (x) => x.p50, 'ms', { rate: m((x) => x.halfRate).value });
  line('1:1 relay: p99 latency at half rate', (x) => x.p99, 'ms', {
    // Medians over the runs, in ms: what in each process could have held a message up.
    serverLoopP99: m((x) => x.serverLoop.p99Ms).value,
    serverLoopMax: m((x) => x.serverLoop.maxMs).value,
    serverGcMax: m((x) => x.serverLoop.gcMaxMs).value,
    generatorLoopP99: m((x) => x.genLoop.p99Ms).value,
    generatorLoopMax: m((x) => x.genLoop.maxMs).value,
    generatorGcMax: m((x) => x.genLoop.gcMaxMs).value,
  });
  if (ONLY !== '1:1') {
    line('fan-out (100 members): deliveries', (x) => x.fanDeliveries, 'deliveries/s');
    line('fan-out (100 members): server CPU per delivery', (x) => x.fanCpuPer, 'µs');
    line('fan-out (100 members): generator CPU per delivery', (x) => x.fanGenCpuPer, 'µs');
    line('fan-out (100 members): server cores at max rate', (x) => x.fanServerCores, 'cores');
    line('fan-out (100 members): generator cores at max rate', (x) => x.fanGenCores, 'cores');
    IDLE_AT.forEach((n, i) => {
      line(`idle connections: server memory per connection at ${n}`, (x) => x.idleKB[i] ?? NaN, 'KB');
    });
    line(`offline backlog of ${BACKLOG}: connect to all received`, (x) => x.backlogMs, 'ms');
  }
  const sc = m((x) => x.serverCores).value;
  const gc = m((x) => x.genCores).value;
  const oc = m((x) => x.otherCores).value;
  const bound = sc + gc + oc > 1.6 ? (oc > 0.5 ? 'the two cores were full, largely with other processes, so the maxima (and the latency) are bound by the machine' : 'the two cores were full, so the maxima are bound by the machine (server and generator together)') : sc >= 0.85 ? 'the cores were not full, but the server\'s event loop was (one thread, about one core): the maxima are bound by the server, not by the machine' : 'the cores were not full: the maxima are bound by the server (its fsync per commit blocks its event loop), not by the machine';
  note(`note: at the 1:1 maximum the server used ${fmt(sc)} cores, the generator ${fmt(gc)}, other processes ${fmt(oc)} (of 2): ${bound}. The per-message CPU figures are the server's own.`);
}

await main();
