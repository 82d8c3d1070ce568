// `parley devices` (this user's devices; `devices remove <id>` takes one out of every
// conversation), `parley verify <user>` (the safety number of the two users' identity
// keys, to compare over another channel; `--confirm` records that it matched) and
// `parley contacts` (the identity keys seen, and which changed without being accepted;
// `contacts accept <user>` accepts a changed key without verifying it, as the web app's
// "I accept the new key" does: until then no device that key certifies may join a
// conversation with you, neither by a Welcome nor by a commit or a rejoin).

import { formatSafetyNumber, type ContactRecord, type ParleyClient } from '@parley/client';
import type { Io } from '../io.js';
import { parseCommand } from '../client/args.js';
import { usageError } from '../client/errors.js';
import { iso, localTime, printJson } from '../client/format.js';
import { withClient } from '../client/profile.js';
import { syncAndReport } from '../client/sync.js';

const COMMON = '[--server <url>] [--profile <dir>] [--passphrase-file <file>] [--json]';

export async function devices(argv: readonly string[], io: Io): Promise<number> {
  const usage = `parley devices [remove <device>] ${COMMON}`;
  const { common, positionals } = parseCommand(argv, io, { usage, min: 0, max: 2 });
  const [sub, deviceId] = positionals;
  if (sub !== undefined && (sub !== 'remove' || deviceId === undefined)) throw usageError(sub === 'remove' ? 'missing <device>' : `unknown subcommand '${sub}'`, usage);
  return withClient(common, io, async ({ client }) => {
    await syncAndReport(client, io);
    if (deviceId !== undefined) {
      await client.removeDevice(deviceId);
      if (common.json) printJson(io, { removed: deviceId });
      else io.out(`removed device ${deviceId} from your conversations and from the server\n`);
      return 0;
    }
    const list = await client.devices();
    if (common.json) {
      printJson(io, { userId: client.userId, devices: list.map((d) => ({ deviceId: d.deviceId, createdAt: iso(d.createdAt), current: d.current })) });
      return 0;
    }
    for (const d of list) io.out(`${d.deviceId}  added ${localTime(d.createdAt)}${d.current ? '  (this device)' : ''}\n`);
    return 0;
  });
}

export async function verify(argv: readonly string[], io: Io): Promise<number> {
  const usage = `parley verify <user> [--confirm [<the number you compared>]] ${COMMON}`;
  const { common, values, positionals } = parseCommand<{ confirm?: boolean }>(argv, io, { usage, options: { confirm: { type: 'boolean', default: false } }, min: 1, max: 13 });
  const [userId = '', ...shown] = positionals;
  // The number as compared, if given: then only that number is marked verified.
  const compared = shown.join('');
  if (compared !== '' && (values.confirm !== true || !/^[0-9]{60}$/.test(compared))) throw usageError('after --confirm, give the 60 digits you compared (or none)', usage);
  return withClient(common, io, async ({ client }) => {
    await syncAndReport(client, io);
    const digits = await client.safetyNumber(userId);
    // Verified only if the key is still the one the compared number was computed from.
    const contact = values.confirm === true ? await client.markVerified(userId, compared !== '' ? compared : digits) : (await client.contacts()).find((c) => c.userId === userId);
    const groups = formatSafetyNumber(digits).split(' ');
    const verified = contact?.verified === true;
    if (common.json) {
      printJson(io, {
        userId,
        safetyNumber: digits,
        groups,
        verified,
        keyChangedAt: contact?.keyChangedAt !== undefined ? iso(contact.keyChangedAt) : null,
      });
      return 0;
    }
    io.out(`safety number of ${client.userId} and ${userId}:\n`);
    io.out(`  ${groups.slice(0, 6).join(' ')}\n  ${groups.slice(6).join(' ')}\n`);
    if (contact?.keyChangedAt !== undefined && !verified) io.out(`${userId}'s identity key changed on ${localTime(contact.keyChangedAt)}\n`);
    if (values.confirm === true) io.out(`${userId} is now verified\n`);
    else if (verified) io.out(`${userId} is verified\n`);
    else io.out(`not verified: compare this number with ${userId} (who runs parley verify ${client.userId}); if it is the same, run parley verify ${userId} --confirm\n`);
    return 0;
  });
}

/** What a contact's key state asks of the user, if anything. */
function keyState(c: ContactRecord): { unaccepted: boolean; verifyAgain: boolean } {
  return { unaccepted: c.pinnedIdentityKey !== undefined, verifyAgain: c.wasVerified === true && !c.verified };
}

export async function contacts(argv: readonly string[], io: Io): Promise<number> {
  const usage = `parley contacts [--changed] | contacts accept <user> [<the safety number shown>] ${COMMON}`;
  const { common, values, positionals } = parseCommand<{ changed?: boolean }>(argv, io, { usage, options: { changed: { type: 'boolean', default: false } }, min: 0, max: 14 });
  const [sub, userId, ...shown] = positionals;
  if (sub !== undefined && sub !== 'accept') throw usageError(`unknown subcommand '${sub}'`, usage);
  if (sub === 'accept' && userId === undefined) throw usageError('missing <user>', usage);
  if (sub === 'accept' && values.changed === true) throw usageError('--changed is for the listing', usage);
  const compared = shown.join('');
  if (compared !== '' && !/^[0-9]{60}$/.test(compared)) throw usageError('give the 60 digits of the safety number shown (or none)', usage);
  return withClient(common, io, async ({ client }) => {
    await syncAndReport(client, io);
    if (sub === 'accept' && userId !== undefined) return accept(client, io, common.json, userId, compared);
    const all = (await client.contacts()).filter((c) => values.changed !== true || keyState(c).unaccepted).sort((a, b) => a.userId.localeCompare(b.userId));
    if (common.json) {
      printJson(io, {
        contacts: all.map((c) => ({
          userId: c.userId,
          verified: c.verified,
          firstSeenAt: iso(c.firstSeenAt),
          keyChangedAt: c.keyChangedAt !== undefined ? iso(c.keyChangedAt) : null,
          ...keyState(c),
        })),
      });
      return 0;
    }
    if (all.length === 0) io.out(values.changed === true ? 'no contact has an identity key change to accept\n' : 'no contacts yet\n');
    for (const c of all) {
      const { unaccepted, verifyAgain } = keyState(c);
      const changed = c.keyChangedAt !== undefined ? `identity key changed ${localTime(c.keyChangedAt)}` : undefined;
      const state = unaccepted
        ? `${changed ?? 'identity key changed'}, not accepted: their new devices are refused (parley verify ${c.userId}, or parley contacts accept ${c.userId})`
        : verifyAgain
          ? `${changed ?? 'identity key changed'} after you verified it: sending is refused until you verify again (parley verify ${c.userId})`
          : c.verified
            ? 'verified'
            : 'not verified';
      io.out(`${c.userId}  ${state}\n`);
    }
    return 0;
  });
}

async function accept(client: ParleyClient, io: Io, json: boolean, userId: string, compared: string): Promise<number> {
  // The key the directory serves now (a change is noticed and warned about here), and the
  // number it gives: with a number given, only the key that number was shown for is accepted.
  const digits = await client.safetyNumber(userId);
  const before = (await client.contacts()).find((c) => c.userId === userId);
  const had = before !== undefined && keyState(before).unaccepted;
  const contact = await client.acknowledgeKeyChange(userId, compared !== '' ? compared : digits);
  const { verifyAgain } = keyState(contact);
  if (json) {
    printJson(io, { userId, accepted: had, safetyNumber: digits, verified: contact.verified, verifyAgain });
    return 0;
  }
  if (!had) io.out(`nothing to accept: ${userId}'s identity key has no unaccepted change\n`);
  else io.out(`accepted ${userId}'s new identity key (not verified); its devices may join your conversations again\n`);
  if (verifyAgain) io.out(`you had verified ${userId}'s earlier key: sending to ${userId} stays refused until you compare safety numbers again (parley verify ${userId})\n`);
  else if (had && !contact.verified) io.out(`compare safety numbers when you can: parley verify ${userId}\n`);
  return 0;
}
