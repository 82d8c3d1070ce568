// Secret-holding bytes (private keys) that never print: String(), JSON.stringify and
// util.inspect show a placeholder. JavaScript cannot wipe memory reliably; `destroy()`
// zeroes the buffer as a best effort and makes later use an error.

import { ClientUsageError } from '../errors.js';

const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

export class SecretBytes<Tag extends string = string> {
  #bytes: Uint8Array | undefined;
  declare readonly __tag: Tag;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** The secret's bytes; callers must not log them or keep them longer than needed. */
  get bytes(): Uint8Array {
    if (this.#bytes === undefined) throw new ClientUsageError('secret-destroyed', 'secret was already destroyed');
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
