// The pure parts of the relay benchmark (bench/relay.ts): its command line, the issue's
// targets, when a load step counts as sustained, the ramp-then-bisect search for the
// highest sustained rate, the median, and the output line (`--json`: one JSON object a
// line). No sockets, no clock, no processes: test/bench-relay.test.ts drives them alone.

export interface RelayOptions {
  /** One JSON object per figure on stdout, nothing else. */
  readonly json: boolean;
  /** The smoke test: one run, 1 s steps, a coarse ramp, no bisection, idle connections at 200. */
  readonly quick: boolean;
  readonly clients: number;
  readonly runs: number;
  /** Seconds of each load step. */
  readonly seconds: number;
  /** `--server-prof DIR`: the server writes a V8 CPU profile there when it stops. */
  readonly serverProf: string | undefined;
  /** The idle-connection counts at which server memory is measured. */
  readonly idleAt: readonly number[];
  /** Bisections between the last sustained and the first unsustained rate of a ramp. */
  readonly bisections: number;
  /** `--only 1:1`: the 1:1 figures alone (no fan-out, idle or backlog phases). */
  readonly only: '1:1' | undefined;
  /** `--latency-rate N`: measure the latency at this fixed rate instead of half the maximum. */
  readonly latencyRate: number | undefined;
}

const FLAGS = new Set(['--json', '--quick']);
const VALUED = new Set(['--clients', '--runs', '--seconds', '--server-prof', '--only', '--latency-rate']);

/** Parses the arguments after `--`; throws on an unknown flag, a missing value or a value that is not a positive number. */
export function parseRelayArgs(argv: readonly string[]): RelayOptions {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (FLAGS.has(a)) flags.add(a);
    else if (VALUED.has(a)) {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a value`);
      values.set(a, v);
    } else throw new Error(`unknown argument ${a} (known: ${[...FLAGS, ...VALUED].join(', ')})`);
  }
  const quick = flags.has('--quick');
  const num = (name: string, fallback: number): number => {
    const s = values.get(name);
    if (s === undefined) return fallback;
    const v = Number(s);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
    return v;
  };
  const count = (name: string, fallback: number): number => {
    const v = num(name, fallback);
    if (!Number.isInteger(v)) throw new Error(`${name} needs a whole number`);
    return v;
  };
  const only = values.get('--only');
  if (only !== undefined && only !== '1:1') throw new Error('--only takes 1:1');
  return {
    json: flags.has('--json'),
    quick,
    clients: count('--clients', 200),
    runs: count('--runs', quick ? 1 : 3),
    seconds: num('--seconds', quick ? 1 : 3),
    serverProf: values.get('--server-prof'),
    idleAt: only === '1:1' ? [] : quick ? [200] : [1000, 5000],
    bisections: quick ? 0 : 2,
    only,
    latencyRate: values.has('--latency-rate') ? num('--latency-rate', 1) : undefined,
  };
}

/** A figure's target (issue 5) and its peers' figures on the same machine. */
export interface Target {
  readonly target: string;
  readonly met: (v: number) => boolean;
  readonly ejabberd?: string;
  readonly prosody?: string;
}

export function relayTargets(idleAt: readonly number[]): Readonly<Record<string, Target>> {
  const t: Record<string, Target> = {
    '1:1 relay: max sustained delivered': { target: 'n/a (ejabberd 17,100 at 1.5 cores)', met: () => true, ejabberd: '17100 msg/s', prosody: '4600-13900 msg/s' },
    '1:1 relay: server CPU per delivered message': { target: '<= 50 µs', met: (v) => v <= 50, ejabberd: '74 µs', prosody: '72-218 µs' },
    '1:1 relay: p50 latency at half rate': { target: 'n/a', met: () => true },
    '1:1 relay: p99 latency at half rate': { target: '<= 5 ms', met: (v) => v <= 5, ejabberd: '3.8 ms', prosody: '42-60 ms' },
    'fan-out (100 members): deliveries': { target: 'n/a', met: () => true, ejabberd: '41700/s', prosody: '22800/s' },
    'fan-out (100 members): server CPU per delivery': { target: '<= 15 µs', met: (v) => v <= 15, ejabberd: '26 µs', prosody: '41 µs' },
    'offline backlog of 500: connect to all received': { target: '<= 40 ms', met: (v) => v <= 40, ejabberd: '38 ms', prosody: '62 ms' },
  };
  for (const n of idleAt) t[`idle connections: server memory per connection at ${n}`] = { target: '<= 30 KB', met: (v) => v <= 30, ejabberd: '55 KB', prosody: '37-52 KB' };
  return t;
}

/** What a load step saw, for the sustained test. */
export interface StepCounts {
  readonly rate: number;
  readonly fanout: number;
  readonly offered: number;
  readonly delivered: number;
  readonly errors: number;
  readonly drainMs: number;
  readonly stepS: number;
}

/** The longest drain after a step that still counts as keeping up (longer: the server was queueing). */
export const MAX_DRAIN_MS = 250;

/**
 * A step is sustained when nothing was lost and nothing refused, at least 95 % of the
 * offered rate (times the fan-out) was delivered per second of the step, and the drain
 * after it was short.
 */
export function sustained(s: StepCounts): boolean {
  const lost = Math.max(0, s.offered * s.fanout - s.delivered);
  return lost === 0 && s.errors === 0 && s.delivered / s.stepS >= s.rate * s.fanout * 0.95 && s.drainMs < MAX_DRAIN_MS;
}

/**
 * Ramps through `rates` (ascending) until a step is not sustained, then bisects
 * `bisections` times between the last sustained rate (or 0) and the first unsustained
 * one. Returns the best sustained step, or undefined when even the first was not.
 */
export async function rampSearch<S extends { readonly rate: number; readonly ok: boolean }>(rates: readonly number[], bisections: number, step: (rate: number) => Promise<S>): Promise<S | undefined> {
  let best: S | undefined;
  let bad: number | undefined;
  for (const rate of rates) {
    const s = await step(rate);
    if (!s.ok) {
      bad = rate;
      break;
    }
    best = s;
  }
  for (let i = 0; i < bisections && bad !== undefined; i++) {
    const lo = best?.rate ?? 0;
    const mid = Math.round((lo + bad) / 2);
    if (mid <= lo || mid >= bad) break;
    const s = await step(mid);
    if (s.ok) best = s;
    else bad = mid;
  }
  return best;
}

/** The median of the numbers that are not NaN; NaN when there are none. */
export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export function fmt(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0);
}

/** One figure as `--json` prints it: `{bench, name, value, unit, ...extra, target, met, ejabberd?, prosody?}` (target and after only for a figure with a target). */
export function reportRecord(targets: Readonly<Record<string, Target>>, name: string, value: number, unit: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const t = targets[name];
  const full = t === undefined ? extra : { ...extra, target: t.target, met: t.met(value), ...(t.ejabberd === undefined ? {} : { ejabberd: t.ejabberd }), ...(t.prosody === undefined ? {} : { prosody: t.prosody }) };
  return { bench: 'relay', name, value, unit, ...full };
}

/** One figure as a line: JSON (`--json`) or text for people. */
export function reportLine(json: boolean, targets: Readonly<Record<string, Target>>, name: string, value: number, unit: string, extra: Record<string, unknown> = {}): string {
  if (json) return JSON.stringify(reportRecord(targets, name, value, unit, extra));
  const t = targets[name];
  const peers = t === undefined ? '' : `  target ${t.target}${t.met(value) ? '' : ' (MISSED)'}${t.ejabberd === undefined ? '' : `; ejabberd ${t.ejabberd}`}${t.prosody === undefined ? '' : `, Prosody ${t.prosody}`}`;
  return `${name.padEnd(52)} ${fmt(value).padStart(10)} ${unit}${peers}${Object.keys(extra).length > 0 ? `  ${JSON.stringify(extra)}` : ''}`;
}
