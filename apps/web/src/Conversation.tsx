// One conversation: a virtualised message list (only the rows in view are in the DOM,
// so 10,000 messages scroll like 10), grouped by day and by sender, with each own
// message's state (sending → sent → delivered → read, or not sent with a retry), the
// gaps and replays the client detected, and the composer. A 1:1 shows whether the
// contact is verified, and a warning that must be acknowledged when their key changed.

import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useId, useLayoutEffect, useMemo, useRef, useState, useSyncExternalStore, type SyntheticEvent } from 'react';
import type { ContactRecord, StoredMessage } from '@parley/client';
import { describeError, describeProblem } from './errors.js';
import { eventText } from './Groups.js';
import { useI18n, type Translate } from './i18n.js';
import { attachmentOf, codeOf, type ConversationView, type MessageFlags, type Session } from './session.js';
import type { AttachmentRef } from '@parley/client';
import { dayKey, formatClock, formatDay } from './time.js';
import { KeyChangedWarning } from './KeyChange.js';
import { VerifyDialog } from './Verify.js';

const NONE: readonly string[] = [];
/** What the SDK reports when the server delivers a message it already had (a replay, refused). */
const REPLAY_CODES: ReadonlySet<string> = new Set(['generation-reused']);
/** A mark beside each own message's state, as other messengers show it (the words are read out). */
const STATE_MARK: Partial<Record<string, string>> = { pending: '…', sent: '✓', delivered: '✓✓', read: '✓✓' };
/** Messages read from the store at a time (the newest first, older ones on scrolling up). */
const PAGE = 300;

type Row =
  | { readonly kind: 'day'; readonly key: string; readonly at: number }
  | { readonly kind: 'message'; readonly key: string; readonly message: StoredMessage; readonly showSender: boolean; readonly flags: MessageFlags | undefined };

/** Day headings, and the sender's name only where the sender changes (or after a heading or 5 minutes). */
function rows(messages: readonly StoredMessage[], flags: Session['flags']): Row[] {
  const out: Row[] = [];
  let day = '';
  let prev: StoredMessage | undefined;
  for (const m of messages) {
    const d = dayKey(m.sentAt);
    if (d !== day) {
      out.push({ kind: 'day', key: `day:${d}`, at: m.sentAt });
      day = d;
      prev = undefined;
    }
    const showSender = prev === undefined || prev.sender.userId !== m.sender.userId || m.sentAt - prev.sentAt > 5 * 60_000;
    out.push({ kind: 'message', key: m.messageId, message: m, showSender, flags: flags.get(`${m.groupId}\u0000${m.messageId}`) });
    prev = m;
  }
  return out;
}

function statusLabel(t: Translate, m: StoredMessage, failed: boolean): string {
  if (failed) return t('statusFailed');
  switch (m.status) {
    case 'pending':
      return t('statusPending');
    case 'sent':
      return t('statusSent');
    case 'delivered':
      return t('statusDelivered');
    case 'read':
      return t('statusRead');
    default:
      return '';
  }
}

export function Conversation(props: { session: Session; view: ConversationView }) {
  const { t, language } = useI18n();
  const { session, view } = props;
  const groupId = view.record.groupId;
  const [messages, setMessages] = useState<StoredMessage[]>([]);
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [contact, setContact] = useState<ContactRecord | undefined>();
  const [verifying, setVerifying] = useState(false);
  const scrollRef = useRef<HTMLDivElement>(null);
  const fileRef = useRef<HTMLInputElement>(null);
  const atBottom = useRef(true);
  // Only the last pages are read and decrypted; older ones when the user scrolls up to them.
  const [limit, setLimit] = useState(PAGE);
  const [complete, setComplete] = useState(false);
  const anchor = useRef<string | undefined>(undefined);
  const inputId = useId();
  const titleId = useId();

  // Messages are read again only when they changed; the contact (cheap) on any change.
  const version = useSyncExternalStore(
    (l) => session.subscribe(l),
    () => session.version(groupId),
  );
  useEffect(() => {
    let live = true;
    void Promise.all([session.history(groupId, limit), session.loadFlags(groupId)])
      .then(([page]) => {
        if (!live) return;
        setComplete(page.length < limit);
        setMessages(page.filter((m) => !session.isReplaced(m.messageId)));
      })
      .catch(session.ignoreAfterClose);
    return () => {
      live = false;
    };
  }, [session, groupId, version, limit]);

  const load = useCallback(async () => {
    setContact(view.peer === undefined ? undefined : await session.contact(view.peer));
  }, [session, view.peer]);

  useEffect(() => {
    void load().catch(session.ignoreAfterClose);
    return session.subscribe(() => {
      void load().catch(session.ignoreAfterClose);
    });
  }, [session, load]);

  const problems = useSyncExternalStore(
    (l) => session.subscribe(l),
    () => session.problems.get(groupId) ?? NONE,
  );
  const items = useMemo(() => rows(messages, session.flags), [messages, session.flags]);
  const virtualizer = useVirtualizer({
    count: items.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: (i) => (items[i]?.kind === 'day' ? 40 : items[i]?.kind === 'message' && items[i].showSender ? 64 : 40),
    overscan: 8,
    getItemKey: (i) => items[i]?.key ?? i,
  });

  // Stay at the newest message while the user is there (on open, and when one arrives);
  // after an older page came in above, keep the message that was first where it was.
  useLayoutEffect(() => {
    if (anchor.current !== undefined) {
      const i = items.findIndex((r) => r.key === anchor.current);
      if (i > 0) {
        anchor.current = undefined;
        virtualizer.scrollToIndex(i, { align: 'start' });
      }
      return;
    }
    if (atBottom.current && items.length > 0) virtualizer.scrollToIndex(items.length - 1, { align: 'end' });
  }, [items, virtualizer]);

  const last = messages[messages.length - 1];
  const connection = useSyncExternalStore(
    (l) => session.subscribe(l),
    () => session.connection,
  );
  useEffect(() => {
    if (last === undefined) return;
    session.markSeen(groupId, last.order);
    // On screen means read: the senders get a read receipt (now, or when the tab shows again).
    session.markRead(groupId, last);
    const shown = (): void => {
      session.markRead(groupId, last);
    };
    document.addEventListener('visibilitychange', shown);
    return () => {
      document.removeEventListener('visibilitychange', shown);
    };
  }, [session, groupId, last, connection]);

  const send = (text: string): void => {
    setError(undefined);
    atBottom.current = true;
    session.send(groupId, text).catch((e: unknown) => {
      setError(codeOf(e));
    });
  };

  const retry = (m: StoredMessage): void => {
    setError(undefined);
    session.retry(m).catch((e: unknown) => {
      setError(codeOf(e));
    });
  };

  const attach = (file: File): void => {
    setError(undefined);
    atBottom.current = true;
    session.sendFile(groupId, file).catch((e: unknown) => {
      setError(codeOf(e));
    });
  };

  const submit = (e: SyntheticEvent): void => {
    e.preventDefault();
    const text = draft.trim();
    if (text === '') return;
    setDraft('');
    send(text);
  };

  const title = view.title;
  const verified = contact?.verified === true;
  // A contact verified once whose key changed since: nothing is sent until they are verified
  // again (the SDK refuses too, with contact-unverified; this says it before anyone types).
  const blocked = contact !== undefined && contact.wasVerified === true && !contact.verified;
  const closed = view.record.closedAt !== undefined;
  const blockedId = useId();
  return (
    <section className="conversation" aria-labelledby={titleId} data-group-id={groupId}>
      <header className="conversation-head">
        <h2 id={titleId}>{title}</h2>
        {contact !== undefined && (
          <>
            <span className={verified ? 'badge ok' : 'badge'}>{verified ? t('verified') : t('notVerified')}</span>
            <button
              type="button"
              onClick={() => {
                setVerifying(true);
              }}
            >
              {t('verify')}
            </button>
          </>
        )}
      </header>
      {problems.length > 0 && (
        // The live region wraps the list (role=status on the <ul> itself would hide its items' list semantics).
        <div role="status">
          <ul className="problems">
            {[...new Set(problems)].map((code) => (
              <li key={code} className="notice warn">
                {REPLAY_CODES.has(code) ? t('replayRefused') : describeProblem(t, code)}
              </li>
            ))}
          </ul>
        </div>
      )}
      <div
        ref={scrollRef}
        className="messages"
        role="log"
        aria-label={t('messagesOf', { name: title })}
        tabIndex={0}
        data-testid="messages"
        onScroll={(e) => {
          const el = e.currentTarget;
          atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
          if (el.scrollTop < 200 && !complete && anchor.current === undefined && messages.length > 0) {
            anchor.current = messages[0]?.messageId;
            setLimit((l) => l + PAGE);
          }
        }}
      >
        {items.length === 0 && <p className="centered muted">{t('noMessages')}</p>}
        <div style={{ height: virtualizer.getTotalSize() }} className="messages-inner">
          {virtualizer.getVirtualItems().map((vi) => {
            const row = items[vi.index];
            if (row === undefined) return null;
            return (
              <div key={vi.key} data-index={vi.index} ref={virtualizer.measureElement} className="row" style={{ transform: `translateY(${vi.start}px)` }}>
                {row.kind === 'day' ? (
                  <h3 className="day">{formatDay(row.at, language, t('today'), t('yesterday'))}</h3>
                ) : (
                  <MessageRow
                    session={session}
                    message={row.message}
                    mine={row.message.sender.userId === session.userId}
                    showSender={row.showSender}
                    flags={row.flags}
                    failed={session.failed(row.message)}
                    onRetry={retry}
                  />
                )}
              </div>
            );
          })}
        </div>
      </div>
      {blocked && (
        <div className="notice warn blocked" role="alert" data-testid="send-blocked">
          <p id={blockedId}>{t('blockedKeyChanged', { user: contact.userId })}</p>
          <button
            type="button"
            className="primary"
            onClick={() => {
              setVerifying(true);
            }}
          >
            {t('verifyAgain', { user: contact.userId })}
          </button>
        </div>
      )}
      <form className="composer" onSubmit={submit}>
        <input
          ref={fileRef}
          type="file"
          hidden
          data-testid="file"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file !== undefined) attach(file);
            e.target.value = '';
          }}
        />
        <button
          type="button"
          disabled={closed || blocked}
          aria-describedby={blocked ? blockedId : undefined}
          onClick={() => {
            fileRef.current?.click();
          }}
        >
          {t('attach')}
        </button>
        <label htmlFor={inputId} className="visually-hidden">
          {t('messageLabel')}
        </label>
        <input
          id={inputId}
          name="message"
          value={draft}
          placeholder={t('messagePlaceholder')}
          // Opening a conversation puts the keyboard in its composer, as other messengers do.
          autoFocus
          autoComplete="off"
          disabled={closed || blocked}
          aria-describedby={blocked ? blockedId : undefined}
          onChange={(e) => {
            setDraft(e.target.value);
          }}
        />
        <button type="submit" className="primary" disabled={closed || blocked} aria-describedby={blocked ? blockedId : undefined}>
          {t('send')}
        </button>
      </form>
      {error !== undefined && (
        <p className="error" role="alert">
          {describeError(t, error)}
        </p>
      )}
      {verifying && contact !== undefined && (
        <VerifyDialog
          session={session}
          contact={contact}
          onClose={() => {
            setVerifying(false);
            void load();
          }}
        />
      )}
      {contact?.keyChangedAt !== undefined && <KeyChangedWarning session={session} contact={contact} />}
    </section>
  );
}

const PREVIEWABLE = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

function formatSize(n: number): string {
  return n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;
}

/** An image shows as a preview (decrypted here); any other file is a download button. */
function Attachment(props: { session: Session; attachment: AttachmentRef }) {
  const { t } = useI18n();
  const a = props.attachment;
  const preview = PREVIEWABLE.has(a.mediaType) && a.size <= 10 << 20;
  const [url, setUrl] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    if (!preview) return;
    let objectUrl: string | undefined;
    let live = true;
    props.session.openAttachment(a).then(
      (blob) => {
        if (!live) return;
        objectUrl = URL.createObjectURL(blob);
        setUrl(objectUrl);
      },
      (e: unknown) => {
        if (live) setError(codeOf(e));
      },
    );
    return () => {
      live = false;
      if (objectUrl !== undefined) URL.revokeObjectURL(objectUrl);
    };
  }, [props.session, a, preview]);

  const download = (): void => {
    setError(undefined);
    props.session.openAttachment(a).then(
      (blob) => {
        const link = document.createElement('a');
        link.href = URL.createObjectURL(blob);
        link.download = a.name;
        link.click();
        setTimeout(() => {
          URL.revokeObjectURL(link.href);
        }, 10_000);
      },
      (e: unknown) => {
        setError(codeOf(e));
      },
    );
  };

  return (
    <div className="attachment" data-testid="attachment">
      {preview && url === undefined && error === undefined && <p className="muted">{t('openingAttachment', { name: a.name })}</p>}
      {url !== undefined && <img src={url} alt={t('imageAlt', { name: a.name })} className="preview" data-testid="attachment-image" />}
      <button type="button" className="link" onClick={download}>
        {t('download', { name: a.name })} ({formatSize(a.size)})
      </button>
      {error !== undefined && (
        <p className="error" role="alert">
          {t('attachmentFailed', { name: a.name, code: error })}
        </p>
      )}
    </div>
  );
}

function MessageRow(props: { session: Session; message: StoredMessage; mine: boolean; showSender: boolean; flags: MessageFlags | undefined; failed: boolean; onRetry: (m: StoredMessage) => void }) {
  const { t, language } = useI18n();
  const m = props.message;
  const who = props.mine ? t('you') : m.sender.userId;
  const text = m.body.type === 'text' ? m.body.text : '';
  const attachment = useMemo(() => attachmentOf(text), [text]);
  return (
    <div className={props.mine ? 'message mine' : 'message'} data-testid="message">
      {props.flags?.gap === true && (
        <p className="notice warn" role="note">
          {t('gap', { user: m.sender.userId })}
        </p>
      )}
      {props.flags?.replay === true && (
        <p className="notice warn" role="note">
          {t('replay', { user: m.sender.userId })}
        </p>
      )}
      {props.showSender && <p className="sender">{who}</p>}
      <div className="bubble">
        {attachment !== undefined ? (
          <Attachment session={props.session} attachment={attachment} />
        ) : m.body.type === 'text' ? (
          <p className="text">{m.body.text}</p>
        ) : (
          <p className="text event">{eventText(t, m.body.event, m.body.detail)}</p>
        )}
        <p className="meta">
          <time dateTime={new Date(m.sentAt).toISOString()}>{formatClock(m.sentAt, language)}</time>
          {props.mine && (
            <>
              <span className="visually-hidden">{t('statusPrefix')} </span>
              {!props.failed && STATE_MARK[m.status] !== undefined && (
                <span className={`mark ${m.status}`} aria-hidden="true">
                  {STATE_MARK[m.status]}
                </span>
              )}
              <span className={props.failed ? 'state failed' : `state ${m.status}`} data-testid="status">
                {statusLabel(t, m, props.failed)}
              </span>
            </>
          )}
          {props.failed && (
            <button
              type="button"
              className="link"
              onClick={() => {
                props.onRetry(m);
              }}
            >
              {t('retry')}
            </button>
          )}
        </p>
      </div>
    </div>
  );
}
