// The caseworker's workbench in a real browser, on the demo: Kari (a caseworker of the
// kindergarten unit) goes from the employees' front page to the queue and on to Ingrid
// Solberg's application with the keyboard only; the case page, the decision form (with the
// focus on its error summary after an empty try) and the inquiry pages pass axe in nb, nn and
// en and fit a 320 px wide screen. The demo command seeds the case (`demo:barnehage:ingrid`).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertNoAxeViolations,
  assertNoPageProblems,
  checkInEveryLanguage,
  focusedTestId,
  logInEmployee,
  newPage,
  screenshot,
  useServerAndBrowser,
} from './harness.mjs';

const shared = useServerAndBrowser();

/** Presses Tab until the focused element is a link whose path matches `pattern`; fails after `limit`. */
async function tabTo(page, pattern, limit = 80) {
  for (let i = 0; i < limit; i += 1) {
    await page.keyboard.press('Tab');
    const href = await page.evaluate(() => document.activeElement?.getAttribute('href') ?? '');
    if (pattern.test(href)) return href;
  }
  assert.fail(`no link matching ${pattern} within ${limit} presses of Tab`);
}

test('a caseworker finds the case with the keyboard, and every workbench page is accessible', async () => {
  const { context, page } = await newPage(shared.browser, shared.server.baseURL);
  try {
    await logInEmployee(page, 'Kari Nilsen');

    // The keyboard only: from the front page to the queue, and from the queue to the case.
    await tabTo(page, /^\/ansatt\/saker$/);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/ansatt\/saker$/);
    assert.ok(await page.getByTestId('unit-queue').isVisible(), 'the unit queue lists the demo case');
    await checkInEveryLanguage(page, 'case queue');
    await screenshot(page, 'nb-saker-queue');
    const href = await tabTo(page, /^\/ansatt\/saker\/[0-9a-f-]{36}$/);
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`${href}$`));
    assert.match(await page.getByTestId('case-title').innerText(), /barnehageplass/i);
    assert.match(await page.getByTestId('answers').innerText(), /Hentet fra Folkeregisteret/);
    assert.match(await page.getByTestId('applicant').innerText(), /Ingrid Solberg/);
    // The submission opens from the case's documents (the session's cookies go with it).
    const file = page.getByTestId('documents').locator('a[href*="/dokument/"]').first();
    const download = await page.request.get(await file.getAttribute('href'));
    assert.equal(download.status(), 200);
    assert.equal(download.headers()['content-type'], 'application/pdf');
    assert.equal((await download.body()).subarray(0, 4).toString(), '%PDF');
    await checkInEveryLanguage(page, 'case page');
    await screenshot(page, 'nb-saker-case');

    // A note, then the decision form: empty, the focus goes to the error summary.
    await page.getByLabel('Nytt notat').fill('Ringte søkeren om oppstartsdato.');
    await page.getByRole('button', { name: 'Lagre notatet' }).click();
    await page.waitForURL(/\?ok=notat/);
    assert.match(await page.getByTestId('notes').innerText(), /Ringte søkeren/);
    await page.getByTestId('to-decision').click();
    await page.waitForURL(/\/vedtak$/);
    await checkInEveryLanguage(page, 'decision form');
    await page.getByTestId('decide').click();
    const summary = page.getByTestId('error-summary');
    assert.ok(await summary.isVisible(), 'an empty decision shows an error summary');
    assert.equal(await focusedTestId(page), 'error-summary', 'the error summary has the focus');
    assert.match(await page.title(), /^Feil:/);
    for (const field of ['vedtak', 'reasons']) {
      assert.equal(await summary.locator(`a[href="#${field}"]`).count(), 1, `the summary links to ${field}`);
      assert.ok(await page.getByTestId(`error-${field}`).isVisible(), `the error is beside ${field}`);
    }
    assertNoPageProblems(page, 'decision form with errors');
    await assertNoAxeViolations(page, 'decision form with errors');
    await screenshot(page, 'nb-saker-decision-errors');
  } finally {
    await context.close();
  }
});

test('an inquiry at the counter is registered, answered and closed', async () => {
  const { context, page } = await newPage(shared.browser, shared.server.baseURL);
  try {
    await logInEmployee(page, 'Kari Nilsen');
    await page.goto('/ansatt/henvendelser');
    await checkInEveryLanguage(page, 'inquiries');
    await page.getByRole('link', { name: 'Registrer en henvendelse' }).first().click();
    await page.waitForURL(/\/ansatt\/henvendelser\/ny$/);
    await checkInEveryLanguage(page, 'new inquiry');

    await page.getByLabel('Fødselsnummer (valgfritt)').fill('14839221101');
    await page.getByLabel('Henvendelsen').fill('Når får vi svar på søknaden om barnehageplass?');
    await page.getByRole('button', { name: 'Registrer' }).click();
    assert.equal(await focusedTestId(page), 'error-summary');
    assert.ok(await page.getByTestId('error-fnr').isVisible(), 'the error is beside the fødselsnummer');
    await assertNoAxeViolations(page, 'new inquiry with errors');

    await page.getByLabel('Fødselsnummer (valgfritt)').fill('');
    await page.getByRole('button', { name: 'Registrer' }).click();
    await page.waitForURL(/\/ansatt\/henvendelser\/[0-9a-f-]{36}\?registrert=1$/);
    assert.ok(await page.getByTestId('registered').isVisible());
    await checkInEveryLanguage(page, 'inquiry');
    await page.getByLabel('Svar', { exact: true }).fill('Innen to uker.');
    await page.getByRole('button', { name: 'Send svaret' }).click();
    assert.ok(await page.getByTestId('time-to-answer').isVisible(), 'the time to answer is shown');
    await page.getByRole('button', { name: 'Lukk henvendelsen' }).click();
    assert.match(await page.getByTestId('inquiry-status').innerText(), /Lukket/);
    await checkInEveryLanguage(page, 'closed inquiry');
  } finally {
    await context.close();
  }
});
