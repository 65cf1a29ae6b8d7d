// The administrator's own role in a real browser: taking it asks for a ticked confirmation, a
// confirmation sent unticked and the refusal to take the last administrator's role each show an
// error summary that has the focus, and the confirmation page passes axe in all three languages
// and fits a 320 px wide screen.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LANGUAGES,
  assertNoAxeViolations,
  assertNoPageProblems,
  chooseLanguage,
  focusedTestId,
  newPage,
  useServerAndBrowser,
} from './harness.mjs';

const shared = useServerAndBrowser();

/** Logs the demo administrator in at /ansatt/logg-inn. */
async function logInAdministrator(page) {
  await page.goto('/ansatt/logg-inn');
  await page.waitForURL(/\/test-idp\/authorize/);
  await page.getByLabel('Per Admin', { exact: false }).check();
  await page.getByRole('button', { name: 'Logg inn' }).click();
  await page.waitForURL(/\/ansatt$/);
}

/** Clicks the button that takes Per Admin's own administrator role on /ansatt/admin. */
async function startRemovingOwnRole(page) {
  await page.goto('/ansatt/admin');
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/ansatt/admin/roller')),
    page.locator('form:has(input[name="role"][value="administrator"]) button').click(),
  ]);
  await page.waitForLoadState();
  return response;
}

test('the last administrator is asked, then refused, with the focus on the error summary', async () => {
  const admin = await newPage(shared.browser, shared.server.baseURL);
  try {
    const { page } = admin;
    await logInAdministrator(page);

    const asked = await startRemovingOwnRole(page);
    assert.equal(asked.status(), 200);
    assert.equal(await page.locator('h1').innerText(), 'Fjerne din egen rolle som administrator?');
    assert.equal(await page.getByTestId('error-summary').count(), 0);
    assertNoPageProblems(page, 'confirmation');
    await assertNoAxeViolations(page, 'confirmation');

    // Sent without the box ticked: asked again, the error summary focused, the box marked.
    const [unticked] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/ansatt/admin/roller')),
      page.getByRole('button', { name: 'Fjern rollen', exact: true }).click(),
    ]);
    assert.equal(unticked.status(), 422);
    await page.waitForLoadState();
    assert.match(await page.getByTestId('error-summary').innerText(), /Kryss av/);
    assert.equal(await focusedTestId(page), 'error-summary', 'the focus moves to the error summary');
    assert.equal(await page.getByLabel('Ja, fjern min egen administratorrolle').getAttribute('aria-invalid'), 'true');
    await assertNoAxeViolations(page, 'confirmation with an error');

    // Ticked: the last administrator is refused, on the admin page, with the reason.
    await page.getByLabel('Ja, fjern min egen administratorrolle').check();
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/ansatt/admin/roller')),
      page.getByRole('button', { name: 'Fjern rollen', exact: true }).click(),
    ]);
    assert.equal(refused.status(), 422);
    await page.waitForLoadState();
    assert.match(await page.getByTestId('error-summary').innerText(), /minst én administrator/);
    assert.equal(await focusedTestId(page), 'error-summary', 'the focus moves to the error summary');
    await assertNoAxeViolations(page, 'admin page with the refusal');
    const stillAdmin = await page.goto('/ansatt/admin');
    assert.equal(stillAdmin?.status(), 200, 'the administrator keeps the role');
  } finally {
    await admin.context.close();
  }
});

test('the confirmation passes axe in every language and fits 320 px', async () => {
  const admin = await newPage(shared.browser, shared.server.baseURL);
  try {
    const { page } = admin;
    await logInAdministrator(page);
    await page.setViewportSize({ width: 320, height: 800 });
    for (const lang of LANGUAGES) {
      await chooseLanguage(page, lang);
      const asked = await startRemovingOwnRole(page);
      assert.equal(asked.status(), 200, lang);
      assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
      await assertNoAxeViolations(page, `confirmation (${lang})`);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 320, `confirmation (${lang}) is ${width} px wide at 320 px`);
    }
  } finally {
    await admin.context.close();
  }
});
