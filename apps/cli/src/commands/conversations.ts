// The conversation commands: `dm`, `group create|add|remove`, `leave`, `send`, `sync`,
// `read`, `chats`. Each one logs in, first fetches and processes what is pending (so it
// acts on the conversation's current epoch and shows what is new), then does its one thing.

import type { ConversationRecord, ParleyClient, StoredMessage } from '@parley/client';
import type { Io } from '../io.js';
import { parseCommand } from '../client/args.js';
import { CliError, usageError } from '../client/errors.js';
import { bodyText, conversationTitle, iso, localTime, messageJson, messageLine, printJson, resolveConversation, shortId } from '../client/format.js';
import { withClient } from '../client/profile.js';
import { syncAndReport } from '../client/sync.js';

const COMMON = '[--server <url>] [--profile <dir>] [--passphrase-file <file>] [--json]';

async function conversation(client: ParleyClient, ref: string): Promise<ConversationRecord> {
  return resolveConversation(await client.conversations(), ref);
}

/** The other person of a 1:1 conversation: from its members, or (once left) from who wrote in it. */
export async function peerOf(client: ParleyClient, c: ConversationRecord, history?: readonly StoredMessage[]): Promise<string | undefined> {
  if (c.kind !== 'direct') return undefined;
  try {
    const other = (await client.members(c.groupId)).find((m) => m.userId !== client.userId);
    if (other !== undefined) return other.userId;
  } catch {
    // no group state any more (left, removed): fall back to the history
  }
  const messages = history ?? (await client.history(c.groupId));
  return messages.find((m) => m.sender.userId !== client.userId && m.senderSeq > 0)?.sender.userId;
}

export async function dm(argv: readonly string[], io: Io): Promise<number> {
  const usage = `parley dm <user> ${COMMON}`;
  const { common, positionals } = parseCommand(argv, io, { usage, min: 1 });
  const peer = positionals[0] ?? '';
  return withClient(common, io, async ({ client }) => {
    await syncAndReport(client, io);
    const groupId = await client.openDirect(peer);
    if (common.json) printJson(io, { conversation: groupId, peer });
    else io.out(`${groupId}\n`);
    return 0;
  });
}

export async function send(argv: readonly string[], io: Io): Promise<number> {
  const usage = `parley send <conv> <text> ${COMMON}`;
  const { common, positionals } = parseCommand(argv, io, { usage, min: 2, max: Infinity });
  const [ref = '', ...words] = positionals;
  const text = words.join(' ');
  if (text.trim() === '') throw usageError('nothing to send', usage);
  return withClient(common, io, async ({ client }) => {
    await syncAndReport(client, io);
    const c = await conversation(client, ref);
    const sent = await client.sendText(c.groupId, text);
    if (common.json) printJson(io, { conversation: c.groupId, message: messageJson(sent, client.userId) });
    else io.out(`sent ${sent.messageId} to ${shortId(c.groupId)}\n`);
    return 0;
  });
}

export async function sync(argv: readonly string[], io: Io): Promise<number> {
  const { common } = parseCommand(argv, io, { usage: `parley sync ${COMMON}`, min: 0 });
  return withClient(common, io, async ({ client }) => {
    const report = await syncAndReport(client, io, common.json);
    const total = [...report.messages.values()].reduce((a, b) => a + b, 0);
    if (common.json) {
      printJson(io, {
        messages: total,
        conversations: [...report.messages].map(([id, n]) => ({ id, messages: n })),
        joined: report.joined,
        removed: report.removed,
        warnings: report.warnings,
        skipped: [...report.skipped].map(([id, n]) => ({ id, beforeJoin: n.beforeJoin, duplicates: n.duplicates })),
      });
      return 0;
    }
    const all = await client.conversations();
    for (const id of report.joined) {
      const c = all.find((x) => x.groupId === id);
      io.out(`joined ${id}${c !== undefined ? ` (${conversationTitle(c, await peerOf(client, c))})` : ''}\n`);
    }
    for (const [id, n] of report.messages) io.out(`${id}: ${String(n)} new message${n === 1 ? '' : 's'}\n`);
    for (const id of report.removed) io.out(`removed from ${id}\n`);
    io.out(`synced: ${String(total)} new message${total === 1 ? '' : 's'}\n`);
    return 0;
  });
}

export async function read(argv: readonly string[], io: Io): Promise<number> {
  const usage = `parley read <conv> [--limit <n>] ${COMMON}`;
  const { common, values, positionals } = parseCommand<{ limit?: string }>(argv, io, { usage, options: { limit: { type: 'string' } }, min: 1 });
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw usageError('--limit must be a positive integer', usage);
  return withClient(common, io, async ({ client }) => {
    await syncAndReport(client, io);
    const c = await conversation(client, positionals[0] ?? '');
    const history = await client.history(c.groupId, limit !== undefined ? { limit } : undefined);
    const peer = await peerOf(client, c, history);
    if (common.json) {
      printJson(io, { conversation: { id: c.groupId, kind: c.kind, name: c.name ?? null, peer: peer ?? null, closed: c.closedAt !== undefined }, messages: history.map((m) => messageJson(m, client.userId)) });
    } else {
      io.out(`# ${conversationTitle(c, peer)} (${c.groupId})${c.closedAt !== undefined ? ' — closed' : ''}\n`);
      for (const m of history) io.out(`${messageLine(m, client.userId)}\n`);
      if (history.length === 0) io.out('(no messages yet)\n');
    }
    if (c.closedAt === undefined) await client.markRead(c.groupId);
    return 0;
  });
}

export async function chats(argv: readonly string[], io: Io): Promise<number> {
  const { common } = parseCommand(argv, io, { usage: `parley chats ${COMMON}`, min: 0 });
  return withClient(common, io, async ({ client }) => {
    await syncAndReport(client, io);
    const rows = [];
    for (const c of await client.conversations()) {
      const history = await client.history(c.groupId);
      const last = history.at(-1);
      const unread = history.filter((m) => m.sender.userId !== client.userId && m.status === 'received' && m.senderSeq > 0).length;
      rows.push({ c, last, unread, peer: await peerOf(client, c, history) });
    }
    // Most recent activity first.
    rows.sort((a, b) => (b.last?.receivedAt ?? b.c.createdAt) - (a.last?.receivedAt ?? a.c.createdAt));
    if (common.json) {
      printJson(io, {
        conversations: rows.map(({ c, last, unread, peer }) => ({
          id: c.groupId,
          kind: c.kind,
          name: c.name ?? null,
          peer: peer ?? null,
          createdAt: iso(c.createdAt),
          closed: c.closedAt !== undefined,
          unread,
          last: last === undefined ? null : messageJson(last, client.userId),
        })),
      });
      return 0;
    }
    if (rows.length === 0) io.out('no conversations yet (parley dm <user>, or parley sync to fetch invitations)\n');
    for (const { c, last, unread, peer } of rows) {
      const title = conversationTitle(c, peer);
      const lastText = last === undefined ? '' : `  ${localTime(last.sentAt)} ${last.sender.userId}: ${bodyText(last).split('\n')[0] ?? ''}`;
      io.out(`${c.groupId}  ${c.kind === 'group' ? 'group ' : 'direct'}  ${title}${unread > 0 ? `  (${String(unread)} new)` : ''}${c.closedAt !== undefined ? '  (closed)' : ''}${lastText}\n`);
    }
    return 0;
  });
}

export async function group(argv: readonly string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  const usage = `parley group create <name> <user>… | add <conv> <user>… | remove <conv> <user>… ${COMMON}`;
  if (sub !== 'create' && sub !== 'add' && sub !== 'remove') throw usageError(sub === undefined ? 'missing subcommand' : `unknown subcommand '${sub}'`, usage);
  const { common, positionals } = parseCommand(rest, io, { usage, min: 2, max: Infinity });
  const [target = '', ...users] = positionals;
  return withClient(common, io, async ({ client }) => {
    await syncAndReport(client, io);
    if (sub === 'create') {
      const groupId = await client.createGroup(target, users);
      if (common.json) printJson(io, { conversation: groupId, name: target, members: await memberList(client, groupId) });
      else io.out(`${groupId}\n`);
      return 0;
    }
    const c = await conversation(client, target);
    if (sub === 'add') await client.addMembers(c.groupId, users);
    else await client.removeMembers(c.groupId, users);
    const members = await memberList(client, c.groupId);
    if (common.json) printJson(io, { conversation: c.groupId, members });
    else io.out(`${sub === 'add' ? 'added' : 'removed'} ${users.join(', ')}; members now: ${members.map((m) => `${m.userId}${m.admin ? ' (admin)' : ''}`).join(', ')}\n`);
    return 0;
  });
}

async function memberList(client: ParleyClient, groupId: string): Promise<{ userId: string; admin: boolean; devices: number }[]> {
  return (await client.members(groupId)).map((m) => ({ userId: m.userId, admin: m.admin, devices: m.devices.length }));
}

export async function leave(argv: readonly string[], io: Io): Promise<number> {
  const { common, positionals } = parseCommand(argv, io, { usage: `parley leave <conv> ${COMMON}`, min: 1 });
  return withClient(common, io, async ({ client }) => {
    await syncAndReport(client, io);
    const c = await conversation(client, positionals[0] ?? '');
    // Only an administrator may commit a removal (the group's policy): if the last one
    // left, their leave request would wait forever and nobody could change the group again.
    // Refused here, before anything is sent; promoting another member needs a policy
    // commit the SDK does not offer yet.
    if (c.kind === 'group') {
      const members = await client.members(c.groupId);
      const me = members.find((m) => m.userId === client.userId);
      if (me?.admin === true && members.some((m) => m.userId !== client.userId) && !members.some((m) => m.admin && m.userId !== client.userId)) {
        throw new CliError('last-admin', `you are the only administrator of ${c.groupId}: remove the other members first (parley group remove), since nobody else could commit your leave`);
      }
    }
    await client.leave(c.groupId);
    if (common.json) printJson(io, { conversation: c.groupId, left: true });
    else io.out(`left ${c.groupId}\n`);
    return 0;
  });
}
