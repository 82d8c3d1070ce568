// Groups and devices in real headless Chromium against a real `parley serve` on loopback:
// three browser contexts register three users; one creates a group of three (members picked
// from the directory), messages flow, the administrator removes one member, who sees it and
// receives nothing more while the others go on; a member who is not an administrator finds
// the controls disabled, with the reason; a member leaves. Then a second browser context logs in as the same
// user on a new device (password + passphrase, which opens the identity backup), receives
// new messages, and the device list shows both devices; removing one works.
// axe-core on each screen; screenshots in artifacts/screenshots/.
// Skipped (with the reason) when Chromium is not installed.

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_CHROMIUM, NO_CHROMIUM, screenshot, startHarness, type Harness } from './support/browser.js';
import { bubble, expectNoSeriousViolations, register, send } from './support/ui.js';

let h: Harness | undefined;
let alice: Page;
let bob: Page;
let carol: Page;
/** Alice's second device (a second browser context), from the device test on. */
let second: Page;
const PASSPHRASE = { alice: 'alice passphrase, long enough', bob: 'la phrase de passe de bob', carol: 'carol passphrase, long too' };
const GROUP = 'Équipe projet';

/** Every confirm() the app asks (remove a member, remove a device) is accepted. */
function acceptDialogs(page: Page): Page {
  page.on('dialog', (d) => {
    void d.accept();
  });
  return page;
}

beforeAll(async () => {
  if (!HAS_CHROMIUM) return;
  h = await startHarness();
  alice = acceptDialogs((await h.context('en-US')).page);
  bob = acceptDialogs((await h.context('fr-FR')).page);
  carol = acceptDialogs((await h.context('en-US')).page);
}, 90_000);

afterAll(async () => {
  await h?.close();
});


async function openGroup(page: Page): Promise<void> {
  const item = page.locator('.conversation-item', { hasText: GROUP });
  await item.waitFor({ timeout: 30_000 });
  await item.click();
  await page.locator('[data-testid=group-bar]').waitFor();
}

describe.skipIf(!HAS_CHROMIUM)('groups and devices in Chromium', () => {
  it('creates a group of three from the directory; messages flow to all', async () => {
    await register(alice, 'alice', PASSPHRASE.alice);
    await register(bob, 'bob', PASSPHRASE.bob);
    await register(carol, 'carol', PASSPHRASE.carol);

    await alice.getByRole('button', { name: 'New group' }).click();
    await alice.getByLabel('Group name').fill(GROUP);
    const person = alice.getByLabel('Add a person by user name');
    // A name the directory does not know is refused before it joins the list.
    await person.fill('nobody-here');
    await person.press('Enter');
    await expect.poll(() => alice.getByRole('alert').textContent(), { timeout: 20_000 }).toBe('There is no user with this name.');
    await person.fill('bob');
    await person.press('Enter');
    await alice.locator('[data-testid=chosen] li', { hasText: 'bob' }).waitFor({ timeout: 20_000 });
    await person.fill('carol');
    await alice.getByRole('button', { name: 'Add', exact: true }).click();
    await alice.locator('[data-testid=chosen] li', { hasText: 'carol' }).waitFor({ timeout: 20_000 });
    // Adding the same person twice is caught here.
    await person.fill('bob');
    await person.press('Enter');
    await expect.poll(() => alice.getByRole('alert').textContent()).toBe('This person is already in the group.');
    expect(await alice.locator('[data-testid=chosen] li').count()).toBe(2);
    await screenshot(alice, '10-group-create');
    await expectNoSeriousViolations(alice, 'new group form');
    await alice.getByRole('button', { name: 'Create the group' }).click();
    await alice.locator('[data-testid=group-bar]').waitFor({ timeout: 30_000 });
    expect(await alice.locator('.conversation h2').textContent()).toBe(GROUP);

    await send(alice, 'Bonjour à tous, from Alice');
    await openGroup(bob);
    await openGroup(carol);
    await bubble(bob, 'Bonjour à tous, from Alice').waitFor({ timeout: 30_000 });
    await bubble(carol, 'Bonjour à tous, from Alice').waitFor({ timeout: 30_000 });
    await send(carol, 'Hi all, Carol here');
    await bubble(alice, 'Hi all, Carol here').waitFor({ timeout: 30_000 });
    await bubble(bob, 'Hi all, Carol here').waitFor({ timeout: 30_000 });
    await screenshot(bob, '11-group-conversation-fr');
    await expectNoSeriousViolations(bob, 'group conversation (fr)');
  }, 120_000);

  it('shows members and roles; only the administrator may add or remove, the others see why', async () => {
    await alice.getByRole('button', { name: 'Members' }).click();
    const rows = alice.locator('[data-testid=member]');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(3);
    expect(await rows.filter({ hasText: 'alice (you)' }).locator('.badge').textContent()).toBe('Administrator');
    expect(await rows.filter({ hasText: 'bob' }).locator('.badge').textContent()).toBe('Member');
    expect(await alice.getByRole('button', { name: 'Remove carol' }).isEnabled()).toBe(true);
    expect(await alice.getByText('Only an administrator of this group can add or remove members.').count()).toBe(0);
    await screenshot(alice, '12-group-members-admin');
    await expectNoSeriousViolations(alice, 'group members (administrator)');
    await alice.keyboard.press('Escape');
    await alice.locator('dialog').waitFor({ state: 'detached' });

    // Bob is a member, not an administrator: the controls are there but disabled, with the reason.
    await bob.getByRole('button', { name: 'Membres' }).click();
    await expect.poll(() => bob.locator('[data-testid=member]').count(), { timeout: 20_000 }).toBe(3);
    const note = bob.getByText('Seul un administrateur de ce groupe peut ajouter ou retirer des membres.');
    await note.waitFor();
    const removeAlice = bob.getByRole('button', { name: 'Retirer alice' });
    expect(await removeAlice.isDisabled()).toBe(true);
    // The disabled control is described by the explanation (what a screen reader reads out).
    const describedBy = await removeAlice.getAttribute('aria-describedby');
    expect(describedBy).not.toBeNull();
    expect(await bob.locator(`[id="${describedBy!}"]`).textContent()).toBe(await note.textContent());
    expect(await bob.getByLabel('Ajouter une personne par son nom d’utilisateur').isDisabled()).toBe(true);
    await screenshot(bob, '13-group-members-member-fr');
    await expectNoSeriousViolations(bob, 'group members (member, fr)');
    await bob.keyboard.press('Escape');
    await bob.locator('dialog').waitFor({ state: 'detached' });
  }, 60_000);

  it('removes a member: they see it and receive nothing more; the others go on', async () => {
    await alice.getByRole('button', { name: 'Members' }).click();
    await alice.getByRole('button', { name: 'Remove carol' }).click();
    await expect.poll(() => alice.locator('[data-testid=member]').count(), { timeout: 30_000 }).toBe(2);
    await alice.keyboard.press('Escape');
    await alice.locator('dialog').waitFor({ state: 'detached' });

    const notice = carol.locator('[data-testid=group-closed]');
    await notice.waitFor({ timeout: 30_000 });
    expect(await notice.textContent()).toBe('You were removed from this group. You no longer receive its messages.');
    expect(await carol.locator('input[name=message]').isDisabled()).toBe(true);
    // The conversation's own line says it too, in words (not the client's event code).
    await bubble(carol, 'You were removed from the group.').waitFor();
    expect(await carol.locator('.conversation-item .preview').textContent()).toBe('You were removed from the group.');
    await screenshot(carol, '14-group-removed');
    await expectNoSeriousViolations(carol, 'removed from a group');

    await send(alice, 'After Carol was removed');
    await bubble(bob, 'After Carol was removed').waitFor({ timeout: 30_000 });
    await send(bob, 'Toujours là, Alice');
    await bubble(alice, 'Toujours là, Alice').waitFor({ timeout: 30_000 });
    // Both messages reached every remaining member; the removed one got neither.
    expect(await bubble(carol, 'After Carol was removed').count()).toBe(0);
    expect(await bubble(carol, 'Toujours là, Alice').count()).toBe(0);
    expect(await bubble(carol, 'Hi all, Carol here').count()).toBe(1);
    expect(h?.cspViolations).toEqual([]);
  }, 90_000);

  it('adds a member from the members dialog (by keyboard): they receive what is sent from then on', async () => {
    await alice.getByRole('button', { name: 'Members' }).click();
    const person = alice.getByLabel('Add a person by user name');
    await person.focus();
    await alice.keyboard.type('carol');
    await alice.keyboard.press('Enter');
    await alice.locator('[data-testid=chosen] li', { hasText: 'carol' }).waitFor({ timeout: 20_000 });
    // Enter on the focused button adds them (no pointer needed).
    await alice.getByRole('button', { name: 'Add members' }).focus();
    await alice.keyboard.press('Enter');
    await expect.poll(() => alice.locator('[data-testid=member]').count(), { timeout: 30_000 }).toBe(3);
    await alice.keyboard.press('Escape');
    await alice.locator('dialog').waitFor({ state: 'detached' });
    await send(alice, 'Welcome back, Carol');
    await bubble(bob, 'Welcome back, Carol').waitFor({ timeout: 30_000 });
    const back = carol.locator('.conversation-item', { hasText: GROUP }).filter({ hasText: 'Welcome back' });
    await back.waitFor({ timeout: 30_000 });
    await back.click();
    await bubble(carol, 'Welcome back, Carol').waitFor({ timeout: 30_000 });
    expect(await carol.locator('input[name=message]').isDisabled()).toBe(false);
  }, 90_000);

  it('logs in on a second device, which receives new messages; the device list shows both and removes one', async () => {
    second = acceptDialogs((await h!.context('en-US')).page);
    await second.getByRole('button', { name: 'I already have an account: log in on this device' }).click();
    await second.locator('input[name=username]').fill('alice');
    await second.locator('input[name=password]').fill('alice account password');
    // A passphrase that does not open the identity backup is refused.
    await second.locator('input[name=passphrase]').fill('not alice passphrase');
    await screenshot(second, '15-new-device-login');
    await expectNoSeriousViolations(second, 'new device login');
    await second.locator('button[type=submit]').click();
    await expect.poll(() => second.getByRole('alert').textContent(), { timeout: 30_000 }).toBe('The passphrase does not open this account’s identity backup.');
    await second.locator('input[name=passphrase]').fill(PASSPHRASE.alice);
    await second.locator('button[type=submit]').click();
    await second.locator('[data-testid=connection].online').waitFor({ timeout: 30_000 });

    // The first device's list shows both (opening it brings the groups in line with it).
    await alice.getByRole('button', { name: 'Devices' }).click();
    const list = alice.locator('[data-testid=devices] li');
    await expect.poll(() => list.count(), { timeout: 30_000 }).toBe(2);
    expect(await list.filter({ hasText: 'This device' }).count()).toBe(1);
    await screenshot(alice, '16-devices-two');
    await alice.keyboard.press('Escape');
    await alice.locator('dialog').waitFor({ state: 'detached' });

    // The new device is in the group now: it receives what Bob sends from here on.
    await openGroup(second);
    await send(bob, 'Pour les deux appareils d’Alice');
    await bubble(second, 'Pour les deux appareils d’Alice').waitFor({ timeout: 30_000 });
    await bubble(alice, 'Pour les deux appareils d’Alice').waitFor({ timeout: 30_000 });
    // History from before it joined stays on the other device.
    expect(await bubble(second, 'Bonjour à tous, from Alice').count()).toBe(0);
    await screenshot(second, '17-second-device-group');

    // The second device removes the first one.
    await second.getByRole('button', { name: 'Devices' }).click();
    const secondList = second.locator('[data-testid=devices] li');
    await expect.poll(() => secondList.count(), { timeout: 30_000 }).toBe(2);
    const other = secondList.filter({ hasNotText: 'This device' });
    const otherId = await other.locator('code').textContent();
    await other.getByRole('button').click();
    await expect.poll(() => secondList.count(), { timeout: 30_000 }).toBe(1);
    expect(await secondList.locator('code').textContent()).not.toBe(otherId);
    await screenshot(second, '18-devices-after-removal');
    await expectNoSeriousViolations(second, 'devices after a removal');
    await second.keyboard.press('Escape');
    await second.locator('dialog').waitFor({ state: 'detached' });

    // Bob's next message reaches the remaining device, not the removed one.
    await send(bob, 'Après le retrait');
    await bubble(second, 'Après le retrait').waitFor({ timeout: 30_000 });
    expect(await bubble(alice, 'Après le retrait').count()).toBe(0);
    expect(h?.cspViolations).toEqual([]);
  }, 150_000);

  it('leaves a group: the one who left sees it, the administrator’s device takes them out', async () => {
    await bob.getByRole('button', { name: 'Membres' }).click();
    await bob.getByRole('button', { name: 'Quitter le groupe' }).click();
    const notice = bob.locator('[data-testid=group-closed]');
    await notice.waitFor({ timeout: 30_000 });
    expect(await notice.textContent()).toBe('Vous avez quitté ce groupe.');
    expect(await bob.locator('input[name=message]').isDisabled()).toBe(true);
    await screenshot(bob, '19-group-left-fr');
    await expectNoSeriousViolations(bob, 'left a group (fr)');
    // Alice's (remaining) device, an administrator's, commits the removal of Bob's devices.
    await second.getByRole('button', { name: 'Members' }).click();
    const names = async (): Promise<string[]> => (await second.locator('[data-testid=member] > span:first-child').allTextContents()).sort();
    await expect.poll(names, { timeout: 30_000 }).toEqual(['alice (you)', 'carol']);
    await second.keyboard.press('Escape');
  }, 60_000);
});

if (!HAS_CHROMIUM) it.skip(`groups and devices in Chromium (${NO_CHROMIUM})`, () => undefined);
