// Durable sending: application messages are queued for one tick and written in ONE
// transaction (group commit), then acknowledged and published on the Bus. A message is
// acknowledged only once its transaction has returned, i.e. it is on disk.

import type { Bus } from './bus.js';
import type { Metrics } from './metrics.js';
import type { AppendResult, NewGroupMessage, Store } from './store/store.js';

interface Pending {
  readonly message: NewGroupMessage;
  readonly resolve: (r: AppendResult) => void;
  readonly reject: (e: unknown) => void;
}

const MAX_BATCH = 512;

export class Delivery {
  private queue: Pending[] = [];
  private scheduled = false;
  private inFlight: Promise<void> = Promise.resolve();

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
        setImmediate(() => {
          this.inFlight = this.inFlight.then(() => this.flush());
        });
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      let results: AppendResult[];
      try {
        results = await this.store.appendMessages(batch.map((p) => p.message));
      } catch (e) {
        for (const p of batch) p.reject(e);
        continue;
      }
      this.metrics.storeBatch.observe(batch.length);
      for (let i = 0; i < batch.length; i++) {
        const r = results[i]!;
        if (r.ok && !r.duplicate) {
          this.metrics.messagesStored.inc();
          this.bus.publish({ type: 'group-message', message: r.message });
        }
        batch[i]!.resolve(r);
      }
    }
  }

  /** Waits until everything submitted so far is written. */
  async drain(): Promise<void> {
    while (this.scheduled || this.queue.length > 0) {
      await new Promise((r) => setImmediate(r));
      await this.inFlight;
    }
    await this.inFlight;
  }
}
