// A process writing batches into the SQLite store is SIGKILLed at arbitrary moments;
// after each kill the profile opens with every acknowledged batch wholly there, and any
// batch after it either wholly there or wholly absent.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore, PROFILE_DATABASE } from '../src/node/sqlite-store.js';
import { MESSAGES_PER_BATCH, stateOf } from './fixtures/crash-batches.js';

const passphrase = 'crash test passphrase';
const root = fileURLToPath(new URL('../../..', import.meta.url));
const writer = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));

/** Runs the writer until it has reported `atLeast` more batches, then SIGKILLs it. Returns the last reported batch. */
function runAndKill(directory: string, atLeast: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=parley:source', '--import', 'tsx', writer, directory], {
      cwd: root,
      env: { ...process.env, PARLEY_TEST_PASSPHRASE: passphrase },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let seen = 0;
    let last = -1;
    let buffered = '';
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        last = Number(line);
        seen++;
      }
      if (seen >= atLeast && !killed) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('exit', (_code, signal) => {
      if (signal === 'SIGKILL') resolve(last);
      else reject(new Error(`writer exited without being killed: ${stderr}`));
    });
  });
}

describe('SQLite ClientStore under SIGKILL', () => {
  const directory = mkdtempSync(join(tmpdir(), 'parley-crash-'));
  afterAll(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  it('reopens consistent after each of several kills mid-write', async () => {
    for (const atLeast of [25, 40, 17]) {
      const acknowledged = await runAndKill(directory, atLeast);
      const store = await openSqliteStore({ directory, passphrase });
      const cursor = await store.getCursor('inbox');
      expect(cursor).toBeDefined();
      const c = Number(cursor);
      // Every acknowledged batch is there; at most the one in flight got in too.
      expect(c).toBeGreaterThanOrEqual(acknowledged);
      expect(c).toBeLessThanOrEqual(acknowledged + 1);
      // The group state belongs to batch c…
      const state = await store.getGroupState('g');
      expect(state?.epoch).toBe(BigInt(c));
      expect(state !== undefined && Buffer.from(state.state).equals(stateOf(c))).toBe(true);
      // …and so do the messages (all of batches 0..c, none later), the updates, pending items and contacts.
      const messages = await store.listMessages('g');
      expect(messages).toHaveLength((c + 1) * MESSAGES_PER_BATCH);
      expect(messages.map((m) => m.senderSeq)).toEqual(Array.from({ length: (c + 1) * MESSAGES_PER_BATCH }, (_, i) => i));
      expect(await store.getSenderSeq('g', { userId: 'bob', deviceId: 'b1' })).toBe((c + 1) * MESSAGES_PER_BATCH - 1);
      expect((await store.getMessage('g', `b${c}-m0`))?.status).toBe('received');
      if (c > 0) expect((await store.getMessage('g', `b${c - 1}-m0`))?.status).toBe('read');
      expect((await store.listPending()).map((p) => p.id)).toEqual([`p${c}`]);
      expect((await store.getContact('bob'))?.identityKey).toEqual(new Uint8Array(32).fill(c & 0xff));
      await store.close();
      const db = new Database(join(directory, PROFILE_DATABASE), { readonly: true });
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      db.close();
    }
  });
});
