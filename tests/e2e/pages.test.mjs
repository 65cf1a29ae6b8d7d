// Every page in every language: right `lang`, no WCAG 2.1 AA violations (axe-core), the
// expected HTTP status, and a full-page screenshot in tests/e2e/screenshots/.

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

/** The pages to check, with the status each must answer. */
const PAGES = [
  { name: 'front', path: '/', status: 200 },
  { name: 'accessibility', path: '/tilgjengelighet', status: 200 },
  { name: 'not-found', path: `/finnes-ikke-${randomUUID().slice(0, 8)}`, status: 404 },
  // Demo mode only: lets the 500 page be checked like any other.
  { name: 'server-error', path: '/demo/feil', status: 500 },
];

const shared = useServerAndBrowser();

for (const lang of LANGUAGES) {
  test(`every page in ${lang}`, async (t) => {
    // A fresh context per language: no cookie from another language's run.
    const { context, page } = await newPage(shared.browser, shared.server.baseURL);
    try {
      await chooseLanguage(page, lang);
      for (const { name, path, status } of PAGES) {
        await t.test(`${name} (${path})`, async () => {
          const label = `${lang} ${name}`;
          const response = await page.goto(path);
          assert.equal(response?.status(), status, `${label}: HTTP status of ${path}`);
          assert.match(response.headers()['content-type'] ?? '', /^text\/html/, `${label}: content type`);
          assert.equal(await documentLang(page), lang, `${label}: <html lang>`);
          // Screenshot before the checks that may fail, so a failure can be looked at.
          await screenshot(page, `${lang}-${name}`);
          assertNoPageProblems(page, label);
          await assertNoAxeViolations(page, label);
        });
      }
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
