// The first screens: create an account on this server (with an invite code, or an e-mail
// address of an allowed domain, as its policy asks), or unlock the profile this browser
// already holds.

import { useEffect, useState, type SyntheticEvent } from 'react';
import { describeError } from './errors.js';
import { USERNAME_PATTERN } from '@parley/protocol';
import { useI18n } from './i18n.js';
import { Field, Frame } from './Form.js';
import { NewDeviceLogin } from './NewDevice.js';
import { Session, codeOf, emailDomain, forgetProfile, savedUser, serverInfo, type ServerInfo } from './session.js';

/** An invite code: 32 random bytes, base64url (docs/protocol.md). */
const INVITE = /^[A-Za-z0-9_-]{43}$/;

export function Welcome(props: { onOpen: (s: Session) => void }) {
  const { t } = useI18n();
  const [info, setInfo] = useState<ServerInfo | undefined>();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const [invite, setInvite] = useState('');
  const [email, setEmail] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [newDevice, setNewDevice] = useState(false);

  useEffect(() => {
    serverInfo().then(setInfo, () => {
      setError('network');
    });
  }, []);

  if (newDevice)
    return (
      <NewDeviceLogin
        onOpen={props.onOpen}
        onBack={() => {
          setNewDevice(false);
        }}
      />
    );

  // An error says what was wrong with what was typed: it goes once the user changes it.
  const edit =
    (set: (v: string) => void) =>
    (v: string): void => {
      set(v);
      setError(undefined);
    };

  const policy = info?.registration;
  const domains = info?.domains;

  const submit = (e: SyntheticEvent): void => {
    e.preventDefault();
    // The server's own rules, checked here first for a precise message.
    const domain = emailDomain(email.trim());
    const problem = !new RegExp(USERNAME_PATTERN).test(username.trim())
      ? 'invalid-username'
      : password.length < 8 || passphrase.length < 8
        ? 'too-short'
        : policy === 'invite' && !INVITE.test(invite.trim())
          ? 'invalid-invite'
          : policy === 'domains' && domain === undefined
            ? 'invalid-email'
            : policy === 'domains' && domains !== undefined && domain !== undefined && !domains.includes(domain)
              ? 'email-domain-not-allowed'
              : undefined;
    setError(problem);
    if (problem !== undefined) return;
    setBusy(true);
    const proof = policy === 'invite' ? { invite: invite.trim() } : policy === 'domains' ? { email: email.trim() } : {};
    Session.register(username.trim(), password, passphrase, proof).then(props.onOpen, (err: unknown) => {
      setBusy(false);
      setError(codeOf(err));
    });
  };

  return (
    <Frame title={t('register')}>
      <p className="lead">{t('welcomeTitle')}</p>
      {policy !== undefined && <p>{policy === 'invite' ? t('policyInvite') : policy === 'domains' ? t('policyDomains') : t('policyOpen')}</p>}
      <form onSubmit={submit} aria-busy={busy} noValidate>
        <Field name="username" label={t('username')} hint={t('usernameHint')} value={username} onChange={edit(setUsername)} autoComplete="username" />
        <Field name="password" label={t('password')} hint={t('passwordHint')} type="password" value={password} onChange={edit(setPassword)} autoComplete="new-password" />
        <Field name="passphrase" label={t('passphrase')} hint={t('passphraseHint')} type="password" value={passphrase} onChange={edit(setPassphrase)} autoComplete="off" />
        {policy === 'invite' && <Field name="invite" label={t('invite')} value={invite} onChange={edit(setInvite)} autoComplete="off" />}
        {policy === 'domains' && (
          <Field
            name="email"
            type="email"
            label={t('email')}
            hint={domains === undefined || domains.length === 0 ? t('emailHintUnlisted') : t('emailHint', { domains: domains.join(', ') })}
            value={email}
            onChange={edit(setEmail)}
            autoComplete="email"
          />
        )}
        {error !== undefined && (
          <p className="error" role="alert">
            {describeError(t, error)}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? t('working') : t('submitRegister')}
        </button>
      </form>
      <button
        type="button"
        className="link"
        onClick={() => {
          setNewDevice(true);
        }}
      >
        {t('newDevice')}
      </button>
    </Frame>
  );
}

export function Unlock(props: { onOpen: (s: Session) => void; onForget: () => void }) {
  const { t } = useI18n();
  const [passphrase, setPassphrase] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const user = savedUser() ?? '';

  const submit = (e: SyntheticEvent): void => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    Session.unlock(passphrase).then(props.onOpen, (err: unknown) => {
      setBusy(false);
      setError(codeOf(err));
    });
  };

  const forget = (): void => {
    if (window.confirm(t('forgetConfirm', { user }))) void forgetProfile().then(props.onForget);
  };

  return (
    <Frame title={t('unlockTitle')}>
      <p>{t('signedInAs', { user })}</p>
      <p>{t('unlockIntro')}</p>
      <form onSubmit={submit} aria-busy={busy}>
        {/* A hidden user name lets password managers file the passphrase under the right account. */}
        <input type="text" name="username" autoComplete="username" value={user} readOnly hidden />
        <Field name="passphrase" label={t('passphrase')} type="password" value={passphrase} onChange={setPassphrase} autoComplete="current-password" />
        {error !== undefined && (
          <p className="error" role="alert">
            {describeError(t, error)}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? t('working') : t('unlock')}
        </button>
      </form>
      <button type="button" className="link" onClick={forget}>
        {t('forget')}
      </button>
    </Frame>
  );
}
