// Login and acting for others in a real browser, through the demo's built-in test identity
// provider (the same OpenID Connect code path as ID-porten): a parent acts for her child, a
// daglig leder for his company, a fullmakt is given, used and revoked, employees see what their
// roles allow, and logout ends the session. Every new page is checked with axe-core.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  actFor,
  assertNoAxeViolations,
  assertNoPageProblems,
  logInEmployee,
  newPage,
  screenshot,
  useServerAndBrowser,
} from './harness.mjs';

const shared = useServerAndBrowser();

const INGRID = { pid: '14839221100', name: 'Ingrid Solberg' };
const LARS = { pid: '30818516084', name: 'Lars Haugen' };
const PER = { pid: '17825133097', name: 'Per Olsen' };

/** Logs a persona in from the front page, through the test provider's page. */
async function logIn(page, persona, { check = false } = {}) {
  await page.goto('/');
  await page.getByRole('link', { name: 'Logg inn' }).click();
  await page.waitForURL(/\/test-idp\/authorize/);
  assert.match(await page.locator('h1').innerText(), /Testinnlogging/);
  if (check) {
    assertNoPageProblems(page, 'test login page');
    await assertNoAxeViolations(page, 'test login page');
    await screenshot(page, 'nb-test-idp');
  }
  await page.getByLabel(persona.name, { exact: false }).check();
  await page.getByRole('button', { name: 'Logg inn' }).click();
  await page.waitForURL(/\/min-side$/);
  assert.equal(await page.getByTestId('logged-in-as').innerText(), `Logget inn som ${persona.name}`);
}

test('a parent logs in, acts for her child and back, and logs out', async () => {
  const { context, page } = await newPage(shared.browser, shared.server.baseURL);
  try {
    await logIn(page, INGRID, { check: true });
    assertNoPageProblems(page, 'Min side');
    await assertNoAxeViolations(page, 'Min side');
    // The access log shows her own login.
    assert.match(await page.getByTestId('access-log').innerText(), /\tDu\tInnlogging\t/);
    await screenshot(page, 'nb-min-side');

    await page.goto('/min-side/representere');
    await assertNoAxeViolations(page, 'choosing whom to act for');
    await actFor(page, 'Emma Solberg');
    assert.match(await page.getByTestId('acting-as').innerText(), /Representerer Emma Solberg/);
    assert.match(await page.getByTestId('min-side-acting').innerText(), /Emma Solberg/);
    await assertNoAxeViolations(page, 'Min side acting for a child');
    await screenshot(page, 'nb-min-side-acting-for-child');

    await actFor(page, INGRID.name);
    assert.equal(await page.getByTestId('acting-as').count(), 0, 'back to acting as herself');

    await page.getByRole('button', { name: 'Logg ut', exact: true }).click();
    await page.waitForURL(/\/logg-ut\/ferdig(\?|$)/);
    assert.match(await page.locator('h1').innerText(), /Du er logget ut/);
    await assertNoAxeViolations(page, 'logged out');
    const response = await page.goto('/min-side');
    assert.match(new URL(page.url()).pathname, /\/test-idp\/authorize|\/logg-inn/, `after logout /min-side asks for a login (${response?.status()})`);
  } finally {
    await context.close();
  }
});

test('a daglig leder acts for his company', async () => {
  const { context, page } = await newPage(shared.browser, shared.server.baseURL);
  try {
    await logIn(page, LARS);
    await actFor(page, 'Haugen Snekkerverksted AS');
    assert.match(await page.getByTestId('acting-as').innerText(), /Representerer Haugen Snekkerverksted AS/);
  } finally {
    await context.close();
  }
});

test('a fullmakt is given, used, and stops working the moment it is revoked', async () => {
  const giver = await newPage(shared.browser, shared.server.baseURL);
  const holder = await newPage(shared.browser, shared.server.baseURL);
  try {
    await logIn(giver.page, INGRID);
    await giver.page.goto('/min-side/fullmakt');
    // An empty form is refused with an error summary that links to the fields.
    await giver.page.getByRole('button', { name: 'Gi fullmakt' }).click();
    const summary = giver.page.getByTestId('error-summary');
    assert.ok(await summary.isVisible(), 'an empty fullmakt form shows an error summary');
    assert.equal(await summary.locator('a[href="#holder"]').count(), 1, 'the summary links to the holder field');
    await assertNoAxeViolations(giver.page, 'fullmakt form with errors');

    const nextYear = new Date();
    nextYear.setFullYear(nextYear.getFullYear() + 1);
    await giver.page.getByLabel('Fødselsnummeret til den som skal få fullmakt').fill(PER.pid);
    await giver.page.getByLabel('Etternavnet til den som skal få fullmakt').fill('Olsen');
    await giver.page.getByLabel('Helse og omsorg').check();
    await giver.page.getByLabel('Gjelder til og med').fill(nextYear.toISOString().slice(0, 10));
    await giver.page.getByRole('button', { name: 'Gi fullmakt' }).click();
    await giver.page.waitForURL(/\/min-side\/fullmakt\?kvittering=gitt$/);
    assert.match(await giver.page.getByTestId('fullmakt-confirmation').innerText(), /Fullmakten er gitt/);
    assert.match(await giver.page.getByTestId('fullmakt-given').innerText(), /Per Olsen/);
    await assertNoAxeViolations(giver.page, 'fullmakt page');
    await screenshot(giver.page, 'nb-fullmakt');

    await logIn(holder.page, PER);
    assert.match(await holder.page.getByTestId('person-notices').innerText(), /Ingrid Solberg har gitt deg fullmakt/);
    await actFor(holder.page, INGRID.name);
    assert.match(await holder.page.getByTestId('acting-as').innerText(), /Representerer Ingrid Solberg/);

    await giver.page.getByRole('button', { name: /Trekk tilbake fullmakten til Per Olsen/ }).click();
    await giver.page.waitForURL(/\/min-side\/fullmakt\?kvittering=trukket$/);
    assert.match(await giver.page.getByTestId('fullmakt-confirmation').innerText(), /Fullmakten er trukket tilbake/);

    await holder.page.goto('/min-side');
    assert.equal(await holder.page.getByTestId('acting-as').count(), 0, 'the holder no longer acts for the giver');
    assert.match(await holder.page.locator('[role="status"]').first().innerText(), /Du representerer ikke lenger/);
  } finally {
    await giver.context.close();
    await holder.context.close();
  }
});

test('employees see what their roles allow', async () => {
  const admin = await newPage(shared.browser, shared.server.baseURL);
  const caseworker = await newPage(shared.browser, shared.server.baseURL);
  try {
    await logInEmployee(admin.page, 'Per Admin');
    await assertNoAxeViolations(admin.page, 'employee page');
    await admin.page.getByRole('link', { name: 'Administrer ansatte og roller' }).click();
    await admin.page.waitForURL(/\/ansatt\/admin$/);
    assert.match(await admin.page.getByTestId('employees').innerText(), /Kari Nilsen/);
    await assertNoAxeViolations(admin.page, 'administration of employees');
    await screenshot(admin.page, 'nb-admin');
    await admin.page.goto('/ansatt/admin/klienter');
    await assertNoAxeViolations(admin.page, 'administration of machine clients');

    await logInEmployee(caseworker.page, 'Kari Nilsen');
    assert.deepEqual(
      (await caseworker.page.getByTestId('staff-case-units').innerText()).trim().split('\n'),
      ['Barnehageavdelingen'],
      'a caseworker sees the cases of her own unit only',
    );
    const forbidden = await caseworker.page.goto('/ansatt/admin');
    assert.equal(forbidden?.status(), 403, 'a caseworker may not administer');
  } finally {
    await admin.context.close();
    await caseworker.context.close();
  }
});
