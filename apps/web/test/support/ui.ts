// What the browser tests do on the app's screens, as a user would: shared by the test files.
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { seriousViolations } from './browser.js';

/** Registers `username` through the welcome screen and waits until the app is online. */
export async function register(page: Page, username: string, passphrase: string): Promise<void> {
  await page.locator('input[name=username]').fill(username);
  await page.locator('input[name=password]').fill(`${username} account password`);
  await page.locator('input[name=passphrase]').fill(passphrase);
  await page.locator('button[type=submit]').click();
  await page.locator('[data-testid=connection].online').waitFor({ timeout: 30_000 });
}

/** Types the profile passphrase on the lock screen. */
export async function unlock(page: Page, passphrase: string): Promise<void> {
  await page.locator('input[name=passphrase]').fill(passphrase);
  await page.locator('button[type=submit]').click();
}

/** Sends a text from the open conversation's composer. */
export async function send(page: Page, text: string): Promise<void> {
  const composer = page.locator('input[name=message]');
  await composer.fill(text);
  await composer.press('Enter');
}

/** The message bubble holding `text`. */
export const bubble = (page: Page, text: string) => page.locator('[data-testid=message]', { hasText: text });

/** axe-core finds no serious or critical violation on the screen shown. */
export async function expectNoSeriousViolations(page: Page, screen: string): Promise<void> {
  const v = await seriousViolations(page);
  expect(v, `${screen}: ${JSON.stringify(v)}`).toEqual([]);
}
