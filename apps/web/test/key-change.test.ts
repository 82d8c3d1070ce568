// The identity-key pin in the web app, in real headless Chromium against a real `parley
// serve`: alice and bob chat; then bob's identity key changes in alice's profile the way
// the client records it (observeKey: the old key pinned), and the conversation gets the
// lines the client writes when it refuses a device certified by the new key
// (`device-refused`) or ignores a message the server moved in (`message-misrouted`).
// Checked: those lines read as sentences, not codes; the warning cannot be closed by
// Escape, nor by "I accept the new key" alone, nor by going back; only the typed
// confirmation ends it, and it ends the client's pin (ParleyClient.acknowledgeKeyChange).
//
// Why seeded and not provoked: a device certified by a substituted key can only come from
// a hostile server (packages/client test/attacks/identity-key-substitution.test.ts does
// that end to end), and the server refuses to replace a published identity key.
// Skipped (with the reason) when Chromium is not installed.

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_CHROMIUM, NO_CHROMIUM, screenshot, seriousViolations, startHarness, type Harness } from './support/browser.js';
import { loadSeed } from './support/seed-loader.js';
import { register } from './support/ui.js';

let h: Harness | undefined;
let alice: Page;
let bob: Page;
const PASSPHRASE = { alice: 'alice passphrase, long enough', bob: 'bob passphrase, long enough' };

interface Seeded {
  parleyKeyChange(p: string, u: string): Promise<void>;
  parleyContactState(p: string, u: string): Promise<{ pinned: boolean; verified: boolean; changed: boolean }>;
  parleyEventLines(p: string, g: string, self: string, lines: readonly (readonly [string, string | undefined])[]): Promise<void>;
}

beforeAll(async () => {
  if (!HAS_CHROMIUM) return;
  h = await startHarness();
  alice = (await h.context('en-US')).page;
  bob = (await h.context('en-US')).page;
}, 90_000);

afterAll(async () => {
  await h?.close();
});

async function lockAndSeed(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Lock' }).click();
  await page.locator('input[name=passphrase]').waitFor();
  await loadSeed(page);
}

async function unlock(page: Page, passphrase: string): Promise<void> {
  await page.reload();
  await page.locator('input[name=passphrase]').fill(passphrase);
  await page.locator('button[type=submit]').click();
}

const state = (page: Page) => page.evaluate(async (p) => (globalThis as unknown as Seeded).parleyContactState(p, 'bob'), PASSPHRASE.alice);

describe.skipIf(!HAS_CHROMIUM)('a changed identity key in the web app', () => {
  it('shows device-refused and message-misrouted as sentences; the warning ends only by the confirmed "I accept the new key", which ends the pin', async () => {
    await register(alice, 'alice', PASSPHRASE.alice);
    await register(bob, 'bob', PASSPHRASE.bob);
    await alice.getByRole('button', { name: 'New chat' }).click();
    await alice.locator('input[name=peer]').fill('bob');
    await alice.locator('input[name=peer]').press('Enter');
    await alice.locator('input[name=message]').fill('Hello Bob');
    await alice.locator('input[name=message]').press('Enter');
    await alice.locator('[data-testid=message]', { hasText: 'Hello Bob' }).locator('[data-testid=status]', { hasText: 'Sent' }).waitFor({ timeout: 20_000 });
    const groupId = (await alice.locator('.conversation').getAttribute('data-group-id')) ?? '';
    expect(groupId).not.toBe('');

    await lockAndSeed(alice);
    expect(await state(alice)).toEqual({ pinned: false, verified: false, changed: false });
    await alice.evaluate(async (p) => (globalThis as unknown as Seeded).parleyKeyChange(p, 'bob'), PASSPHRASE.alice);
    await alice.evaluate(
      async ([p, g]) =>
        (globalThis as unknown as Seeded).parleyEventLines(p!, g!, 'alice', [
          ['device-refused', 'bob'],
          ['message-misrouted', undefined],
        ]),
      [PASSPHRASE.alice, groupId],
    );
    expect(await state(alice)).toEqual({ pinned: true, verified: false, changed: true });

    await unlock(alice, PASSPHRASE.alice);
    const warning = alice.getByRole('alertdialog');
    await warning.waitFor({ timeout: 20_000 });
    expect(await warning.locator('h2').textContent()).toBe('Security warning: bob’s key changed');

    // The lines behind the dialog: words, never the codes.
    const events = await alice.locator('.messages .text.event').allTextContents();
    expect(events).toContain('A new device of bob was refused: it is certified by bob’s new identity key, which you have not accepted or verified.');
    expect(events).toContain('The server delivered a message of another conversation here. It was ignored.');
    expect(events.join('\n')).not.toMatch(/device-refused|message-misrouted/);

    // Escape keeps it; the first click on "I accept the new key" only asks.
    await alice.keyboard.press('Escape');
    expect(await warning.isVisible()).toBe(true);
    await warning.getByRole('button', { name: 'I accept the new key' }).click();
    expect(await warning.locator('h2').textContent()).toBe('Accept bob’s new key without verifying it?');
    const accept = warning.getByRole('button', { name: 'Accept bob’s new key' });
    expect(await accept.isDisabled()).toBe(true);
    // The field is labelled and has the focus; a wrong name does not enable the button; Enter does nothing.
    const field = warning.getByLabel('Type bob to confirm');
    expect(await field.evaluate((el) => el === document.activeElement)).toBe(true);
    await alice.keyboard.type('bo');
    await alice.keyboard.press('Enter');
    expect(await accept.isDisabled()).toBe(true);
    await alice.keyboard.press('Escape');
    expect(await warning.isVisible()).toBe(true);
    await screenshot(alice, '07b-accept-new-key');
    const v = await seriousViolations(alice);
    expect(v, JSON.stringify(v)).toEqual([]);

    // Back: still warned, and the typed text is gone.
    await warning.getByRole('button', { name: 'Back' }).click();
    expect(await warning.locator('h2').textContent()).toBe('Security warning: bob’s key changed');
    await warning.getByRole('button', { name: 'I accept the new key' }).click();
    expect(await field.inputValue()).toBe('');

    // Still pinned while the dialog is up: nothing was accepted yet (read after a reload, the profile is in use).
    await alice.reload();
    await loadSeed(alice);
    expect(await state(alice)).toEqual({ pinned: true, verified: false, changed: true });
    await unlock(alice, PASSPHRASE.alice);
    await warning.waitFor({ timeout: 20_000 });

    // With the keyboard alone: Tab to the action, Enter, type the name, Enter.
    for (let i = 0; i < 10; i++) {
      if ((await alice.evaluate(() => document.activeElement?.textContent)) === 'I accept the new key') break;
      await alice.keyboard.press('Tab');
    }
    expect(await alice.evaluate(() => document.activeElement?.textContent)).toBe('I accept the new key');
    await alice.keyboard.press('Enter');
    await alice.keyboard.type('bob');
    expect(await accept.isDisabled()).toBe(false);
    await alice.keyboard.press('Enter');
    await warning.waitFor({ state: 'detached', timeout: 20_000 });
    expect(await alice.locator('.conversation-head .badge').textContent()).toBe('Not verified');

    // The client's pin is gone (new devices of bob may join), bob is still not verified,
    // and a reload does not warn again.
    await lockAndSeed(alice);
    expect(await state(alice)).toEqual({ pinned: false, verified: false, changed: true });
    await unlock(alice, PASSPHRASE.alice);
    await alice.locator('.conversation-head').waitFor({ timeout: 20_000 });
    expect(await alice.getByRole('alertdialog').count()).toBe(0);
    expect(h?.cspViolations).toEqual([]);
  }, 120_000);
});

if (!HAS_CHROMIUM) it.skip(`a changed identity key in the web app (${NO_CHROMIUM})`, () => undefined);
