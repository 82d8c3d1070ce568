// Durable sending: application messages are queued for one tick and written in ONE
// transaction (group commit). They are published on the Bus as soon as that transaction
// has committed (Store.appendMessagesCommitted: readable, and kept through a crash of the
// process), and each sender is answered only once the batch is on disk (`durable`: the
// SQLite store fsyncs the WAL behind the commit, off the event loop). So recipients do
// not wait for the disk, and no sender is told "sent" before the disk has it. The next
// batch commits while the previous one syncs (the store bounds how many are unsynced).

import type { Bus } from './bus.js';
import type { Metrics } from './metrics.js';
import type { AppendResult, NewGroupMessage, Store } from './store/store.js';

interface Pending {
  readonly message: NewGroupMessage;
  readonly resolve: (r: AppendResult) => void;
  readonly reject: (e: unknown) => void;
}

const MAX_BATCH = 512;
const COALESCE_MS = 1;

export class Delivery {
  private queue: Pending[] = [];
  private scheduled = false;
  private inFlight: Promise<void> = Promise.resolve();
  /** The last batch's answers to its senders, sent once it is on disk (syncs complete in order). */
  private syncing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly metrics: Metrics,
  ) {}

  submit(message: NewGroupMessage): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ message, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // A 1 ms window rather than one tick: on a quiet machine a tick holds one message, and
        // a commit per message made the commit's fixed cost (WAL pages, syscalls) the bound.
        setTimeout(() => {
          this.inFlight = this.inFlight.then(() => this.flush());
        }, COALESCE_MS);
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      let out: { results: AppendResult[]; durable: Promise<void> };
      try {
        out = await this.store.appendMessagesCommitted(batch.map((p) => p.message));
      } catch (e) {
        for (const p of batch) p.reject(e);
        continue;
      }
      const { results } = out;
      this.metrics.storeBatch.observe(batch.length);
      for (let i = 0; i < batch.length; i++) {
        const r = results[i]!;
        if (r.ok && !r.duplicate) {
          this.metrics.messagesStored.inc();
          this.bus.publish({ type: 'group-message', message: r.message });
        }
      }
      this.syncing = out.durable.then(
        () => {
          for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!);
        },
        (e: unknown) => {
          // Not on disk (a failed fsync): the senders are told it was not stored, and retry
          // with the same message id, which the log answers with the seq it already has.
          for (const p of batch) p.reject(e);
        },
      );
    }
  }

  /** Waits until everything submitted so far is written, on disk, and answered. */
  async drain(): Promise<void> {
    while (this.scheduled || this.queue.length > 0) {
      await new Promise((r) => setImmediate(r));
      await this.inFlight;
    }
    await this.inFlight;
    await this.syncing;
  }
}
