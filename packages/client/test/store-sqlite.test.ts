// The encrypted SQLite ClientStore passes the ClientStore conformance suite, and holds
// its promises about encryption at rest: a wrong passphrase is a typed error, a record
// moved to another row does not open, and no sent text or key is in the profile files.
import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientStoreConformance } from '@parley/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreError } from '../src/errors.js';
import { changeSqliteStorePassphrase, openSqliteStore, PROFILE_DATABASE, type KdfParams } from '../src/node/sqlite-store.js';
import type { ClientStore, MessageRecord } from '../src/store/client-store.js';
import { SecretBytes } from '../src/util/secret.js';

/** Cheap scrypt for tests; real profiles use DEFAULT_KDF. */
const kdf: KdfParams = { N: 1 << 10, r: 8, p: 1 };
const passphrase = 'correct horse battery staple';

function tempProfile(): string {
  return mkdtempSync(join(tmpdir(), 'parley-profile-'));
}

clientStoreConformance('sqlite', async () => {
  const directory = tempProfile();
  return {
    store: await openSqliteStore({ directory, passphrase, kdf }),
    reopen: () => openSqliteStore({ directory, passphrase, kdf }),
    cleanup: async () => {
      rmSync(directory, { recursive: true, force: true });
    },
  };
});

function text(messageId: string, body: string): MessageRecord {
  return {
    groupId: 'conversation-with-bob',
    messageId,
    sender: { userId: 'alice', deviceId: 'laptop' },
    senderSeq: 1,
    sentAt: 1_700_000_000_000,
    receivedAt: 1_700_000_000_001,
    body: { type: 'text', text: body },
    status: 'sent',
    receipts: [],
  };
}

describe('SQLite ClientStore at rest', () => {
  const dirs: string[] = [];
  const stores: ClientStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const open = async (directory: string, p = passphrase): Promise<ClientStore> => {
    const s = await openSqliteStore({ directory, passphrase: p, kdf });
    stores.push(s);
    return s;
  };
  const profile = (): string => {
    const d = tempProfile();
    dirs.push(d);
    return d;
  };

  it('refuses a wrong passphrase with wrong-passphrase, and still opens with the right one', async () => {
    const dir = profile();
    const s = await open(dir);
    await s.commit({ cursors: { inbox: '7' } });
    await s.close();
    const err: unknown = await openSqliteStore({ directory: dir, passphrase: 'not it', kdf }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('wrong-passphrase');
    expect(String(err)).not.toContain('not it');
    expect(await (await open(dir)).getCursor('inbox')).toBe('7');
  });

  it('changes the passphrase without rewriting records; the old one stops working', async () => {
    const dir = profile();
    const s = await open(dir);
    await s.commit({ cursors: { inbox: '9' }, messages: [text('m1', 'kept across the change')] });
    await s.close();
    const wrong: unknown = await changeSqliteStorePassphrase({ directory: dir, passphrase: 'guess', newPassphrase: 'new one', kdf }).catch((e: unknown) => e);
    expect((wrong as StoreError).code).toBe('wrong-passphrase');
    await changeSqliteStorePassphrase({ directory: dir, passphrase, newPassphrase: 'a new passphrase', kdf });
    const old: unknown = await openSqliteStore({ directory: dir, passphrase, kdf }).catch((e: unknown) => e);
    expect((old as StoreError).code).toBe('wrong-passphrase');
    const again = await open(dir, 'a new passphrase');
    expect(await again.getCursor('inbox')).toBe('9');
    expect((await again.getMessage('conversation-with-bob', 'm1'))?.body).toEqual({ type: 'text', text: 'kept across the change' });
  });

  it('keeps the profile readable by its owner only', async () => {
    const dir = profile();
    const s = await open(dir);
    await s.commit({ cursors: { inbox: '1' } });
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).mode & 0o077).toBe(0);
    const fresh = join(dir, 'nested');
    await (await open(fresh)).close();
    expect(statSync(fresh).mode & 0o777).toBe(0o700);
  });

  it('uses the scrypt parameters the profile was created with', async () => {
    const dir = profile();
    await (await open(dir)).commit({ cursors: { inbox: '1' } });
    // Asking for other parameters does not change how an existing profile's key is derived.
    const s = await openSqliteStore({ directory: dir, passphrase, kdf: { N: 1 << 11, r: 8, p: 1 } });
    stores.push(s);
    expect(await s.getCursor('inbox')).toBe('1');
  });

  it('detects a record moved to another row (corrupt-record)', async () => {
    const dir = profile();
    const s = await open(dir);
    await s.commit({ cursors: { a: 'first', b: 'second' }, messages: [text('m1', 'one'), text('m2', 'two')] });
    await s.close();
    const db = new Database(join(dir, PROFILE_DATABASE));
    const rows = db.prepare<[], { k: Buffer; v: Buffer }>("SELECT k, v FROM kv WHERE ns = 'cursor'").all();
    expect(rows).toHaveLength(2);
    db.prepare('UPDATE kv SET v = ? WHERE ns = ? AND k = ?').run(rows[0]!.v, 'cursor', rows[1]!.k);
    const msgs = db.prepare<[], { id: number; v: Buffer }>('SELECT id, v FROM messages ORDER BY id').all();
    db.prepare('UPDATE messages SET v = ? WHERE id = ?').run(msgs[0]!.v, msgs[1]!.id);
    db.close();
    const again = await open(dir);
    const results = await Promise.all([again.getCursor('a'), again.getCursor('b')].map((p) => p.then(() => 'ok', (e: unknown) => (e as StoreError).code)));
    expect(results.sort()).toEqual(['corrupt-record', 'ok']);
    const list: unknown = await again.listMessages('conversation-with-bob').catch((e: unknown) => e);
    expect((list as StoreError).code).toBe('corrupt-record');
  });

  it('counts the summary of a conversation written before summaries from its history, then keeps it', async () => {
    const dir = profile();
    const s = await open(dir);
    await s.commit({ messages: [text('m1', 'one'), { ...text('m2', 'two'), sender: { userId: 'bob', deviceId: 'phone' } }] });
    await s.close();
    // As a profile of an earlier version: messages, no summary rows.
    const db = new Database(join(dir, PROFILE_DATABASE));
    expect(db.prepare("DELETE FROM kv WHERE ns = 'message-summary'").run().changes).toBe(1);
    db.close();
    const again = await open(dir);
    const [, second] = await again.listMessages('conversation-with-bob');
    expect(await again.getMessageSummary('conversation-with-bob')).toEqual({ count: 2, lastOrder: second!.order, senders: [{ userId: 'alice', count: 1 }, { userId: 'bob', count: 1 }] });
    await again.commit({ messages: [text('m3', 'three')] });
    const db2 = new Database(join(dir, PROFILE_DATABASE), { readonly: true });
    expect(db2.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM kv WHERE ns = 'message-summary'").get()?.n).toBe(1);
    db2.close();
    const third = (await again.listMessages('conversation-with-bob', { limit: 1 }))[0]!;
    expect(await again.getMessageSummary('conversation-with-bob')).toEqual({ count: 3, lastOrder: third.order, senders: [{ userId: 'alice', count: 2 }, { userId: 'bob', count: 1 }] });
  });

  it('writes no message text, key, or id in clear to any file of the profile directory', async () => {
    const dir = profile();
    const secretText = 'the launch code is 7 4 1 9 and nobody else knows it';
    const key = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
    const s = await open(dir);
    await s.commit({
      account: { userId: 'alice-the-user', deviceId: 'laptop-device', serverUrl: 'https://parley.example.org', createdAt: 1 },
      identity: {
        identityPublicKey: new Uint8Array(32).fill(1),
        identityPrivateKey: new SecretBytes(key),
        deviceSignaturePublicKey: new Uint8Array(32).fill(2),
        deviceSignaturePrivateKey: new SecretBytes(key.slice().reverse()),
        deviceCertificate: new Uint8Array(100).fill(3),
        cipherSuite: 1,
      },
      groupStates: [{ groupId: 'conversation-with-bob', epoch: 1n, state: key }],
      messages: [text('message-id-1', secretText)],
    });
    // Enough further writes that the WAL holds pages, then look while open (the -wal and -shm exist)…
    for (let i = 0; i < 20; i++) await s.commit({ messages: [text(`more-${i}`, `${secretText} #${i}`)] });
    const needles: [string, Buffer][] = [
      ['text (utf-8)', Buffer.from(secretText, 'utf8')],
      ['text (utf-16)', Buffer.from(secretText, 'utf16le')],
      ['text (base64 fragment)', Buffer.from(Buffer.from(secretText, 'utf8').toString('base64').slice(0, 24), 'utf8')],
      ['key (raw)', Buffer.from(key)],
      ['key (hex)', Buffer.from(Buffer.from(key).toString('hex'), 'utf8')],
      ['key (base64)', Buffer.from(Buffer.from(key).toString('base64'), 'utf8')],
      ['reversed key (raw)', Buffer.from(key.slice().reverse())],
      ['user id', Buffer.from('alice-the-user', 'utf8')],
      ['group id', Buffer.from('conversation-with-bob', 'utf8')],
      ['message id', Buffer.from('message-id-1', 'utf8')],
      ['server url', Buffer.from('parley.example.org', 'utf8')],
    ];
    const scan = (): string[] => {
      const files = readdirSync(dir);
      const found: string[] = [];
      for (const f of files) {
        const content = readFileSync(join(dir, f));
        for (const [what, needle] of needles) if (content.includes(needle)) found.push(`${what} in ${f}`);
      }
      return found;
    };
    const whileOpen = readdirSync(dir);
    expect(whileOpen).toEqual(expect.arrayContaining([PROFILE_DATABASE, `${PROFILE_DATABASE}-wal`, `${PROFILE_DATABASE}-shm`]));
    expect(scan()).toEqual([]);
    // …and after closing (the WAL is checkpointed into the main file).
    await s.close();
    expect(scan()).toEqual([]);
    // The scan can find things: the same text is found in a file that has it.
    const control = await open(profile());
    await control.close();
    expect(readFileSync(join(dirs[dirs.length - 1]!, PROFILE_DATABASE)).includes(Buffer.from('scrypt'))).toBe(true);
    // And the data is really there for the right passphrase.
    const again = await open(dir);
    expect((await again.getMessage('conversation-with-bob', 'message-id-1'))?.body).toEqual({ type: 'text', text: secretText });
    expect((await again.getIdentity())?.identityPrivateKey.bytes).toEqual(key);
  });
});
