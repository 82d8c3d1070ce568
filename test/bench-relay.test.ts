// The relay benchmark's pure parts (bench/relay-lib.ts), without a server or a load: the
// command line, when a step counts as sustained, the ramp-then-bisect search for the
// highest sustained rate (driven by a fake step with a known capacity), the median, and
// the `--json` line format others parse. Then bench/relay.ts itself, once, with a bad
// argument: it must refuse before it starts anything.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { median, parseRelayArgs, rampSearch, relayTargets, reportLine, reportRecord, sustained, type StepCounts } from '../bench/relay-lib.js';

describe('bench:relay arguments', () => {
  it('defaults to 200 clients, 3 runs of 3 s steps, two bisections and idle counts of 1,000 and 5,000', () => {
    expect(parseRelayArgs([])).toEqual({ json: false, quick: false, clients: 200, runs: 3, seconds: 3, serverProf: undefined, idleAt: [1000, 5000], bisections: 2, only: undefined, latencyRate: undefined });
  });

  it('--quick is one run of 1 s steps, no bisection, idle at 200; explicit values win over it', () => {
    expect(parseRelayArgs(['--quick'])).toMatchObject({ quick: true, runs: 1, seconds: 1, idleAt: [200], bisections: 0 });
    expect(parseRelayArgs(['--quick', '--runs', '2', '--seconds', '0.5', '--json'])).toMatchObject({ quick: true, runs: 2, seconds: 0.5, json: true });
    expect(parseRelayArgs(['--clients', '50', '--server-prof', '/tmp/prof'])).toMatchObject({ clients: 50, serverProf: '/tmp/prof' });
  });

  it('--only 1:1 drops the idle phases; --latency-rate fixes the latency step; --only takes nothing else', () => {
    expect(parseRelayArgs(['--only', '1:1', '--latency-rate', '3000'])).toMatchObject({ only: '1:1', idleAt: [], latencyRate: 3000 });
    expect(() => parseRelayArgs(['--only', 'fan-out'])).toThrow(/--only takes 1:1/);
    expect(() => parseRelayArgs(['--latency-rate', '0'])).toThrow();
  });

  it('refuses unknown flags, missing values, and counts that are not positive whole numbers', () => {
    for (const bad of [['--clients', '0'], ['--clients', '-3'], ['--clients', 'many'], ['--clients', '2.5'], ['--runs'], ['--seconds', '--json'], ['--seconds', 'NaN'], ['--jsno'], ['extra']]) {
      expect(() => parseRelayArgs(bad), bad.join(' ')).toThrow();
    }
  });
});

const step = (over: Partial<StepCounts>): StepCounts => ({ rate: 1000, fanout: 1, offered: 3000, delivered: 3000, errors: 0, drainMs: 10, stepS: 3, ...over });

describe('a sustained step', () => {
  it('delivered everything offered (times the fan-out), refused nothing, kept 95 % of the rate and drained fast', () => {
    expect(sustained(step({}))).toBe(true);
    expect(sustained(step({ delivered: 2999 }))).toBe(false); // one lost
    expect(sustained(step({ errors: 1 }))).toBe(false);
    expect(sustained(step({ drainMs: 250 }))).toBe(false);
    expect(sustained(step({ drainMs: 249 }))).toBe(true);
    // The generator fell behind: it offered only 90 % of the rate; everything arrived, but the rate was not kept.
    expect(sustained(step({ offered: 2700, delivered: 2700 }))).toBe(false);
    expect(sustained(step({ offered: 2850, delivered: 2850 }))).toBe(true);
    expect(sustained(step({ fanout: 99, offered: 3000, delivered: 3000 * 99 }))).toBe(true);
    expect(sustained(step({ fanout: 99, offered: 3000, delivered: 3000 * 99 - 1 }))).toBe(false);
  });
});

describe('the ramp and bisection', () => {
  /** A fake server that sustains any rate up to `capacity`; records the rates tried. */
  function fake(capacity: number): { tried: number[]; step: (rate: number) => Promise<{ rate: number; ok: boolean }> } {
    const tried: number[] = [];
    return {
      tried,
      step: async (rate) => {
        tried.push(rate);
        return Promise.resolve({ rate, ok: rate <= capacity });
      },
    };
  }
  const rates = [1000, 2000, 3000, 4000, 5000, 6000, 8000];

  it('ramps until the first unsustained rate, then bisects between it and the last sustained one', async () => {
    const f = fake(3400);
    const best = await rampSearch(rates, 2, f.step);
    expect(f.tried).toEqual([1000, 2000, 3000, 4000, 3500, 3250]);
    expect(best?.rate).toBe(3250);
  });

  it('stops the ramp at the first failure: later, faster rates are not tried', async () => {
    const f = fake(1500);
    await rampSearch(rates, 0, f.step);
    expect(f.tried).toEqual([1000, 2000]);
  });

  it('bisects from 0 when even the first rate fails, and finds nothing below a capacity under every rate tried', async () => {
    const f = fake(100);
    const best = await rampSearch(rates, 2, f.step);
    expect(f.tried).toEqual([1000, 500, 250]);
    expect(best).toBeUndefined();
    const g = fake(600);
    expect((await rampSearch(rates, 2, g.step))?.rate).toBe(500);
  });

  it('does not bisect when every rate is sustained, and returns the last', async () => {
    const f = fake(1e9);
    expect((await rampSearch(rates, 2, f.step))?.rate).toBe(8000);
    expect(f.tried).toEqual(rates);
  });

  it('stops bisecting when the interval cannot be split', async () => {
    const f = fake(0);
    expect(await rampSearch([2, 3], 5, f.step)).toBeUndefined();
    expect(f.tried).toEqual([2, 1]);
  });
});

describe('the median of runs', () => {
  it('ignores NaN, averages the middle two of an even count', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([NaN, 5, NaN])).toBe(5);
    expect(Number.isNaN(median([NaN]))).toBe(true);
    expect(Number.isNaN(median([]))).toBe(true);
  });
});

describe('the --json line', () => {
  const targets = relayTargets([1000, 5000]);

  it('is one JSON object with bench, name, value, unit, the extras, then target and met (and the peers) for a figure with a target', () => {
    const line = reportLine(true, targets, '1:1 relay: server CPU per delivered message', 42.5, 'µs', { runs: [40, 42.5, 44] });
    expect(line).not.toContain('\n');
    const o = JSON.parse(line) as Record<string, unknown>;
    expect(o).toEqual({ bench: 'relay', name: '1:1 relay: server CPU per delivered message', value: 42.5, unit: 'µs', runs: [40, 42.5, 44], target: '<= 50 µs', met: true, ejabberd: '74 µs', prosody: '72-218 µs' });
    expect(Object.keys(o).slice(0, 4)).toEqual(['bench', 'name', 'value', 'unit']);
  });

  it('says met: false past the target, and has no target for a figure without one', () => {
    expect(reportRecord(targets, '1:1 relay: p99 latency at half rate', 5.1, 'ms')).toMatchObject({ target: '<= 5 ms', met: false });
    expect(reportRecord(targets, '1:1 relay: p99 latency at half rate', 5, 'ms')).toMatchObject({ met: true });
    expect(reportRecord(targets, 'idle connections: server memory per connection at 5000', 31, 'KB')).toMatchObject({ target: '<= 30 KB', met: false });
    const plain = reportRecord(targets, '1:1 relay: generator cores at max rate', 0.7, 'cores');
    expect(plain).toEqual({ bench: 'relay', name: '1:1 relay: generator cores at max rate', value: 0.7, unit: 'cores' });
  });

  it('has a target for every idle count it is given, and for the fixed figures', () => {
    expect(Object.keys(relayTargets([200])).filter((k) => k.startsWith('idle'))).toEqual(['idle connections: server memory per connection at 200']);
    for (const name of ['1:1 relay: max sustained delivered', 'fan-out (100 members): server CPU per delivery', 'offline backlog of 500: connect to all received']) expect(targets[name], name).toBeDefined();
  });

  it('prints NaN (never a number that was not measured) and marks a missed target in the text form', () => {
    expect(reportLine(true, targets, '1:1 relay: p99 latency at half rate', NaN, 'ms')).toContain('"value":null');
    const text = reportLine(false, targets, '1:1 relay: p99 latency at half rate', 7.25, 'ms');
    expect(text).toMatch(/7\.25 ms {2}target <= 5 ms \(MISSED\); ejabberd 3\.8 ms, Prosody 42-60 ms$/);
    expect(reportLine(false, targets, '1:1 relay: p99 latency at half rate', NaN, 'ms')).toContain('NaN ms');
  });
});

describe('bench/relay.ts', () => {
  it('refuses a bad argument before it starts a server', () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=parley:source', 'bench/relay.ts', '--clients', '0'], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('--clients needs a positive number');
    expect(r.stdout).not.toContain('run 1/');
  });
});
