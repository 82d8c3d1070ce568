// Where a command reads and writes: the process's streams and environment, or a capture in tests.
export interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  /** The environment (for PARLEY_PASSPHRASE); defaults to process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** What `parley chat` reads and draws on; defaults to the process's stdin and stdout. */
  readonly input?: NodeJS.ReadableStream;
  readonly output?: NodeJS.WritableStream & { readonly isTTY?: boolean };
}
