// `parley chat <conv>`: an interactive chat in the terminal. Messages arrive live over
// the WebSocket while you type: each incoming line is written above the prompt, and
// readline redraws the prompt with what you had typed so far, so nothing gets garbled.
// Ctrl-D (end of input) or /quit leaves. Without a terminal (a pipe, a script), lines
// are read from stdin and written to stdout plainly, without prompt or cursor moves.

import { createInterface } from 'node:readline';
import type { StoredMessage } from '@parley/client';
import type { Io } from '../io.js';
import { parseCommand } from '../client/args.js';
import { describeError } from '../client/errors.js';
import { conversationTitle, messageLine, resolveConversation, shortId } from '../client/format.js';
import { withClient } from '../client/profile.js';
import { beforeJoinNote, syncAndReport, warningOf } from '../client/sync.js';

const USAGE = 'parley chat <conv> [--history <n>] [--server <url>] [--profile <dir>] [--passphrase-file <file>]';
const HELP = 'type a message and press Enter to send it; /quit or Ctrl-D leaves';
/** Fetch over HTTP now and then as well, in case the WebSocket was lost. */
const POLL_MS = 15_000;
/** Reconnection delays after the WebSocket dropped: from this, doubling, up to the max. */
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5_000;

export async function chat(argv: readonly string[], io: Io): Promise<number> {
  const { common, values, positionals } = parseCommand<{ history?: string }>(argv, io, { usage: USAGE, options: { history: { type: 'string', default: '20' } }, min: 1 });
  const shown = Number(values.history);
  const input = io.input ?? process.stdin;
  const output = io.output ?? process.stdout;
  return withClient(common, io, async ({ client }) => {
    await syncAndReport(client, io);
    const c = resolveConversation(await client.conversations(), positionals[0] ?? '');
    const history = await client.history(c.groupId, Number.isInteger(shown) && shown > 0 ? { limit: shown } : undefined);
    const peer = c.kind === 'direct' ? history.find((m) => m.sender.userId !== client.userId)?.sender.userId : undefined;
    const terminal = output.isTTY === true && (input as { isTTY?: boolean }).isTTY === true;
    const rl = createInterface({ input, output, terminal, prompt: `${client.userId}> ` });

    /** Writes a line above the prompt, then redraws the prompt and the input typed so far. */
    const say = (line: string): void => {
      if (!terminal) {
        output.write(`${line}\n`);
        return;
      }
      output.write('\r\x1b[2K'); // back to the start of the prompt's line, and clear it
      output.write(`${line}\n`);
      rl.prompt(true);
    };

    say(`# ${conversationTitle(c, peer)} (${c.groupId}) — ${HELP}`);
    for (const m of history) say(messageLine(m, client.userId));

    // What is on the screen has been read: say so (a read receipt), now and as messages arrive.
    let reading: Promise<void> = Promise.resolve();
    const markRead = (): void => {
      if (c.closedAt !== undefined) return;
      reading = reading.then(() => client.markRead(c.groupId)).catch((e: unknown) => {
        say(`! could not send a read receipt: ${describeError(e)}`);
      });
    };
    markRead();

    const off = client.on((e) => {
      if (e.type === 'message' && e.message.groupId === c.groupId && e.message.sender.userId !== client.userId) {
        say(messageLine(e.message, client.userId));
        markRead();
      }
      else if (e.type === 'message' && e.message.groupId !== c.groupId && e.message.sender.userId !== client.userId) say(`* new message from ${e.message.sender.userId} in ${shortId(e.message.groupId)} (parley chat ${shortId(e.message.groupId)})`);
      else if (e.type === 'removed' && e.groupId === c.groupId) say('* you are no longer a member of this conversation');
      else if (e.type === 'membership' && e.groupId === c.groupId) say(`* members changed (${String(e.added)} added, ${String(e.removed)} removed)`);
      else if (e.type === 'skipped' && e.groupId === c.groupId && e.reason === 'before-join') say(`* ${beforeJoinNote(e.groupId, e.count)}`);
      const w = warningOf(e);
      if (w !== undefined && (w.groupId === undefined || w.groupId === c.groupId)) say(`! ${w.text}`);
    });
    // A dropped WebSocket (the server restarted, the network went away) is reopened with
    // a growing delay; meanwhile what is typed goes over HTTP if the server answers, and
    // one status line says so. After reconnecting the server pushes what was missed.
    let leaving = false;
    let retry: NodeJS.Timeout | undefined;
    let delay = RETRY_MIN_MS;
    const reconnect = (): void => {
      if (leaving || retry !== undefined) return;
      retry = setTimeout(() => {
        retry = undefined;
        client.connect({ onClose: dropped }).then(
          () => {
            delay = RETRY_MIN_MS;
            say('* reconnected');
          },
          () => {
            delay = Math.min(delay * 2, RETRY_MAX_MS);
            reconnect();
          },
        );
      }, delay);
    };
    const dropped = (): void => {
      if (leaving) return;
      say('* connection lost; reconnecting…');
      reconnect();
    };
    // Offline at the start as well: the chat opens on the stored history and keeps trying.
    await client.connect({ onClose: dropped }).catch(dropped);
    // The poll also brings this user's new devices into the conversation (sync adds them).
    const poll = setInterval(() => {
      client.sync().catch(() => undefined); // the WebSocket normally carries everything
    }, POLL_MS);
    poll.unref();

    let sending: Promise<unknown> = Promise.resolve();
    const sendLine = (text: string): void => {
      sending = sending.then(async () => {
        try {
          const sent: StoredMessage = await client.sendText(c.groupId, text);
          if (terminal) output.write('\x1b[1A'); // over the line just typed: it is shown again, with its time
          say(messageLine(sent, client.userId));
        } catch (e) {
          say(`! not sent: ${describeError(e)}`);
        }
      });
    };

    const done = new Promise<void>((resolve) => {
      rl.on('line', (line) => {
        const text = line.trim();
        if (text === '/quit' || text === '/exit') {
          rl.close();
          return;
        }
        if (text === '/help') say(`* ${HELP}`);
        else if (text !== '') sendLine(line);
        else if (terminal) rl.prompt();
      });
      rl.on('SIGINT', () => {
        rl.close();
      });
      rl.on('close', () => {
        resolve();
      });
    });
    if (terminal) rl.prompt();
    await done;
    leaving = true;
    if (retry !== undefined) clearTimeout(retry);
    // A closed readline leaves stdin paused but still holding the process open (a pipe
    // that the other end keeps open after `/quit`): let go of it.
    (input as { unref?: () => void }).unref?.();
    await sending;
    await reading;
    clearInterval(poll);
    off();
    if (terminal) output.write('\n');
    return 0;
  });
}
