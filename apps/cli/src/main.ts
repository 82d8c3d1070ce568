// `parley`: the command line. One module per subcommand under commands/; the terminal
// client will add its own (`parley chat …`) beside `serve` and `admin`.

import { admin } from './commands/admin.js';
import { serve } from './commands/serve.js';

import type { Io } from './io.js';

export type { Io } from './io.js';

const defaultIo: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

const USAGE = `usage: parley <command> [options]

commands:
  serve    start a Parley server (SQLite in --data, default ./data)
  admin    administer a server's database directly (users, invites)

Run 'parley <command> --help' for its options.
`;

/**
 * Runs one command. An unexpected failure ends as one line on stderr and exit status 1,
 * never a stack trace (the message is the error's own; no secrets are put in errors).
 */
export async function main(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    io.err(`parley: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

async function dispatch(argv: readonly string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest, io);
    case 'admin':
      return admin(rest, io);
    case undefined:
    case '--help':
    case 'help':
      io.out(USAGE);
      return command === undefined ? 1 : 0;
    default:
      io.err(`parley: unknown command '${command}'\n`);
      return 2;
  }
}
