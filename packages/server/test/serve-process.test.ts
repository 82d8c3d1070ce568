// `parley serve` as its own process (apps/cli/bin/parley.js, run from the sources):
// SIGINT while a request is in flight lets that request finish, exits 0 and leaves a
// database that reopens cleanly; and its log output during register, login and send
// carries neither the password, nor the token, nor the message bytes.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { SqliteStore } from '@parley/server';
import { http, mlsGroup, MlsDevice, newUser, WsClient } from '@parley/testing';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const children: ChildProcess[] = [];

interface Served {
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything the process wrote to stdout so far (its address lines and its JSON logs). */
  out(): string;
  /** Resolves once stdout contains `text`. */
  waitFor(text: string): Promise<void>;
  exited: Promise<number | null>;
}

async function serve(data: string, logLevel: string): Promise<Served> {
  const args = ['--conditions=parley:source', '--import', 'tsx', join(root, 'apps/cli/bin/parley.js'), 'serve', '--port', '0', '--data', data, '--registration', 'open', '--no-rate-limits', '--log-level', logLevel];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  const onData = (d: Buffer): void => {
    out += d.toString('utf8');
    for (const w of waiters.splice(0)) {
      if (out.includes(w.text)) w.resolve();
      else waiters.push(w);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  const waitFor = (text: string): Promise<void> =>
    out.includes(text)
      ? Promise.resolve()
      : new Promise((resolve, reject) => {
          waiters.push({ text, resolve });
          void exited.then(() => {
            reject(new Error(`exited before "${text}": ${out}`));
          });
        });
  await waitFor('parley: listening on ');
  const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
  return { child, url, out: () => out, waitFor, exited };
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

it('SIGINT with a request in flight: the request completes, the exit code is 0, the database reopens cleanly', async () => {
  const data = mkdtempSync(join(tmpdir(), 'parley-sigint-'));
  const s = await serve(data, 'info');
  const body = Buffer.from(JSON.stringify({ username: 'inflight', password: 'inflight-password' }), 'utf8');
  const u = new URL(s.url);
  // A registration whose body arrives in two halves; SIGINT comes between them.
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method: 'POST', path: '/v1/accounts', headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString('utf8')));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: text });
      });
    });
    req.on('error', reject);
    req.write(body.subarray(0, 10));
    // The server has the request (Fastify logs it on arrival) before the signal is sent.
    void s.waitFor('incoming request').then(async () => {
      s.child.kill('SIGINT');
      await s.waitFor('SIGINT, stopping');
      req.end(body.subarray(10));
    });
  });
  const done = await answer;
  expect(done.status).toBe(201);
  expect(JSON.parse(done.body)).toMatchObject({ userId: 'inflight' });
  expect(await s.exited).toBe(0);
  expect(s.out()).toContain('server stopped');

  // The database closed cleanly: the WAL was checkpointed and removed, integrity holds, the user is there.
  expect(existsSync(join(data, 'parley.db-wal'))).toBe(false);
  const db = new Database(join(data, 'parley.db'), { readonly: true });
  expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  db.close();
  const store = new SqliteStore(join(data, 'parley.db'));
  await store.check();
  expect((await store.getUser('inflight'))?.id).toBe('inflight');
  await store.close();

  // And the server starts again on the same data.
  const again = await serve(data, 'silent');
  expect((await http(again.url, 'POST', '/v1/sessions', { username: 'inflight', password: 'inflight-password' })).status).toBe(201);
  again.child.kill('SIGTERM');
  expect(await again.exited).toBe(0);
});

it('the log output during register, login and send carries no password, token or message bytes', async () => {
  const data = mkdtempSync(join(tmpdir(), 'parley-logs-'));
  const s = await serve(data, 'trace');
  const alice = await newUser(s.url);
  const bob = await newUser(s.url);
  const a = await MlsDevice.register(s.url, alice);
  const b = await MlsDevice.register(s.url, bob);
  const group = await mlsGroup(s.url, a, [b]);
  const wa = await WsClient.connect(s.url.replace(/^http/, 'ws') + '/v1/ws', a.token);
  const wb = await WsClient.connect(s.url.replace(/^http/, 'ws') + '/v1/ws', b.token);
  const payload = new Uint8Array(randomBytes(64));
  expect(await wa.send(group, payload)).toMatchObject({ type: 'sent' });
  await wb.until(() => wb.delivered.some((f) => Buffer.from(f.payload).equals(payload)));
  await wa.close();
  await wb.close();
  s.child.kill('SIGINT');
  expect(await s.exited).toBe(0);

  const logs = s.out();
  // The logs are there (this is not a silent server): the requests were logged.
  expect(logs).toContain('incoming request');
  expect(logs).toContain('/v1/accounts');
  const secrets = [alice.password, bob.password, alice.token, bob.token, a.token, b.token];
  for (const secret of secrets) expect(logs).not.toContain(secret);
  const p = Buffer.from(payload);
  for (const form of [p.toString('hex'), p.toString('base64'), p.toString('base64url'), p.subarray(0, 24).toString('base64')]) expect(logs).not.toContain(form);
  expect(logs.includes(p.toString('latin1'))).toBe(false);
});
