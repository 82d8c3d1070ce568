// Secret-holding values that never print their bytes: String(), JSON.stringify and
// util.inspect all show a placeholder. JavaScript cannot wipe memory reliably;
// `destroy()` zeroes the buffer as a best effort and makes later use an error.

import { UsageError } from '../errors.js';

const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

export class Secret<Tag extends string = string> {
  #bytes: Uint8Array | undefined;
  declare readonly __tag: Tag;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** The secret's bytes; callers must not log or keep them longer than needed. */
  get bytes(): Uint8Array {
    if (this.#bytes === undefined) throw new UsageError('secret-destroyed', 'secret was already destroyed');
    return this.#bytes;
  }

  get destroyed(): boolean {
    return this.#bytes === undefined;
  }

  destroy(): void {
    this.#bytes?.fill(0);
    this.#bytes = undefined;
  }

  toString(): string {
    return '[secret]';
  }

  toJSON(): string {
    return '[secret]';
  }

  [inspectCustom](): string {
    return '[secret]';
  }
}
