// Runs `parley` as real, separate processes: the server (`parley serve` on loopback) and
// every client command. The binary (bin/parley.js) is bundled once per test file from
// the TypeScript sources with esbuild, so each run starts in a fraction of the time a
// TypeScript loader would take and tests the sources, not a stale dist/; npm packages
// (better-sqlite3, ws, fastify…) stay external and load from node_modules as usual.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { expect } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));

export interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Parley {
  /** The bundled bin/parley.js. */
  readonly bin: string;
  /** A scratch directory for profiles and secret files. */
  readonly dir: string;
  readonly url: string;
  /** Runs `parley …` to its end. */
  run(args: readonly string[], env?: Readonly<Record<string, string>>): Promise<Result>;
  /** Starts `parley …` with piped stdin for an interactive session. */
  spawn(args: readonly string[], env?: Readonly<Record<string, string>>): Interactive;
  /** Stops the server (SIGTERM) and removes every file made. */
  close(): Promise<void>;
  /** Stops only the server, for the "server down" cases. */
  stopServer(): Promise<void>;
  /** Stops the server and starts it again on the same port and data directory. */
  restartServer(): Promise<void>;
  /** The server's data directory (its SQLite files). */
  readonly dataDir: string;
  /** Everything every server process so far wrote to stdout and stderr (its logs). */
  serverLogs(): string;
}

export interface Interactive {
  readonly child: ChildProcessWithoutNullStreams;
  /** Everything written to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout matches `pattern` (searching from the start). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  write(line: string): void;
  end(): void;
  exited: Promise<number | null>;
}

async function bundle(): Promise<string> {
  // Inside the repository, so that the external packages resolve from its node_modules.
  const parent = join(root, 'node_modules', '.cache');
  mkdirSync(parent, { recursive: true });
  const out = mkdtempSync(join(parent, 'parley-cli-test-'));
  await build({
    // The server's store worker is an entry of its own, started by file (WorkerStore finds
    // sqlite-worker.js beside the code that starts it: the chunks are at the outdir's root).
    entryPoints: [
      { in: join(root, 'apps/cli/bin/parley.js'), out: 'parley' },
      { in: join(root, 'packages/server/src/store/sqlite-worker.ts'), out: 'sqlite-worker' },
    ],
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outdir: out,
    conditions: ['parley:source'],
    logLevel: 'warning',
    plugins: [
      {
        name: 'npm-packages-external',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (a) => (a.path.startsWith('@parley/') ? undefined : { external: true }));
        },
      },
    ],
  });
  return join(out, 'parley.js');
}

function baseEnv(dir: string, extra: Readonly<Record<string, string>> | undefined): NodeJS.ProcessEnv {
  // A clean environment: no passphrase or profile from the developer's own shell; HOME in
  // the scratch directory so the default profile is never the real one. Cheap scrypt
  // for the test profiles (the default costs ~1 s per command on a busy machine).
  return { PATH: process.env.PATH, HOME: dir, PARLEY_PROFILE_SCRYPT_N: '1024', ...extra };
}

function interactive(bin: string, args: readonly string[], env: NodeJS.ProcessEnv): Interactive {
  const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString('utf8');
    for (const w of [...waiters]) w();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => {
    // 'close', not 'exit': by then stdout and stderr have been read to their end.
    child.once('close', (code) => {
      for (const w of [...waiters]) w();
      resolve(code);
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = pattern.exec(out);
          if (m !== null) {
            cleanup();
            resolve(m);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            cleanup();
            reject(new Error(`parley exited (${String(child.exitCode)}) before printing ${String(pattern)}; stdout: ${out}; stderr: ${err}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${String(pattern)}; stdout: ${out}; stderr: ${err}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    write(line) {
      child.stdin.write(line);
    },
    end() {
      child.stdin.end();
    },
  };
}

/**
 * Bundles parley, starts `parley serve` (open registration) on a free loopback port.
 * `logLevel` (default silent): the server's log level, for the tests that read its logs.
 */
export async function startParley(options: { readonly logLevel?: string } = {}): Promise<Parley> {
  const bin = await bundle();
  const dir = mkdtempSync(join(tmpdir(), 'parley-cli-e2e-'));
  const dataDir = join(dir, 'server');
  let logs = '';
  const startServer = async (port: string): Promise<{ server: Interactive; url: string }> => {
    const server = interactive(bin, ['serve', '--port', port, '--host', '127.0.0.1', '--data', dataDir, '--registration', 'open', '--no-rate-limits', '--log-level', options.logLevel ?? 'silent'], baseEnv(dir, {}));
    server.end();
    const url = (await server.waitFor(/listening on (http:\/\/\S+)/))[1] ?? '';
    return { server, url };
  };
  let current = await startServer('0');
  const url = current.url;
  let stopped = false;
  const stopServer = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    current.server.child.kill('SIGTERM');
    await current.server.exited;
    logs += current.server.stdout() + current.server.stderr();
  };
  return {
    bin,
    dir,
    url,
    dataDir,
    serverLogs: () => logs + (stopped ? '' : current.server.stdout() + current.server.stderr()),
    async run(args, env) {
      const p = interactive(bin, args, baseEnv(dir, env));
      p.end();
      const code = await p.exited;
      return { code, stdout: p.stdout(), stderr: p.stderr() };
    },
    spawn: (args, env) => interactive(bin, args, baseEnv(dir, env)),
    stopServer,
    async restartServer() {
      await stopServer();
      current = await startServer(new URL(url).port);
      stopped = false;
    },
    async close() {
      await stopServer();
      rmSync(dir, { recursive: true, force: true });
      rmSync(join(bin, '..'), { recursive: true, force: true });
    },
  };
}

/** Writes a one-line secret file (mode 0600) and returns its path. */
export function secretFile(dir: string, name: string, secret: string): string {
  const path = join(dir, name);
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  return path;
}

/** A user of the CLI tests, with a profile of their own. */
export interface CliUser {
  readonly name: string;
  readonly profile: string;
  readonly passphrase: string;
  readonly passwordFile: string;
  /** Runs `parley <args> --profile <this user's>` with the passphrase in PARLEY_PASSPHRASE. */
  run(...args: string[]): Promise<Result>;
}

/** `name`'s account (password file included) with the profile `profileName`, under `p`'s scratch directory. */
export function cliUser(p: Parley, name: string, profileName = name, passphrase = `passphrase of ${profileName} for this test`): CliUser {
  const profile = join(p.dir, `profile-${profileName}`);
  return {
    name,
    profile,
    passphrase,
    passwordFile: secretFile(p.dir, `password-${name}`, `account password of ${name}`),
    run: (...args) => p.run([...args, '--profile', profile], { PARLEY_PASSPHRASE: passphrase }),
  };
}

/** Runs and expects success with nothing on stderr; returns stdout. */
export async function ok(r: Promise<Result>): Promise<string> {
  const res = await r;
  expect(res.stderr, res.stdout).toBe('');
  expect(res.code, res.stderr).toBe(0);
  return res.stdout;
}
