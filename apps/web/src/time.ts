// Dates and times in the user's language (Intl, no library).
import type { Language } from './i18n.js';

const locale = (l: Language): string => (l === 'fr' ? 'fr-FR' : 'en-GB');

export function formatTime(ms: number, l: Language): string {
  const d = new Date(ms);
  const now = new Date();
  const sameDay = d.toDateString() === now.toDateString();
  return sameDay ? d.toLocaleTimeString(locale(l), { hour: '2-digit', minute: '2-digit' }) : d.toLocaleDateString(locale(l), { day: 'numeric', month: 'short' });
}

export function formatClock(ms: number, l: Language): string {
  return new Date(ms).toLocaleTimeString(locale(l), { hour: '2-digit', minute: '2-digit' });
}

/** A day heading: "Today", "Yesterday", or the date. */
export function formatDay(ms: number, l: Language, today: string, yesterday: string): string {
  const d = new Date(ms);
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return today;
  const y = new Date(now);
  y.setDate(now.getDate() - 1);
  if (d.toDateString() === y.toDateString()) return yesterday;
  return d.toLocaleDateString(locale(l), { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
}

export const dayKey = (ms: number): string => new Date(ms).toDateString();
