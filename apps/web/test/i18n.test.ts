// Every key in both languages: the same key set, no empty string, and the same {placeholders}
// in English and French (a translation that drops {name} would show a hole at run time).
// The type check already refuses a French table missing a key; this also catches an extra
// key, an empty value and a placeholder lost in translation, which the types cannot see.

import { describe, expect, it } from 'vitest';
import { DICTIONARIES, translator, type Language } from '../src/i18n.js';

const placeholders = (s: string): string[] => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '').sort();

describe('translations', () => {
  const languages = Object.keys(DICTIONARIES) as Language[];

  it('has English and French', () => {
    expect(languages.sort()).toEqual(['en', 'fr']);
  });

  it('has the same keys in every language, none empty', () => {
    const keys = Object.keys(DICTIONARIES.en).sort();
    expect(keys.length).toBeGreaterThan(0);
    for (const l of languages) {
      expect(Object.keys(DICTIONARIES[l]).sort(), l).toEqual(keys);
      const empty = Object.entries(DICTIONARIES[l]).filter(([, v]) => v.trim() === '').map(([k]) => k);
      expect(empty, `${l}: empty strings`).toEqual([]);
    }
  });

  it('keeps the same placeholders in French as in English', () => {
    const mismatched = Object.entries(DICTIONARIES.en)
      .filter(([k, v]) => placeholders(v).join() !== placeholders(DICTIONARIES.fr[k as keyof typeof DICTIONARIES.fr]).join())
      .map(([k]) => k);
    expect(mismatched).toEqual([]);
  });

  it('fills placeholders and leaves unknown ones visible', () => {
    const t = translator('en');
    const withVar = Object.entries(DICTIONARIES.en).find(([, v]) => placeholders(v).length > 0);
    expect(withVar).toBeDefined();
    const [key, value] = withVar as [keyof typeof DICTIONARIES.en, string];
    const vars = Object.fromEntries(placeholders(value).map((p) => [p, 'XYZ']));
    expect(t(key, vars)).not.toMatch(/\{\w+\}/);
    expect(t(key)).toBe(value);
  });
});
