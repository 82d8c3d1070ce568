// `parley devices` (this user's devices; `devices remove <id>` takes one out of every
// conversation) and `parley verify <user>` (the safety number of the two users' identity
// keys, to compare over another channel; `--confirm` records that it matched).

import { formatSafetyNumber } from '@parley/client';
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
