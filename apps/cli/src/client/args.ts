// The options every client command takes, parsed the same way everywhere, and the
// secrets read from files or the environment (never from the command line, which
// other users of the machine can see).

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Io } from '../io.js';
import { CliError, usageError } from './errors.js';

export interface CommonOptions {
  /** The server's base URL; undefined: the one the profile was registered with. */
  readonly server: string | undefined;
  /** The profile directory (absolute). */
  readonly profile: string;
  readonly passphraseFile: string | undefined;
  readonly json: boolean;
}

export interface Parsed<V> {
  readonly common: CommonOptions;
  readonly values: V;
  readonly positionals: readonly string[];
}

type OptionSpec = NonNullable<ParseArgsConfig['options']>;

const COMMON: OptionSpec = {
  server: { type: 'string' },
  profile: { type: 'string' },
  'passphrase-file': { type: 'string' },
  json: { type: 'boolean', default: false },
};

/** The default profile directory: $PARLEY_PROFILE, else ~/.parley. */
function defaultProfile(io: Io): string {
  const env = io.env ?? process.env;
  return env.PARLEY_PROFILE ?? resolve(homedir(), '.parley');
}

/**
 * Parses `argv` with the common options and `extra`. Throws a usage CliError for an
 * unknown option or a wrong number of positionals (`min`..`max`).
 */
export function parseCommand<V extends Record<string, string | boolean | undefined>>(
  argv: readonly string[],
  io: Io,
  spec: { readonly usage: string; readonly options?: OptionSpec; readonly min: number; readonly max?: number },
): Parsed<V> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: { ...COMMON, ...spec.options } });
  } catch (e) {
    throw usageError((e as Error).message.split('\n')[0] ?? 'bad arguments', spec.usage);
  }
  const { values, positionals } = parsed;
  const max = spec.max ?? spec.min;
  if (positionals.length < spec.min || positionals.length > max) throw usageError(positionals.length < spec.min ? 'missing arguments' : 'too many arguments', spec.usage);
  const server = values.server as string | undefined;
  if (server !== undefined && !/^https?:\/\/[^\s/]+/.test(server)) throw usageError('--server must be an http:// or https:// URL');
  const common: CommonOptions = {
    server: server?.replace(/\/+$/, ''),
    profile: resolve((values.profile as string | undefined) ?? defaultProfile(io)),
    passphraseFile: values['passphrase-file'] as string | undefined,
    json: values.json === true,
  };
  return { common, values: values as unknown as V, positionals };
}

/** A secret from a file: its first line (a trailing newline is not part of it). */
export function readSecretFile(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new CliError('unreadable-file', `cannot read the ${what} file ${path}${typeof code === 'string' ? ` (${code})` : ''}`);
  }
  const secret = text.replace(/\r?\n$/, '');
  if (secret === '') throw new CliError('empty-secret', `the ${what} file ${path} is empty`);
  if (/[\r\n]/.test(secret)) throw new CliError('bad-secret-file', `the ${what} file ${path} must hold one line`);
  return secret;
}

/** The profile passphrase: --passphrase-file, else $PARLEY_PASSPHRASE. */
export function readPassphrase(common: CommonOptions, io: Io): string {
  if (common.passphraseFile !== undefined) return readSecretFile(common.passphraseFile, 'passphrase');
  const env = (io.env ?? process.env).PARLEY_PASSPHRASE;
  if (env === undefined || env === '') throw new CliError('no-passphrase', 'the profile passphrase is needed: give --passphrase-file <file> or set PARLEY_PASSPHRASE');
  return env;
}
