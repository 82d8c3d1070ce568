// The language menu (a labelled native select: keyboard and screen readers for free).
import { useId } from 'react';
import { useI18n, type Language } from './i18n.js';

export function LanguagePicker() {
  const { language, setLanguage, t } = useI18n();
  const id = useId();
  return (
    <span className="language">
      <label htmlFor={id}>{t('language')}</label>
      <select
        id={id}
        value={language}
        onChange={(e) => {
          setLanguage(e.target.value as Language);
        }}
      >
        <option value="fr" lang="fr">
          Français
        </option>
        <option value="en" lang="en">
          English
        </option>
      </select>
    </span>
  );
}
