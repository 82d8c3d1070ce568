// Profiling helper (not a bench): loops encryptApplication / processMessage in a group of 10
// and prints CPU µs per operation (process.cpuUsage, steadier than wall time on a shared
// machine) beside one Ed25519 sign / verify. `npx tsx --conditions=parley:source
// bench/prof-protect.ts [N] [rounds]`; NOFLOOR=1 skips the sign/verify loops (for
// node --cpu-prof --import tsx ...).
import { nodeCryptoProvider } from '@parley/mls/crypto-node';
import { createCommit, createGroup, encryptApplication, generateKeyPackage, joinFromWelcome, mergeCommit, processMessage, type GroupState } from '../packages/mls/src/group/index.js';
import { CredentialType } from '../packages/mls/src/messages/credential.js';
import { ProposalType } from '../packages/mls/src/messages/proposal.js';

const provider = nodeCryptoProvider;
const suite = provider.suite(1);
const enc = new TextEncoder();
const now = BigInt(Math.floor(Date.now() / 1000));
const lifetime = { notBefore: now - 3600n, notAfter: now + 86_400n };
const config = { now: () => BigInt(Math.floor(Date.now() / 1000)) };
const cred = (n: string) => ({ credentialType: CredentialType.basic, identity: enc.encode(n) });
const kps = [];
for (let i = 0; i < 9; i++) kps.push(await generateKeyPackage({ suite, signatureKey: await suite.signature.generateKeyPair(), credential: cred(`m${i}`), lifetime }));
let a: GroupState = await createGroup({ provider, suite: 1, groupId: enc.encode('prof'), signatureKey: await suite.signature.generateKeyPair(), credential: cred('alice'), lifetime, config });
const c = await createCommit(a, { proposals: kps.map((k) => ({ proposalType: ProposalType.add, add: { keyPackage: k.keyPackage } }) as const) });
a = mergeCommit(a, c.pending);
let b = await joinFromWelcome({ provider, welcome: c.welcome!, keyPackage: kps[0]!.keyPackage, privateKeys: kps[0]!.privateKeys, config });
const TEXT = new Uint8Array(100).fill(0x61);
const N = Number(process.argv[2] ?? 10000);
const ROUNDS = Number(process.argv[3] ?? 5);
const floorKey = await suite.signature.generateKeyPair();
const fm = new Uint8Array(300).fill(0x62);
const fs = await suite.signature.sign(floorKey.privateKey, fm);
const cpu = (): number => { const u = process.cpuUsage(); return u.user + u.system; };
const med = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const res: Record<string, number[]> = { sign: [], verify: [], protect: [], unprotect: [] };
for (let round = 0; round < ROUNDS; round++) {
  let t = cpu();
  for (let i = 0; i < (process.env.NOFLOOR !== undefined ? 1 : N / 2); i++) await suite.signature.sign(floorKey.privateKey, fm);
  res.sign!.push((cpu() - t) / (N / 2));
  t = cpu();
  for (let i = 0; i < (process.env.NOFLOOR !== undefined ? 1 : N / 4); i++) await suite.signature.verify(floorKey.publicKey, fm, fs);
  res.verify!.push((cpu() - t) / (N / 4));
  const msgs: Uint8Array[] = [];
  t = cpu();
  for (let i = 0; i < N; i++) {
    const r = await encryptApplication(a, TEXT);
    a = r.state;
    msgs.push(r.message);
  }
  res.protect!.push((cpu() - t) / N);
  t = cpu();
  for (const m of msgs) {
    const r = await processMessage(b, m);
    if (r.event.type !== 'application') throw new Error('not an application message');
    b = r.state;
  }
  res.unprotect!.push((cpu() - t) / N);
}
const m = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, med(v)]));
console.log(`cpu µs/op (median of ${ROUNDS}): sign ${m.sign!.toFixed(1)} verify ${m.verify!.toFixed(1)} protect ${m.protect!.toFixed(1)} (beyond sign ${(m.protect! - m.sign!).toFixed(1)}, ofFloor ${(m.sign! / m.protect!).toFixed(2)}) unprotect ${m.unprotect!.toFixed(1)} (beyond verify ${(m.unprotect! - m.verify!).toFixed(1)}, ofFloor ${(m.verify! / m.unprotect!).toFixed(2)})`);
