// How conversations and messages look on a terminal, and as JSON: one stable document
// per command (field names are part of the interface; times are ISO 8601 in UTC).

import type { ConversationRecord, GroupId, StoredMessage } from '@parley/client';
import type { Io } from '../io.js';
import { CliError } from './errors.js';

/**
 * A conversation named on the command line: its full id, or a prefix of exactly one
 * conversation's id.
 */
export function resolveConversation(conversations: readonly ConversationRecord[], ref: string): ConversationRecord {
  if (ref === '') throw new CliError('unknown-conversation', 'no such conversation: (empty)');
  const exact = conversations.find((c) => c.groupId === ref);
  if (exact !== undefined) return exact;
  const matches = conversations.filter((c) => c.groupId.startsWith(ref));
  if (matches.length === 1 && matches[0] !== undefined) return matches[0];
  if (matches.length === 0) throw new CliError('unknown-conversation', `no such conversation: ${ref} (see parley chats)`);
  throw new CliError('ambiguous-conversation', `${ref} matches ${String(matches.length)} conversations; give more of the id`);
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** Local time, to the second: 2026-12-02 10:15:03. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getFullYear())}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export const iso = (ms: number): string => new Date(ms).toISOString();

/** Keeps a line a line: control characters in a text (an escape sequence, a newline) are shown, not obeyed. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).replace(/\n/g, '\n    ');
}

function usersWith(m: StoredMessage, state: 'delivered' | 'read'): string[] {
  return [...new Set(m.receipts.filter((r) => r.state === state).map((r) => r.userId))].sort();
}

/** The delivery state of a message: "read by bob", "delivered to bob, carol", "sent", "new". */
export function stateOf(m: StoredMessage, self: string): string {
  if (m.body.type === 'event') return '';
  if (m.sender.userId !== self) return m.status === 'received' ? 'new' : '';
  if (m.status === 'pending') return 'not sent yet';
  const read = usersWith(m, 'read');
  const delivered = usersWith(m, 'delivered').filter((u) => !read.includes(u));
  const parts: string[] = [];
  if (read.length > 0) parts.push(`read by ${read.join(', ')}`);
  if (delivered.length > 0) parts.push(`delivered to ${delivered.join(', ')}`);
  if (parts.length > 0) return parts.join('; ');
  return m.status;
}

/** What the SDK's event lines (membership, keys, rejoins) mean. */
function eventText(event: string, detail: string | undefined): string {
  const who = detail !== undefined ? printable(detail) : 'someone';
  switch (event) {
    case 'identity-key-changed':
      return `the identity key of ${who} changed: compare safety numbers again (parley verify ${who})`;
    case 'left':
      return 'you left this conversation';
    case 'removed':
      return 'you were removed from this conversation';
    case 'rejoined':
      return 'this device lost its state of the conversation and rejoined it (messages sent meanwhile may be missing)';
    case 'device-refused':
      return `a new device of ${who}, certified by their changed identity key, was refused: compare safety numbers (parley verify ${who}), or accept the new key (parley contacts accept ${who})`;
    case 'message-misrouted':
      return 'the server delivered a message of another conversation here; it was ignored';
    default:
      return `${printable(event)}${detail !== undefined ? ` ${printable(detail)}` : ''}`;
  }
}

export function bodyText(m: StoredMessage): string {
  if (m.body.type === 'text') return printable(m.body.text);
  return `* ${eventText(m.body.event, m.body.detail)}`;
}

/** One message as a line: `2026-12-02 10:15:03  alice: hello  [read by bob]`. */
export function messageLine(m: StoredMessage, self: string): string {
  if (m.body.type === 'event') return `${localTime(m.sentAt)}  ${bodyText(m)}`;
  const state = stateOf(m, self);
  const who = m.sender.userId === self ? `${m.sender.userId} (you)` : m.sender.userId;
  return `${localTime(m.sentAt)}  ${who}: ${bodyText(m)}${state !== '' ? `  [${state}]` : ''}`;
}

export function messageJson(m: StoredMessage, self: string): Record<string, unknown> {
  return {
    id: m.messageId,
    sender: { userId: m.sender.userId, deviceId: m.sender.deviceId },
    own: m.sender.userId === self,
    sentAt: iso(m.sentAt),
    receivedAt: iso(m.receivedAt),
    ...(m.body.type === 'text' ? { type: 'text', text: m.body.text } : { type: 'event', event: m.body.event, ...(m.body.detail !== undefined ? { detail: m.body.detail } : {}) }),
    status: m.status,
    receipts: m.receipts.map((r) => ({ userId: r.userId, deviceId: r.deviceId, state: r.state, at: iso(r.at) })),
  };
}

export function conversationTitle(c: ConversationRecord, peer: string | undefined): string {
  if (c.kind === 'group') return c.name ?? '(group)';
  return peer ?? '(direct)';
}

export const shortId = (id: GroupId): string => id.slice(0, 8);

/** A command's `--json` answer: one JSON document. */
export function printJson(io: Io, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}
