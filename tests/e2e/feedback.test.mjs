// The feedback form on the accessibility statement: errors are summarised accessibly, and a
// valid message is confirmed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertNoAxeViolations,
  assertNoPageProblems,
  newPage,
  screenshot,
  useServerAndBrowser,
} from './harness.mjs';

const shared = useServerAndBrowser();

const FORM = 'form[action="/tilgjengelighet/tilbakemelding"]';

/** Asserts a freshly loaded form has no values filled in. */
async function assertFormEmpty(page) {
  const values = await page.evaluate(
    (form) => Object.fromEntries([...document.querySelector(form).elements].filter((e) => e.name).map((e) => [e.name, e.value])),
    FORM,
  );
  for (const [name, value] of Object.entries(values)) {
    assert.equal(value, '', `a fresh form has field "${name}" empty, found ${JSON.stringify(value)}`);
  }
}

/** The text of the error summary, if there is one, to explain a failure. */
async function errorSummaryText(page) {
  const summary = page.locator('[data-testid="error-summary"]');
  return (await summary.count()) ? JSON.stringify(await summary.innerText()) : '(no error summary)';
}

/** Submits the feedback form and returns the response to the POST. */
async function submit(page) {
  const posted = page.waitForResponse(
    (response) => response.request().method() === 'POST' && new URL(response.url()).pathname === '/tilgjengelighet/tilbakemelding',
  );
  await page.locator(`${FORM} [type="submit"]`).click();
  const response = await posted;
  await page.waitForLoadState('load');
  return response;
}

test('an empty message shows an error summary that links to the field', async () => {
  const { context, page } = await newPage(shared.browser, shared.server.baseURL);
  try {
    await page.goto('/tilgjengelighet');
    await assertFormEmpty(page);
    const response = await submit(page);
    assert.ok(
      response.status() >= 400 && response.status() < 500,
      `an empty form is answered with a client error, got ${response.status()}`,
    );

    const summary = page.locator('[data-testid="error-summary"], [role="alert"]').first();
    assert.ok(await summary.isVisible(), 'an error summary (data-testid="error-summary" or role=alert) is shown');
    const link = summary.locator('a[href="#message"]');
    assert.equal(
      await link.count(),
      1,
      `the error summary links to the message field (#message); summary: ${await errorSummaryText(page)}`,
    );
    assert.equal(
      await page.locator('#message').getAttribute('aria-invalid'),
      'true',
      'the message field is marked aria-invalid',
    );

    await screenshot(page, 'nb-feedback-errors');
    assertNoPageProblems(page, 'feedback errors');
    await assertNoAxeViolations(page, 'feedback form with errors');

    // Following the summary's link puts the cursor in the field.
    await link.click();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'message', 'the error link focuses the field');
  } finally {
    await context.close();
  }
});

test('a message is received and confirmed', async () => {
  const { context, page } = await newPage(shared.browser, shared.server.baseURL);
  try {
    await page.goto('/tilgjengelighet');
    await assertFormEmpty(page);
    await page.locator('#message').fill('Kontrasten på knappen er for svak. (e2e-test)');
    const response = await submit(page);
    assert.ok(
      [200, 303].includes(response.status()),
      `a valid form is accepted (303 to the confirmation, or 200), got ${response.status()}; ` +
        `error summary: ${await errorSummaryText(page)}`,
    );

    const received = page.locator('[data-testid="feedback-received"]');
    assert.ok(await received.isVisible(), 'the confirmation (data-testid="feedback-received") is shown');
    assert.equal(await page.locator('[data-testid="error-summary"]').count(), 0, 'no error summary');

    await screenshot(page, 'nb-feedback-received');
    assertNoPageProblems(page, 'feedback received');
    await assertNoAxeViolations(page, 'feedback received');
  } finally {
    await context.close();
  }
});
