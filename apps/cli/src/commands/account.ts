// `parley register` and `parley login`: make a profile hold an account's device.

import type { Io } from '../io.js';
import { parseCommand, readSecretFile } from '../client/args.js';
import { usageError } from '../client/errors.js';
import { printJson } from '../client/format.js';
import { loginProfile, registerProfile } from '../client/profile.js';

const REGISTER = 'parley register <user> --password-file <file> [--invite <code>] --server <url> [--profile <dir>] [--passphrase-file <file>] [--json]';
const LOGIN = 'parley login <user> --password-file <file> --server <url> [--profile <dir>] [--passphrase-file <file>] [--json]';

export async function register(argv: readonly string[], io: Io): Promise<number> {
  const { common, values, positionals } = parseCommand<{ 'password-file'?: string; invite?: string }>(argv, io, {
    usage: REGISTER,
    options: { 'password-file': { type: 'string' }, invite: { type: 'string' } },
    min: 1,
  });
  if (values['password-file'] === undefined) throw usageError('--password-file is required', REGISTER);
  const password = readSecretFile(values['password-file'], 'password');
  const who = await registerProfile(common, io, positionals[0] ?? '', password, values.invite);
  if (common.json) printJson(io, { userId: who.userId, deviceId: who.deviceId, profile: common.profile });
  else io.out(`registered ${who.userId} (device ${who.deviceId}) in ${common.profile}\n`);
  return 0;
}

export async function login(argv: readonly string[], io: Io): Promise<number> {
  const { common, values, positionals } = parseCommand<{ 'password-file'?: string }>(argv, io, {
    usage: LOGIN,
    options: { 'password-file': { type: 'string' } },
    min: 1,
  });
  if (values['password-file'] === undefined) throw usageError('--password-file is required', LOGIN);
  const password = readSecretFile(values['password-file'], 'password');
  const who = await loginProfile(common, io, positionals[0] ?? '', password);
  if (common.json) printJson(io, { userId: who.userId, deviceId: who.deviceId, profile: common.profile });
  else io.out(`logged in as ${who.userId} on a new device (${who.deviceId}) in ${common.profile}\n`);
  return 0;
}
