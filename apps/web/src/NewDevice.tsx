// Logging in on a new device: an account that exists elsewhere, on this browser's empty
// profile. The passphrase opens the identity backup (sealed under it at registration) and
// protects this profile; the device then receives what is sent from now on.

import { useState, type SyntheticEvent } from 'react';
import { describeError } from './errors.js';
import { useI18n } from './i18n.js';
import { Session, codeOf } from './session.js';
import { Field, Frame } from './Form.js';

export function NewDeviceLogin(props: { onOpen: (s: Session) => void; onBack: () => void }) {
  const { t } = useI18n();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();

  const edit =
    (set: (v: string) => void) =>
    (v: string): void => {
      set(v);
      setError(undefined);
    };

  const submit = (e: SyntheticEvent): void => {
    e.preventDefault();
    if (password.length < 8 || passphrase.length < 8) { setError('too-short'); return; }
    setBusy(true);
    Session.login(username.trim(), password, passphrase).then(props.onOpen, (err: unknown) => {
      setBusy(false);
      // Here a wrong passphrase fails to open the identity backup, not this profile.
      setError(codeOf(err) === 'wrong-passphrase' ? 'backup-passphrase' : codeOf(err));
    });
  };

  return (
    <Frame title={t('newDeviceTitle')}>
      <p>{t('newDeviceIntro')}</p>
      <form onSubmit={submit} aria-busy={busy} noValidate>
        <Field name="username" label={t('username')} value={username} onChange={edit(setUsername)} autoComplete="username" />
        <Field name="password" label={t('password')} type="password" value={password} onChange={edit(setPassword)} autoComplete="current-password" />
        <Field name="passphrase" label={t('passphrase')} hint={t('newDevicePassphraseHint')} type="password" value={passphrase} onChange={edit(setPassphrase)} autoComplete="off" />
        {error !== undefined && (
          <p className="error" role="alert">
            {describeError(t, error)}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? t('working') : t('login')}
        </button>
      </form>
      <button type="button" className="link" onClick={props.onBack}>
        {t('backToRegister')}
      </button>
    </Frame>
  );
}
