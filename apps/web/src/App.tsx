// The app's phases: find out whether this browser holds a profile, then create an account
// (Welcome), unlock the profile with its passphrase (Unlock), or show the messenger (Main).

import { useEffect, useMemo, useState } from 'react';
import { I18nContext, initialLanguage, saveLanguage, translator, type I18n, type Language } from './i18n.js';
import { Messenger } from './Messenger.js';
import { hasProfile, type Session } from './session.js';
import { Unlock, Welcome } from './Welcome.js';

type Phase = { readonly name: 'loading' } | { readonly name: 'welcome' } | { readonly name: 'unlock' } | { readonly name: 'main'; readonly session: Session };

export function App() {
  const [language, setLanguage] = useState<Language>(initialLanguage);
  const [phase, setPhase] = useState<Phase>({ name: 'loading' });
  const i18n = useMemo<I18n>(
    () => ({
      language,
      t: translator(language),
      setLanguage: (l) => {
        saveLanguage(l);
        setLanguage(l);
      },
    }),
    [language],
  );

  useEffect(() => {
    document.documentElement.lang = language;
  }, [language]);

  useEffect(() => {
    hasProfile().then(
      (has) => {
        setPhase(has ? { name: 'unlock' } : { name: 'welcome' });
      },
      () => {
        setPhase({ name: 'welcome' });
      },
    );
  }, []);

  const opened = (session: Session): void => {
    setPhase({ name: 'main', session });
  };

  return (
    <I18nContext.Provider value={i18n}>
      {phase.name === 'loading' && (
        <p className="centered" role="status">
          {i18n.t('loading')}
        </p>
      )}
      {phase.name === 'welcome' && <Welcome onOpen={opened} />}
      {phase.name === 'unlock' && (
        <Unlock
          onOpen={opened}
          onForget={() => {
            setPhase({ name: 'welcome' });
          }}
        />
      )}
      {phase.name === 'main' && (
        <Messenger
          session={phase.session}
          onLock={() => {
            void phase.session.close().finally(() => {
              setPhase({ name: 'unlock' });
            });
          }}
        />
      )}
    </I18nContext.Provider>
  );
}
