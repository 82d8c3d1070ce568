// `parley admin …`: works on the server's database directly (no server needs to run),
// so the first administrator can be created from the command line. A server running on
// the same database notices the write (SQLite's data_version, polled every
// `externalWritePollMs`) and closes the WebSockets of a user deactivated here.

import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiError, DEFAULT_SCRYPT, SqliteStore, createInvite, createUser, publicUser, revokeInvite } from '@parley/server';
import type { Io } from '../io.js';

const HELP = `usage: parley admin <subcommand> --data <dir>

  create-user <name> --password-file <file> [--admin] [--email <address>]
  list-users
  deactivate-user <name>
  activate-user <name>
  create-invite [--max-uses 1] [--expires-hours 168]
  list-invites
  revoke-invite <id>            (the id list-invites prints)
`;

export async function admin(argv: readonly string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        data: { type: 'string', default: './data' },
        'password-file': { type: 'string' },
        admin: { type: 'boolean', default: false },
        email: { type: 'string' },
        'max-uses': { type: 'string', default: '1' },
        'expires-hours': { type: 'string', default: '168' },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (e) {
    io.err(`parley admin: ${(e as Error).message}\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [sub, name] = positionals;
  if (values.help || sub === undefined) {
    (values.help ? io.out : io.err)(HELP);
    return values.help ? 0 : 2;
  }
  // Like `parley serve`, create the data directory on first use (owner-only).
  mkdirSync(values.data, { recursive: true, mode: 0o700 });
  const store = new SqliteStore(join(values.data, 'parley.db'));
  try {
    const now = Date.now();
    switch (sub) {
      case 'create-user': {
        if (name === undefined || values['password-file'] === undefined) return fail(io, 'create-user needs <name> and --password-file');
        // The password comes from a file, never the command line (which other users can see).
        const password = readFileSync(values['password-file'], 'utf8').replace(/\r?\n$/, '');
        const u = await createUser(store, DEFAULT_SCRYPT, now, { username: name, password, email: values.email, admin: values.admin });
        io.out(`created user ${u.id}${u.admin ? ' (admin)' : ''}\n`);
        return 0;
      }
      case 'list-users':
        for (const u of (await store.listUsers()).map(publicUser)) {
          io.out(`${u.userId}\t${u.admin ? 'admin' : 'user'}\t${u.active ? 'active' : 'deactivated'}\t${u.email ?? ''}\n`);
        }
        return 0;
      case 'deactivate-user':
      case 'activate-user': {
        if (name === undefined) return fail(io, `${sub} needs <name>`);
        if (!(await store.setUserActive(name, sub === 'activate-user'))) return fail(io, `no such user: ${name}`);
        io.out(`${sub === 'activate-user' ? 'activated' : 'deactivated'} ${name}\n`);
        return 0;
      }
      case 'create-invite': {
        const maxUses = Number(values['max-uses']);
        const hours = Number(values['expires-hours']);
        if (!Number.isInteger(maxUses) || maxUses < 1 || !(hours > 0)) return fail(io, 'bad --max-uses or --expires-hours');
        const inv = await createInvite(store, 'cli', now, maxUses, hours * 3_600_000);
        io.out(`${inv.code}\n`);
        return 0;
      }
      case 'list-invites':
        for (const i of await store.listInvites()) {
          io.out(`${Buffer.from(i.codeHash.subarray(0, 8)).toString('hex')}\tuses ${i.uses}/${i.maxUses}\texpires ${new Date(i.expiresAt).toISOString()}\n`);
        }
        return 0;
      case 'revoke-invite': {
        if (name === undefined || !/^[0-9a-f]{16}$/.test(name)) return fail(io, 'revoke-invite needs the <id> list-invites prints');
        if (!(await revokeInvite(store, name))) return fail(io, `no such invite: ${name}`);
        io.out(`revoked invite ${name}\n`);
        return 0;
      }
      default:
        return fail(io, `unknown subcommand '${sub}'\n${HELP}`);
    }
  } catch (e) {
    if (e instanceof ApiError) return fail(io, `${e.code}: ${e.message}`);
    throw e;
  } finally {
    await store.close();
  }
}

function fail(io: Io, message: string): number {
  io.err(`parley admin: ${message}\n`);
  return 1;
}
