// Where a command writes: the process's streams, or a capture in tests.
export interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}
