// Issue 6 items 4, 5 and 7 through the command line, every client a separate `parley`
// process against a real `parley serve` on loopback: a group of three with an addition
// and a removal (the removed member's device, handed every later ciphertext from the
// server's own database, decrypts none), the last administrator refused from leaving, a
// second device by `parley login`, `parley devices`, `parley verify` from both sides,
// delivery and read state in `parley read`, `parley chat` across a server restart, and
// neither the server's SQLite files nor its logs holding any text sent.
import { cpSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { deserializeState, processMessage } from '@parley/mls';
import { nodeCryptoProvider, openSqliteStore } from '@parley/client/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliUser, ok, startParley, type CliUser, type Parley, type Result } from './harness.js';

let p: Parley;

async function fails(r: Promise<Result>, pattern: RegExp, code = 1): Promise<string> {
  const res = await r;
  expect(res.code, res.stdout).toBe(code);
  const lines = res.stderr.split('\n').filter((l) => l !== '');
  expect(lines, res.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^parley: /);
  expect(lines[0]).toMatch(pattern);
  return lines[0] ?? '';
}

interface ReadJson {
  messages: { sender: { userId: string }; own: boolean; text?: string; status: string }[];
}

const readJson = async (u: CliUser, conv: string): Promise<ReadJson> => JSON.parse(await ok(u.run('read', conv, '--json'))) as ReadJson;

function allFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? allFiles(path) : [path];
  });
}

/** Every text any test here sends, for the check of the server's files and logs. */
const sent: string[] = [];
async function send(u: CliUser, conv: string, text: string): Promise<void> {
  sent.push(text);
  await ok(u.run('send', conv, text));
}

let alice: CliUser;
let bob: CliUser;
let carol: CliUser;
let group: string;
let dm: string;

beforeAll(async () => {
  // Debug logs: the most the server ever writes, for the check that they carry no text.
  p = await startParley({ logLevel: 'debug' });
  alice = cliUser(p, 'alice');
  bob = cliUser(p, 'bob');
  carol = cliUser(p, 'carol');
  for (const u of [alice, bob, carol]) await ok(u.run('register', u.name, '--password-file', u.passwordFile, '--server', p.url));
});

afterAll(async () => {
  await p.close();
});

describe('a group of three', () => {
  it('create, add, remove: the removed device decrypts none of the later ciphertexts the server holds', { timeout: 180_000 }, async () => {
    group = (await ok(alice.run('group', 'create', 'team', 'bob'))).trim();
    expect(group).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(await ok(alice.run('group', 'add', group, 'carol'))).toMatch(/^added carol; members now: .*alice \(admin\).*bob.*carol/);
    await send(alice, group, 'group hello from alice');
    for (const u of [bob, carol]) {
      expect(await ok(u.run('sync'))).toContain(`joined ${group}`);
      expect((await readJson(u, group)).messages.map((m) => m.text)).toContain('group hello from alice');
    }
    await send(carol, group, 'carol says hi before leaving');

    // Carol's device as it stands at the last epoch she belonged to: everything it holds.
    const snapshot = join(p.dir, 'carol-snapshot');
    cpSync(carol.profile, snapshot, { recursive: true });
    const store = await openSqliteStore({ directory: snapshot, passphrase: carol.passphrase });
    const record = await store.getGroupState(group);
    await store.close();
    expect(record).toBeDefined();

    expect(await ok(alice.run('group', 'remove', group, 'carol'))).toMatch(/^removed carol; members now: alice \(admin\), bob$/m);
    const later = ['after carol left, from alice', 'after carol left, from bob'];
    await send(alice, group, later[0] ?? '');
    await send(bob, group, later[1] ?? '');
    expect((await readJson(bob, group)).messages.map((m) => m.text)).toEqual(expect.arrayContaining(later));

    // Carol's own device is told it was removed and shows none of the later texts.
    await ok(carol.run('sync'));
    const carolSees = (await readJson(carol, group)).messages.map((m) => m.text ?? '');
    expect(carolSees).toContain('carol says hi before leaving');
    for (const t of later) expect(carolSees).not.toContain(t);
    await fails(carol.run('send', group, 'still here?'), /.+/);

    // Every message of the group's log, straight from the server's database, tried with
    // the state Carol held before the removal (a fresh copy for each one).
    const db = new Database(join(p.dataDir, readdirSync(p.dataDir).find((f) => f.endsWith('.db') || f.endsWith('.sqlite')) ?? 'parley.db'), { readonly: true, fileMustExist: true });
    const rows = db.prepare('SELECT seq, data FROM messages WHERE group_id = ? ORDER BY seq').all(group) as { seq: number; data: Buffer }[];
    db.close();
    expect(rows.length).toBeGreaterThanOrEqual(5);
    const outcomes: string[] = [];
    const decrypted: string[] = [];
    for (const row of rows) {
      const state = deserializeState(record?.state ?? new Uint8Array(), nodeCryptoProvider);
      try {
        const { event } = await processMessage(state, new Uint8Array(row.data));
        outcomes.push(event.type);
        if (event.type === 'application') decrypted.push(Buffer.from(event.data).toString('utf8'));
      } catch {
        outcomes.push('refused');
      }
    }
    // The state is live: it recognises its own removal in the log…
    expect(outcomes).toContain('removed');
    // …and nothing after that opens with it.
    const removedAt = outcomes.indexOf('removed');
    expect(outcomes.slice(removedAt + 1).length).toBeGreaterThanOrEqual(2);
    expect(outcomes.slice(removedAt + 1).every((o) => o === 'refused')).toBe(true);
    for (const t of later) expect(decrypted.some((d) => d.includes(t))).toBe(false);
  });

  it('the only administrator cannot leave while others remain; a member can', async () => {
    await fails(alice.run('leave', group), /you are the only administrator/);
    expect(await ok(bob.run('leave', group))).toMatch(/^left /);
    // Alice's device commits Bob's leave request when it next syncs.
    await ok(alice.run('sync'));
    const out = await ok(alice.run('group', 'add', group, 'carol'));
    expect(out).toMatch(/members now: alice \(admin\), carol$/m);
  });
});

describe('a second device, devices, verify, read state', () => {
  it('parley login needs the profile passphrase the backup was sealed under, not only the password', async () => {
    const stranger = cliUser(p, 'alice', 'alice-wrong', 'a different passphrase');
    expect(await fails(stranger.run('login', 'alice', '--password-file', alice.passwordFile, '--server', p.url), /wrong passphrase/)).not.toContain('a different passphrase');
    // Not under the account password either (which the server sees at every login).
    const server = cliUser(p, 'alice', 'alice-password', 'account password of alice');
    await fails(server.run('login', 'alice', '--password-file', alice.passwordFile, '--server', p.url), /wrong passphrase/);
    // Neither attempt enrolled a device.
    expect((JSON.parse(await ok(alice.run('devices', '--json'))) as { devices: unknown[] }).devices).toHaveLength(1);
  });

  it('a new device gets new messages, not the earlier history', { timeout: 120_000 }, async () => {
    dm = (await ok(alice.run('dm', 'bob'))).trim();
    await send(alice, dm, 'before the second device');
    await ok(bob.run('sync'));

    const before = JSON.parse(await ok(alice.run('verify', 'bob', '--json'))) as { safetyNumber: string };
    const alice2 = cliUser(p, 'alice', 'alice-2', alice.passphrase);
    expect(await ok(alice2.run('login', 'alice', '--password-file', alice.passwordFile, '--server', p.url))).toMatch(/^logged in as alice on a new device/);

    const devices = JSON.parse(await ok(alice.run('devices', '--json'))) as { userId: string; devices: { deviceId: string; current: boolean }[] };
    expect(devices.userId).toBe('alice');
    expect(devices.devices).toHaveLength(2);
    expect(devices.devices.filter((d) => d.current)).toHaveLength(1);
    const text = await ok(alice.run('devices'));
    expect(text.trim().split('\n')).toHaveLength(2);
    expect(text).toContain('(this device)');

    // `devices` above synced: the first device has added the new one to Alice's groups.
    await send(bob, dm, 'after the second device');
    // What came before the device joined was sealed for epochs it never had: its sync
    // skips those messages without a warning each, in one note per conversation.
    const res = await alice2.run('sync');
    expect(res.code, res.stderr).toBe(0);
    const notes = res.stderr.split('\n').filter((l) => l !== '');
    expect(notes.length, res.stderr).toBeGreaterThanOrEqual(1);
    const noted = notes.map((line) => /^parley: note: ([0-9]+) earlier messages? from before this device joined (?:was|were) skipped in (\S+)$/.exec(line));
    for (const [i, n] of noted.entries()) expect(n, notes[i]).not.toBeNull();
    expect(noted.map((n) => n?.[2])).toContain(dm.slice(0, 8));
    expect(new Set(noted.map((n) => n?.[2])).size).toBe(notes.length);
    const synced = res.stdout;
    expect(synced).toContain(`joined ${dm}`);
    const seen = (await readJson(alice2, dm)).messages.map((m) => m.text);
    expect(seen).toContain('after the second device');
    expect(seen).not.toContain('before the second device');

    // The safety number is of the identity keys: the same from both sides, and not
    // changed by Alice's new device.
    const a = JSON.parse(await ok(alice.run('verify', 'bob', '--json'))) as { safetyNumber: string; verified: boolean };
    const b = JSON.parse(await ok(bob.run('verify', 'alice', '--json'))) as { safetyNumber: string };
    const a2 = JSON.parse(await ok(alice2.run('verify', 'bob', '--json'))) as { safetyNumber: string };
    expect(a.safetyNumber).toMatch(/^[0-9]{60}$/);
    expect(b.safetyNumber).toBe(a.safetyNumber);
    expect(a2.safetyNumber).toBe(a.safetyNumber);
    expect(before.safetyNumber).toBe(a.safetyNumber);
    const shown = await ok(bob.run('verify', 'alice'));
    const groups = a.safetyNumber.match(/[0-9]{5}/g) ?? [];
    expect(shown).toContain(groups.slice(0, 6).join(' '));
    expect(shown).toContain(groups.slice(6).join(' '));
    expect(await ok(bob.run('verify', 'alice', '--confirm', a.safetyNumber))).toContain('alice is now verified');
  });

  it('parley read shows delivered once the other side synced, read once it read', { timeout: 120_000 }, async () => {
    await send(alice, dm, 'will bob read this');
    const status = async (): Promise<string | undefined> => (await readJson(alice, dm)).messages.find((m) => m.text === 'will bob read this')?.status;
    expect(await status()).toBe('sent');
    await ok(bob.run('sync'));
    expect(await status()).toBe('delivered');
    expect(await ok(bob.run('read', dm))).toContain('will bob read this');
    expect(await status()).toBe('read');
    expect(await ok(alice.run('read', dm))).toMatch(/will bob read this.*read/);
  });
});

describe('parley chat across a server restart', () => {
  it('says the connection was lost, reconnects, and messages flow both ways again', { timeout: 180_000 }, async () => {
    const chat = p.spawn(['chat', dm, '--profile', bob.profile], { PARLEY_PASSPHRASE: bob.passphrase });
    try {
      await chat.waitFor(/^# alice \(/m);
      await p.restartServer();
      await chat.waitFor(/\* connection lost; reconnecting/);
      await chat.waitFor(/\* reconnected/);
      await send(alice, dm, 'after the restart, from alice');
      await chat.waitFor(/alice: after the restart, from alice/);
      sent.push('typed after the restart');
      chat.write('typed after the restart\n');
      await chat.waitFor(/bob \(you\): typed after the restart/);
      chat.write('/quit\n');
      expect(await chat.exited).toBe(0);
    } finally {
      chat.child.kill();
    }
    expect(chat.stderr()).toBe('');
    expect((await readJson(alice, dm)).messages.map((m) => m.text)).toContain('typed after the restart');
  });
});

describe('what the server keeps', () => {
  it('neither its SQLite files nor its logs contain any text sent', () => {
    expect(sent.length).toBeGreaterThanOrEqual(8);
    const files = allFiles(p.dataDir);
    expect(files.some((f) => /\.(db|sqlite)(-wal)?$/.test(f) || f.endsWith('-wal'))).toBe(true);
    const bytes = Buffer.concat(files.map((f) => readFileSync(f)));
    const logs = p.serverLogs();
    expect(logs.length).toBeGreaterThan(0);
    for (const t of sent) {
      expect(bytes.includes(Buffer.from(t)), t).toBe(false);
      expect(logs.includes(t), t).toBe(false);
    }
    // The check can fail: the user names the server must know are in both.
    expect(bytes.includes(Buffer.from('carol'))).toBe(true);
  });
});
