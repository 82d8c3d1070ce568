// Typed events of a ParleyClient, offered both as listeners and as an async iterator.
// Events are emitted in the order the client processed what caused them.

import type { ConversationRecord, GroupId, StoredMessage } from '../store/client-store.js';

export type ParleyEvent =
  | { readonly type: 'conversation'; readonly conversation: ConversationRecord }
  /** `gap`: messages of this sender are missing before this one; `replay`: its number was seen. */
  | { readonly type: 'message'; readonly message: StoredMessage; readonly gap: boolean; readonly replay: boolean }
  | { readonly type: 'membership'; readonly groupId: GroupId; readonly epoch: bigint; readonly added: number; readonly removed: number }
  | { readonly type: 'removed'; readonly groupId: GroupId }
  /** Something a person should know about (issue 7); `code` is stable, the text never carries content. */
  | { readonly type: 'warning'; readonly groupId?: GroupId; readonly userId?: string; readonly code: WarningCode; readonly message: string }
  /** Something could not be processed; `code` is stable, the text never carries content. */
  | { readonly type: 'error'; readonly groupId?: GroupId; readonly code: string; readonly message: string };

export type WarningCode = 'identity-key-changed' | 'unsigned-device' | 'fork-detected' | 'rejoined' | 'message-missing' | 'reordered' | 'policy-violation';

export type ParleyListener = (event: ParleyEvent) => void;

export class EventHub {
  private readonly listeners = new Set<ParleyListener>();
  private closed = false;

  on(listener: ParleyListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: ParleyEvent): void {
    for (const l of [...this.listeners]) l(event);
  }

  /** Every event from now on, in order, until `close()`. */
  stream(): AsyncIterableIterator<ParleyEvent> {
    const queue: ParleyEvent[] = [];
    let wake: (() => void) | undefined;
    let done = this.closed;
    const off = this.on((e) => {
      queue.push(e);
      wake?.();
    });
    const stop = (): void => {
      done = true;
      off();
      wake?.();
    };
    this.onClose.add(stop);
    const it: AsyncIterableIterator<ParleyEvent> = {
      next: async () => {
        for (;;) {
          const e = queue.shift();
          if (e !== undefined) return { value: e, done: false };
          if (done) return { value: undefined, done: true };
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
        }
      },
      return: () => {
        stop();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  private readonly onClose = new Set<() => void>();

  close(): void {
    this.closed = true;
    for (const f of this.onClose) f();
    this.onClose.clear();
    this.listeners.clear();
  }
}
