// The building blocks of the first screens (account creation, unlock, new device): a labelled
// field with an optional hint, and the frame with the brand and language picker.

import { useId } from 'react';
import { useI18n } from './i18n.js';
import { LanguagePicker } from './LanguagePicker.js';

export function Field(props: { label: string; hint?: string; type?: string; value: string; onChange: (v: string) => void; autoComplete: string; required?: boolean; name: string }) {
  const id = useId();
  const hintId = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.value}
        required={props.required ?? true}
        autoComplete={props.autoComplete}
        aria-describedby={props.hint === undefined ? undefined : hintId}
        onChange={(e) => {
          props.onChange(e.target.value);
        }}
      />
      {props.hint !== undefined && (
        <p id={hintId} className="hint">
          {props.hint}
        </p>
      )}
    </div>
  );
}

export function Frame(props: { title: string; children: React.ReactNode }) {
  const { t } = useI18n();
  return (
    <div className="welcome">
      <header className="welcome-head">
        <span className="brand">{t('appName')}</span>
        <LanguagePicker />
      </header>
      <main className="card" id="main">
        <h1>{props.title}</h1>
        {props.children}
      </main>
    </div>
  );
}
