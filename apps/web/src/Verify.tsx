// Verifying a contact: the safety number as 12 groups of 5 digits and as a QR code (the
// same digits, for a phone to scan), and marking the contact verified once they match.
// The warning shown when a contact's identity key changed is in KeyChange.tsx.

import qrcode from 'qrcode-generator';
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import type { ContactRecord } from '@parley/client';
import { describeError } from './errors.js';
import { useI18n } from './i18n.js';
import { codeOf, type Session } from './session.js';

/** A QR code drawn as SVG rectangles (no inline script or style, so the CSP holds). */
function QrCode(props: { value: string; label: string }) {
  const qr = qrcode(0, 'M');
  qr.addData(props.value, 'Numeric');
  qr.make();
  const n = qr.getModuleCount();
  const cells: ReactNode[] = [];
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) if (qr.isDark(r, c)) cells.push(<rect key={`${r}-${c}`} x={c + 4} y={r + 4} width={1} height={1} />);
  return (
    <svg className="qr" viewBox={`0 0 ${n + 8} ${n + 8}`} role="img" aria-label={props.label} data-testid="qr" data-modules={n}>
      <rect width={n + 8} height={n + 8} fill="#fff" />
      <g fill="#000">{cells}</g>
    </svg>
  );
}

/** A modal <dialog>: focus moves into it and stays there; `onCancel` decides about Escape. */
export function Modal(props: { labelledBy: string; children: ReactNode; onCancel: () => void; role?: 'alertdialog' }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d !== null && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      className="modal"
      aria-labelledby={props.labelledBy}
      role={props.role}
      onCancel={(e) => {
        e.preventDefault();
        props.onCancel();
      }}
    >
      {props.children}
    </dialog>
  );
}

export function VerifyDialog(props: { session: Session; contact: ContactRecord; onClose: () => void }) {
  const { t } = useI18n();
  const [digits, setDigits] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const titleId = useId();
  const user = props.contact.userId;

  useEffect(() => {
    props.session.safetyNumber(props.contact).then(setDigits, (e: unknown) => {
      setError(codeOf(e));
    });
  }, [props.session, props.contact]);

  return (
    <Modal labelledBy={titleId} onCancel={props.onClose}>
      <h2 id={titleId}>{t('verifyTitle', { user })}</h2>
      <p>{t('verifyIntro', { user })}</p>
      {digits !== undefined && (
        <>
          <h3>{t('safetyNumber')}</h3>
          <p className="safety-number" data-testid="safety-number">
            {digits.split(' ').map((group, i) => (
              <span key={i}>{group}</span>
            ))}
          </p>
          <QrCode value={digits.replace(/ /g, '')} label={t('qrLabel')} />
        </>
      )}
      {error !== undefined && (
        <p className="error" role="alert">
          {describeError(t, error)}
        </p>
      )}
      <div className="row">
        {props.contact.verified ? (
          <span className="badge ok">{t('verified')}</span>
        ) : (
          <button
            type="button"
            className="primary"
            disabled={digits === undefined}
            onClick={() => {
              props.session.verify(props.contact).then(props.onClose, (e: unknown) => {
                setError(codeOf(e));
              });
            }}
          >
            {t('markVerified')}
          </button>
        )}
        <button type="button" onClick={props.onClose}>
          {t('close')}
        </button>
      </div>
    </Modal>
  );
}
