// Bus: real-time fan-out of what the Store just made durable. In one process the
// in-process bus below; in a cluster a NATS implementation publishes the same events
// between nodes. Events carry the stored message, so a push needs no second read.

import type { StoredMessage } from './store/store.js';

export type BusEvent =
  | { readonly type: 'group-message'; readonly message: StoredMessage }
  | { readonly type: 'inbox-message'; readonly deviceId: string; readonly message: StoredMessage }
  | { readonly type: 'membership'; readonly groupId: string; readonly added: readonly string[]; readonly removed: readonly string[] }
  | { readonly type: 'device-removed'; readonly deviceId: string }
  | { readonly type: 'user-deactivated'; readonly userId: string }
  /** A session was logged out or revoked: its sockets close now. */
  | { readonly type: 'session-revoked'; readonly tokenHash: Uint8Array };

export type BusHandler = (event: BusEvent) => void;

export interface Bus {
  publish(event: BusEvent): void;
  /** Returns the function that unsubscribes. */
  subscribe(handler: BusHandler): () => void;
  close(): Promise<void>;
}

/** Synchronous fan-out to the subscribers of this process. */
export class InProcessBus implements Bus {
  private readonly handlers = new Set<BusHandler>();

  publish(event: BusEvent): void {
    for (const h of this.handlers) h(event);
  }

  subscribe(handler: BusHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
