// Profiling helper (not a bench): one commit adding N members (default 1,000) and the last
// new member processing its Welcome, repeated `rounds` times; prints wall and CPU ms per
// phase (median). `npx tsx --conditions=parley:source bench/prof-add.ts [N] [rounds]`;
// PROF=prefix writes a CPU profile of each timed phase of the last round (prefix-create.cpuprofile,
// prefix-welcome.cpuprofile; open in Chrome DevTools).
import { nodeCryptoProvider } from '@parley/mls/crypto-node';
import { createCommit, createGroup, generateKeyPackage, joinFromWelcome, mergeCommit } from '../packages/mls/src/group/index.js';
import { CredentialType } from '../packages/mls/src/messages/credential.js';
import { ProposalType } from '../packages/mls/src/messages/proposal.js';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';

const provider = nodeCryptoProvider;
const suite = provider.suite(1);
const enc = new TextEncoder();
const now = BigInt(Math.floor(Date.now() / 1000));
const lifetime = { notBefore: now - 3600n, notAfter: now + 86_400n };
const config = { now: () => BigInt(Math.floor(Date.now() / 1000)) };
const cred = (n: string) => ({ credentialType: CredentialType.basic, identity: enc.encode(n) });
const N = Number(process.argv[2] ?? 1000);
const ROUNDS = Number(process.argv[3] ?? 3);
const cpu = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const med = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const PROF = process.env.PROF;
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 200 });
async function profiled<T>(on: boolean, name: string, f: () => Promise<T>): Promise<T> {
  if (!on || PROF === undefined) return f();
  await session.post('Profiler.start');
  const v = await f();
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(`${PROF}-${name}.cpuprofile`, JSON.stringify(profile));
  return v;
}
const res: Record<string, number[]> = { create: [], createCpu: [], join: [], joinCpu: [] };
for (let round = 0; round < ROUNDS; round++) {
  const kps: Awaited<ReturnType<typeof generateKeyPackage>>[] = [];
  for (let i = 0; i < N; i++) kps.push(await generateKeyPackage({ suite, signatureKey: await suite.signature.generateKeyPair(), credential: cred(`m${i}`), lifetime }));
  const a = await createGroup({ provider, suite: 1, groupId: enc.encode(`prof-${round}`), signatureKey: await suite.signature.generateKeyPair(), credential: cred('alice'), lifetime, config });
  let c0 = cpu();
  let t0 = performance.now();
  const last = round === ROUNDS - 1;
  const c = await profiled(last, 'create', () => createCommit(a, { proposals: kps.map((k) => ({ proposalType: ProposalType.add, add: { keyPackage: k.keyPackage } }) as const) }));
  mergeCommit(a, c.pending);
  res.create!.push(performance.now() - t0);
  res.createCpu!.push(cpu() - c0);
  const joiner = kps[N - 1]!;
  c0 = cpu();
  t0 = performance.now();
  const b = await profiled(last, 'welcome', () => joinFromWelcome({ provider, welcome: c.welcome!, keyPackage: joiner.keyPackage, privateKeys: joiner.privateKeys, config }));
  res.join!.push(performance.now() - t0);
  res.joinCpu!.push(cpu() - c0);
  if (b.tree.memberCount !== N + 1) throw new Error('wrong member count');
}
const m = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, med(v).toFixed(1)]));
console.log(`add @${N}, median of ${ROUNDS}: create ${m.create} ms (cpu ${m.createCpu}), welcome ${m.join} ms (cpu ${m.joinCpu})`);
