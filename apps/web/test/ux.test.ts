// The conversation's states in real headless Chromium against a real `parley serve` on
// loopback: the directory found by prefix ("bo" finds bob); an own message going sent →
// delivered (Bob's device has it, his screen does not show it) → read (Bob opens it), in
// English and in French; a verified contact whose key changed: sending is refused, with the
// reason, until they are verified again; and, through the hostile server of the attack tests
// (packages/testing), a message the server dropped (a gap) and one it replayed, each shown in
// the conversation; a send that fails while the server is down, retried once it restarted on
// the same data and port. axe-core on each of these screens; screenshots in artifacts/screenshots/.
// Skipped (with the reason) when Chromium is not installed.

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, newUser, startHostileServer, type HostileServer } from '@parley/testing';
import type { DeliverFrame } from '@parley/protocol';
import { HAS_CHROMIUM, NO_CHROMIUM, screenshot, startHarness, type Harness } from './support/browser.js';
import { bubble, expectNoSeriousViolations, register, send, unlock } from './support/ui.js';
import { loadSeed } from './support/seed-loader.js';

let h: Harness | undefined;
let alice: Page;
let bob: Page;
const PASSPHRASE = { alice: 'alice passphrase, long enough', bob: 'la phrase de passe de bob', carol: 'carol passphrase, long too' };

beforeAll(async () => {
  if (!HAS_CHROMIUM) return;
  h = await startHarness();
  alice = (await h.context('en-US')).page;
  bob = (await h.context('fr-FR')).page;
  // A phone-sized window opens no conversation by itself: Bob's device receives Alice's
  // messages without showing them, until he opens the conversation.
  await bob.setViewportSize({ width: 390, height: 760 });
}, 90_000);

afterAll(async () => {
  await h?.close();
});

const status = (page: Page, text: string) => bubble(page, text).locator('[data-testid=status]');

describe.skipIf(!HAS_CHROMIUM)('conversation states in Chromium', () => {
  it('finds people in the directory by the start of their name', async () => {
    await register(alice, 'alice', PASSPHRASE.alice);
    await register(bob, 'bob', PASSPHRASE.bob);
    // Two more accounts (by the API): one that shares Alice's prefix, one that does not.
    await newUser(h!.server.url, 'alicia');
    await newUser(h!.server.url, 'bobby');

    await bob.getByRole('button', { name: 'Nouvelle discussion' }).click();
    await bob.locator('input[name=peer]').fill('ali');
    const list = bob.getByRole('list', { name: 'Personnes dont le nom commence par « ali »' });
    await expect.poll(() => list.getByRole('button').allTextContents(), { timeout: 20_000 }).toEqual(['alice', 'alicia']);
    expect(await list.getByRole('button', { name: 'Écrire à alice', exact: true }).count()).toBe(1);
    await screenshot(bob, '20-directory-prefix-fr');
    await expectNoSeriousViolations(bob, 'new chat with directory suggestions (fr)');
    // A prefix nobody has says so; one character searches nothing yet.
    await bob.locator('input[name=peer]').fill('zq');
    await expect.poll(() => bob.getByRole('status').filter({ hasText: 'Aucun nom' }).textContent(), { timeout: 20_000 }).toBe('Aucun nom ne commence par « zq ».');
    await bob.locator('input[name=peer]').fill('a');
    await expect.poll(() => bob.locator('[data-testid=suggestions]').count()).toBe(0);
    await bob.getByRole('button', { name: 'Annuler' }).click();

    // Alice starts the chat from a suggestion: "bo" finds bob (and bobby, and not herself).
    await alice.getByRole('button', { name: 'New chat' }).click();
    await alice.locator('input[name=peer]').fill('Bo');
    const mine = alice.getByRole('list', { name: 'People whose name starts with “bo”' });
    await expect.poll(() => mine.getByRole('button').allTextContents(), { timeout: 20_000 }).toEqual(['bob', 'bobby']);
    await mine.getByRole('button', { name: 'Chat with bob', exact: true }).click();
    await alice.locator('input[name=message]').waitFor({ timeout: 30_000 });
    expect(await alice.locator('.conversation h2').textContent()).toBe('bob');

    // Group members are picked the same way; one picked leaves the suggestions.
    await alice.getByRole('button', { name: 'New group' }).click();
    await alice.getByLabel('Add a person by user name').fill('bo');
    const members = alice.getByRole('list', { name: 'People whose name starts with “bo”' });
    await expect.poll(() => members.getByRole('button').allTextContents(), { timeout: 20_000 }).toEqual(['bob', 'bobby']);
    await members.getByRole('button', { name: 'Add bob', exact: true }).click();
    await alice.locator('[data-testid=chosen] li', { hasText: 'bob' }).waitFor();
    await alice.getByLabel('Add a person by user name').fill('bo');
    await expect.poll(() => members.getByRole('button').allTextContents(), { timeout: 20_000 }).toEqual(['bobby']);
    await screenshot(alice, '20b-group-members-by-prefix');
    await expectNoSeriousViolations(alice, 'new group with directory suggestions');
    await alice.getByLabel('Group name').press('Escape');
    await alice.getByRole('button', { name: 'New group' }).waitFor();
  }, 120_000);

  it('shows an own message sent, then delivered when Bob’s device has it, then read when he opens it', async () => {
    await send(alice, 'Are you there, Bob?');
    // Bob's device receives it (his screen shows the list, not the conversation) and says so.
    await expect.poll(() => status(alice, 'Are you there').textContent(), { timeout: 30_000 }).toBe('Delivered');
    const bobsChat = bob.locator('.conversation-item', { has: bob.locator('.title', { hasText: /^alice$/ }) });
    await expect.poll(() => bobsChat.locator('.badge').textContent(), { timeout: 20_000 }).toBe('1 non lus');
    // Still delivered, not read, while Bob has not opened it.
    expect(await status(alice, 'Are you there').textContent()).toBe('Delivered');
    // A screen reader hears what the state is about; the ticks are not read out.
    expect(await bubble(alice, 'Are you there').locator('.meta').textContent()).toContain('Message status: ✓✓Delivered');
    expect(await bubble(alice, 'Are you there').locator('.mark').getAttribute('aria-hidden')).toBe('true');
    await screenshot(alice, '21-delivered');
    await expectNoSeriousViolations(alice, 'conversation with a delivered message');

    await bobsChat.click();
    await bubble(bob, 'Are you there, Bob?').waitFor({ timeout: 20_000 });
    await expect.poll(() => status(alice, 'Are you there').textContent(), { timeout: 30_000 }).toBe('Read');
    expect(await bubble(alice, 'Are you there').locator('.mark.read').count()).toBe(1);
    await screenshot(alice, '22-read');

    // The other way, in French: Alice has the conversation open, so it is read at once.
    await send(bob, 'Oui, je suis là');
    await bubble(alice, 'Oui, je suis là').waitFor({ timeout: 30_000 });
    await expect.poll(() => status(bob, 'Oui, je suis là').textContent(), { timeout: 30_000 }).toBe('Lu');
    expect(await bubble(bob, 'Oui, je suis là').locator('.meta').textContent()).toContain('État du message :');
    await screenshot(bob, '23-read-fr');
    await expectNoSeriousViolations(bob, 'conversation with a read message (fr)');
  }, 120_000);

  it('refuses to send to a verified contact whose key changed, until they are verified again', async () => {
    await alice.getByRole('button', { name: 'Verify' }).click();
    await alice.getByRole('button', { name: 'The numbers match: mark as verified' }).click();
    await alice.locator('.conversation-head .badge.ok').waitFor();
    // Bob's key changes (written into Alice's profile as her client records a new key it saw).
    await alice.getByRole('button', { name: 'Lock' }).click();
    await alice.locator('input[name=passphrase]').waitFor();
    await loadSeed(alice);
    await alice.evaluate(async (p) => (globalThis as unknown as { parleyKeyChange: (p: string, u: string, asClient: boolean) => Promise<void> }).parleyKeyChange(p, 'bob', true), PASSPHRASE.alice);
    await alice.reload();
    await unlock(alice, PASSPHRASE.alice);
    const warning = alice.getByRole('alertdialog');
    await warning.waitFor({ timeout: 20_000 });
    // Going on without comparing numbers is the explicit, confirmed "I accept the new key".
    await warning.getByRole('button', { name: 'I accept the new key' }).click();
    await warning.locator('input').fill('bob');
    await warning.getByRole('button', { name: 'Accept bob’s new key' }).click();
    await warning.waitFor({ state: 'detached' });

    // The warning acknowledged is not a verification: the composer stays shut, and says why.
    const blocked = alice.locator('[data-testid=send-blocked]');
    await blocked.waitFor({ timeout: 20_000 });
    expect(await blocked.locator('p').textContent()).toBe('bob’s key changed after you verified it. Sending is blocked until you verify bob again.');
    const composer = alice.locator('input[name=message]');
    expect(await composer.isDisabled()).toBe(true);
    expect(await alice.getByRole('button', { name: 'Send' }).isDisabled()).toBe(true);
    expect(await alice.getByRole('button', { name: 'Attach a file' }).isDisabled()).toBe(true);
    const describedBy = await composer.getAttribute('aria-describedby');
    expect(await alice.locator(`[id="${describedBy!}"]`).textContent()).toBe(await blocked.locator('p').textContent());
    await screenshot(alice, '24-send-blocked-key-changed');
    await expectNoSeriousViolations(alice, 'sending blocked after a key change');
    // A reload does not lift it.
    await alice.reload();
    await unlock(alice, PASSPHRASE.alice);
    await blocked.waitFor({ timeout: 20_000 });
    expect(await composer.isDisabled()).toBe(true);

    // Verified again (the new key): sending works, and reaches Bob.
    await blocked.getByRole('button', { name: 'Verify bob again' }).click();
    await alice.getByRole('button', { name: 'The numbers match: mark as verified' }).click();
    await blocked.waitFor({ state: 'detached', timeout: 20_000 });
    expect(await alice.locator('.conversation-head .badge').textContent()).toBe('Verified');
    await expect.poll(() => composer.isDisabled()).toBe(false);
    await send(alice, 'Verified again, Bob');
    await bubble(bob, 'Verified again, Bob').waitFor({ timeout: 30_000 });
  }, 120_000);

  it('shows in the conversation a message the server dropped (a gap) and one it replayed', async () => {
    // Carol's browser talks to the hostile proxy in front of the real server, as if it were the server.
    const hostile: HostileServer = await startHostileServer({ upstream: h!.server.url });
    const context = await h!.browser.newContext({ locale: 'en-US', viewport: { width: 1100, height: 760 } });
    try {
      const carol = await context.newPage();
      const errors: string[] = [];
      carol.on('pageerror', (e) => errors.push(e.message));
      await carol.goto(hostile.url + '/');
      await register(carol, 'carol', PASSPHRASE.carol);
      const login = await http<{ token: string }>(h!.server.url, 'POST', '/v1/sessions', { username: 'carol', password: 'carol account password' });
      const dir = await http<{ devices: { deviceId: string }[] }>(h!.server.url, 'GET', '/v1/users/carol', undefined, login.body.token);
      const carolDevice = dir.body.devices[0]!.deviceId;
      await hostile.waitForConnection(carolDevice);

      await alice.getByRole('button', { name: 'New chat' }).click();
      await alice.locator('input[name=peer]').fill('carol');
      await alice.locator('input[name=peer]').press('Enter');
      await alice.locator('.conversation h2', { hasText: 'carol' }).waitFor({ timeout: 30_000 });
      await send(alice, 'one');
      await bubble(carol, 'one').waitFor({ timeout: 30_000 });
      const groupId = (await carol.locator('.conversation').getAttribute('data-group-id')) ?? '';

      // The server takes Alice's next message and never pushes it to Carol.
      let dropped = 0;
      const off = hostile.onDeliver((f, c) => {
        if (c.deviceId !== carolDevice || f.groupId !== groupId || f.kind !== 'application' || dropped > 0) return 'pass';
        dropped++;
        return 'drop';
      });
      await send(alice, 'two, the one that matters');
      await expect.poll(() => status(alice, 'two, the one').textContent(), { timeout: 20_000 }).not.toBe('Sending');
      off();
      await send(alice, 'three');
      await bubble(carol, 'three').waitFor({ timeout: 30_000 });
      expect(dropped).toBe(1);
      expect(await bubble(carol, 'two, the one').count()).toBe(0);
      expect(await bubble(carol, 'three').locator('.notice').textContent()).toBe('Some messages from alice are missing before this one.');

      // Then it pushes "three" again, under a new position and message id: refused, and said.
      const conn = (await hostile.waitForConnection(carolDevice));
      const three = conn.delivered.filter((f: DeliverFrame) => f.groupId === groupId && f.kind === 'application').at(-1);
      if (three === undefined) throw new Error('no frame recorded');
      const { seq: _seq, ...frame } = three;
      conn.insert({ ...frame, messageId: new Uint8Array(16).fill(0xee) });
      const notice = carol.locator('.problems li');
      await notice.first().waitFor({ timeout: 20_000 });
      expect(await notice.allTextContents()).toEqual(['A message was delivered a second time (a replay by the server) and was ignored.']);
      expect(await bubble(carol, 'three').count()).toBe(1);
      await screenshot(carol, '25-gap-and-replay');
      await expectNoSeriousViolations(carol, 'conversation with a gap and a replay');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
      await hostile.close();
    }
  }, 120_000);

  it('a send that fails while the server is down is shown so (and passes axe); retried after a restart on the same data and port, it is read', async () => {
    await alice.locator('.conversation-item', { has: alice.locator('.title', { hasText: /^bob$/ }) }).click();
    await alice.locator('.conversation h2', { hasText: 'bob' }).waitFor();
    const restart = await h!.stopServer();
    await expect.poll(() => alice.locator('[data-testid=connection]').textContent(), { timeout: 20_000 }).toBe('Offline — reconnecting');
    await send(alice, 'Written while the server was down');
    const lost = bubble(alice, 'Written while the server was down');
    await expect.poll(() => lost.locator('[data-testid=status]').textContent(), { timeout: 20_000 }).toBe('Not sent');
    expect(await lost.locator('.mark').count()).toBe(0);
    await screenshot(alice, '26-offline-not-sent');
    await expectNoSeriousViolations(alice, 'offline, a message not sent');
    await restart();
    await alice.locator('[data-testid=connection].online').waitFor({ timeout: 30_000 });
    await lost.getByRole('button', { name: 'Retry' }).click();
    await bubble(bob, 'Written while the server was down').waitFor({ timeout: 30_000 });
    // Bob has the conversation on screen: the retried copy goes on to read; the failed one is gone.
    await expect.poll(() => lost.locator('[data-testid=status]').textContent(), { timeout: 30_000 }).toBe('Read');
    expect(await lost.count()).toBe(1);
    expect(await bubble(bob, 'Written while the server was down').count()).toBe(1);
  }, 120_000);

  it('no CSP violation or page error in the whole run', () => {
    expect(h?.cspViolations).toEqual([]);
  });
});

if (!HAS_CHROMIUM) it.skip(`conversation states in Chromium (${NO_CHROMIUM})`, () => undefined);
