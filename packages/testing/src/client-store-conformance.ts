// ClientStore conformance suite: every implementation (memory, SQLite, later IndexedDB)
// registers these tests with its own factory, so they all keep one contract (the
// comments of packages/client/src/store/client-store.ts).

import {
  ClientUsageError,
  SecretBytes,
  StoreError,
  type AccountRecord,
  type ClientStore,
  type IdentityRecord,
  type MessageRecord,
  type WriteBatch,
} from '@parley/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

export interface ClientStoreHarness {
  readonly store: ClientStore;
  /** Opens the same backing storage again after `store` was closed (persistent stores only). */
  readonly reopen?: () => Promise<ClientStore>;
  /** Removes whatever the harness created (the stores are already closed or not). */
  readonly cleanup?: () => Promise<void>;
}

function bytes(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (seed * 31 + i * 7) & 0xff);
}

const ALICE = { userId: 'alice', deviceId: 'a1' };
const BOB = { userId: 'bob', deviceId: 'b1' };

export function message(groupId: string, messageId: string, over: Partial<MessageRecord> = {}): MessageRecord {
  return {
    groupId,
    messageId,
    sender: ALICE,
    senderSeq: 1,
    sentAt: 1_700_000_000_000,
    receivedAt: 1_700_000_000_500,
    body: { type: 'text', text: `text of ${messageId}` },
    status: 'received',
    receipts: [],
    ...over,
  };
}

function identity(): IdentityRecord {
  return {
    identityPublicKey: bytes(32, 1),
    identityPrivateKey: new SecretBytes(bytes(32, 2)),
    deviceSignaturePublicKey: bytes(32, 3),
    deviceSignaturePrivateKey: new SecretBytes(bytes(32, 4)),
    deviceCertificate: bytes(120, 5),
    cipherSuite: 1,
  };
}

const account: AccountRecord = { userId: 'alice', deviceId: 'a1', serverUrl: 'http://127.0.0.1:1234', createdAt: 1_700_000_000_000 };

async function expectCode(p: Promise<unknown>, type: abstract new (...args: never[]) => Error, code: string): Promise<void> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(type);
  expect((err as { code: string }).code).toBe(code);
}

export function clientStoreConformance(name: string, makeHarness: () => Promise<ClientStoreHarness>): void {
  describe(`ClientStore conformance: ${name}`, () => {
    let h: ClientStoreHarness;
    let store: ClientStore;
    const opened: ClientStore[] = [];

    beforeEach(async () => {
      h = await makeHarness();
      store = h.store;
      opened.push(store);
    });

    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
      await h.cleanup?.();
    });

    it('starts empty', async () => {
      expect(await store.getAccount()).toBeUndefined();
      expect(await store.getIdentity()).toBeUndefined();
      expect(await store.getGroupState('g')).toBeUndefined();
      expect(await store.listGroupIds()).toEqual([]);
      expect(await store.listConversations()).toEqual([]);
      expect(await store.getMessage('g', 'm')).toBeUndefined();
      expect(await store.listMessages('g')).toEqual([]);
      expect(await store.getSenderSeq('g', ALICE)).toBeUndefined();
      expect(await store.getMessageSummary('g')).toEqual({ count: 0, lastOrder: 0, senders: [] });
      expect(await store.getCursor('inbox')).toBeUndefined();
      expect(await store.listPending()).toEqual([]);
      expect(await store.getContact('bob')).toBeUndefined();
      expect(await store.listContacts()).toEqual([]);
    });

    it('keeps the account and the identity, with private keys as SecretBytes that do not print', async () => {
      await store.commit({ account, identity: identity() });
      expect(await store.getAccount()).toEqual(account);
      const got = await store.getIdentity();
      expect(got).toBeDefined();
      const want = identity();
      expect(got!.identityPublicKey).toEqual(want.identityPublicKey);
      expect(got!.deviceSignaturePublicKey).toEqual(want.deviceSignaturePublicKey);
      expect(got!.deviceCertificate).toEqual(want.deviceCertificate);
      expect(got!.cipherSuite).toBe(1);
      expect(got!.identityPrivateKey).toBeInstanceOf(SecretBytes);
      expect(got!.identityPrivateKey.bytes).toEqual(want.identityPrivateKey.bytes);
      expect(got!.deviceSignaturePrivateKey.bytes).toEqual(want.deviceSignaturePrivateKey.bytes);
      const printed = JSON.stringify(got) + String(got!.identityPrivateKey);
      expect(printed).toContain('[secret]');
      expect(printed).not.toContain(Buffer.from(want.identityPrivateKey.bytes).toString('base64'));
    });

    it('replaces, lists and deletes group states (opaque bytes, uint64 epochs)', async () => {
      const big = bytes(1 << 20, 9);
      await store.commit({ groupStates: [{ groupId: 'g2', epoch: 0n, state: bytes(10, 1) }, { groupId: 'g1', epoch: 5n, state: big }] });
      await store.commit({ groupStates: [{ groupId: 'g2', epoch: (1n << 63n) + 1n, state: bytes(12, 2) }] });
      expect(await store.listGroupIds()).toEqual(['g1', 'g2']);
      const g1 = await store.getGroupState('g1');
      expect(g1?.epoch).toBe(5n);
      // Compared as one buffer: element-wise deep equality of 1 MiB is needlessly slow.
      expect(g1 !== undefined && Buffer.from(g1.state).equals(big)).toBe(true);
      expect(await store.getGroupState('g2')).toEqual({ groupId: 'g2', epoch: (1n << 63n) + 1n, state: bytes(12, 2) });
      await store.commit({ deleteGroupStates: ['g1'] });
      expect(await store.getGroupState('g1')).toBeUndefined();
      expect(await store.listGroupIds()).toEqual(['g2']);
    });

    it('stores conversations', async () => {
      await store.commit({ conversations: [{ groupId: 'g2', kind: 'group', name: 'Team', createdAt: 20 }, { groupId: 'g1', kind: 'direct', createdAt: 10 }] });
      expect(await store.getConversation('g2')).toEqual({ groupId: 'g2', kind: 'group', name: 'Team', createdAt: 20 });
      await store.commit({ conversations: [{ groupId: 'g1', kind: 'direct', createdAt: 10, closedAt: 30 }] });
      expect((await store.listConversations()).map((c) => [c.groupId, c.closedAt])).toEqual([
        ['g1', 30],
        ['g2', undefined],
      ]);
    });

    it('inserts messages in order per conversation, first write wins', async () => {
      await store.commit({ messages: [message('g1', 'm1'), message('g2', 'm1', { body: { type: 'text', text: 'other group' } }), message('g1', 'm2', { senderSeq: 2 })] });
      await store.commit({
        messages: [message('g1', 'm1', { body: { type: 'text', text: 'replayed' } }), message('g1', 'm3', { senderSeq: 3, sender: BOB }), message('g1', 'm3', { body: { type: 'text', text: 'dup in batch' } })],
      });
      const list = await store.listMessages('g1');
      expect(list.map((m) => m.messageId)).toEqual(['m1', 'm2', 'm3']);
      expect(list.map((m) => m.body)).toEqual([
        { type: 'text', text: 'text of m1' },
        { type: 'text', text: 'text of m2' },
        { type: 'text', text: 'text of m3' },
      ]);
      const orders = list.map((m) => m.order);
      expect([...orders].sort((a, b) => a - b)).toEqual(orders);
      expect(new Set(orders).size).toBe(3);
      expect(list[2]!.sender).toEqual(BOB);
      expect((await store.listMessages('g2')).map((m) => m.body)).toEqual([{ type: 'text', text: 'other group' }]);
      const m2 = await store.getMessage('g1', 'm2');
      expect(m2).toEqual({ ...message('g1', 'm2', { senderSeq: 2 }), order: orders[1] });
      expect(await store.getMessage('g2', 'm2')).toBeUndefined();
    });

    it('keeps a summary of each conversation: count, newest order and messages per sender, duplicates not counted', async () => {
      expect(await store.getMessageSummary('g')).toEqual({ count: 0, lastOrder: 0, senders: [] });
      await store.commit({ messages: [message('g', 'm1'), message('g', 'm2', { sender: BOB, senderSeq: 1 }), message('other', 'x')] });
      await store.commit({ messages: [message('g', 'm1', { body: { type: 'text', text: 'replayed' } }), message('g', 'm3', { senderSeq: 2 }), message('g', 'm3', { senderSeq: 3 })] });
      const list = await store.listMessages('g');
      const expected = { count: 3, lastOrder: list[2]!.order, senders: [{ userId: 'alice', count: 2 }, { userId: 'bob', count: 1 }] };
      expect(await store.getMessageSummary('g')).toEqual(expected);
      expect(await store.getMessageSummary('other')).toEqual({ count: 1, lastOrder: (await store.listMessages('other'))[0]!.order, senders: [{ userId: 'alice', count: 1 }] });
      // A batch that fails leaves the summary as it was.
      await expectCode(store.commit({ messages: [message('g', 'm4', { senderSeq: 4 })], messageUpdates: [{ groupId: 'g', messageId: 'missing', status: 'read' }] }), StoreError, 'not-found');
      expect(await store.getMessageSummary('g')).toEqual(expected);
      if (h.reopen !== undefined) {
        await store.close();
        const again = await h.reopen();
        opened.push(again);
        expect(await again.getMessageSummary('g')).toEqual(expected);
        await again.commit({ messages: [message('g', 'm4', { sender: BOB, senderSeq: 4 })] });
        const last = (await again.listMessages('g', { limit: 1 }))[0]!;
        expect(await again.getMessageSummary('g')).toEqual({ count: 4, lastOrder: last.order, senders: [{ userId: 'alice', count: 2 }, { userId: 'bob', count: 2 }] });
      }
    });

    it('keeps event bodies and unicode text intact', async () => {
      const text = 'Grüße 👋 — "quoted" \\ \u0000 end';
      await store.commit({ messages: [message('g', 'a', { body: { type: 'text', text } }), message('g', 'b', { body: { type: 'event', event: 'member-added', detail: 'bob' } })] });
      expect((await store.listMessages('g')).map((m) => m.body)).toEqual([
        { type: 'text', text },
        { type: 'event', event: 'member-added', detail: 'bob' },
      ]);
    });

    it('pages through history with before / after / limit', async () => {
      for (let i = 0; i < 10; i++) await store.commit({ messages: [message('g', `m${i}`, { senderSeq: i })] });
      await store.commit({ messages: [message('other', 'x')] });
      const ids = (ms: { messageId: string }[]): string[] => ms.map((m) => m.messageId);
      const all = await store.listMessages('g');
      expect(ids(all)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
      const last3 = await store.listMessages('g', { limit: 3 });
      expect(ids(last3)).toEqual(['m7', 'm8', 'm9']);
      expect(ids(await store.listMessages('g', { before: last3[0]!.order, limit: 3 }))).toEqual(['m4', 'm5', 'm6']);
      expect(ids(await store.listMessages('g', { after: all[1]!.order, limit: 2 }))).toEqual(['m2', 'm3']);
      expect(ids(await store.listMessages('g', { after: all[1]!.order, before: all[5]!.order }))).toEqual(['m2', 'm3', 'm4']);
      expect(await store.listMessages('g', { limit: 0 })).toEqual([]);
    });

    it('updates status and merges receipts without downgrading read to delivered', async () => {
      await store.commit({ messages: [message('g', 'm', { sender: ALICE, status: 'pending' })] });
      await store.commit({ messageUpdates: [{ groupId: 'g', messageId: 'm', status: 'sent' }] });
      await store.commit({ messageUpdates: [{ groupId: 'g', messageId: 'm', status: 'delivered', receipts: [{ ...BOB, state: 'delivered', at: 5 }] }] });
      await store.commit({
        messageUpdates: [{ groupId: 'g', messageId: 'm', receipts: [{ ...BOB, state: 'read', at: 7 }, { userId: 'carol', deviceId: 'c1', state: 'delivered', at: 6 }] }],
      });
      await store.commit({ messageUpdates: [{ groupId: 'g', messageId: 'm', receipts: [{ ...BOB, state: 'delivered', at: 9 }] }] });
      const m = await store.getMessage('g', 'm');
      expect(m?.status).toBe('delivered');
      const receipts = [...(m?.receipts ?? [])].sort((a, b) => (a.userId < b.userId ? -1 : 1));
      expect(receipts).toEqual([
        { userId: 'bob', deviceId: 'b1', state: 'read', at: 7 },
        { userId: 'carol', deviceId: 'c1', state: 'delivered', at: 6 },
      ]);
    });

    it('tracks the highest sequence number per sender and conversation', async () => {
      await store.commit({ messages: [message('g', 'a', { senderSeq: 3 }), message('g', 'b', { senderSeq: 1, sender: BOB })] });
      await store.commit({ messages: [message('g', 'c', { senderSeq: 2 }), message('h', 'd', { senderSeq: 9 })] });
      await store.commit({ messages: [message('g', 'a', { senderSeq: 50 })] }); // a replayed id does not count
      expect(await store.getSenderSeq('g', ALICE)).toBe(3);
      expect(await store.getSenderSeq('g', BOB)).toBe(1);
      expect(await store.getSenderSeq('h', ALICE)).toBe(9);
      expect(await store.getSenderSeq('g', { userId: 'alice', deviceId: 'a2' })).toBeUndefined();
    });

    it('keeps named cursors', async () => {
      await store.commit({ cursors: { inbox: '17', 'group:g': 'abc' } });
      await store.commit({ cursors: { inbox: '18' } });
      expect(await store.getCursor('inbox')).toBe('18');
      expect(await store.getCursor('group:g')).toBe('abc');
    });

    it('keeps pending outgoing items oldest first, and deletes them', async () => {
      await store.commit({
        pendingPut: [
          { id: 'p3', groupId: 'g', createdAt: 30, payload: bytes(3, 3) },
          { id: 'p1', groupId: 'g', createdAt: 10, payload: bytes(1, 1) },
          { id: 'p2', groupId: 'h', createdAt: 20, payload: bytes(2, 2) },
        ],
      });
      expect((await store.listPending()).map((p) => p.id)).toEqual(['p1', 'p2', 'p3']);
      expect((await store.listPending())[2]!.payload).toEqual(bytes(3, 3));
      await store.commit({ pendingDelete: ['p1', 'nope'], pendingPut: [{ id: 'p4', groupId: 'g', createdAt: 40, payload: bytes(4, 4) }] });
      await store.commit({ pendingPut: [{ id: 'p5', groupId: 'g', createdAt: 50, payload: bytes(5, 5) }], pendingDelete: ['p5'] });
      expect((await store.listPending()).map((p) => p.id)).toEqual(['p2', 'p3', 'p4']);
    });

    it("keeps contacts' identity keys and verified flags", async () => {
      await store.commit({ contacts: [{ userId: 'carol', identityKey: bytes(32, 7), verified: false, firstSeenAt: 1 }, { userId: 'bob', identityKey: bytes(32, 8), verified: true, firstSeenAt: 2 }] });
      await store.commit({ contacts: [{ userId: 'carol', identityKey: bytes(32, 9), verified: false, firstSeenAt: 1, keyChangedAt: 5, pinnedIdentityKey: bytes(32, 7) }] });
      expect(await store.getContact('carol')).toEqual({ userId: 'carol', identityKey: bytes(32, 9), verified: false, firstSeenAt: 1, keyChangedAt: 5, pinnedIdentityKey: bytes(32, 7) });
      expect((await store.listContacts()).map((c) => [c.userId, c.verified])).toEqual([
        ['bob', true],
        ['carol', false],
      ]);
    });

    it('writes a batch wholly or not at all', async () => {
      await store.commit({ groupStates: [{ groupId: 'g', epoch: 1n, state: bytes(8, 1) }], cursors: { inbox: '1' }, messages: [message('g', 'm1')] });
      const failing: WriteBatch = {
        groupStates: [{ groupId: 'g', epoch: 2n, state: bytes(8, 2) }],
        messages: [message('g', 'm2', { senderSeq: 2 })],
        messageUpdates: [{ groupId: 'g', messageId: 'm1', status: 'read' }, { groupId: 'g', messageId: 'missing', status: 'read' }],
        cursors: { inbox: '2' },
        contacts: [{ userId: 'bob', identityKey: bytes(32, 1), verified: false, firstSeenAt: 1 }],
        pendingDelete: ['x'],
      };
      await expectCode(store.commit(failing), StoreError, 'not-found');
      expect((await store.getGroupState('g'))?.epoch).toBe(1n);
      expect(await store.getCursor('inbox')).toBe('1');
      expect((await store.listMessages('g')).map((m) => [m.messageId, m.status])).toEqual([['m1', 'received']]);
      expect(await store.getSenderSeq('g', ALICE)).toBe(1);
      expect(await store.getContact('bob')).toBeUndefined();
      // The order counter was not consumed visibly: the next insert still sorts after m1.
      await store.commit({ messages: [message('g', 'm2', { senderSeq: 2 })] });
      expect((await store.listMessages('g')).map((m) => m.messageId)).toEqual(['m1', 'm2']);
    });

    it('refuses malformed records with a typed error and writes nothing', async () => {
      await expectCode(store.commit({ cursors: { inbox: '1' }, messages: [message('g', '')] }), ClientUsageError, 'invalid-record');
      await expectCode(store.commit({ groupStates: [{ groupId: 'g', epoch: -1n, state: bytes(1, 1) }] }), ClientUsageError, 'invalid-record');
      await expectCode(store.commit({ messages: [message('g', 'm', { senderSeq: 1.5 })] }), ClientUsageError, 'invalid-record');
      await expectCode(store.commit({ cursors: { 'in\u0000box': '1' } }), ClientUsageError, 'invalid-record');
      await expectCode(store.commit({ identity: { ...identity(), identityPrivateKey: bytes(32, 1) as unknown as SecretBytes<'identity-private-key'> } }), ClientUsageError, 'invalid-record');
      expect(await store.getCursor('inbox')).toBeUndefined();
      expect(await store.listMessages('g')).toEqual([]);
    });

    it('is not changed by callers mutating what they wrote or read', async () => {
      const state = bytes(16, 1);
      const m = message('g', 'm');
      await store.commit({ groupStates: [{ groupId: 'g', epoch: 1n, state }], messages: [m] });
      state.fill(0);
      const read = await store.getGroupState('g');
      read!.state.fill(0);
      (read as { epoch: bigint }).epoch = 99n;
      expect(await store.getGroupState('g')).toEqual({ groupId: 'g', epoch: 1n, state: bytes(16, 1) });
      const got = await store.getMessage('g', 'm');
      (got!.receipts as unknown[]).push({ userId: 'x' });
      expect((await store.getMessage('g', 'm'))!.receipts).toEqual([]);
    });

    it('applies concurrent commits without losing any', async () => {
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.commit({ messages: [message('g', `m${i}`, { senderSeq: i })], cursors: { [`c${i}`]: String(i) } })));
      expect(await store.listMessages('g')).toHaveLength(50);
      expect(await store.getSenderSeq('g', ALICE)).toBe(49);
      expect(await store.getCursor('c37')).toBe('37');
    });

    it('fails with store-closed after close()', async () => {
      await store.close();
      await expectCode(store.getAccount(), StoreError, 'store-closed');
      await expectCode(store.commit({ cursors: { inbox: '1' } }), StoreError, 'store-closed');
      await store.close(); // idempotent
    });

    it('keeps everything across a close and reopen (persistent stores)', async (ctx) => {
      if (h.reopen === undefined) {
        ctx.skip('this store is not persistent: it keeps nothing across a close, by design');
        return;
      }
      await store.commit({
        account,
        identity: identity(),
        groupStates: [{ groupId: 'g', epoch: 3n, state: bytes(64, 3) }],
        conversations: [{ groupId: 'g', kind: 'group', name: 'Team', createdAt: 1 }],
        messages: [message('g', 'm1'), message('g', 'm2', { senderSeq: 2 })],
        cursors: { inbox: '42' },
        pendingPut: [{ id: 'p', groupId: 'g', createdAt: 1, payload: bytes(5, 5) }],
        contacts: [{ userId: 'bob', identityKey: bytes(32, 8), verified: true, firstSeenAt: 2 }],
      });
      const before = await store.listMessages('g');
      await store.close();
      const again = await h.reopen();
      opened.push(again);
      expect(await again.getAccount()).toEqual(account);
      expect((await again.getIdentity())?.deviceSignaturePrivateKey.bytes).toEqual(bytes(32, 4));
      expect(await again.getGroupState('g')).toEqual({ groupId: 'g', epoch: 3n, state: bytes(64, 3) });
      expect(await again.getConversation('g')).toEqual({ groupId: 'g', kind: 'group', name: 'Team', createdAt: 1 });
      expect(await again.listMessages('g')).toEqual(before);
      expect(await again.getSenderSeq('g', ALICE)).toBe(2);
      expect(await again.getCursor('inbox')).toBe('42');
      expect((await again.listPending()).map((p) => p.id)).toEqual(['p']);
      expect((await again.getContact('bob'))?.verified).toBe(true);
      await again.commit({ messages: [message('g', 'm3', { senderSeq: 3 })] });
      const after = await again.listMessages('g');
      expect(after.map((m) => m.messageId)).toEqual(['m1', 'm2', 'm3']);
      expect(after[2]!.order).toBeGreaterThan(after[1]!.order);
    });
  });
}
