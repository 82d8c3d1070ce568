// `parley admin` on a database directly, and `parley serve` as a real process that
// migrates, prints its address, serves, and stops cleanly on SIGTERM.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { http, newDevice, newUser, startTestServer, WsClient } from '@parley/testing';
import { main, type Io } from '../src/main.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));

function capture(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (s) => stdout.push(s), err: (s) => stderr.push(s) };
}

it('parley admin creates an administrator, users and invites on the database directly', async () => {
  const data = mkdtempSync(join(tmpdir(), 'parley-cli-'));
  const pwFile = join(data, 'pw');
  writeFileSync(pwFile, 'a-long-admin-password\n');
  const io = capture();
  expect(await main(['admin', 'create-user', 'root', '--admin', '--password-file', pwFile, '--data', data], io)).toBe(0);
  expect(io.stdout.join('')).toContain('created user root (admin)');
  expect(await main(['admin', 'create-user', 'root', '--password-file', pwFile, '--data', data], io)).toBe(1);
  expect(io.stderr.join('')).toContain('username-taken');
  expect(await main(['admin', 'create-invite', '--max-uses', '2', '--data', data], io)).toBe(0);
  expect(io.stdout.at(-1)).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
  expect(await main(['admin', 'deactivate-user', 'root', '--data', data], io)).toBe(0);
  const list = capture();
  expect(await main(['admin', 'list-users', '--data', data], list)).toBe(0);
  expect(list.stdout.join('')).toBe('root\tadmin\tdeactivated\t\n');
  const inv = capture();
  await main(['admin', 'list-invites', '--data', data], inv);
  expect(inv.stdout.join('')).toContain('uses 0/2');
  const id = /^([0-9a-f]{16})\t/.exec(inv.stdout.join(''))![1]!;
  expect(await main(['admin', 'revoke-invite', 'not-an-id', '--data', data], capture())).toBe(1);
  const rev = capture();
  expect(await main(['admin', 'revoke-invite', id, '--data', data], rev)).toBe(0);
  expect(rev.stdout.join('')).toBe(`revoked invite ${id}\n`);
  const gone = capture();
  expect(await main(['admin', 'revoke-invite', id, '--data', data], gone)).toBe(1);
  expect(gone.stderr.join('')).toContain('no such invite');
  const after = capture();
  await main(['admin', 'list-invites', '--data', data], after);
  expect(after.stdout.join('')).toBe('');
  expect(await main(['admin', 'bogus', '--data', data], capture())).toBe(1);
  expect(await main(['nope'], capture())).toBe(2);
  // The password never reaches the output.
  expect(io.stdout.join('') + io.stderr.join('')).not.toContain('a-long-admin-password');
});

it('parley admin deactivate-user on the database of a running server closes that user’s open WebSockets', async () => {
  // A real server on the same data directory; the CLI opens its own connection to the file.
  const srv = await startTestServer({ externalWritePollMs: 25 });
  try {
    const victim = await newUser(srv.url);
    const bystander = await newUser(srv.url);
    const [v1, v2, b] = [await newDevice(srv.url, victim), await newDevice(srv.url, victim), await newDevice(srv.url, bystander)];
    const sockets = await Promise.all([v1, v2, b].map((d) => WsClient.connect(srv.wsUrl, d.token)));
    const io = capture();
    expect(await main(['admin', 'deactivate-user', victim.userId, '--data', srv.dataDir], io)).toBe(0);
    expect(io.stdout.join('')).toBe(`deactivated ${victim.userId}\n`);
    await Promise.all(sockets.slice(0, 2).map((s) => s.until(() => s.closeCode !== undefined)));
    expect(sockets.map((s) => s.closeCode)).toEqual([4003, 4003, undefined]);
    // The bystander's socket still works; the victim's token no longer does, over HTTP or WebSocket.
    const pong = sockets[2]!.controls.length;
    sockets[2]!.ws.send(JSON.stringify({ type: 'ping', ref: 7 }));
    await sockets[2]!.until(() => sockets[2]!.controls.length > pong);
    expect(sockets[2]!.controls.at(-1)).toEqual({ type: 'pong', ref: 7 });
    expect((await http(srv.url, 'GET', '/v1/sessions/current', undefined, v1.token)).status).toBe(401);
    const again = await WsClient.connect(srv.wsUrl, v2.token);
    await again.until(() => again.closeCode !== undefined);
    expect([again.controls[0], again.closeCode]).toMatchObject([{ type: 'error', code: 'unauthenticated' }, 4001]);
    await sockets[2]!.close();
  } finally {
    await srv.close();
  }
});

it('parley serve prints its address, serves, and stops cleanly on SIGTERM', async () => {
  const data = mkdtempSync(join(tmpdir(), 'parley-serve-'));
  const child = spawn(
    join(root, 'node_modules/.bin/tsx'),
    ['--conditions=parley:source', '-e', `import('${join(root, 'apps/cli/src/main.ts')}').then(async (m) => { process.exitCode = await m.main(process.argv.slice(1)); })`, 'serve', '--port', '0', '--data', data, '--log-level', 'silent'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m !== null) resolve(m[1]!);
    });
    child.once('exit', () => {
      reject(new Error(`exited: ${out}`));
    });
  });
  const health = await fetch(`${url}/healthz`);
  expect(health.status).toBe(200);
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  expect(code).toBe(0);
  expect(out).toContain('SIGTERM, stopping');
});

it('parley admin creates a missing data directory, and a failure is one line, not a stack trace', async () => {
  const base = mkdtempSync(join(tmpdir(), 'parley-cli-'));
  const data = join(base, 'not', 'yet');
  const pwFile = join(base, 'pw');
  writeFileSync(pwFile, 'another-long-password\n');
  const ok = capture();
  expect(await main(['admin', 'create-user', 'ada', '--password-file', pwFile, '--data', data], ok)).toBe(0);
  expect(ok.stdout.join('')).toBe('created user ada\n');
  const bad = capture();
  expect(await main(['admin', 'create-user', 'bob', '--password-file', join(base, 'missing'), '--data', data], bad)).toBe(1);
  const err = bad.stderr.join('');
  expect(err.split('\n').filter((l) => l !== '')).toHaveLength(1);
  expect(err).toMatch(/^parley: /);
  expect(err).not.toContain('    at ');
});
