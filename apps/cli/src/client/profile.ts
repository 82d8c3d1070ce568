// A profile directory: the SDK's encrypted SQLite store (packages/client/src/node), opened
// under the passphrase, and the ParleyClient over it. One process at a time: a second
// `parley` on the same profile (a `send` while a `chat` runs) would hold its own copy of
// the group states, and the two would overwrite each other's ratchets; a lock file
// holding the owner's pid keeps it out (a lock left by a process that died is taken over).

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ParleyClient, type ClientStore, type ParleyClientOptions } from '@parley/client';
import { DEFAULT_KDF, PROFILE_DATABASE, nodeClientCrypto, nodeCryptoProvider, nodeWebSocketFactory, openSqliteStore, type KdfParams } from '@parley/client/node';
import type { Io } from '../io.js';
import { readPassphrase, type CommonOptions } from './args.js';
import { CliError } from './errors.js';

/**
 * The account password, kept inside the encrypted profile: the SDK logs in with it on
 * every start (ParleyClient.open), and only register/login are given it. The same
 * record the web app keeps (`web:account-password`), under the CLI's own name.
 */
const PASSWORD_RECORD = 'cli:account-password';
const LOCK_FILE = 'parley.lock';

/**
 * scrypt cost for a NEW profile and the identity backup made at registration.
 * PARLEY_PROFILE_SCRYPT_N lowers (or raises) N from 2^17, e.g. for tests or a slow
 * machine: a power of two from 1024 to 2^20.
 */
function kdfFor(io: Io): KdfParams {
  const n = (io.env ?? process.env).PARLEY_PROFILE_SCRYPT_N;
  if (n === undefined || n === '') return DEFAULT_KDF;
  const N = Number(n);
  if (!Number.isInteger(N) || N < 1024 || (N & (N - 1)) !== 0 || N > 1 << 20) {
    throw new CliError('bad-kdf', 'PARLEY_PROFILE_SCRYPT_N must be a power of two from 1024 to 1048576');
  }
  return { ...DEFAULT_KDF, N };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: unknown }).code === 'EPERM';
  }
}

/** Takes the profile's lock; returns its release. */
function lock(dir: string): () => void {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      };
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'EEXIST') throw new CliError('profile-unwritable', `cannot write in the profile directory ${dir}`);
      let owner = NaN;
      try {
        owner = Number(readFileSync(path, 'utf8'));
      } catch {
        // vanished meanwhile: try again
      }
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new CliError('profile-locked', `the profile ${dir} is in use by another parley process (pid ${String(owner)})`);
      }
      try {
        unlinkSync(path); // left behind by a process that died
      } catch {
        // someone else took it over first; the next attempt tells
      }
    }
  }
  throw new CliError('profile-locked', `the profile ${dir} is in use by another parley process`);
}

export interface Session {
  readonly client: ParleyClient;
  readonly store: ClientStore;
  readonly serverUrl: string;
}

function clientOptions(serverUrl: string, store: ClientStore, io: Io): ParleyClientOptions {
  const kdf = kdfFor(io);
  return {
    serverUrl,
    store,
    crypto: nodeClientCrypto,
    provider: nodeCryptoProvider,
    webSocket: nodeWebSocketFactory,
    ...(kdf !== DEFAULT_KDF ? { backupKdf: { logN: Math.log2(kdf.N), r: kdf.r, p: kdf.p } } : {}),
  };
}

/** Opens the profile's store under its lock, runs `f`, and always closes both. */
async function withStore<T>(common: CommonOptions, io: Io, create: boolean, f: (store: ClientStore, passphrase: string) => Promise<T>): Promise<T> {
  const dir = common.profile;
  const exists = existsSync(join(dir, PROFILE_DATABASE));
  if (!exists && !create) throw new CliError('no-profile', `no profile in ${dir}: run parley register or parley login (or give --profile)`);
  const passphrase = readPassphrase(common, io);
  const kdf = exists ? undefined : kdfFor(io);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch {
    throw new CliError('profile-unwritable', `cannot create the profile directory ${dir}`);
  }
  const release = lock(dir);
  let store: ClientStore | undefined;
  let ok = false;
  try {
    store = await openSqliteStore({ directory: dir, passphrase, ...(kdf !== undefined ? { kdf } : {}) });
    const result = await f(store, passphrase);
    ok = true;
    return result;
  } finally {
    await store?.close().catch(() => undefined);
    // A register or login that failed leaves no half-made profile behind.
    if (!ok && !exists) for (const name of [PROFILE_DATABASE, `${PROFILE_DATABASE}-wal`, `${PROFILE_DATABASE}-shm`]) rmSync(join(dir, name), { force: true });
    release();
  }
}

/** Runs `f` with the profile's client, logged in to the server. */
export async function withClient<T>(common: CommonOptions, io: Io, f: (s: Session) => Promise<T>): Promise<T> {
  return withStore(common, io, false, async (store) => {
    const account = await store.getAccount();
    const password = await store.getCursor(PASSWORD_RECORD);
    if (account === undefined || password === undefined) throw new CliError('no-account', `the profile ${common.profile} holds no account: run parley register or parley login`);
    const serverUrl = common.server ?? account.serverUrl;
    return naming(serverUrl, async () => {
      const client = await ParleyClient.open(clientOptions(serverUrl, store, io), password);
      try {
        return await f({ client, store, serverUrl });
      } finally {
        await client.close();
      }
    });
  });
}

/** Says which server could not be reached. */
async function naming<T>(serverUrl: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if ((e as { code?: unknown }).code === 'network') throw new CliError('network', `cannot reach the server at ${serverUrl}`);
    throw e;
  }
}

/**
 * Creates the account and this device in a new (or empty) profile. The identity key's
 * backup on the server is sealed under the profile passphrase (not the password, which
 * the server sees at every login): `parley login` on a next device needs it.
 */
export async function registerProfile(common: CommonOptions, io: Io, username: string, password: string, invite: string | undefined): Promise<{ userId: string; deviceId: string }> {
  const serverUrl = requireServer(common);
  return withStore(common, io, true, (store, passphrase) =>
    naming(serverUrl, async () => {
      const client = await ParleyClient.register(clientOptions(serverUrl, store, io), username, password, invite, passphrase);
      try {
        await store.commit({ cursors: { [PASSWORD_RECORD]: password } });
        return { userId: client.userId, deviceId: client.deviceId };
      } finally {
        await client.close();
      }
    }),
  );
}

/** A new device of an existing user in a new (or empty) profile (the passphrase opens the identity backup). */
export async function loginProfile(common: CommonOptions, io: Io, username: string, password: string): Promise<{ userId: string; deviceId: string }> {
  const serverUrl = requireServer(common);
  return withStore(common, io, true, (store, passphrase) =>
    naming(serverUrl, async () => {
      if ((await store.getAccount()) !== undefined) throw new CliError('profile-in-use', `the profile ${common.profile} already holds an account`);
      const client = await ParleyClient.login(clientOptions(serverUrl, store, io), username, password, passphrase);
      try {
        await store.commit({ cursors: { [PASSWORD_RECORD]: password } });
        return { userId: client.userId, deviceId: client.deviceId };
      } finally {
        await client.close();
      }
    }),
  );
}

function requireServer(common: CommonOptions): string {
  if (common.server === undefined) throw new CliError('no-server', 'give the server with --server <url>');
  return common.server;
}


