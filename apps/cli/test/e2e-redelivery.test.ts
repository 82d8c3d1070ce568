// Through the command line, against a real `parley serve` on loopback: what a `parley`
// profile is handed twice. A late retry of a send, past the server's de-dup window of a
// group's last 256 message ids (docs/protocol.md), is stored and delivered again under a
// new seq with the same ciphertext; MLS refuses the copy (its generation was used), and
// `parley sync` shows the message once, says nothing alarming, and counts the duplicate
// (`--json`). The sender is an SDK client in this process, so that its one request can be
// sent again byte for byte, as a retrying client would.
import { HttpApi, ParleyClient, createMemoryStore, type FetchLike } from '@parley/client';
import { nodeClientCrypto, nodeCryptoProvider } from '@parley/client/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliUser, ok, startParley, type Parley } from './harness.js';

let p: Parley;

beforeAll(async () => {
  p = await startParley();
});

afterAll(async () => {
  await p.close();
});

describe('a retry the server stored twice', () => {
  it('parley sync shows the message once, warns of nothing, and counts the duplicate', { timeout: 120_000 }, async () => {
    const bob = cliUser(p, 'bob');
    await ok(bob.run('register', 'bob', '--password-file', bob.passwordFile, '--server', p.url));

    let first: { messageId: string; message: string } | undefined;
    const keeping: FetchLike = (input, init) => {
      if (first === undefined && init.method === 'POST' && input.endsWith('/messages') && init.body !== undefined) first = JSON.parse(init.body) as typeof first;
      return fetch(input, init);
    };
    const options = { serverUrl: p.url, store: createMemoryStore(), crypto: nodeClientCrypto, provider: nodeCryptoProvider, keyPackages: 2, backupKdf: { logN: 10, r: 8, p: 1 }, fetch: keeping };
    const alice = await ParleyClient.register(options, 'alice', 'account password of alice', undefined, 'passphrase of alice for this test');
    const dm = await alice.openDirect('bob');
    expect(await ok(bob.run('sync'))).toContain(`joined ${dm}`);

    const sent = await alice.sendText(dm, 'sent once, stored twice');
    for (let i = 0; i < 257; i++) await alice.sendText(dm, `filler ${String(i)}`);
    const api = new HttpApi(p.url);
    api.setToken((await api.login('alice', 'account password of alice', alice.deviceId)).token);
    expect(first?.messageId).toBe(sent.messageId);
    expect((await api.sendMessage(dm, first?.messageId ?? '', Buffer.from(first?.message ?? '', 'base64'))).duplicate).toBe(false);

    const report = JSON.parse(await ok(bob.run('sync', '--json'))) as { messages: number; warnings: unknown[]; skipped: { id: string; beforeJoin: number; duplicates: number }[] };
    expect(report.warnings).toEqual([]);
    expect(report.skipped).toEqual([{ id: dm, beforeJoin: 0, duplicates: 1 }]);
    expect(report.messages).toBe(258);
    const read = JSON.parse(await ok(bob.run('read', dm, '--json'))) as { messages: { text?: string }[] };
    expect(read.messages.filter((m) => m.text === 'sent once, stored twice')).toHaveLength(1);

    // The conversation goes on both ways.
    await alice.sendText(dm, 'after the duplicate');
    await ok(bob.run('send', dm, 'and back'));
    expect((JSON.parse(await ok(bob.run('read', dm, '--json'))) as typeof read).messages.map((m) => m.text)).toContain('after the duplicate');
    await alice.sync();
    expect((await alice.history(dm)).map((m) => (m.body.type === 'text' ? m.body.text : ''))).toContain('and back');
    await alice.close();
  });
});
