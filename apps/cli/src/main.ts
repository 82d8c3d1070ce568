// `parley`: the command line. One module per group of subcommands under commands/: the
// server (`serve`, `admin`) and the client (`register` … `verify`), which works on a
// profile directory holding the SDK's encrypted store.

import { describeError, exitCodeOf } from './client/errors.js';
import type { Io } from './io.js';

export type { Io } from './io.js';

const defaultIo: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

const USAGE = `usage: parley <command> [options]

server:
  serve                          start a Parley server (SQLite in --data, default ./data)
  admin                          administer a server's database directly (users, invites)

client (each takes --server <url>, --profile <dir>, --passphrase-file <file>, --json):
  register <user> --password-file <file> [--invite <code>]
  login <user> --password-file <file>     this user's account on a new device
  dm <user>                      open a 1:1 conversation (prints its id)
  group create <name> <user>…    create a group (prints its id); you administer it
  group add <conv> <user>…       add members
  group remove <conv> <user>…    remove members
  leave <conv>                   leave a conversation
  send <conv> <text>             send a message
  sync                           fetch and process everything pending, then exit
  read <conv>                    the conversation's history (marks it read)
  chats                          your conversations
  chat <conv>                    chat interactively (/quit or Ctrl-D to leave)
  devices [remove <device>]      your devices; remove one from every conversation
  verify <user> [--confirm]      the safety number with a user; --confirm: it matched
  contacts [--changed]           identity keys seen; --changed: those changed, not accepted
  contacts accept <user>         accept a contact's changed identity key without verifying it

The profile passphrase comes from --passphrase-file or PARLEY_PASSPHRASE; the profile
directory defaults to $PARLEY_PROFILE, else ~/.parley. A conversation is named by its id
or a unique prefix of it.
`;

type Command = (argv: readonly string[], io: Io) => Promise<number>;

// Loaded on use: a client command does not load the server (and the other way round),
// which keeps each run of `parley` quick to start.
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  serve: async () => (await import('./commands/serve.js')).serve,
  admin: async () => (await import('./commands/admin.js')).admin,
  register: async () => (await import('./commands/account.js')).register,
  login: async () => (await import('./commands/account.js')).login,
  dm: async () => (await import('./commands/conversations.js')).dm,
  send: async () => (await import('./commands/conversations.js')).send,
  sync: async () => (await import('./commands/conversations.js')).sync,
  read: async () => (await import('./commands/conversations.js')).read,
  chats: async () => (await import('./commands/conversations.js')).chats,
  chat: async () => (await import('./commands/chat.js')).chat,
  group: async () => (await import('./commands/conversations.js')).group,
  leave: async () => (await import('./commands/conversations.js')).leave,
  devices: async () => (await import('./commands/trust.js')).devices,
  verify: async () => (await import('./commands/trust.js')).verify,
  contacts: async () => (await import('./commands/trust.js')).contacts,
};

/**
 * Runs one command. A failure ends as one line on stderr and a non-zero exit status
 * (2: wrong usage, 1: anything else), never a stack trace or a secret.
 */
export async function main(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === 'help' || command === '-h') {
    (command === undefined ? io.err : io.out)(USAGE);
    return command === undefined ? 2 : 0;
  }
  const load = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (load === undefined) {
    io.err(`parley: unknown command '${command}' (parley --help lists them)\n`);
    return 2;
  }
  try {
    const run = await load();
    return await run(rest, io);
  } catch (error) {
    io.err(`parley: ${describeError(error, serverOf(rest))}\n`);
    return exitCodeOf(error);
  }
}

/** The --server given, to say which server could not be reached. */
function serverOf(argv: readonly string[]): { server?: string } {
  const i = argv.indexOf('--server');
  const inline = argv.find((a) => a.startsWith('--server='));
  const url = i >= 0 ? argv[i + 1] : inline?.slice('--server='.length);
  return url !== undefined ? { server: url } : {};
}
