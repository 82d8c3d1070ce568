// The web app in real headless Chromium against a real `parley serve` on loopback: two
// browser contexts register two users (one browser in English, one in French) who chat
// both ways; verification of a contact; a reload that keeps the conversation (IndexedDB +
// passphrase); a 10,000-message conversation whose DOM stays small; axe-core on every
// main screen; screenshots of each screen in artifacts/screenshots/.
// Skipped (with the reason) when Chromium is not installed.

import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInvite, createUser } from '@parley/server';
import { http, startTestServer } from '@parley/testing';
import { HAS_CHROMIUM, NO_CHROMIUM, screenshot, startHarness, type Harness } from './support/browser.js';
import { loadSeed } from './support/seed-loader.js';
import { bubble, expectNoSeriousViolations, register, unlock } from './support/ui.js';

let h: Harness | undefined;
let alice: Page;
let bob: Page;
const PASSPHRASE = { alice: 'alice passphrase, long enough', bob: 'la phrase de passe de bob' };

beforeAll(async () => {
  if (!HAS_CHROMIUM) return;
  h = await startHarness();
  alice = (await h.context('en-US')).page;
  bob = (await h.context('fr-FR')).page;
}, 90_000);

afterAll(async () => {
  await h?.close();
});

/** The element that has the keyboard focus: its tag, name, text, and whether an outline shows. */
function focused(page: Page): Promise<{ tag: string; name: string; text: string; outline: string }> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    const style = el === null ? undefined : getComputedStyle(el);
    return { tag: el?.tagName ?? '', name: el?.getAttribute('name') ?? '', text: el?.textContent ?? '', outline: style === undefined ? 'none' : `${style.outlineStyle} ${style.outlineWidth}` };
  });
}

/** Presses Tab until `match` holds for the focused element (at most 30 times). */
async function tabTo(page: Page, match: (f: { tag: string; name: string; text: string }) => boolean): Promise<{ outline: string }> {
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    if (match(f)) return f;
  }
  throw new Error('Tab never reached the element');
}


describe.skipIf(!HAS_CHROMIUM)('the web app in Chromium', () => {
  it('greets a French browser in French and an English one in English; the welcome screen passes axe', async () => {
    expect(await bob.locator('html').getAttribute('lang')).toBe('fr');
    await expect.poll(() => bob.locator('button[type=submit]').textContent()).toBe('Créer mon compte');
    expect(await alice.locator('html').getAttribute('lang')).toBe('en');
    expect(await alice.locator('button[type=submit]').textContent()).toBe('Create my account');
    // The user's choice wins over the browser's, and is kept across a reload.
    await alice.getByLabel('Language').selectOption('fr');
    expect(await alice.locator('button[type=submit]').textContent()).toBe('Créer mon compte');
    await alice.reload();
    await expect.poll(() => alice.locator('html').getAttribute('lang')).toBe('fr');
    await alice.getByLabel('Langue').selectOption('en');
    expect(await alice.locator('button[type=submit]').textContent()).toBe('Create my account');
    await screenshot(alice, '01-welcome-en');
    await screenshot(bob, '01-welcome-fr');
    await expectNoSeriousViolations(alice, 'welcome');
    await expectNoSeriousViolations(bob, 'welcome (fr)');
  });

  it('asks for an invite code when the server does, and refuses a wrong one', async () => {
    const inv = await startTestServer({ webRoot: h!.webRoot, registration: { policy: 'invite', domains: [] } });
    const context = await h!.browser.newContext({ locale: 'fr-FR' });
    try {
      const store = inv.server.ctx.store;
      await createUser(store, { N: 1024, r: 8, p: 1 }, Date.now(), { username: 'root', password: 'root-password', admin: true });
      const { code } = await createInvite(store, 'root', Date.now(), 1, 3_600_000);
      const page = await context.newPage();
      await page.goto(inv.url + '/');
      await page.getByText('Ce serveur demande un code d’invitation pour s’inscrire.').waitFor();
      await page.locator('input[name=username]').fill('dora');
      await page.locator('input[name=password]').fill('dora account password');
      await page.locator('input[name=passphrase]').fill('dora passphrase');
      // Malformed (caught in the page), then well-formed but unknown (refused by the server).
      await page.locator('input[name=invite]').fill('not-a-valid-invite-code');
      await page.locator('button[type=submit]').click();
      await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 20_000 }).toBe('Ce code d’invitation n’est pas valide.');
      // Editing the field clears the old message; the server's answer brings it back.
      await page.locator('input[name=invite]').fill('A'.repeat(43));
      await page.getByRole('alert').waitFor({ state: 'detached', timeout: 10_000 });
      await page.locator('button[type=submit]').click();
      await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 20_000 }).toBe('Ce code d’invitation n’est pas valide.');
      await screenshot(page, '01b-invite-refused-fr');
      await expectNoSeriousViolations(page, 'welcome with an invite error');
      await page.locator('input[name=invite]').fill(code);
      await page.locator('button[type=submit]').click();
      await page.locator('[data-testid=connection].online').waitFor({ timeout: 30_000 });
    } finally {
      await context.close();
      await inv.close();
    }
  }, 60_000);

  it('asks for an e-mail address of an allowed domain when the server does', async () => {
    const dom = await startTestServer({ webRoot: h!.webRoot, registration: { policy: 'domains', domains: ['agents.example.fr'] } });
    const context = await h!.browser.newContext({ locale: 'en-GB' });
    try {
      const page = await context.newPage();
      await page.goto(dom.url + '/');
      await page.getByText('This server accepts addresses of some domains only.').waitFor();
      await page.locator('input[name=username]').fill('erin');
      await page.locator('input[name=password]').fill('erin account password');
      await page.locator('input[name=passphrase]').fill('erin passphrase');
      // Not an address (caught in the page), then an address the server refuses.
      await page.locator('input[name=email]').fill('erin');
      await page.locator('button[type=submit]').click();
      await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 20_000 }).toBe('Enter an e-mail address (name@domain).');
      await page.locator('input[name=email]').fill('erin@gmail.example');
      await page.locator('button[type=submit]').click();
      await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 20_000 }).toBe('This e-mail domain is not allowed here.');
      await screenshot(page, '01c-email-domain-refused');
      await expectNoSeriousViolations(page, 'welcome with an e-mail error');
      await page.locator('input[name=email]').fill('erin@Agents.example.fr');
      await page.locator('button[type=submit]').click();
      await page.locator('[data-testid=connection].online').waitFor({ timeout: 30_000 });
      const user = await dom.server.ctx.store.getUser('erin');
      expect(user?.email).toBe('erin@Agents.example.fr');
    } finally {
      await context.close();
      await dom.close();
    }
  }, 60_000);

  it('registers two users who chat both ways', async () => {
    await register(alice, 'alice', PASSPHRASE.alice);
    await register(bob, 'bob', PASSPHRASE.bob);
    await screenshot(alice, '02-empty-list');
    await expectNoSeriousViolations(alice, 'empty conversation list');

    await alice.getByRole('button', { name: 'New chat' }).click();
    await alice.locator('input[name=peer]').fill('nobody-here');
    await alice.locator('input[name=peer]').press('Enter');
    await expect.poll(() => alice.getByRole('alert').textContent(), { timeout: 20_000 }).toBe('There is no user with this name.');
    await alice.locator('input[name=peer]').fill('bob');
    await alice.locator('input[name=peer]').press('Enter');
    const composer = alice.locator('input[name=message]');
    await composer.waitFor();
    await composer.fill('Hello Bob, this is Alice');
    await composer.press('Enter');
    await bubble(bob, 'Hello Bob, this is Alice').waitFor({ timeout: 30_000 });
    // Bob's only conversation opened by itself on his screen: Alice's message shows as read.
    await expect.poll(() => bubble(alice, 'Hello Bob').locator('[data-testid=status]').textContent(), { timeout: 20_000 }).toBe('Read');
    expect(await bob.locator('.conversation h2').textContent()).toBe('alice');
    await bob.locator('input[name=message]').fill('Bonjour Alice !');
    await bob.locator('input[name=message]').press('Enter');
    await bubble(alice, 'Bonjour Alice !').waitFor({ timeout: 30_000 });
    await expect.poll(() => bubble(bob, 'Bonjour Alice').locator('[data-testid=status]').textContent(), { timeout: 20_000 }).toBe('Lu');

    // Grouped by day and sender: one day heading, and a sender line on each side's run.
    expect(await alice.locator('.messages .day').count()).toBe(1);
    expect(await alice.locator('.conversation-item .title').allTextContents()).toEqual(['bob']);
    await screenshot(alice, '03-conversation-en');
    await screenshot(bob, '03-conversation-fr');
    await expectNoSeriousViolations(alice, 'conversation');
    await expectNoSeriousViolations(bob, 'conversation (fr)');
    expect(h?.cspViolations).toEqual([]);
  }, 90_000);

  it('sends encrypted attachments: an image shows as a preview, a file downloads intact', async () => {
    // A 2×2 PNG, and a text file.
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==', 'base64');
    const text = 'Compte rendu : rien à signaler.\n'.repeat(50);
    await alice.locator('[data-testid=file]').setInputFiles({ name: 'pixel.png', mimeType: 'image/png', buffer: png });
    await alice.locator('[data-testid=file]').setInputFiles({ name: 'compte-rendu.txt', mimeType: 'text/plain', buffer: Buffer.from(text) });
    const image = bob.locator('[data-testid=attachment-image]');
    await image.waitFor({ timeout: 30_000 });
    await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), { timeout: 10_000 }).toBe(2);
    expect(await image.getAttribute('alt')).toBe('Image : pixel.png');
    const file = bob.getByRole('button', { name: /Télécharger compte-rendu\.txt/ });
    await file.waitFor({ timeout: 30_000 });
    const [download] = await Promise.all([bob.waitForEvent('download'), file.click()]);
    expect(download.suggestedFilename()).toBe('compte-rendu.txt');
    const path = await download.path();
    expect(readFileSync(path, 'utf8')).toBe(text);
    // The list shows the readable first line, not the key material.
    expect(await bob.locator('.conversation-item .preview').textContent()).toBe('📎 compte-rendu.txt');
    await screenshot(bob, '03b-attachments-fr');
    await expectNoSeriousViolations(bob, 'conversation with attachments');
  }, 90_000);

  it('verifies a contact: the same 60 digits on both sides, a QR code, then a verified badge', async () => {
    await alice.getByRole('button', { name: 'Verify' }).click();
    const digitsA = await alice.locator('[data-testid=safety-number]').textContent({ timeout: 10_000 });
    await bob.getByRole('button', { name: 'Vérifier' }).click();
    const digitsB = await bob.locator('[data-testid=safety-number]').textContent({ timeout: 10_000 });
    expect(digitsA).toMatch(/^[0-9]{60}$/);
    expect(digitsB).toBe(digitsA);
    expect(Number(await alice.locator('[data-testid=qr]').getAttribute('data-modules'))).toBeGreaterThanOrEqual(21);
    await screenshot(alice, '04-verify');
    await expectNoSeriousViolations(alice, 'verification dialog');
    // Escape closes the verification dialog (it is not a warning).
    await bob.keyboard.press('Escape');
    await bob.locator('dialog').waitFor({ state: 'detached' });
    await alice.getByRole('button', { name: 'The numbers match: mark as verified' }).click();
    await alice.locator('.conversation-head .badge.ok').waitFor();
    expect(await alice.locator('.conversation-head .badge').textContent()).toBe('Verified');
  }, 60_000);

  it('keeps the conversation across a reload: unlock with the passphrase (a wrong one is refused)', async () => {
    await alice.reload();
    const shown = Date.now();
    await alice.locator('input[name=passphrase]').waitFor();
    const unlockScreenMs = Date.now() - shown;
    await screenshot(alice, '05-unlock');
    await expectNoSeriousViolations(alice, 'unlock');
    await alice.locator('input[name=passphrase]').fill('not the passphrase');
    await alice.locator('button[type=submit]').click();
    await expect.poll(() => alice.getByRole('alert').textContent(), { timeout: 20_000 }).toBe('This passphrase does not open this device’s data.');
    await alice.locator('input[name=passphrase]').fill(PASSPHRASE.alice);
    const submitted = Date.now();
    await alice.locator('button[type=submit]').click();
    await bubble(alice, 'Bonjour Alice !').waitFor({ timeout: 20_000 });
    const unlockedMs = Date.now() - submitted;
    await bubble(alice, 'Hello Bob, this is Alice').waitFor();
    expect(await alice.locator('.conversation-head .badge').textContent()).toBe('Verified');
    // Live again after the reload: a new message from Bob arrives.
    await bob.locator('input[name=message]').fill('Toujours là ?');
    await bob.locator('input[name=message]').press('Enter');
    await bubble(alice, 'Toujours là ?').waitFor({ timeout: 30_000 });
    // Nothing of who talks to whom sits in clear in localStorage: only the user name and the language.
    const clear = await alice.evaluate(() => JSON.stringify(Object.entries(localStorage)));
    expect(clear).not.toContain('bob');
    expect(clear).not.toContain('Bonjour');
    process.stdout.write(`web: returning user: unlock screen ${unlockScreenMs} ms after reload; conversation ${unlockedMs} ms after the passphrase\n`);
  }, 90_000);

  it('shows a 10,000-message conversation with a bounded DOM while scrolling', async () => {
    const groupId = (await alice.locator('.conversation').getAttribute('data-group-id')) ?? undefined;
    expect(groupId).toBeTruthy();
    // Seed the profile directly (the app's own store code, bundled) while the app is
    // locked (one open store per profile), then reload.
    await alice.getByRole('button', { name: 'Lock' }).click();
    await alice.locator('input[name=passphrase]').waitFor();
    await loadSeed(alice);
    await alice.evaluate(async ([g, p]) => (globalThis as unknown as { parleySeed: (g: string, p: string, n: number) => Promise<void> }).parleySeed(g!, p!, 10_000), [groupId, PASSPHRASE.alice]);
    const cost = await alice.evaluate(async ([g, p]) => (globalThis as unknown as { parleyTimeOpen: (p: string, g: string) => Promise<unknown> }).parleyTimeOpen(p!, g!), [groupId, PASSPHRASE.alice]);
    process.stdout.write(`web: 10,000-message profile: ${JSON.stringify(cost)} (ms to open it with scrypt, message rows stay sealed; to decrypt its last 300-message page; to decrypt the whole conversation)\n`);
    await alice.reload();
    await alice.locator('input[name=passphrase]').fill(PASSPHRASE.alice);
    const submitted = Date.now();
    await alice.locator('button[type=submit]').click();
    await bubble(alice, 'seeded message 9999').waitFor({ timeout: 30_000 });
    const firstScreenMs = Date.now() - submitted;
    const rowsInDom = async (): Promise<number> => alice.locator('[data-testid=message]').count();
    expect(await rowsInDom()).toBeLessThan(80);
    const list = alice.locator('[data-testid=messages]');
    const frames: number[] = [];
    for (const top of [0.5, 0.25, 0]) {
      await list.evaluate((el, f) => {
        el.scrollTop = el.scrollHeight * f;
      }, top);
      await alice.waitForTimeout(100);
      frames.push(await rowsInDom());
    }
    // Older pages are read as the user reaches the top: keep going up until the first one.
    const first = bubble(alice, 'seeded message 0');
    let pages = 0;
    while (!(await first.isVisible()) && pages < 60) {
      await list.evaluate((el) => {
        el.scrollTop = 0;
      });
      await alice.waitForTimeout(150);
      frames.push(await rowsInDom());
      pages++;
    }
    await first.waitFor({ timeout: 10_000 });
    expect(pages).toBeGreaterThan(1);
    for (const n of frames) expect(n).toBeLessThan(80);
    expect(Math.max(...frames)).toBeGreaterThan(0);
    await screenshot(alice, '06-long-conversation');
    process.stdout.write(`web: 10,000-message conversation: shown ${firstScreenMs} ms after the passphrase; ${frames.join('/')} message rows in the DOM while scrolling\n`);
  }, 120_000);

  it('refuses to open the same profile in a second tab (both would write it)', async () => {
    const second = await alice.context().newPage();
    try {
      await second.goto(h!.server.url + '/');
      await unlock(second, PASSPHRASE.alice);
      await expect.poll(() => second.getByRole('alert').textContent(), { timeout: 20_000 }).toBe('Parley is already open in another tab of this browser. Close it there first.');
      // The first tab is unaffected.
      expect(await alice.locator('[data-testid=connection]').textContent()).toBe('Connected');
    } finally {
      await second.close();
    }
  }, 30_000);

  it('lists the devices of the account, this one marked and not removable', async () => {
    await alice.getByRole('button', { name: 'Devices' }).click();
    const list = alice.locator('[data-testid=devices] li');
    await list.first().waitFor({ timeout: 10_000 });
    expect(await list.count()).toBe(1);
    expect(await list.first().locator('.badge').textContent()).toBe('This device');
    expect(await list.first().getByRole('button').count()).toBe(0);
    await screenshot(alice, '06b-devices');
    await expectNoSeriousViolations(alice, 'devices');
    await alice.keyboard.press('Escape');
    await alice.locator('dialog').waitFor({ state: 'detached' });
  }, 30_000);

  it('warns, and cannot be dismissed by Escape, when a verified contact\'s identity key changed', async () => {
    await alice.getByRole('button', { name: 'Lock' }).click();
    await alice.locator('input[name=passphrase]').waitFor();
    await loadSeed(alice);
    await alice.evaluate(async (p) => (globalThis as unknown as { parleyKeyChange: (p: string, u: string) => Promise<void> }).parleyKeyChange(p, 'bob'), PASSPHRASE.alice);
    await alice.reload();
    await unlock(alice, PASSPHRASE.alice);
    const warning = alice.getByRole('alertdialog');
    await warning.waitFor({ timeout: 20_000 });
    expect(await warning.locator('h2').textContent()).toBe('Security warning: bob’s key changed');
    await screenshot(alice, '07-key-changed');
    await expectNoSeriousViolations(alice, 'key-change warning');
    await alice.keyboard.press('Escape');
    expect(await warning.isVisible()).toBe(true);
    // Going on without comparing numbers is the explicit, confirmed "I accept the new key" (key-change.test.ts).
    await warning.getByRole('button', { name: 'I accept the new key' }).click();
    const go = warning.getByRole('button', { name: 'Accept bob’s new key' });
    expect(await go.isDisabled()).toBe(true);
    await warning.locator('input').fill('bob');
    await go.click();
    await warning.waitFor({ state: 'detached' });
    expect(await alice.locator('.conversation-head .badge').textContent()).toBe('Not verified');
    // Acknowledged for this key change: a reload does not ask again.
    await alice.reload();
    await unlock(alice, PASSPHRASE.alice);
    await alice.locator('.conversation-head').waitFor({ timeout: 20_000 });
    expect(await alice.getByRole('alertdialog').count()).toBe(0);
  }, 90_000);

  it('works with the keyboard alone: register, start a chat, send, with a visible focus', async () => {
    const carol = (await h!.context('en-US')).page;
    await carol.locator('input[name=username]').waitFor();
    const user = await tabTo(carol, (f) => f.name === 'username');
    expect(user.outline).not.toMatch(/^none/);
    await carol.keyboard.type('carol');
    await tabTo(carol, (f) => f.name === 'password');
    await carol.keyboard.type('carol account password');
    await tabTo(carol, (f) => f.name === 'passphrase');
    await carol.keyboard.type('carol passphrase');
    await carol.keyboard.press('Enter');
    await carol.locator('[data-testid=connection].online').waitFor({ timeout: 30_000 });
    const newChat = await tabTo(carol, (f) => f.text === 'New chat');
    expect(newChat.outline).not.toMatch(/^none/);
    await carol.keyboard.press('Enter');
    await carol.keyboard.type('bob');
    await carol.keyboard.press('Enter');
    await carol.locator('input[name=message]').waitFor();
    await expect.poll(async () => (await focused(carol)).name).toBe('message');
    await carol.keyboard.type('Hello from the keyboard');
    await carol.keyboard.press('Enter');
    const fromCarol = bob.locator('.conversation-item', { has: bob.locator('.title', { hasText: /^carol$/ }) });
    // Bob is in his chat with Alice: Carol's conversation shows one unread message.
    await expect.poll(() => fromCarol.locator('.badge').textContent(), { timeout: 30_000 }).toBe('1 non lus');
    expect(await bob.title()).toBe('(1) Parley');
    await fromCarol.click();
    await expect.poll(() => fromCarol.locator('.badge').count()).toBe(0);
    await bubble(bob, 'Hello from the keyboard').waitFor({ timeout: 30_000 });
    // Bob's list holds both conversations, the most recent first.
    expect(await bob.locator('.conversation-item .title').allTextContents()).toEqual(['carol', 'alice']);
  }, 90_000);

  it('shows a lost connection as a small status, fails a send visibly, reconnects by itself and retries', async () => {
    const restart = await h!.stopServer();
    await expect.poll(() => alice.locator('[data-testid=connection]').textContent(), { timeout: 20_000 }).toBe('Offline — reconnecting');
    await screenshot(alice, '08-offline');
    await alice.locator('input[name=message]').fill('Sent while offline');
    await alice.locator('input[name=message]').press('Enter');
    const lost = bubble(alice, 'Sent while offline');
    await expect.poll(() => lost.locator('[data-testid=status]').textContent(), { timeout: 20_000 }).toBe('Not sent');
    await restart();
    await alice.locator('[data-testid=connection].online').waitFor({ timeout: 30_000 });
    await lost.getByRole('button', { name: 'Retry' }).click();
    await bob.locator('.conversation-item', { has: bob.locator('.title', { hasText: /^alice$/ }) }).click();
    await bubble(bob, 'Sent while offline').waitFor({ timeout: 30_000 });
    // Bob has the conversation open: the retried message is read.
    await expect.poll(() => lost.locator('[data-testid=status]').textContent(), { timeout: 20_000 }).toBe('Read');
    // The failed attempt used a sequence number that never reached the server: Bob's
    // client sees the hole in Alice's numbering and the conversation says so.
    expect(await bubble(bob, 'Sent while offline').locator('.notice').textContent()).toBe('Des messages de alice manquent avant celui-ci.');
    await screenshot(bob, '09-gap-fr');
    // Still shown after a reload (kept in the encrypted profile).
    await bob.reload();
    await unlock(bob, PASSPHRASE.bob);
    await bob.locator('.conversation-item', { has: bob.locator('.title', { hasText: /^alice$/ }) }).click({ timeout: 20_000 });
    await expect.poll(() => bubble(bob, 'Sent while offline').locator('.notice').textContent(), { timeout: 20_000 }).toBe('Des messages de alice manquent avant celui-ci.');
  }, 90_000);

  it('says so when something in a conversation could not be read (a malformed message from a member device)', async () => {
    const url = h!.server.url;
    const groupId = (await alice.locator('.conversation').getAttribute('data-group-id')) ?? '';
    // Bob's own device, logged in by HTTP: a member, so the server relays what it sends.
    const login = await http<{ token: string }>(url, 'POST', '/v1/sessions', { username: 'bob', password: 'bob account password' });
    const lookup = await http<{ devices: { deviceId: string }[] }>(url, 'GET', '/v1/users/bob', undefined, login.body.token);
    const deviceId = lookup.body.devices[0]!.deviceId;
    const session = await http<{ token: string }>(url, 'POST', '/v1/sessions', { username: 'bob', password: 'bob account password', deviceId });
    const sent = await http(url, 'POST', `/v1/groups/${groupId}/messages`, { messageId: 'A'.repeat(22), message: Buffer.from('not an MLS message').toString('base64') }, session.body.token);
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    const notice = alice.locator('.problems li');
    await notice.first().waitFor({ timeout: 20_000 });
    expect(await notice.first().textContent()).toMatch(/^Something sent in this conversation could not be read or verified \([a-z-]+\)\.$/);
  }, 60_000);

  it('fits a phone screen, still without serious accessibility violations; no CSP violation or page error in the whole run', async () => {
    await bob.setViewportSize({ width: 390, height: 760 });
    await bob.locator('.conversation-item').first().waitFor();
    await screenshot(bob, '10-phone-fr');
    await expectNoSeriousViolations(bob, 'phone layout');
    const overflow = await bob.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    expect(h?.cspViolations).toEqual([]);
  }, 30_000);
});

if (!HAS_CHROMIUM) it.skip(`the web app in Chromium (${NO_CHROMIUM})`, () => undefined);
