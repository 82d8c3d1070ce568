// Typed events of a ParleyClient, offered both as listeners and as an async iterator.
// Events are emitted in the order the client processed what caused them.

import type { ConversationRecord, GroupId, StoredMessage } from '../store/client-store.js';

export type ParleyEvent =
  | { readonly type: 'conversation'; readonly conversation: ConversationRecord }
  /** `gap`: messages of this sender are missing before this one; `replay`: its number was seen. */
  | { readonly type: 'message'; readonly message: StoredMessage; readonly gap: boolean; readonly replay: boolean }
  | { readonly type: 'membership'; readonly groupId: GroupId; readonly epoch: bigint; readonly added: number; readonly removed: number }
  | { readonly type: 'removed'; readonly groupId: GroupId }
  /** A member's device said it received (`delivered`) or its user read (`read`) one of our messages. */
  | { readonly type: 'receipt'; readonly groupId: GroupId; readonly messageId: string; readonly userId: string; readonly deviceId: string; readonly kind: 'delivered' | 'read' }
  /** Something the user should know about a conversation or contact (see WarningCode). */
  | { readonly type: 'warning'; readonly groupId?: GroupId; readonly userId?: string; readonly code: WarningCode; readonly message: string }
  /**
   * Messages of a conversation passed over without decrypting, by design: counted, not
   * warned about one by one. `before-join`: sealed for an epoch before this device joined
   * (a new member gets no earlier epoch's secrets, RFC 9420 §8, §12.4.3.1). One event per
   * conversation and reason for what one step of processing skipped.
   */
  | { readonly type: 'skipped'; readonly groupId: GroupId; readonly reason: SkipReason; readonly count: number }
  /** Something could not be processed; `code` is stable, the text never carries content. */
  | { readonly type: 'error'; readonly groupId?: GroupId; readonly code: string; readonly message: string };

/**
 * - `identity-key-changed`: a member's identity key differs from the one seen before;
 * - `unsigned-device`: a device whose certificate its user's identity key did not sign was refused;
 * - `identity-key-unacknowledged`: a device certified by a member's changed identity key was refused
 *   (a commit that brings it in is not merged) until the user accepts or verifies the new key;
 * - `fork-detected`: members were given different commits for the same epoch (their fork-check tags
 *   disagree, fork-check.ts); the conversation is marked split and sending to it is refused;
 * - `rejoined`: this device lost its group state and rejoined by an external commit;
 * - `message-missing`: a sender's sequence number skipped (the server withheld something);
 * - `reordered`: a message arrived after a later one of the same sender;
 * - `policy-violation`: a commit the group's policy does not allow was refused;
 * - `message-misrouted`: the server delivered a message made for another group into this one
 *   (its MLS group id differs); it was ignored: not decrypted, not counted as a receipt.
 */
export type WarningCode = 'identity-key-changed' | 'unsigned-device' | 'identity-key-unacknowledged' | 'fork-detected' | 'rejoined' | 'message-missing' | 'reordered' | 'policy-violation' | 'message-misrouted';

export type SkipReason = 'before-join';

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
