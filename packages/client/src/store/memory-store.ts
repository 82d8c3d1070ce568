// In-memory ClientStore for unit tests and ephemeral bots: nothing is persisted. Records
// are kept encoded (as the SQLite store keeps them), so a caller that mutates what it
// wrote or read cannot change the store, and the codec is exercised everywhere.

import type { ClientStore, GroupId, ListMessagesOptions } from './client-store.js';
import { RecordSpaceStore, selectMessages, type Namespace, type RecordSpace, type RecordSpaceBackend, type StoredBytes } from './record-space.js';

interface MessageSlot {
  order: number;
  value: Uint8Array;
}

class MemorySpace implements RecordSpace, RecordSpaceBackend {
  private readonly kv = new Map<string, Uint8Array>();
  private readonly messages = new Map<GroupId, Map<string, MessageSlot>>();
  private lastOrder = 0;
  /** Undo log of the running write; undefined outside a write. */
  private undo: (() => void)[] | undefined;

  write(fn: (space: RecordSpace) => void): void {
    this.undo = [];
    try {
      fn(this);
    } catch (e) {
      for (const step of this.undo.reverse()) step();
      throw e;
    } finally {
      this.undo = undefined;
    }
  }

  read<T>(fn: (space: RecordSpace) => T): T {
    return fn(this);
  }

  close(): void {
    this.kv.clear();
    this.messages.clear();
  }

  private logged(step: () => void): void {
    if (this.undo === undefined) throw new Error('memory store: write outside a transaction (bug)');
    this.undo.push(step);
  }

  get(ns: Namespace, key: string): Uint8Array | undefined {
    return this.kv.get(`${ns}\u0000${key}`)?.slice();
  }

  put(ns: Namespace, key: string, value: Uint8Array): void {
    const k = `${ns}\u0000${key}`;
    const prev = this.kv.get(k);
    this.logged(() => (prev === undefined ? this.kv.delete(k) : this.kv.set(k, prev)));
    this.kv.set(k, value.slice());
  }

  delete(ns: Namespace, key: string): void {
    const k = `${ns}\u0000${key}`;
    const prev = this.kv.get(k);
    if (prev === undefined) return;
    this.logged(() => this.kv.set(k, prev));
    this.kv.delete(k);
  }

  values(ns: Namespace): Uint8Array[] {
    const prefix = `${ns}\u0000`;
    const out: Uint8Array[] = [];
    for (const [k, v] of this.kv) if (k.startsWith(prefix)) out.push(v.slice());
    return out;
  }

  messageGet(groupId: GroupId, messageId: string): StoredBytes | undefined {
    const slot = this.messages.get(groupId)?.get(messageId);
    return slot === undefined ? undefined : { order: slot.order, value: slot.value.slice() };
  }

  messageInsert(groupId: GroupId, messageId: string, value: Uint8Array): number {
    let group = this.messages.get(groupId);
    if (group === undefined) {
      group = new Map();
      this.messages.set(groupId, group);
    }
    const order = ++this.lastOrder;
    const g = group;
    this.logged(() => {
      g.delete(messageId);
      this.lastOrder = order - 1;
    });
    g.set(messageId, { order, value: value.slice() });
    return order;
  }

  messageReplace(groupId: GroupId, messageId: string, order: number, value: Uint8Array): void {
    const group = this.messages.get(groupId);
    const prev = group?.get(messageId);
    if (group === undefined || prev === undefined) throw new Error('memory store: replacing a missing message (bug)');
    this.logged(() => group.set(messageId, prev));
    group.set(messageId, { order, value: value.slice() });
  }

  messageList(groupId: GroupId, options: ListMessagesOptions): StoredBytes[] {
    // Map iteration is insertion order, which is ascending order.
    const all = [...(this.messages.get(groupId)?.values() ?? [])];
    return selectMessages(all, options).map((s) => ({ order: s.order, value: s.value.slice() }));
  }
}

/** A fresh, empty in-memory store. */
export function createMemoryStore(): ClientStore {
  return new RecordSpaceStore(new MemorySpace());
}
