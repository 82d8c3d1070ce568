// The warning shown when a contact's identity key changed: a modal alert dialog that Escape
// does not close. It offers two ways out, and only two: compare safety numbers (then mark
// the contact verified), or accept the new key without verifying it. Accepting is a second
// step that names its consequence and asks for the contact's user name to be typed, so it
// cannot happen by a stray click or Enter; it ends the client's pin on the old key
// (ParleyClient.acknowledgeKeyChange), after which that user's new devices may join again.

import { useEffect, useId, useState } from 'react';
import type { ContactRecord } from '@parley/client';
import { describeError } from './errors.js';
import { useI18n } from './i18n.js';
import { codeOf, type Session } from './session.js';
import { Modal, VerifyDialog } from './Verify.js';

type Step = 'warn' | 'compare' | 'accept';

export function KeyChangedWarning(props: { session: Session; contact: ContactRecord }) {
  const { t } = useI18n();
  const user = props.contact.userId;
  const changedAt = props.contact.keyChangedAt ?? 0;
  const [acknowledged, setAcknowledged] = useState<boolean | undefined>();
  const [step, setStep] = useState<Step>('warn');
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const titleId = useId();
  const inputId = useId();
  useEffect(() => {
    void props.session.keyChangeAcknowledged(user, changedAt).then(setAcknowledged).catch(props.session.ignoreAfterClose);
  }, [props.session, user, changedAt]);
  // Verified since the change (the numbers were compared): nothing left to warn about. A
  // warning closed while the old key stays pinned (the app once closed it without accepting) opens again.
  if (acknowledged === undefined || props.contact.verified || (acknowledged && props.contact.pinnedIdentityKey === undefined)) return null;
  const confirmed = typed.trim() === user;

  return (
    // Escape does nothing: the user must choose one of the two ways out.
    <Modal labelledBy={titleId} role="alertdialog" onCancel={() => undefined}>
      {step === 'accept' ? (
        <form
          data-testid="accept-new-key"
          onSubmit={(e) => {
            e.preventDefault();
            if (!confirmed || busy) return;
            setBusy(true);
            setError(undefined);
            props.session.acceptNewKey(props.contact).then(
              () => {
                setAcknowledged(true);
              },
              (err: unknown) => {
                setBusy(false);
                setError(codeOf(err));
              },
            );
          }}
        >
          <h2 id={titleId} className="danger">
            {t('acceptNewKeyTitle', { user })}
          </h2>
          <p>{t('acceptNewKeyBody', { user })}</p>
          <label htmlFor={inputId}>{t('acceptNewKeyConfirm', { user })}</label>
          <input
            id={inputId}
            value={typed}
            autoComplete="off"
            autoFocus
            onChange={(e) => {
              setTyped(e.target.value);
            }}
          />
          {error !== undefined && (
            <p className="error" role="alert">
              {describeError(t, error)}
            </p>
          )}
          <div className="row">
            <button type="submit" className="danger" disabled={!confirmed || busy}>
              {t('acceptNewKeySubmit', { user })}
            </button>
            <button
              type="button"
              onClick={() => {
                setTyped('');
                setError(undefined);
                setStep('warn');
              }}
            >
              {t('back')}
            </button>
          </div>
        </form>
      ) : (
        <>
          <h2 id={titleId} className="danger">
            {t('keyChangedTitle', { user })}
          </h2>
          <p>{t('keyChangedBody', { user })}</p>
          <div className="row">
            <button
              type="button"
              className="primary"
              onClick={() => {
                setStep('compare');
              }}
            >
              {t('keyChangedCompare')}
            </button>
            <button
              type="button"
              onClick={() => {
                setStep('accept');
              }}
            >
              {t('acceptNewKey')}
            </button>
          </div>
        </>
      )}
      {step === 'compare' && (
        <VerifyDialog
          session={props.session}
          contact={props.contact}
          onClose={() => {
            setStep('warn');
          }}
        />
      )}
    </Modal>
  );
}
