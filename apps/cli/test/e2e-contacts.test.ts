// `parley contacts` and `parley contacts accept` against a real `parley serve` on
// loopback, every client a separate `parley` process, and what an unaccepted identity-key
// change does meanwhile (the client's policy, client.ts deviceRefusal): a Welcome into a
// group with a device the new key certifies is refused, and so is a commit adding one and
// the rejoin that would bring this device back into a group with it; once the key is
// accepted, the contact's Welcomes open and the rejoin goes through.
//
// Why the change is seeded into the profile and not provoked: the server refuses to
// replace a published identity key, so a changed key comes only from a hostile directory
// (test/attacks/identity-key-substitution.test.ts does that). Here the profile is made to
// hold what the client records when it sees one: the key it had trusted before pinned,
// the directory's key as the current one. The directory's key is then the "new" key, and
// every device of that user is certified by it.
import { generateIdentityKey } from '@parley/client';
import { nodeClientCrypto, openSqliteStore } from '@parley/client/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliUser, ok, startParley, type CliUser, type Parley, type Result } from './harness.js';

let p: Parley;

/** Runs and expects success with warnings: returns stdout and the stderr lines. */
async function warned(r: Promise<Result>): Promise<{ out: string; lines: string[] }> {
  const res = await r;
  expect(res.code, res.stderr).toBe(0);
  const lines = res.stderr.split('\n').filter((l) => l !== '');
  for (const l of lines) expect(l).toMatch(/^parley: (warning|note): /);
  return { out: res.stdout, lines };
}

/** What the client records when `userId`'s identity key changed from one it trusted: that one pinned. */
async function seedKeyChange(u: CliUser, userId: string): Promise<void> {
  const store = await openSqliteStore({ directory: u.profile, passphrase: u.passphrase });
  try {
    const c = await store.getContact(userId);
    if (c === undefined) throw new Error(`no contact ${userId}`);
    const trustedBefore = (await generateIdentityKey(nodeClientCrypto)).publicKey;
    await store.commit({ contacts: [{ ...c, keyChangedAt: Date.now(), pinnedIdentityKey: trustedBefore }] });
  } finally {
    await store.close();
  }
}

interface ContactsJson {
  contacts: { userId: string; verified: boolean; keyChangedAt: string | null; unaccepted: boolean; verifyAgain: boolean }[];
}
const contactsJson = async (u: CliUser, ...args: string[]): Promise<ContactsJson> => JSON.parse(await ok(u.run('contacts', ...args, '--json'))) as ContactsJson;
const texts = async (u: CliUser, conv: string): Promise<(string | undefined)[]> =>
  (JSON.parse(await ok(u.run('read', conv, '--json'))) as { messages: { text?: string }[] }).messages.map((m) => m.text);

let alice: CliUser;
let bob: CliUser;
let dm: string;

beforeAll(async () => {
  p = await startParley();
  alice = cliUser(p, 'alice');
  bob = cliUser(p, 'bob');
  for (const [name, u] of [['alice', alice], ['bob', bob]] as const) await ok(u.run('register', name, '--password-file', u.passwordFile, '--server', p.url));
});

afterAll(async () => {
  await p.close();
});

describe('parley contacts', () => {
  it('lists a changed key not accepted; a Welcome from that contact is refused until it is accepted', { timeout: 120_000 }, async () => {
    dm = (await ok(alice.run('dm', 'bob'))).trim();
    await ok(bob.run('sync'));
    expect(await ok(alice.run('contacts'))).toBe('bob  not verified\n');
    expect(await ok(alice.run('contacts', '--changed'))).toBe('no contact has an identity key change to accept\n');

    await seedKeyChange(alice, 'bob');
    expect(await ok(alice.run('contacts', '--changed'))).toMatch(/^bob {2}identity key changed .*, not accepted: their new devices are refused \(parley verify bob, or parley contacts accept bob\)\n$/);
    expect((await contactsJson(alice)).contacts).toMatchObject([{ userId: 'bob', verified: false, unaccepted: true, verifyAgain: false }]);

    // A group of Bob's with Alice: his devices are certified by the key not accepted.
    const team = (await ok(bob.run('group', 'create', 'team', 'alice'))).trim();
    const refused = await warned(alice.run('sync'));
    expect(refused.out).not.toContain(team);
    expect(refused.lines.join('\n')).toMatch(/\(identity-key-unacknowledged\)/);
    expect((JSON.parse(await ok(alice.run('chats', '--json'))) as { conversations: { id: string }[] }).conversations.map((c) => c.id)).toEqual([dm]);

    // Accepting binds to the number of the key shown: another number is refused.
    const res = await alice.run('contacts', 'accept', 'bob', '0'.repeat(60));
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^parley: .*\(identity-key-changed\)\n$/);
    expect((await contactsJson(alice, '--changed')).contacts).toHaveLength(1);
    const digits = (JSON.parse(await ok(alice.run('verify', 'bob', '--json'))) as { safetyNumber: string }).safetyNumber;
    const accepted = await ok(alice.run('contacts', 'accept', 'bob', ...(digits.match(/[0-9]{5}/g) ?? [])));
    expect(accepted).toMatch(/^accepted bob's new identity key \(not verified\)/);
    expect(await ok(alice.run('contacts', '--changed'))).toBe('no contact has an identity key change to accept\n');
    expect(await ok(alice.run('contacts', 'accept', 'bob'))).toMatch(/^nothing to accept/);

    // Now Bob's Welcomes open.
    const team2 = (await ok(bob.run('group', 'create', 'team2', 'alice'))).trim();
    expect(await ok(alice.run('sync'))).toContain(`joined ${team2}`);
  });

  it('wrong usage is one line and status 2', async () => {
    for (const args of [['contacts', 'accept'], ['contacts', 'forget', 'bob'], ['contacts', 'accept', 'bob', '123'], ['contacts', 'accept', 'bob', '--changed']]) {
      const res = await alice.run(...args);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toMatch(/^parley: .*usage: parley contacts/);
    }
  });
});

describe('while a key change is not accepted', () => {
  it('a commit adding the contact’s new device is refused, and so is the rejoin into the group with it; after accepting, the rejoin goes through', { timeout: 180_000 }, async () => {
    await seedKeyChange(alice, 'bob');
    const bob2 = cliUser(p, 'bob', 'bob-2', bob.passphrase);
    await ok(bob2.run('login', 'bob', '--password-file', bob.passwordFile, '--server', p.url));
    await ok(bob.run('devices')); // adds the new device to Bob's conversations

    const refused = await warned(alice.run('sync'));
    expect(refused.lines.join('\n')).toMatch(/new identity key was refused.*\(identity-key-unacknowledged\)/);
    const line = (JSON.parse(await ok(alice.run('read', dm, '--json'))) as { messages: { event?: string; detail?: string }[] }).messages.at(-1);
    expect(line).toMatchObject({ event: 'device-refused', detail: 'bob' });

    // Bob writes in the epoch Alice refused to enter: she would rejoin, but the group holds the refused device.
    await ok(bob.run('send', dm, 'while the key is not accepted'));
    const rejoin = await warned(alice.run('sync'));
    expect(rejoin.lines.join('\n')).toMatch(/rejoining a conversation failed in \S+ \(identity-key-unacknowledged\)/);
    expect(await texts(alice, dm)).not.toContain('while the key is not accepted');

    await ok(alice.run('contacts', 'accept', 'bob'));
    await ok(bob.run('send', dm, 'after the key was accepted'));
    const back = await warned(alice.run('sync'));
    expect(back.lines.join('\n')).toMatch(/\(rejoined\)/);
    await ok(bob.run('send', dm, 'after the rejoin'));
    await warned(alice.run('sync'));
    expect(await texts(alice, dm)).toContain('after the rejoin');
    await ok(alice.run('send', dm, 'alice is back'));
    expect(await texts(bob2, dm)).toContain('alice is back');
  });
});
