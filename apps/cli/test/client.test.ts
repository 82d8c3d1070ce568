// Issue 6 items 6 and 7 through the command line: a real `parley serve` on loopback and
// every client a separate `parley` process working on its own profile directory — a 1:1
// chat both ways, an offline member catching up with `parley sync`, clients restarted
// from their profiles (every command is one), `parley chat` driven through stdin and
// stdout with a message arriving live, and the failures that must be one line.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliUser, ok, startParley, type CliUser, type Parley, type Result } from './harness.js';

let p: Parley;

/** Expects a failure: exit status `code` and exactly one line on stderr, matching `pattern`. */
async function fails(r: Promise<Result>, pattern: RegExp, code = 1): Promise<string> {
  const res = await r;
  expect(res.code).toBe(code);
  const lines = res.stderr.split('\n').filter((l) => l !== '');
  expect(lines, res.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^parley: /);
  expect(lines[0]).toMatch(pattern);
  expect(res.stderr).not.toContain('    at ');
  return lines[0] ?? '';
}

async function register(u: CliUser): Promise<void> {
  const out = await ok(u.run('register', u.name, '--password-file', u.passwordFile, '--server', p.url));
  expect(out).toMatch(new RegExp(`^registered ${u.name} \\(device [0-9a-f]+\\)`));
}

interface ReadJson {
  conversation: { id: string; kind: string; peer: string | null };
  messages: { sender: { userId: string }; own: boolean; text?: string; status: string; sentAt: string }[];
}

/** Every byte of every file under `dir`. */
function allBytes(dir: string): Buffer {
  return Buffer.concat(
    readdirSync(dir).map((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? allBytes(path) : readFileSync(path);
    }),
  );
}

let alice: CliUser;
let bob: CliUser;
let conv: string;

beforeAll(async () => {
  p = await startParley();
  alice = cliUser(p, 'alice');
  bob = cliUser(p, 'bob');
  await Promise.all([register(alice), register(bob)]);
});

afterAll(async () => {
  await p.close();
});

describe('a 1:1 conversation between two processes', () => {
  it('goes both ways: dm, send, sync, read, chats — each command a process restarted from its profile', async () => {
    conv = (await ok(alice.run('dm', 'bob'))).trim();
    expect(conv).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(await ok(alice.run('send', conv.slice(0, 6), 'hello bob, this is alice'))).toMatch(/^sent [A-Za-z0-9_-]{22} to /);

    const synced = await ok(bob.run('sync'));
    expect(synced).toContain(`joined ${conv} (alice)`);
    expect(synced).toContain('synced: 1 new message');
    const chats = JSON.parse(await ok(bob.run('chats', '--json'))) as { conversations: { id: string; kind: string; peer: string; unread: number; last: { text: string } }[] };
    expect(chats.conversations).toEqual([expect.objectContaining({ id: conv, kind: 'direct', peer: 'alice', unread: 1, last: expect.objectContaining({ text: 'hello bob, this is alice' }) as unknown })]);
    expect(await ok(bob.run('read', conv))).toMatch(/alice: hello bob, this is alice/);

    await ok(bob.run('send', conv, 'hi', 'alice,', 'bob here'));
    const read = JSON.parse(await ok(alice.run('read', conv, '--json'))) as ReadJson;
    expect(read.conversation).toMatchObject({ id: conv, kind: 'direct', peer: 'bob' });
    expect(read.messages.map((m) => [m.sender.userId, m.own, m.text])).toEqual([
      ['alice', true, 'hello bob, this is alice'],
      ['bob', false, 'hi alice, bob here'],
    ]);
    expect(new Date(read.messages[0]?.sentAt ?? '').getTime()).toBeGreaterThan(0);
    expect(read.messages[0]?.status).toMatch(/^(sent|delivered|read)$/);
  });

  it('an offline member catches up with parley sync', async () => {
    for (const text of ['while you were away 1', 'while you were away 2', 'while you were away 3']) await ok(alice.run('send', conv, text));
    const report = JSON.parse(await ok(bob.run('sync', '--json'))) as { messages: number; conversations: { id: string; messages: number }[] };
    expect(report.messages).toBe(3);
    expect(report.conversations).toEqual([{ id: conv, messages: 3 }]);
    const read = JSON.parse(await ok(bob.run('read', conv, '--json'))) as ReadJson;
    expect(read.messages.slice(-3).map((m) => m.text)).toEqual(['while you were away 1', 'while you were away 2', 'while you were away 3']);
    // Nothing more is pending.
    expect(JSON.parse(await ok(bob.run('sync', '--json')))).toMatchObject({ messages: 0 });
  });

  it('keeps neither a sent text nor the passphrase in clear in the profile', () => {
    for (const u of [alice, bob]) {
      const bytes = allBytes(u.profile);
      for (const secret of ['hello bob, this is alice', 'while you were away 2', u.passphrase, `account password of ${u.name}`]) expect(bytes.includes(Buffer.from(secret))).toBe(false);
    }
  });
});

describe('parley chat', () => {
  it('shows a message arriving live, sends what is typed, and leaves on end of input', { timeout: 120_000 }, async () => {
    const chat = p.spawn(['chat', conv, '--profile', bob.profile], { PARLEY_PASSPHRASE: bob.passphrase });
    try {
      await chat.waitFor(/^# alice \(/m);
      await chat.waitFor(/while you were away 3/);
      // A second process on the same profile is refused while the chat holds it.
      await fails(bob.run('send', conv, 'from another process'), /in use by another parley process/);

      await ok(alice.run('send', conv, 'a live message for bob'));
      await chat.waitFor(/alice: a live message for bob/);

      chat.write('typed into the chat\n');
      await chat.waitFor(/bob \(you\): typed into the chat/);
      chat.write('/quit\n');
      expect(await chat.exited).toBe(0);
    } finally {
      chat.child.kill();
    }
    expect(chat.stderr()).toBe('');
    const read = JSON.parse(await ok(alice.run('read', conv, '--json'))) as ReadJson;
    expect(read.messages.at(-1)).toMatchObject({ text: 'typed into the chat', own: false });
  });
});

describe('failures are one line on stderr with a non-zero exit status', () => {
  it('a wrong passphrase, a missing one, and a missing profile', async () => {
    const wrong = await fails(p.run(['chats', '--profile', alice.profile], { PARLEY_PASSPHRASE: 'not the passphrase' }), /wrong passphrase/);
    expect(wrong).not.toContain('not the passphrase');
    await fails(p.run(['chats', '--profile', alice.profile]), /PARLEY_PASSPHRASE/);
    await fails(p.run(['chats', '--profile', join(p.dir, 'nobody'), '--passphrase-file', alice.passwordFile]), /no profile in .*nobody/);
    await fails(p.run(['chats', '--profile', alice.profile, '--passphrase-file', join(p.dir, 'missing-file')]), /cannot read the passphrase file/);
  });

  it('an unknown conversation, an unknown user, and wrong usage', async () => {
    await fails(alice.run('read', 'zzzz-no-such'), /no such conversation: zzzz-no-such/);
    await fails(alice.run('send', 'zzzz', 'text'), /no such conversation/);
    await fails(alice.run('dm', 'no-such-user'), /no such user \(unknown-user\)/);
    await fails(alice.run('read'), /missing arguments; usage: parley read <conv>/, 2);
    await fails(alice.run('chats', '--bogus'), /Unknown option '--bogus'/, 2);
    await fails(p.run(['frobnicate']), /unknown command 'frobnicate'/, 2);
  });

  it('a taken user name, and registering into a profile that holds an account', async () => {
    const other = cliUser(p, 'alice2');
    await fails(p.run(['register', 'alice', '--password-file', other.passwordFile, '--server', p.url, '--profile', other.profile], { PARLEY_PASSPHRASE: other.passphrase }), /user name is taken \(username-taken\)/);
    // The failed registration left no profile behind.
    await fails(other.run('chats'), /no profile in/);
    await fails(alice.run('register', 'alice3', '--password-file', alice.passwordFile, '--server', p.url), /already holds an account/);
  });

  it('the server down', async () => {
    await fails(alice.run('chats', '--server', 'http://127.0.0.1:9'), /cannot reach the server at http:\/\/127\.0\.0\.1:9/);
    const newcomer = cliUser(p, 'carol-offline');
    await fails(newcomer.run('register', 'carol', '--password-file', newcomer.passwordFile, '--server', 'http://127.0.0.1:9'), /cannot reach the server at http:\/\/127\.0\.0\.1:9/);
  });
});
