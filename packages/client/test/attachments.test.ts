// Attachments (src/sdk/attachments.ts): encrypted on the device, checked by hash before
// decrypting, the reference carried in a text body and validated field by field; and the
// upload/download round trip against a real server on loopback, by a group member only.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore, ParleyClient, type FetchLike } from '../src/index.js';
import { AttachmentApi, attachmentText, cleanName, decryptAttachment, encryptAttachment, parseAttachmentText } from '../src/sdk/attachments.js';
import { nodeClientCrypto, nodeWebSocketFactory } from '../src/node/index.js';
import { nodeCryptoProvider } from '@parley/mls/crypto-node';
import { startTestServer, type TestServer } from '@parley/testing';

const crypto = nodeClientCrypto;
const data = new TextEncoder().encode('the minutes of the meeting');

describe('attachment encryption', () => {
  it('round-trips, and the ciphertext hides the content', async () => {
    const { ciphertext, ref } = await encryptAttachment(crypto, data, 'minutes.txt', 'text/plain');
    expect(Buffer.from(ciphertext).includes(Buffer.from('meeting'))).toBe(false);
    expect(ciphertext.length).toBe(data.length + 16);
    expect(await decryptAttachment(crypto, ciphertext, { ...ref, attachmentId: 'x'.repeat(43) })).toEqual(data);
  });

  it('refuses a swapped or altered ciphertext before decrypting', async () => {
    const a = await encryptAttachment(crypto, data, 'a.txt', 'text/plain');
    const b = await encryptAttachment(crypto, data, 'b.txt', 'text/plain');
    const err = await decryptAttachment(crypto, b.ciphertext, { ...a.ref, attachmentId: 'x'.repeat(43) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'attachment-mismatch' });
    const flipped = a.ciphertext.slice();
    flipped[0]! ^= 1;
    // Same hash check on the tampered copy: the reference's hash no longer matches.
    expect(await decryptAttachment(crypto, flipped, { ...a.ref, attachmentId: 'x'.repeat(43) }).catch((e: unknown) => e)).toMatchObject({ code: 'attachment-mismatch' });
  });

  it('carries the reference in a text body and reads it back', async () => {
    const { ref } = await encryptAttachment(crypto, data, 'photo.png', 'IMAGE/PNG');
    const full = { ...ref, attachmentId: 'A'.repeat(43) };
    const text = attachmentText(full);
    expect(text.startsWith('📎 photo.png\n')).toBe(true);
    expect(parseAttachmentText(text)).toEqual({ ...full, mediaType: 'image/png' });
    expect(parseAttachmentText('just text')).toBeUndefined();
  });

  it('refuses malformed references with invalid-attachment', () => {
    const enc = (o: object): string => `x\nparley-attachment:1:${Buffer.from(JSON.stringify(o)).toString('base64url')}`;
    const good = { id: 'A'.repeat(43), k: Buffer.alloc(32).toString('base64url'), n: Buffer.alloc(12).toString('base64url'), h: Buffer.alloc(32).toString('base64url'), name: 'a', type: 'text/plain', size: 1 };
    expect(parseAttachmentText(enc(good))?.size).toBe(1);
    for (const bad of [{ id: '../etc' }, { k: 'AAAA' }, { n: Buffer.alloc(16).toString('base64url') }, { type: 'text/html; script' }, { size: -1 }, { size: 1.5 }, { name: 'x'.repeat(300) }]) {
      expect(() => parseAttachmentText(enc({ ...good, ...bad })), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'invalid-attachment' }));
    }
    expect(() => parseAttachmentText('parley-attachment:1:%%%')).toThrow(expect.objectContaining({ code: 'invalid-attachment' }));
  });

  it('cleans names of control and bidi-override characters', () => {
    expect(cleanName('photo\u202Egnp.exe')).toBe('photognp.exe');
    expect(cleanName('\u0000\n ')).toBe('file');
  });
});

describe('attachment upload and download, real server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  /** A client whose session token the test can read (from the requests it sends). */
  async function client(name: string): Promise<{ client: ParleyClient; api: AttachmentApi }> {
    let token: string | undefined;
    const watch: FetchLike = async (input, init) => {
      const auth = init.headers.authorization;
      if (auth !== undefined) token = auth.slice('Bearer '.length);
      return fetch(input, init);
    };
    const c = await ParleyClient.register({ serverUrl: server.url, store: createMemoryStore(), crypto, provider: nodeCryptoProvider, fetch: watch, webSocket: nodeWebSocketFactory }, name, `${name} password`, undefined, `${name} backup passphrase`);
    return { client: c, api: new AttachmentApi(server.url, () => token) };
  }

  it('a member uploads, another member downloads and opens it; a non-member gets unknown-attachment', async () => {
    const alice = await client('att-alice');
    const bob = await client('att-bob');
    const eve = await client('att-eve');
    const groupId = await alice.client.openDirect('att-bob');
    await bob.client.sync();
    const ref = await alice.api.send(crypto, groupId, data, 'minutes.txt', 'text/plain');
    const parsed = parseAttachmentText(attachmentText(ref));
    expect(parsed).toBeDefined();
    expect(await bob.api.open(crypto, parsed!)).toEqual(data);
    await expect(eve.api.open(crypto, parsed!)).rejects.toMatchObject({ code: 'unknown-attachment' });
    await expect(eve.api.upload(groupId, new Uint8Array(3))).rejects.toMatchObject({ code: 'not-a-member' });
    for (const c of [alice, bob, eve]) await c.client.close();
  });
});
