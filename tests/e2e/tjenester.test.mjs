// The services in a real browser, on the demo: the public catalogue and the contact form; Ingrid
// Solberg's kindergarten application for Emma page by page (prefilled facts with their source,
// an error summary that takes the focus, the summary, the receipt, the case on Min side); and
// every service in the catalogue applied for end to end by a persona who may (Ingrid for a child
// or herself, Lars Haugen acting for his company), each required field filled by its type.
// Every page passes axe in nb, nn and en, and fits a 320 px wide screen.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  actFor,
  assertNoAxeViolations,
  assertNoPageProblems,
  checkInEveryLanguage,
  focusedTestId,
  logInResident,
  newPage,
  screenshot,
  useServerAndBrowser,
} from './harness.mjs';

const shared = useServerAndBrowser();

const INGRID = { name: 'Ingrid Solberg' };
const LARS = { name: 'Lars Haugen' };
const COMPANY = 'Haugen Snekkerverksted AS';

/** A tiny PDF, enough for the server's content detection. */
const PDF = Buffer.from('%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n');

/** A valid answer for a field of `kind`. */
function answerFor(kind) {
  switch (kind) {
    case 'integer':
      return '1';
    case 'amount':
      return '100000';
    case 'date':
      return '01.08.2027';
    case 'email':
      return 'test@example.no';
    case 'phone':
      return '91234567';
    case 'orgnr':
      return '974760673';
    default:
      return 'Test';
  }
}

/**
 * Fills every required field on the page by its type: texts and numbers typed, yes/no as "no"
 * (so no conditional question follows), the first choice, a PDF for an attachment.
 */
async function fillRequired(page) {
  const fields = page.locator('[data-field-kind][data-required="true"]:not([data-field-kind="group"])');
  const count = await fields.count();
  for (let i = 0; i < count; i += 1) {
    const field = fields.nth(i);
    const kind = await field.getAttribute('data-field-kind');
    if (kind === 'yes_no') {
      await field.locator('input[value="nei"]').check();
    } else if (kind === 'choice' || kind === 'multichoice') {
      await field.locator('input').first().check();
    } else if (kind === 'attachment') {
      await field.locator('input[type="file"]').setInputFiles({ name: 'dokumentasjon.pdf', mimeType: 'application/pdf', buffer: PDF });
    } else {
      await field.locator('input, textarea').first().fill(answerFor(kind));
    }
  }
}

/** Goes from the start page through every page to the receipt; returns the case number. */
async function applyToTheEnd(page, id) {
  await page.goto(`/tjenester/${id}`);
  await page.getByTestId('start').click();
  await page.waitForURL(new RegExp(`/tjenester/${id}/start$`));
  const started = page.waitForNavigation();
  await page.getByTestId('start-submit').click();
  await started;
  for (let step = 0; step < 10 && !/\/oppsummering$/.test(page.url()); step += 1) {
    await page.waitForURL(/\/tjenester\/soknad\/[0-9a-f-]+\/(side\/[a-z_-]+|oppsummering)$/);
    if (/\/oppsummering$/.test(page.url())) break;
    const before = page.url();
    await fillRequired(page);
    // A page answers with the next page, or itself again with errors: wait for either.
    const answered = page.waitForNavigation();
    await page.getByTestId('next').click();
    await answered;
    if ((await page.getByTestId('error-summary').count()) > 0) {
      assert.fail(`${id}: ${before} refused: ${await page.getByTestId('error-summary').innerText()}`);
    }
  }
  await page.waitForURL(/\/oppsummering$/);
  await page.getByTestId('send').click();
  await page.waitForURL(/\/tjenester\/kvittering\/[0-9a-f-]+$/);
  const number = await page.getByTestId('mappe-id').innerText();
  assert.match(number, /^\d{4}\/\d+$/, `${id}: a case number`);
  return number;
}

test('the catalogue, a service and the contact form, in every language', async () => {
  const { context, page } = await newPage(shared.browser, shared.server.baseURL);
  try {
    await page.goto('/tjenester');
    assert.equal(await page.getByTestId('service').count(), 12);
    await checkInEveryLanguage(page, 'catalogue', { prefix: 'tjenester-' });
    await page.getByLabel('Tema').selectOption('handel-og-service');
    await page.getByRole('button', { name: 'Søk' }).click();
    assert.equal(await page.getByTestId('service').count(), 3, 'the licences');
    await page.goto('/tjenester/barnehageplass');
    assert.match(await page.getByTestId('legal-basis').innerText(), /Barnehageloven/);
    await checkInEveryLanguage(page, 'service', { prefix: 'tjenester-' });

    await page.goto('/kontakt');
    await checkInEveryLanguage(page, 'contact', { prefix: 'tjenester-' });
    await page.getByTestId('contact-submit').click();
    assert.equal(await focusedTestId(page), 'error-summary', 'the error summary has the focus');
    assert.match(await page.title(), /^Feil:/);
    await assertNoAxeViolations(page, 'contact with errors');
    await page.getByLabel('Meldingen din').fill('Når er det opptak i kulturskolen?');
    await page.getByLabel('E-post eller telefon').fill('ola@example.no');
    await page.getByTestId('contact-submit').click();
    await page.waitForURL(/\/kontakt\/mottatt/);
    assert.ok(await page.getByTestId('contact-receipt').isVisible());
    await checkInEveryLanguage(page, 'contact receipt', { prefix: 'tjenester-' });
  } finally {
    await context.close();
  }
});

test('Ingrid applies for a kindergarten place for Emma, page by page', async () => {
  const { context, page } = await newPage(shared.browser, shared.server.baseURL);
  try {
    await logInResident(page, INGRID);
    await page.goto('/tjenester/barnehageplass/start');
    assert.ok(await page.getByLabel('Emma Solberg').isChecked());
    await checkInEveryLanguage(page, 'start', { prefix: 'tjenester-' });
    await page.getByTestId('start-submit').click();
    await page.waitForURL(/\/side\/barnet$/);
    const facts = await page.getByTestId('prefilled').innerText();
    assert.match(facts, /Emma Solberg/);
    assert.match(facts, /Hentet fra Folkeregisteret \d\d\.\d\d\.\d{4}/);
    await checkInEveryLanguage(page, 'form page with facts', { prefix: 'tjenester-' });
    const formPath = new URL(page.url()).pathname;
    await page.getByTestId('wrong-fact').first().click();
    await page.waitForURL(/\/stemmer-ikke\//);
    await checkInEveryLanguage(page, 'wrong fact', { prefix: 'tjenester-' });
    await page.goto(formPath);
    await page.getByTestId('next').click();
    await page.waitForURL(/\/side\/onsker$/);

    // Nothing filled in, and a date in the wrong form: the errors, and the focus on the summary.
    await page.getByLabel('Ønsket oppstart').fill('31.02.2027');
    await page.getByTestId('next').click();
    assert.equal(await focusedTestId(page), 'error-summary', 'the error summary has the focus');
    assert.match(await page.getByTestId('error-summary').innerText(), /dd\.mm\.åååå/);
    assert.match(await page.title(), /^Feil:/);
    assertNoPageProblems(page, 'form page with errors');
    await assertNoAxeViolations(page, 'form page with errors');
    await screenshot(page, 'nb-tjenester-form-errors');
    await page.getByLabel('Ønsket oppstart').fill('01.08.2027');
    await page.getByLabel('Hel plass (5 dager)').check();
    await page.getByLabel('Barnehage dere ønsker mest').fill('Solstua');
    await page.getByTestId('next').click();
    await page.waitForURL(/\/side\/behov$/);
    await checkInEveryLanguage(page, 'form page', { prefix: 'tjenester-' });
    await page.getByLabel('Nei').check();
    await page.getByTestId('next').click();
    await page.waitForURL(/\/side\/kontakt$/);
    await page.getByTestId('next').click();
    await page.waitForURL(/\/oppsummering$/);
    assert.match(await page.locator('main').innerText(), /01\.08\.2027/);
    await checkInEveryLanguage(page, 'summary', { prefix: 'tjenester-' });
    await page.getByTestId('send').click();
    await page.waitForURL(/\/tjenester\/kvittering\//);
    assert.match(await page.getByTestId('mappe-id').innerText(), /^\d{4}\/\d+$/);
    await checkInEveryLanguage(page, 'receipt', { prefix: 'tjenester-' });
    await screenshot(page, 'nb-tjenester-receipt');

    await page.goto('/min-side');
    await page.getByTestId('cases-link').click();
    await page.waitForURL(/\/min-side\/saker$/);
    assert.match(await page.getByTestId('cases').innerText(), /Barnehageplass/);
    await checkInEveryLanguage(page, 'my cases', { prefix: 'tjenester-' });
    await page.getByTestId('case').first().getByRole('link').click();
    await page.waitForURL(/\/min-side\/saker\/[0-9a-f-]+$/);
    assert.match(await page.getByTestId('history').innerText(), /Søknaden er mottatt/);
    await checkInEveryLanguage(page, 'case', { prefix: 'tjenester-' });
  } finally {
    await context.close();
  }
});

test('every service in the catalogue, applied for end to end', async () => {
  const ingrid = await newPage(shared.browser, shared.server.baseURL);
  const lars = await newPage(shared.browser, shared.server.baseURL);
  try {
    await logInResident(ingrid.page, INGRID);
    await logInResident(lars.page, LARS);
    await actFor(lars.page, COMPANY);
    const response = await ingrid.page.request.get('/api/v1/tjenester');
    const { services } = await response.json();
    assert.equal(services.length, 12);
    for (const service of services) {
      // Lars for an organisation's service, Ingrid for a child's (acting as herself, she picks
      // Emma on the start page) or her own.
      const who = service.applicants.includes('organisation') ? lars : ingrid;
      const number = await applyToTheEnd(who.page, service.id);
      assert.ok(number, `${service.id} gave a receipt`);
    }
  } finally {
    await ingrid.context.close();
    await lars.context.close();
  }
});
