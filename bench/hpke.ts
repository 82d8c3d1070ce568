// HPKE seal+open per second on suite 1 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// AES-128-GCM): Parley's own RFC 9180 module over node:crypto next to @hpke/core
// (WebCrypto), in the same process, interleaved, median of several runs. This is the
// measurement behind the choice recorded in packages/mls/src/crypto/hpke/hpke.ts.
//
// It then prints what the Node backend adds on top of bare node:crypto for the
// primitives on an MLS hot path (Ed25519 sign/verify, X25519), keys given as bytes.
//
//   npm run bench:hpke [-- --runs 7 --ms 1000]

import { diffieHellman, generateKeyPairSync, sign, verify } from 'node:crypto';
import { Aes128Gcm, CipherSuite as HpkeLibSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { nodeCryptoProvider } from '@parley/mls/crypto-node';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const RUNS = arg('runs', 5);
const MS = arg('ms', 1000);

const suite = nodeCryptoProvider.suite(1);
const lib = new HpkeLibSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });

const info = new TextEncoder().encode('MLS 1.0 bench info');
const aad = new Uint8Array(0);
const plaintext = new Uint8Array(100).fill(7);
const recipient = await suite.hpke.generateKeyPair();
const libPublic = await lib.kem.deserializePublicKey(recipient.publicKey.slice().buffer);
const libPrivate = await lib.kem.deserializePrivateKey(recipient.privateKey.slice().buffer);

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** One seal and one open; checks the round trip so nothing is optimised away. */
type Pair = () => Promise<void>;

const ours: Pair = async () => {
  const { kemOutput, ciphertext } = await suite.hpke.seal(recipient.publicKey, info, aad, plaintext);
  const opened = await suite.hpke.open(kemOutput, recipient.privateKey, info, aad, ciphertext);
  if (opened.length !== plaintext.length) throw new Error('ours: round trip failed');
};

// The library at its best: keys imported once as CryptoKeys.
const libImported: Pair = async () => {
  const { ct: ciphertext, enc } = await lib.seal({ recipientPublicKey: libPublic, info }, plaintext, aad);
  const opened = await lib.open({ recipientKey: libPrivate, enc, info }, ciphertext, aad);
  if (opened.byteLength !== plaintext.length) throw new Error('@hpke/core: round trip failed');
};

// The library as the MLS interface would drive it: keys arrive as bytes on each call.
const libFromBytes: Pair = async () => {
  const pk = await lib.kem.deserializePublicKey(recipient.publicKey.slice().buffer);
  const { ct: ciphertext, enc } = await lib.seal({ recipientPublicKey: pk, info }, plaintext, aad);
  const sk = await lib.kem.deserializePrivateKey(recipient.privateKey.slice().buffer);
  const opened = await lib.open({ recipientKey: sk, enc, info }, ciphertext, aad);
  if (opened.byteLength !== plaintext.length) throw new Error('@hpke/core: round trip failed');
};

async function rate(pair: Pair): Promise<number> {
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < MS) {
    for (let i = 0; i < 50; i++) await pair();
    n += 50;
    elapsed = performance.now() - start;
  }
  return (n * 1000) / elapsed;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// Interoperability first: each side opens what the other sealed.
{
  const a = await suite.hpke.seal(recipient.publicKey, info, aad, plaintext);
  const fromOurs = new Uint8Array(await lib.open({ recipientKey: libPrivate, enc: a.kemOutput.slice().buffer, info }, a.ciphertext, aad));
  const b = await lib.seal({ recipientPublicKey: libPublic, info }, plaintext, aad);
  const fromLib = await suite.hpke.open(new Uint8Array(b.enc), recipient.privateKey, info, aad, new Uint8Array(b.ct));
  if (!same(fromOurs, plaintext) || !same(fromLib, plaintext)) throw new Error('the two HPKE implementations disagree');
}

const contenders: [string, Pair][] = [
  ['parley hpke (node:crypto)', ours],
  ['@hpke/core, keys imported once', libImported],
  ['@hpke/core, keys from bytes', libFromBytes],
];
const results = new Map<string, number[]>(contenders.map(([name]) => [name, []]));
for (const [, pair] of contenders) await rate(pair); // warm-up
for (let r = 0; r < RUNS; r++) {
  for (const [name, pair] of contenders) results.get(name)!.push(await rate(pair));
}

console.log(`HPKE suite 1 seal+open of ${plaintext.length} bytes, ${RUNS} runs of ${MS} ms, Node ${process.version}`);
const ourMedian = median(results.get(contenders[0]![0])!);
for (const [name] of contenders) {
  const xs = results.get(name)!;
  const m = median(xs);
  console.log(`${name.padEnd(34)} median ${m.toFixed(0).padStart(7)} /s   runs ${xs.map((x) => x.toFixed(0)).join(' ')}   ours/this ${(ourMedian / m).toFixed(2)}x`);
}

// The backend's overhead over bare node:crypto (KeyObjects held by the caller).
const ed = generateKeyPairSync('ed25519');
const x1 = generateKeyPairSync('x25519');
const x2 = generateKeyPairSync('x25519');
const message = new Uint8Array(200).fill(1);
const rawSignature = sign(null, message, ed.privateKey);
const signer = await suite.signature.generateKeyPair();
const signature = await suite.signature.sign(signer.privateKey, message);
const dhPeer = await suite.hpke.generateKeyPair();
const { MontgomeryDh } = await import('../packages/mls/src/crypto/node/dh.js');
const x25519 = new MontgomeryDh('X25519');
const primitives: [string, Pair, Pair][] = [
  ['Ed25519 sign', async () => void sign(null, message, ed.privateKey), async () => {
      await suite.signature.sign(signer.privateKey, message);
    }],
  [
    'Ed25519 verify',
    async () => {
      if (!verify(null, message, ed.publicKey, rawSignature)) throw new Error('bad signature');
    },
    async () => {
      if (!(await suite.signature.verify(signer.publicKey, message, signature))) throw new Error('bad signature');
    },
  ],
  ['X25519', async () => void diffieHellman({ privateKey: x1.privateKey, publicKey: x2.publicKey }), async () => {
      await x25519.dh(recipient.privateKey, dhPeer.publicKey);
    }],
];
console.log('\nbackend overhead: bare node:crypto vs the provider (keys as bytes), medians per second');
for (const [name, bare, provider] of primitives) {
  const b: number[] = [];
  const p: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    b.push(await rate(bare));
    p.push(await rate(provider));
  }
  console.log(`${name.padEnd(16)} node:crypto ${median(b).toFixed(0).padStart(7)}   provider ${median(p).toFixed(0).padStart(7)}   provider/bare ${(median(p) / median(b)).toFixed(2)}`);
}
