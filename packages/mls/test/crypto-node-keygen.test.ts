// Key generation on the Node backend: random private bytes imported as keys (RawKeys.generate),
// not generateKeyPairSync, because on Node 20 a key made by generateKeyPair[Sync] can
// deadlock its own export when the garbage collector finalises the KeyGenJob behind it
// (both lock the key's mutex). That hang froze test runs and benches at 0 % CPU. The
// stress case runs in a child process, since a deadlocked thread can never time out its
// own test, and is killed (and failed) if it does not finish.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeCryptoProvider } from '../src/crypto/node/index.js';
import { bytesEqual } from '../src/util/bytes.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'parley-keygen-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('Node backend key generation', () => {
  // Suite 1: X25519 and Ed25519; 2: P-256 (ECDH class, no change); 4: X448 and Ed448.
  for (const id of [1, 2, 4]) {
    it(`suite ${id}: generated keys are fresh and consistent (public key of the private key, DH agreement, signatures)`, async () => {
      const suite = nodeCryptoProvider.suite(id);
      const a = await suite.hpke.generateKeyPair();
      const b = await suite.hpke.generateKeyPair();
      expect(bytesEqual(a.privateKey, b.privateKey)).toBe(false);
      expect(await suite.hpke.publicKeyOf(a.privateKey)).toEqual(a.publicKey);
      const info = new Uint8Array([1, 2, 3]);
      const sealed = await suite.hpke.seal(b.publicKey, info, new Uint8Array(0), new Uint8Array([42]));
      expect(await suite.hpke.open(sealed.kemOutput, b.privateKey, info, new Uint8Array(0), sealed.ciphertext)).toEqual(new Uint8Array([42]));

      const s = await suite.signature.generateKeyPair();
      const t = await suite.signature.generateKeyPair();
      expect(bytesEqual(s.privateKey, t.privateKey)).toBe(false);
      expect(await suite.signature.publicKeyOf(s.privateKey)).toEqual(s.publicKey);
      const sig = await suite.signature.sign(s.privateKey, info);
      expect(await suite.signature.verify(s.publicKey, info, sig)).toBe(true);
      expect(await suite.signature.verify(t.publicKey, info, sig)).toBe(false);
    });
  }

  it('generates 80,000 key pairs with their exports without hanging (Node 20 KeyGenJob deadlock)', async () => {
    const script = join(tmp, 'stress.mts');
    const provider = pathToFileURL(join(root, 'packages/mls/src/crypto/node/index.ts')).href;
    writeFileSync(
      script,
      [
        `import { nodeCryptoProvider } from ${JSON.stringify(provider)};`,
        `const suite = nodeCryptoProvider.suite(1);`,
        `let keep: Uint8Array[] = [];`,
        `for (let i = 0; i < 40_000; i++) {`,
        `  const s = await suite.signature.generateKeyPair();`,
        `  const k = await suite.hpke.generateKeyPair();`,
        `  keep.push(s.publicKey, k.publicKey, new Uint8Array(256));`,
        `  if (keep.length > 3000) keep = [];`,
        `}`,
        `console.log('generated 80000');`,
      ].join('\n'),
    );
    const tsx = join(root, 'node_modules/.bin/tsx');
    const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(tsx, [script], { cwd: root, timeout: 150_000, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : (child.exitCode ?? null), signal: child.signalCode, stdout, stderr });
      });
    });
    expect(result.signal, 'the child was killed: key generation hung').toBeNull();
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('generated 80000');
  }, 180_000);
});
