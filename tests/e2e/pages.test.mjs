// Every page in every language, on a phone 320 px wide (WCAG 1.4.10 reflow): the right `lang`,
// the expected HTTP status, no WCAG 2.1 AA violations (axe-core), nothing wider than the
// viewport, and a full-page screenshot in tests/e2e/screenshots/. The walk goes the way a
// visitor does: the public pages, the test provider's login (with an error, and cancelled),
// Min side as a parent and while acting for her child, logout, and the employee pages as an
// administrator. Forms are submitted with errors on the way; then the error summary must have
// focus and the title must say there are errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  LANGUAGES,
  assertNoAxeViolations,
  assertNoPageProblems,
  chooseLanguage,
  documentLang,
  newPage,
  screenshot,
  useServerAndBrowser,
} from './harness.mjs';

/** The narrowest phone WCAG 1.4.10 asks for: 320 CSS pixels. */
const PHONE = { width: 320, height: 640 };

/** What the title starts with when a form is shown again with errors. */
const ERROR_TITLE_PREFIX = { nb: 'Feil: ', nn: 'Feil: ', en: 'Error: ' };

const INGRID = 'Ingrid Solberg';
const EMMA = 'Emma Solberg';
const ADMIN = 'Per Admin';
const ARCHIVIST = 'Anne Moen';

// Each language logs in twice and cancels once, all from one address: more than the default
// login limit allows in a window, which the Rust tests check.
const shared = useServerAndBrowser({ env: { ALLMENNING__RATE_LIMITS__LOGIN_PER_WINDOW: '1000' } });

/**
 * Asserts nothing on the page is wider than the viewport: the document does not scroll
 * sideways, and no element or its text sticks out on either side, unless it is inside
 * something that scrolls or clips on its own (a table's scroll region). Fails with the
 * offending elements named.
 */
async function assertReflows(page, label) {
  const result = await page.evaluate(() => {
    const viewport = document.documentElement.clientWidth;
    const describe = (el) => {
      const classes = [...el.classList].join('.');
      const text = (el.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 60);
      return `<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${classes ? `.${classes}` : ''}> "${text}"`;
    };
    /** Whether an ancestor scrolls or clips sideways, so `el` cannot widen the page. */
    const contained = (el) => {
      for (let parent = el.parentElement; parent && parent !== document.body; parent = parent.parentElement) {
        const overflow = getComputedStyle(parent).overflowX;
        if (overflow !== 'visible') return true;
      }
      return false;
    };
    const wide = [];
    for (const el of document.body.querySelectorAll('*')) {
      const rect = el.getBoundingClientRect();
      if (rect.width === 0 || rect.height === 0) continue;
      // Visually hidden text (1 px, clipped) is not laid out for the eye.
      const style = getComputedStyle(el);
      if (style.position === 'absolute' && style.clip !== 'auto' && rect.width <= 1) continue;
      if (contained(el)) continue;
      if (rect.right > viewport + 0.5 || rect.left < -0.5) {
        wide.push(`${describe(el)}: ${Math.round(rect.left)}..${Math.round(rect.right)} px`);
      } else if (style.overflowX === 'visible' && el.scrollWidth > el.clientWidth + 1 && rect.left + el.scrollWidth > viewport + 0.5) {
        // The box fits, but its text does not (a long word or address that does not wrap).
        wide.push(`${describe(el)}: its content reaches ${Math.round(rect.left + el.scrollWidth)} px`);
      }
    }
    return { viewport, scrollWidth: document.documentElement.scrollWidth, wide };
  });
  assert.equal(result.viewport, PHONE.width, `${label}: the viewport is ${PHONE.width} px wide`);
  assert.ok(
    result.scrollWidth <= result.viewport,
    `${label}: the page is ${result.scrollWidth} px wide in a ${result.viewport} px viewport (scrolls sideways); ` +
      `elements wider than the viewport:\n  ${result.wide.join('\n  ')}`,
  );
  assert.deepEqual(result.wide, [], `${label}: elements stick out of the ${result.viewport} px viewport`);
}

/** Checks the page the browser is on: status, type, lang, no load problems, axe, reflow. */
async function checkPage(page, lang, name, response, status) {
  const label = `${lang} ${name}`;
  if (response !== undefined) {
    assert.equal(response?.status(), status, `${label}: HTTP status of ${page.url()}`);
    assert.match(response.headers()['content-type'] ?? '', /^text\/html/, `${label}: content type`);
  }
  assert.equal(await documentLang(page), lang, `${label}: <html lang>`);
  // Screenshot before the checks that may fail, so a failure can be looked at.
  await screenshot(page, `${lang}-${name}`);
  assertNoPageProblems(page, label);
  await assertNoAxeViolations(page, label);
  await assertReflows(page, label);
}

/** Opens `path` and checks it answers `status` and passes every check. */
async function visit(page, lang, name, path, status = 200) {
  const response = await page.goto(path);
  await checkPage(page, lang, name, response, status);
}

/** Submits a form by clicking `button` and returns the response to the POST. */
async function submit(page, button) {
  const posted = page.waitForResponse((response) => response.request().method() === 'POST' && response.request().isNavigationRequest());
  await page.locator(button).click();
  const response = await posted;
  await page.waitForLoadState('load');
  return response;
}

/**
 * After a form came back with errors: 422, the error summary has focus (it carries
 * `autofocus`), the title starts with the error prefix, and the page passes every check.
 */
async function checkShownWithErrors(page, lang, name, response) {
  const label = `${lang} ${name}`;
  assert.equal(response.status(), 422, `${label}: a form with errors is answered with 422`);
  const summary = page.getByTestId('error-summary');
  assert.ok(await summary.isVisible(), `${label}: the error summary is shown`);
  // Autofocus is applied when the page is first rendered; wait for that, not for time.
  await page
    .waitForFunction(() => document.activeElement?.dataset.testid === 'error-summary', null, { timeout: 5000 })
    .catch(() => {});
  const focused = await page.evaluate(() => {
    const el = document.activeElement;
    return el === document.body ? 'body' : `<${el?.tagName.toLowerCase()} data-testid="${el?.dataset.testid}">`;
  });
  assert.equal(focused, '<div data-testid="error-summary">', `${label}: the error summary has focus`);
  const title = await page.title();
  assert.ok(title.startsWith(ERROR_TITLE_PREFIX[lang]), `${label}: the title ${JSON.stringify(title)} starts with ${JSON.stringify(ERROR_TITLE_PREFIX[lang])}`);
  await checkPage(page, lang, name);
}

/** Asserts the page's title does not say there are errors. */
async function assertTitleWithoutErrors(page, label) {
  const title = await page.title();
  assert.ok(!/^(Feil|Error):/.test(title), `${label}: the title ${JSON.stringify(title)} does not say there are errors`);
}

/** At the test provider's page: chooses `name` and logs in; waits for `landing`. */
async function logInAs(page, name, landing) {
  await page.getByLabel(name, { exact: false }).check();
  await page.locator('form[action="/test-idp/authorize"] button[type="submit"]:not([name])').click();
  await page.waitForURL(landing);
}

for (const lang of LANGUAGES) {
  test(`every page in ${lang}, 320 px wide`, async (t) => {
    // A fresh context per language: no cookie from another language's run.
    const { context, page } = await newPage(shared.browser, shared.server.baseURL, { viewport: PHONE });
    try {
      await chooseLanguage(page, lang);

      await t.test('public pages', async () => {
        await visit(page, lang, 'front', '/');
        await visit(page, lang, 'accessibility', '/tilgjengelighet');
        await assertTitleWithoutErrors(page, `${lang} accessibility`);
        await visit(page, lang, 'not-found', `/finnes-ikke-${randomUUID().slice(0, 8)}`, 404);
        // Demo mode only: lets the 500 page be checked like any other.
        await visit(page, lang, 'server-error', '/demo/feil', 500);
        // A callback with a state nobody issued: the login-failed page.
        await visit(page, lang, 'login-failed', '/logg-inn/tilbake?state=ukjent&code=x', 401);
      });

      await t.test('the feedback form with errors, then received', async () => {
        await page.goto('/tilgjengelighet');
        const response = await submit(page, 'form[action="/tilgjengelighet/tilbakemelding"] [type="submit"]');
        await checkShownWithErrors(page, lang, 'accessibility-errors', response);
        await page.locator('#message').fill(`Kontrasten er for svak. (e2e ${lang})`);
        await submit(page, 'form[action="/tilgjengelighet/tilbakemelding"] [type="submit"]');
        assert.ok(await page.getByTestId('feedback-received').isVisible(), `${lang}: the feedback is confirmed`);
        await checkPage(page, lang, 'accessibility-received');
      });

      await t.test('the test login: with an error, cancelled, and done', async () => {
        let response = await page.goto('/logg-inn');
        await page.waitForURL(/\/test-idp\/authorize/);
        await checkPage(page, lang, 'test-login', response, 200);
        await assertTitleWithoutErrors(page, `${lang} test login`);

        await page.locator('#pid').fill('123');
        response = await submit(page, 'form[action="/test-idp/authorize"] button[type="submit"]:not([name])');
        await checkShownWithErrors(page, lang, 'test-login-errors', response);

        // "Avbryt" says the login was cancelled, not that it failed, and offers to try again.
        await page.locator('button[name="avbryt"]').click();
        await page.waitForURL(/\/logg-inn\/avbrutt$/);
        await checkPage(page, lang, 'login-cancelled');
        assert.ok(await page.getByTestId('login-cancelled').isVisible(), `${lang}: the cancelled page says so`);
        await page.locator('main a[href="/logg-inn"]').click();
        await page.waitForURL(/\/test-idp\/authorize/);
        await logInAs(page, INGRID, /\/min-side$/);
      });

      await t.test('Min side', async () => {
        await checkPage(page, lang, 'min-side');
        await visit(page, lang, 'acting', '/min-side/representere');
        await visit(page, lang, 'fullmakt', '/min-side/fullmakt');
        const response = await submit(page, 'form[action="/min-side/fullmakt"] [type="submit"]');
        await checkShownWithErrors(page, lang, 'fullmakt-errors', response);

        // Acting for her child.
        await page.goto('/min-side/representere');
        await page.getByLabel(EMMA, { exact: false }).check();
        await page.locator('form[action="/min-side/representere"] [type="submit"]').click();
        await page.waitForURL(/\/min-side$/);
        assert.match(await page.getByTestId('acting-as').innerText(), new RegExp(EMMA));
        await checkPage(page, lang, 'min-side-acting-for-child');
        await visit(page, lang, 'fullmakt-acting-for-child', '/min-side/fullmakt');

        await page.locator('[data-testid="user-box"] button[type="submit"]').click();
        await page.waitForURL(/\/logg-ut\/ferdig(\?|$)/);
        await checkPage(page, lang, 'logged-out');
      });

      await t.test('employee pages', async () => {
        const response = await page.goto('/ansatt/logg-inn');
        await page.waitForURL(/\/test-idp\/authorize/);
        await checkPage(page, lang, 'test-login-employees', response, 200);
        // Cancelled, and started again from the employees' own login.
        await page.locator('button[name="avbryt"]').click();
        await page.waitForURL(/\/ansatt\/logg-inn\/avbrutt$/);
        await checkPage(page, lang, 'login-cancelled-employees');
        await page.locator('main a[href="/ansatt/logg-inn"]').click();
        await page.waitForURL(/\/test-idp\/authorize/);
        await logInAs(page, ADMIN, /\/ansatt$/);
        await checkPage(page, lang, 'staff');

        await visit(page, lang, 'admin', '/ansatt/admin');
        // An employee who is there already: shown again with the error.
        const existing = (await page.locator('[data-testid="employees"] code').first().innerText()).trim();
        await page.locator('#add-name').fill('Ny Ansatt');
        await page.locator('#add-subject').fill(existing);
        let posted = await submit(page, 'form[action="/ansatt/admin/ansatte"] [type="submit"]');
        await checkShownWithErrors(page, lang, 'admin-errors', posted);

        await visit(page, lang, 'clients', '/ansatt/admin/klienter');
        // A client, so that the table of clients is there to check.
        await page.locator('#client-name').fill(`Fagsystem ${lang}`);
        await page.locator('#client-orgnr').fill('974760673');
        await page.locator('#scope-1').check();
        await submit(page, 'form[action="/ansatt/admin/klienter"] [type="submit"]');
        assert.ok(await page.getByTestId('clients').isVisible(), `${lang}: the registered client is listed`);
        await checkPage(page, lang, 'clients-listed');
        // An organisation number that is not one.
        await page.locator('#client-name').fill('Feil');
        await page.locator('#client-orgnr').fill('123');
        posted = await submit(page, 'form[action="/ansatt/admin/klienter"] [type="submit"]');
        await checkShownWithErrors(page, lang, 'clients-errors', posted);
      });
    } finally {
      await context.close();
    }
  });
}

// The public journal (with a request for access) and the archivist's pages, in every language
// at 320 px. A test of its own per language, so it can be run alone:
// `node --test --test-name-pattern='archive' tests/e2e/pages.test.mjs`. Nothing here changes
// what another language's run sees but the requests for access it adds.
for (const lang of LANGUAGES) {
  test(`the public journal and the archive pages in ${lang}, 320 px wide`, async (t) => {
    const { context, page } = await newPage(shared.browser, shared.server.baseURL, { viewport: PHONE });
    try {
      await chooseLanguage(page, lang);

      await t.test('the public journal and a request for access', async () => {
        await visit(page, lang, 'public-journal', '/offentlig-journal');
        await assertTitleWithoutErrors(page, `${lang} public journal`);
        // The demo's screened entry shows its hjemmel and not the private person's name.
        const journal = await page.getByTestId('public-journal').innerText();
        assert.ok(journal.includes('Offl. § 13 jf. fvl. § 13'), `${lang}: the hjemmel is shown`);
        assert.ok(!journal.includes('Ingrid Solberg'), `${lang}: the private person's name is screened`);
        // A period longer than 31 days: shown again with the error summary.
        const tooLong = await page.goto('/offentlig-journal?fra=2026-01-01&til=2026-03-01');
        await checkShownWithErrors(page, lang, 'public-journal-errors', tooLong);

        await page.goto('/offentlig-journal');
        await page.locator('#post-0').check();
        await page.locator('form[action="/offentlig-journal/innsyn"] [type="submit"]').click();
        await page.waitForURL(/\/offentlig-journal\/innsyn\?/);
        await checkPage(page, lang, 'access-request');
        const response = await submit(page, 'form[action="/offentlig-journal/innsyn"] [type="submit"]');
        await checkShownWithErrors(page, lang, 'access-request-errors', response);
        await page.locator('#email').fill(`innsyn-${lang}@example.no`);
        await submit(page, 'form[action="/offentlig-journal/innsyn"] [type="submit"]');
        assert.ok(await page.getByTestId('receipt').isVisible(), `${lang}: the receipt is shown`);
        await checkPage(page, lang, 'access-request-receipt');
      });

      await t.test('the archivist\'s pages', async () => {
        await page.goto('/ansatt/logg-inn');
        await page.waitForURL(/\/test-idp\/authorize/);
        await logInAs(page, ARCHIVIST, /\/ansatt$/);

        await visit(page, lang, 'archive-journal', '/ansatt/arkiv');
        await assertTitleWithoutErrors(page, `${lang} archive journal`);

        // The first journalpost: its page, and the screening form without a hjemmel.
        await page.locator('[data-testid="journal"] tbody tr:first-child td:first-child a').click();
        await page.waitForURL(/\/ansatt\/arkiv\/[0-9a-f-]+$/);
        await checkPage(page, lang, 'archive-journalpost');
        await page.locator('#tilgangsrestriksjon').selectOption({ index: 1 });
        await page.locator('#skjermingshjemmel').fill('');
        let response = await submit(page, '[data-testid="screening-form"] [type="submit"]');
        await checkShownWithErrors(page, lang, 'archive-screening-errors', response);

        // Its case, and finishing it without ticking the box.
        await page.goto('/ansatt/arkiv');
        await page.locator('[data-testid="journal"] tbody tr:first-child td:last-child a').click();
        await page.waitForURL(/\/ansatt\/arkiv\/[0-9a-f-]+$/);
        await checkPage(page, lang, 'archive-case');
        response = await submit(page, '[data-testid="finish-form"] [type="submit"]');
        await checkShownWithErrors(page, lang, 'archive-finish-errors', response);

        // The requests for access, and a refusal without its basis.
        await visit(page, lang, 'archive-requests', '/ansatt/arkiv/innsyn');
        await page.locator('[data-testid="open-requests"] > li:first-child input[value="refused"]').check();
        response = await submit(page, '[data-testid="open-requests"] > li:first-child form [type="submit"]');
        await checkShownWithErrors(page, lang, 'archive-requests-errors', response);
      });
    } finally {
      await context.close();
    }
  });
}

test('the chosen language is remembered', async () => {
  const { context, page } = await newPage(shared.browser, shared.server.baseURL);
  try {
    // The switch answers 303 See Other with a `lang` cookie and goes back where it was asked to.
    const switched = await context.request.get('/sprak/nn?tilbake=/', { maxRedirects: 0 });
    assert.equal(switched.status(), 303, 'GET /sprak/nn answers 303 See Other');
    assert.equal(switched.headers().location, '/', 'and redirects to the `tilbake` path');
    const cookies = await context.cookies(shared.server.baseURL);
    assert.equal(cookies.find((c) => c.name === 'lang')?.value, 'nn', 'and sets the `lang` cookie to nn');

    // A fresh navigation, without any query, is still in nynorsk.
    await page.goto('/');
    assert.equal(await documentLang(page), 'nn', 'lang after choosing nn and reloading /');
    await page.goto('/tilgjengelighet');
    assert.equal(await documentLang(page), 'nn', 'lang on another page after choosing nn');
  } finally {
    await context.close();
  }
});

test('without a choice the site is in bokmål', async () => {
  const { context, page } = await newPage(shared.browser, shared.server.baseURL);
  try {
    await page.goto('/');
    assert.equal(await documentLang(page), 'nb');
  } finally {
    await context.close();
  }
});
