// The directory search as the user types a name: after two characters and a short pause,
// the server's prefix search (`GET /v1/users?prefix=`), shown as a list of buttons under
// the field. Used to start a chat and to pick group members.

import { useEffect, useState } from 'react';
import { useI18n } from './i18n.js';
import type { Session } from './session.js';

interface Found {
  readonly prefix: string;
  readonly users: readonly string[];
}

/** The users whose name starts with `text` (undefined while nothing was searched for it). */
export function useDirectorySearch(session: Session, text: string, enabled = true): Found | undefined {
  const [found, setFound] = useState<Found | undefined>();
  const prefix = text.trim().toLowerCase();
  useEffect(() => {
    if (!enabled || prefix.length < 2) {
      setFound(undefined);
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      session.searchUsers(prefix).then(
        (users) => {
          if (live) setFound({ prefix, users });
        },
        () => {
          if (live) setFound(undefined);
        },
      );
    }, 200);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [enabled, prefix, session]);
  return found?.prefix === prefix ? found : undefined;
}

/** The matches as buttons (named by `label`), or a line saying there is none. */
export function Suggestions(props: { found: Found | undefined; exclude?: readonly string[]; disabled?: boolean; label: (user: string) => string; onPick: (user: string) => void }) {
  const { t } = useI18n();
  const { found } = props;
  if (found === undefined) return null;
  const users = found.users.filter((u) => props.exclude?.includes(u) !== true);
  if (users.length === 0)
    return (
      <p className="muted" role="status">
        {t('noMatch', { prefix: found.prefix })}
      </p>
    );
  return (
    <ul className="suggestions" aria-label={t('suggestions', { prefix: found.prefix })} data-testid="suggestions">
      {users.map((u) => (
        <li key={u}>
          <button
            type="button"
            disabled={props.disabled}
            aria-label={props.label(u)}
            onClick={() => {
              props.onPick(u);
            }}
          >
            {u}
          </button>
        </li>
      ))}
    </ul>
  );
}
