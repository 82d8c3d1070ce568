// `npm run bench:relay [-- --json] [-- --clients 200]`: the relay benchmark of issue 5.
// The server runs as its own process; its CPU time comes from /proc/<pid>/stat so the
// load generator (this process, on the same 2 cores) does not count. Figures:
//   1. 1:1 relay: highest sustained delivered msg/s with nothing lost (250-byte
//      payloads to random peers over 1:1 groups), server CPU per delivered message,
//      and p50/p99 end-to-end latency at half that rate;
//   2. fan-out in a 100-member group: deliveries/s and server CPU per delivery;
//   3. server memory per idle authenticated connection at 1,000 and 5,000;
//   4. time for an offline device to receive a 500-message backlog after it connects.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { decodeDeliverFrame, encodeSendFrame } from '@parley/protocol';
import { b64, http, newDevice, newUser, type TestDevice } from '@parley/testing';

const args = process.argv.slice(2);
const json = args.includes('--json');
const clientsArg = args.indexOf('--clients');
const C = clientsArg >= 0 ? Number(args[clientsArg + 1]) : 200;
const root = fileURLToPath(new URL('..', import.meta.url));
const PAYLOAD = 250;

function report(name: string, value: number, unit: string, extra: Record<string, unknown> = {}): void {
  if (json) console.log(JSON.stringify({ bench: 'relay', name, value, unit, ...extra }));
  else console.log(`${name.padEnd(48)} ${value.toFixed(value < 10 ? 2 : 0).padStart(10)} ${unit}${Object.keys(extra).length > 0 ? `  ${JSON.stringify(extra)}` : ''}`);
}

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, clock ticks (USER_HZ = 100)
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

async function spawnServer(): Promise<{ child: ChildProcess; url: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
  const child = spawn(join(root, 'node_modules/.bin/tsx'), ['--conditions=parley:source', join(root, 'bench/relay-server.ts'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
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
  return { child, url };
}

/** The server's own pid (tsx runs the script in a child node process). */
function serverPid(child: ChildProcess): number {
  try {
    const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter((s) => s !== '');
    return kids.length > 0 ? Number(kids[0]) : child.pid!;
  } catch {
    return child.pid!;
  }
}

interface Conn {
  readonly device: TestDevice;
  readonly ws: WebSocket;
  received: number;
  readonly latencies: number[];
  pendingAcks: Map<string, number>;
}

async function connect(wsUrl: string, device: TestDevice, onDeliver?: (c: Conn, groupId: string, seq: number, payload: Uint8Array) => void): Promise<Conn> {
  const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${device.token}` }, perMessageDeflate: false });
  const c: Conn = { device, ws, received: 0, latencies: [], pendingAcks: new Map() };
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        if ((data as Buffer).toString().includes('"ready"')) resolve();
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

let ref = 0;
function sendTo(c: Conn, groupId: string): void {
  const payload = new Uint8Array(PAYLOAD);
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

/** Waits until no message arrived for 500 ms (an overloaded step has drained). */
async function quiesce(conns: readonly Conn[]): Promise<void> {
  let last = -1;
  for (;;) {
    const now = conns.reduce((s, c) => s + c.received, 0);
    if (now === last) return;
    last = now;
    await sleep(500);
  }
}

/** Offers `rate` msg/s for `seconds`, spread over the senders; returns delivered, lost and server CPU. */
async function load(pid: number, conns: readonly Conn[], targets: readonly (readonly [Conn, string])[], rate: number, seconds: number, fanout = 1): Promise<{ delivered: number; offered: number; cpu: number; drainMs: number }> {
  const before = conns.reduce((s, c) => s + c.received, 0);
  const cpu0 = cpuSeconds(pid);
  let offered = 0;
  const tickMs = 10;
  let lastAck = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
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
    await sleep(tickMs);
  }
  // Drain: wait until everything offered has arrived (or 3 s pass). A step whose drain
  // takes more than 250 ms was queueing, not keeping up.
  const drainStart = performance.now();
  const deadline = drainStart + 3000;
  while (conns.reduce((s, c) => s + c.received, 0) - before < offered * fanout && performance.now() < deadline) await sleep(10);
  const drainMs = performance.now() - drainStart;
  flushAcks(conns);
  return { delivered: conns.reduce((s, c) => s + c.received, 0) - before, offered, cpu: cpuSeconds(pid) - cpu0, drainMs };
}

/** Idle authenticated connections against a fresh server process, so earlier phases' garbage does not blur the figure. */
async function idleConnections(devices: readonly TestDevice[]): Promise<void> {
  const { child, url } = await spawnServer();
  const pid = serverPid(child);
  const wsUrl = url.replace(/^http/, 'ws') + '/v1/ws';
  try {
    const own: TestDevice[] = [];
    for (let i = 0; i < Math.min(50, devices.length); i++) own.push(await newDevice(url, await newUser(url, `idle-${i}-${randomBytes(3).toString('hex')}`)));
    const warm = await connect(wsUrl, own[0]!);
    warm.ws.terminate();
    await sleep(1000);
    const base = rssBytes(pid);
    const idle: WebSocket[] = [];
    for (const target of [1000, 5000]) {
      while (idle.length < target) idle.push((await connect(wsUrl, own[idle.length % own.length]!)).ws);
      await sleep(2000);
      const rss = rssBytes(pid);
      report(`idle connections: server memory per connection at ${target}`, (rss - base) / target / 1024, 'KB', { rssMiB: Math.round(rss / 1048576) });
    }
    for (const w of idle) w.terminate();
  } finally {
    child.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const { child, url } = await spawnServer();
  const pid = serverPid(child);
  const wsUrl = url.replace(/^http/, 'ws') + '/v1/ws';
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

    // ---- 1:1 relay: ramp the offered rate until something is lost or it cannot keep up.
    let best = { rate: 0, delivered: 0, cpuPer: 0 };
    for (const rate of [500, 1000, 1500, 2000, 3000, 4000, 5000, 6000, 8000, 10_000, 12_000, 15_000]) {
      const r = await load(pid, conns, targets, rate, 3);
      const sustained = r.delivered / 3;
      const ok = r.delivered >= r.offered && sustained >= rate * 0.95 && r.drainMs < 250;
      if (!json) console.log(`  offered ${rate}/s: delivered ${r.delivered}/${r.offered}, server CPU ${((r.cpu / Math.max(1, r.delivered)) * 1e6).toFixed(1)} µs/msg, drain ${r.drainMs.toFixed(0)} ms${ok ? '' : '  (not sustained)'}`);
      if (!ok) break;
      best = { rate, delivered: sustained, cpuPer: (r.cpu / r.delivered) * 1e6 };
    }
    report('1:1 relay: max sustained delivered', best.delivered, 'msg/s', { clients: C, durable: true, lost: 0 });
    report('1:1 relay: server CPU per delivered message', best.cpuPer, 'µs');
    await quiesce(conns);
    for (const c of conns) c.latencies.length = 0;
    measureStart = performance.now();
    measuring = true;
    await load(pid, conns, targets, Math.max(500, best.rate / 2), 3);
    measuring = false;
    const lat = conns.flatMap((c) => c.latencies).sort((a, b) => a - b);
    report('1:1 relay: p50 latency at half rate', lat[Math.floor(lat.length * 0.5)] ?? NaN, 'ms', { samples: lat.length });
    report('1:1 relay: p99 latency at half rate', lat[Math.floor(lat.length * 0.99)] ?? NaN, 'ms');

    // ---- fan-out: one group of 100 members, messages from random members.
    const members = conns.slice(0, Math.min(100, C));
    const big = await makeGroup(url, members[0]!.device, members.slice(1).map((m) => m.device));
    await sleep(500);
    const fanTargets = members.map((m) => [m, big] as const);
    await quiesce(conns);
    let fan = { deliveries: 0, cpuPer: 0 };
    for (const rate of [50, 100, 200, 400, 600, 800, 1200, 1600]) {
      const r = await load(pid, members, fanTargets, rate, 3, members.length - 1);
      const expected = r.offered * (members.length - 1);
      const ok = r.delivered >= expected && r.drainMs < 250;
      if (!json) console.log(`  fan-out ${rate} msg/s: ${r.delivered}/${expected} deliveries, ${((r.cpu / Math.max(1, r.delivered)) * 1e6).toFixed(1)} µs/delivery${ok ? '' : '  (not sustained)'}`);
      if (!ok) break;
      fan = { deliveries: r.delivered / 3, cpuPer: (r.cpu / r.delivered) * 1e6 };
    }
    report('fan-out (100 members): deliveries', fan.deliveries, 'deliveries/s');
    report('fan-out (100 members): server CPU per delivery', fan.cpuPer, 'µs');
    for (const c of conns) c.ws.terminate();
    await sleep(500);

    // ---- backlog: 500 messages for an offline device, then it connects.
    const [s, r] = [devices[0]!, devices[1]!];
    const g = await makeGroup(url, s, [r]);
    const sender = await connect(wsUrl, s);
    for (let i = 0; i < 500; i++) sendTo(sender, g);
    await sleep(1500);
    const t0 = performance.now();
    let done = 0;
    await new Promise<void>((resolve) => {
      void connect(wsUrl, r, (c) => {
        if (c.received === 500) {
          done = performance.now() - t0;
          c.ws.terminate();
          resolve();
        }
      });
    });
    sender.ws.terminate();
    report('offline backlog of 500: connect to all received', done, 'ms');

    await idleConnections(devices);
    if (!json) console.log('note: load generator and server share the same 2 cores; the 1:1 and fan-out maxima are bound by them.');
  } finally {
    child.kill('SIGTERM');
  }
}

await main();
