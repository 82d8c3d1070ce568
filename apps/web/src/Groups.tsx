// Groups: create one (a name, people picked by user name from the directory), and the bar
// above a group conversation (its members and their roles, adding and removing where the
// group's rules allow it, leaving; once closed, whether this user was removed or left).

import { useCallback, useEffect, useId, useState, type SyntheticEvent } from 'react';
import type { MemberInfo } from '@parley/client';
import { USERNAME_PATTERN } from '@parley/protocol';
import { Suggestions, useDirectorySearch } from './Directory.js';
import { describeError } from './errors.js';
import { useI18n, type Translate } from './i18n.js';
import { codeOf, type ConversationView, type Session } from './session.js';
import { Modal } from './Verify.js';

/** A line the client writes about a conversation's membership, in the user's language (others as they are). */
export function eventText(t: Translate, event: string, detail?: string): string {
  const user = detail ?? '?';
  switch (event) {
    case 'removed':
      return t('eventRemoved');
    case 'left':
      return t('eventLeft');
    case 'rejoined':
      return t('eventRejoined');
    case 'identity-key-changed':
      return t('eventKeyChanged', { user });
    case 'device-refused':
      return t('eventDeviceRefused', { user });
    case 'message-misrouted':
      return t('eventMisrouted');
    default:
      return event;
  }
}

/**
 * People picked one by one: each name is looked up in the directory (by exact name, as the
 * server allows) before it joins the list, so a typo is caught here and not by the commit.
 */
function PeoplePicker(props: { session: Session; chosen: readonly string[]; exclude: readonly string[]; onChange: (users: string[]) => void }) {
  const { t } = useI18n();
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const id = useId();
  const listId = useId();
  const found = useDirectorySearch(props.session, name);

  const add = (): void => {
    const user = name.trim();
    if (user === '') return;
    if (!new RegExp(USERNAME_PATTERN).test(user)) { setError('invalid-username'); return; }
    if (user === props.session.userId) { setError('self-member'); return; }
    if (props.chosen.includes(user) || props.exclude.includes(user)) { setError('already-member'); return; }
    setBusy(true);
    setError(undefined);
    props.session.userExists(user).then(
      (exists) => {
        setBusy(false);
        if (!exists) { setError('unknown-user'); return; }
        setName('');
        props.onChange([...props.chosen, user]);
      },
      (e: unknown) => {
        setBusy(false);
        setError(codeOf(e));
      },
    );
  };

  return (
    <div className="people-picker">
      <label htmlFor={id}>{t('addPerson')}</label>
      <div className="row">
        <input
          id={id}
          name="member"
          value={name}
          autoComplete="off"
          onChange={(e) => {
            setName(e.target.value);
            setError(undefined);
          }}
          onKeyDown={(e) => {
            // Enter adds the person to the list, not the whole form.
            if (e.key === 'Enter') {
              e.preventDefault();
              add();
            }
          }}
        />
        <button type="button" onClick={add} disabled={busy}>
          {busy ? t('working') : t('addToList')}
        </button>
      </div>
      <Suggestions
        found={found}
        exclude={[props.session.userId, ...props.chosen, ...props.exclude]}
        disabled={busy}
        label={(u) => t('addUser', { user: u })}
        onPick={(u) => {
          // The directory just listed them: no second look-up.
          setName('');
          setError(undefined);
          props.onChange([...props.chosen, u]);
        }}
      />
      {error !== undefined && (
        <p className="error" role="alert">
          {describeError(t, error)}
        </p>
      )}
      <p id={listId} className="muted">
        {t('chosenMembers')}
      </p>
      {props.chosen.length === 0 ? (
        <p className="muted">{t('noneChosen')}</p>
      ) : (
        <ul className="chosen" aria-labelledby={listId} data-testid="chosen">
          {props.chosen.map((u) => (
            <li key={u}>
              <span>{u}</span>
              <button
                type="button"
                aria-label={t('unchoose', { user: u })}
                onClick={() => {
                  props.onChange(props.chosen.filter((x) => x !== u));
                }}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The sidebar's "New group" button and form. */
export function NewGroup(props: { session: Session; onOpened: (groupId: string) => void }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [members, setMembers] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const nameId = useId();

  const reset = (): void => {
    setOpen(false);
    setName('');
    setMembers([]);
    setError(undefined);
  };

  if (!open)
    return (
      <button
        type="button"
        className="wide"
        onClick={() => {
          setOpen(true);
        }}
      >
        {t('newGroup')}
      </button>
    );

  const submit = (e: SyntheticEvent): void => {
    e.preventDefault();
    if (name.trim() === '') return;
    setBusy(true);
    setError(undefined);
    props.session.createGroup(name.trim(), members).then(
      (groupId) => {
        setBusy(false);
        reset();
        props.onOpened(groupId);
      },
      (err: unknown) => {
        setBusy(false);
        setError(codeOf(err));
      },
    );
  };

  return (
    <form
      className="new-chat new-group"
      onSubmit={submit}
      aria-busy={busy}
      onKeyDown={(e) => {
        if (e.key === 'Escape') reset();
      }}
    >
      <label htmlFor={nameId}>{t('groupName')}</label>
      <input
        id={nameId}
        name="group-name"
        value={name}
        required
        autoFocus
        maxLength={100}
        autoComplete="off"
        onChange={(e) => {
          setName(e.target.value);
        }}
      />
      <PeoplePicker session={props.session} chosen={members} exclude={[]} onChange={setMembers} />
      {error !== undefined && (
        <p className="error" role="alert">
          {describeError(t, error)}
        </p>
      )}
      <div className="row">
        <button type="submit" className="primary" disabled={busy || name.trim() === ''}>
          {busy ? t('working') : t('createGroup')}
        </button>
        <button type="button" onClick={reset}>
          {t('cancel')}
        </button>
      </div>
    </form>
  );
}

/** The members of a group with their roles; add, remove and leave as the rules allow. */
function MembersDialog(props: { session: Session; view: ConversationView; onClose: () => void }) {
  const { t } = useI18n();
  const { session, view } = props;
  const groupId = view.record.groupId;
  const [members, setMembers] = useState<readonly MemberInfo[] | undefined>();
  const [adding, setAdding] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const titleId = useId();
  const explainId = useId();

  const load = useCallback(() => {
    session.members(groupId).then(setMembers, (e: unknown) => {
      setError(codeOf(e));
    });
  }, [session, groupId]);
  useEffect(load, [load]);

  // Groups are created with the rule "administrators add and remove" (the Parley group
  // policy's default); a member who is not one sees the controls disabled, and why.
  const me = members?.find((m) => m.userId === session.userId);
  const mayManage = me?.admin === true && view.record.closedAt === undefined;

  const act = (f: () => Promise<void>, after?: () => void): void => {
    setBusy(true);
    setError(undefined);
    f().then(
      () => {
        setBusy(false);
        after?.();
        load();
      },
      (e: unknown) => {
        setBusy(false);
        setError(codeOf(e));
      },
    );
  };

  const remove = (user: string): void => {
    if (!window.confirm(t('removeMemberConfirm', { user }))) return;
    act(() => session.removeMembers(groupId, [user]));
  };

  const leave = (): void => {
    if (!window.confirm(t('leaveGroupConfirm'))) return;
    act(() => session.leave(groupId), props.onClose);
  };

  return (
    <Modal labelledBy={titleId} onCancel={props.onClose}>
      <h2 id={titleId}>{t('groupMembersTitle', { name: view.title })}</h2>
      {members === undefined && error === undefined && <p role="status">{t('loading')}</p>}
      {!mayManage && members !== undefined && (
        <p id={explainId} className="notice" role="note">
          {t('onlyAdminsManage')}
        </p>
      )}
      {members !== undefined && (
        <ul className="devices" data-testid="members">
          {members.map((m) => (
            <li key={m.userId} data-testid="member">
              <span>{m.userId === session.userId ? t('youSuffix', { user: m.userId }) : m.userId}</span>
              <span className={m.admin ? 'badge ok' : 'badge'}>{m.admin ? t('administrator') : t('member')}</span>
              <span className="muted">{t('groupDevicesCount', { n: m.devices.length })}</span>
              {m.userId !== session.userId && (
                <button
                  type="button"
                  disabled={!mayManage || busy}
                  aria-describedby={mayManage ? undefined : explainId}
                  onClick={() => {
                    remove(m.userId);
                  }}
                >
                  {t('removeMember', { user: m.userId })}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {members !== undefined && (
        <fieldset className="add-members" disabled={!mayManage || busy} aria-describedby={mayManage ? undefined : explainId}>
          <legend>{t('addMembers')}</legend>
          <PeoplePicker session={session} chosen={adding} exclude={members.map((m) => m.userId)} onChange={setAdding} />
          <button
            type="button"
            className="primary"
            disabled={adding.length === 0}
            onClick={() => {
              act(
                () => session.addMembers(groupId, adding),
                () => {
                  setAdding([]);
                },
              );
            }}
          >
            {t('addMembers')}
          </button>
        </fieldset>
      )}
      {error !== undefined && (
        <p className="error" role="alert">
          {describeError(t, error)}
        </p>
      )}
      <div className="row">
        {view.record.closedAt === undefined && (
          <button type="button" onClick={leave} disabled={busy}>
            {t('leaveGroup')}
          </button>
        )}
        <button type="button" onClick={props.onClose}>
          {t('close')}
        </button>
      </div>
    </Modal>
  );
}

/** Above a group conversation: its members button, or why it is closed. */
export function GroupBar(props: { session: Session; view: ConversationView }) {
  const { t } = useI18n();
  const { session, view } = props;
  const [open, setOpen] = useState(false);
  const [why, setWhy] = useState<'removed' | 'left' | undefined>();
  const closed = view.record.closedAt !== undefined;

  useEffect(() => {
    if (!closed) return;
    let live = true;
    void session
      .closedBecause(view.record.groupId)
      .then((w) => {
        if (live) setWhy(w);
      })
      .catch(session.ignoreAfterClose);
    return () => {
      live = false;
    };
  }, [session, view.record.groupId, closed]);

  return (
    <div className="group-bar" data-testid="group-bar">
      {closed ? (
        why !== undefined && (
          <p className="notice warn" role="status" data-testid="group-closed">
            {why === 'left' ? t('groupLeftNotice') : t('groupRemovedNotice')}
          </p>
        )
      ) : (
        <button
          type="button"
          onClick={() => {
            setOpen(true);
          }}
        >
          {t('groupMembers')}
        </button>
      )}
      {open && (
        <MembersDialog
          session={session}
          view={view}
          onClose={() => {
            setOpen(false);
          }}
        />
      )}
    </div>
  );
}
