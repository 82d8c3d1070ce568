// A/B of add @N in one process (not a bench: a profiling aid): the engines of two checkouts
// (say /work/main and this worktree), alternated run by run so that a shared machine's load
// falls on both alike; medians and the paired ratio of create + Welcome.
//   npx tsx bench/ab-add.ts <before-checkout> <after-checkout> [N] [runs]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CredentialType } from '../packages/mls/src/messages/credential.js';
import { ProposalType } from '../packages/mls/src/messages/proposal.js';

// Both checkouts have this worktree's API (the A/B is of an internal change).
type Group = typeof import('../packages/mls/src/group/index.js');
type Crypto = typeof import('../packages/mls/src/crypto/node/index.js');

const dirs = [process.argv[2] ?? '/work/main', process.argv[3] ?? '.'].map((d) => resolve(d));
const impls = await Promise.all(dirs.map(async (w, i) => ({
  name: i === 0 ? 'before' : 'after',
  crypto: ((await import(pathToFileURL(`${w}/packages/mls/src/crypto/node/index.js`).href)) as Crypto).nodeCryptoProvider,
  g: (await import(pathToFileURL(`${w}/packages/mls/src/group/index.js`).href)) as Group,
})));
const enc = new TextEncoder();
const now = BigInt(Math.floor(Date.now() / 1000));
const lifetime = { notBefore: now - 3600n, notAfter: now + 86_400n };
const config = { now: () => BigInt(Math.floor(Date.now() / 1000)) };
const cred = (n: string) => ({ credentialType: CredentialType.basic, identity: enc.encode(n) });
const N = Number(process.argv[4] ?? 1000);
const RUNS = Number(process.argv[5] ?? 8);
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const med = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };
const res: Record<string, { create: number[]; welcome: number[]; total: number[]; cpu: number[] }> = {};
for (let r = 0; r < RUNS; r++) {
  const order = r % 2 === 0 ? impls : [...impls].reverse();
  for (const im of order) {
    const provider = im.crypto;
    const suite = provider.suite(1);
    const kps: Awaited<ReturnType<Group['generateKeyPackage']>>[] = [];
    for (let i = 0; i < N; i++) kps.push(await im.g.generateKeyPackage({ suite, signatureKey: await suite.signature.generateKeyPair(), credential: cred(`m${i}`), lifetime }));
    const a = await im.g.createGroup({ provider, suite: 1, groupId: enc.encode(`ab-${r}`), signatureKey: await suite.signature.generateKeyPair(), credential: cred('alice'), lifetime, config });
    const c0 = cpu();
    const t0 = performance.now();
    const c = await im.g.createCommit(a, { proposals: kps.map((k) => ({ proposalType: ProposalType.add, add: { keyPackage: k.keyPackage } }) as const) });
    im.g.mergeCommit(a, c.pending);
    const t1 = performance.now();
    const last = kps[N - 1]!;
    const b = await im.g.joinFromWelcome({ provider, welcome: c.welcome!, keyPackage: last.keyPackage, privateKeys: last.privateKeys, config });
    const t2 = performance.now();
    if (b.tree.memberCount !== N + 1) throw new Error('bad join');
    const x = (res[im.name] ??= { create: [], welcome: [], total: [], cpu: [] });
    x.create.push(t1 - t0); x.welcome.push(t2 - t1); x.total.push(t2 - t0); x.cpu.push(cpu() - c0);
  }
}
for (const [k, v] of Object.entries(res)) console.log(`${k.padEnd(10)} create ${med(v.create).toFixed(0)} welcome ${med(v.welcome).toFixed(0)} total ${med(v.total).toFixed(0)} cpu ${med(v.cpu).toFixed(0)} ms  (totals: ${v.total.map((t) => t.toFixed(0)).join(' ')})`);
const ratios = res['before']!.total.map((t, i) => t / res['after']!.total[i]!);
console.log(`paired before/after total ratio: median ${med(ratios).toFixed(2)} (${ratios.map((x) => x.toFixed(2)).join(' ')})`);
