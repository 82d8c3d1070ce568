// The messenger: a header (who, connection status, language, lock), the conversation
// list (last message, time, unread count, most recent first; a new 1:1 chat by user
// name) and the open conversation.

import { useEffect, useId, useState, useSyncExternalStore, type SyntheticEvent } from 'react';
import { Conversation } from './Conversation.js';
import { DevicesDialog } from './Devices.js';
import { Suggestions, useDirectorySearch } from './Directory.js';
import { GroupBar, NewGroup, eventText } from './Groups.js';
import { describeError } from './errors.js';
import { useI18n, type Translate } from './i18n.js';
import { LanguagePicker } from './LanguagePicker.js';
import { attachmentOf, codeOf, type ConversationView, type Session } from './session.js';
import { formatTime } from './time.js';

function useSession(session: Session): { conversations: ConversationView[]; connection: Session['connection'] } {
  const snapshot = useSyncExternalStore(
    (l) => session.subscribe(l),
    () => session.conversations,
  );
  const connection = useSyncExternalStore(
    (l) => session.subscribe(l),
    () => session.connection,
  );
  return { conversations: snapshot, connection };
}

function NewChat(props: { session: Session; onOpened: (groupId: string) => void }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const [peer, setPeer] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const id = useId();
  // The directory search as the user types (two characters or more, after a short pause).
  const found = useDirectorySearch(props.session, peer, open);

  if (!open)
    return (
      <button
        type="button"
        className="primary wide"
        onClick={() => {
          setOpen(true);
        }}
      >
        {t('newChat')}
      </button>
    );

  const start = (name: string): void => {
    setBusy(true);
    setError(undefined);
    props.session.openDirect(name).then(
      (groupId) => {
        setBusy(false);
        setOpen(false);
        setPeer('');
        props.onOpened(groupId);
      },
      (err: unknown) => {
        setBusy(false);
        setError(codeOf(err));
      },
    );
  };

  const submit = (e: SyntheticEvent): void => {
    e.preventDefault();
    start(peer.trim());
  };

  return (
    <form className="new-chat" onSubmit={submit} aria-busy={busy}>
      <label htmlFor={id}>{t('findUser')}</label>
      <input
        id={id}
        name="peer"
        value={peer}
        required
        autoFocus
        autoComplete="off"
        onChange={(e) => {
          setPeer(e.target.value);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Escape') setOpen(false);
        }}
      />
      <Suggestions
        found={found}
        disabled={busy}
        label={(u) => t('chatWith', { user: u })}
        onPick={start}
      />
      {error !== undefined && (
        <p className="error" role="alert">
          {describeError(t, error)}
        </p>
      )}
      <div className="row">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? t('working') : t('find')}
        </button>
        <button
          type="button"
          onClick={() => {
            setOpen(false);
          }}
        >
          {t('cancel')}
        </button>
      </div>
    </form>
  );
}

function preview(c: ConversationView, me: string, you: string, t: Translate): string {
  const m = c.last;
  if (m === undefined) return '';
  // A line the client wrote about the conversation stands alone, translated.
  if (m.body.type === 'event') return eventText(t, m.body.event, m.body.detail);
  const full = m.body.text;
  // An attachment's text body starts with a readable line ("📎 name").
  const text = attachmentOf(full) === undefined ? full : (full.split('\n')[0] ?? '');
  return m.sender.userId === me ? `${you}: ${text}` : text;
}

export function Messenger(props: { session: Session; onLock: () => void }) {
  const { t, language } = useI18n();
  const { session } = props;
  const { conversations, connection } = useSession(session);
  const [selected, setSelected] = useState<string | undefined>();
  const [showDevices, setShowDevices] = useState(false);

  useEffect(() => {
    if (selected === undefined && conversations.length > 0 && window.matchMedia('(min-width: 700px)').matches) setSelected(conversations[0]?.record.groupId);
  }, [conversations, selected]);

  const current = conversations.find((c) => c.record.groupId === selected);
  const unread = conversations.reduce((n, c) => n + c.unread, 0);
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) ${t('appName')}` : t('appName');
  }, [unread, t]);
  const statusText = connection === 'online' ? t('online') : connection === 'connecting' ? t('connecting') : t('offline');

  return (
    <div className="app">
      <a className="skip" href="#conversation">
        {t('skipToContent')}
      </a>
      <header className="topbar">
        <span className="brand">{t('appName')}</span>
        <span className={`connection ${connection}`} role="status" data-testid="connection">
          <span className="dot" aria-hidden="true" />
          {statusText}
        </span>
        {session.loginError !== undefined && (
          <span className="error" role="alert">
            {describeError(t, session.loginError)}
          </span>
        )}
        <span className="who">{t('signedInAs', { user: session.userId })}</span>
        <LanguagePicker />
        <button
          type="button"
          onClick={() => {
            setShowDevices(true);
          }}
        >
          {t('devices')}
        </button>
        <button type="button" onClick={props.onLock}>
          {t('lock')}
        </button>
      </header>
      <nav className="sidebar" aria-labelledby="conversations-title">
        <h2 id="conversations-title">{t('conversations')}</h2>
        <NewChat session={session} onOpened={setSelected} />
        <NewGroup session={session} onOpened={setSelected} />
        {conversations.length === 0 ? (
          <p className="muted">{t('noConversations')}</p>
        ) : (
          <ul className="conversation-list">
            {conversations.map((c) => (
              <li key={c.record.groupId}>
                <button
                  type="button"
                  className="conversation-item"
                  aria-current={c.record.groupId === selected ? 'true' : undefined}
                  onClick={() => {
                    setSelected(c.record.groupId);
                  }}
                >
                  <span className="title">{c.title}</span>
                  <span className="time">{formatTime(c.activity, language)}</span>
                  <span className="preview">{preview(c, session.userId, t('you'), t)}</span>
                  {c.unread > 0 && <span className="badge">{t('unread', { n: c.unread })}</span>}
                </button>
              </li>
            ))}
          </ul>
        )}
      </nav>
      <main className="pane" id="conversation" tabIndex={-1}>
        {current === undefined ? (
          <p className="centered muted">{t('selectConversation')}</p>
        ) : (
          <>
            {current.record.kind === 'group' && <GroupBar key={`bar-${current.record.groupId}`} session={session} view={current} />}
            <Conversation key={current.record.groupId} session={session} view={current} />
          </>
        )}
      </main>
      {showDevices && (
        <DevicesDialog
          session={session}
          onClose={() => {
            setShowDevices(false);
          }}
        />
      )}
    </div>
  );
}
