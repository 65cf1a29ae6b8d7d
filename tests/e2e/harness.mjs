// Shared set-up for the browser tests: starts `allmenning demo` on a free port
// with a fresh data dir, launches headless Chromium (Debian's, through
// playwright-core), and checks pages with axe-core.
//
// Environment:
//   ALLMENNING_BIN   the server binary (default target/debug/allmenning)
//   CHROMIUM_PATH    the browser (default /usr/bin/chromium)
//
// Not a test file itself: `node --test tests/e2e/` runs only *.test.mjs.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The repository root: the server finds the Designsystemet CSS in ./node_modules from here. */
export const ROOT = path.resolve(here, '..', '..');

/** Where full-page screenshots go (git-ignored). */
export const SCREENSHOT_DIR = path.join(here, 'screenshots');

/** The languages the site is offered in. */
export const LANGUAGES = ['nb', 'nn', 'en'];

/** The WCAG 2.1 AA rule sets axe checks against. */
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

const SERVER_READY_TIMEOUT_MS = 60_000;
const SERVER_EXIT_TIMEOUT_MS = 10_000;
/** How much of the server's output is kept to show when something fails. */
const MAX_OUTPUT_CHARS = 200_000;

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Asks the kernel for a free TCP port on the loopback interface. */
export async function freePort() {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Starts `$ALLMENNING_BIN demo --port <free port> --data-dir <fresh tmp dir>` and waits until
 * GET /readyz answers 200. Returns { baseURL, stop(), output() }. `env` adds environment
 * variables (e.g. `ALLMENNING__IDPORTEN__ISSUER`); `port` may be chosen beforehand, when
 * something else must know the address first (an identity provider's redirect URIs).
 *
 * The server's stdout and stderr are captured; they are printed when it fails to start,
 * when it does not stop cleanly, and when any test in this file fails.
 */
export async function startServer({ env = {}, port: chosenPort } = {}) {
  const bin = path.resolve(ROOT, process.env.ALLMENNING_BIN ?? 'target/debug/allmenning');
  assert.ok(existsSync(bin), `server binary ${bin} not found: run \`cargo build -p allmenning\` or set ALLMENNING_BIN`);

  const port = chosenPort ?? (await freePort());
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'allmenning-e2e-'));
  // A small synthetic municipality: the pages do not depend on its size, and it starts quickly.
  const args = ['demo', '--port', String(port), '--data-dir', dataDir, '--residents', '300'];
  const baseURL = `http://127.0.0.1:${port}`;

  let output = '';
  const capture = (stream) => (chunk) => {
    output += `[${stream}] ${chunk}`;
    if (output.length > MAX_OUTPUT_CHARS) output = output.slice(-MAX_OUTPUT_CHARS);
  };
  // Every test of a file talks to one server from one address; the limit on anonymous feedback
  // (tested in Rust) would otherwise count the whole file's submissions together.
  const limits = { ALLMENNING__RATE_LIMITS__FEEDBACK_PER_WINDOW: '1000' };
  const child = spawn(bin, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...limits, ...env } });
  child.stdout.setEncoding('utf8').on('data', capture('stdout'));
  child.stderr.setEncoding('utf8').on('data', capture('stderr'));
  let exitStatus = null; // { code, signal } once the process has exited
  let spawnError = null;
  let dumped = false; // the output has been printed already
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    exitStatus = { code, signal };
    resolve(exitStatus);
  }));
  child.once('error', (error) => { spawnError = error; });

  const describe = () => `${bin} ${args.join(' ')}`;
  const dump = (why) => {
    dumped = true;
    process.stderr.write(`\n--- ${why}: output of \`${describe()}\` ---\n${output || '(no output)\n'}--- end of server output ---\n`);
  };

  // If a test in this file fails, show what the server said. The test runner sets the exit
  // code before the process exits, and this hook runs synchronously at that point. It also
  // makes sure no server outlives the test process.
  process.on('exit', () => {
    if (exitStatus === null) child.kill('SIGKILL');
    if (process.exitCode && !dumped) dump('a test failed');
    rmSync(dataDir, { recursive: true, force: true });
  });

  // Poll /readyz until it answers 200, the process dies, or the deadline passes. This is the
  // only polling in the suite: it waits for process start-up.
  const deadline = Date.now() + SERVER_READY_TIMEOUT_MS;
  let lastProblem = 'no answer yet';
  for (;;) {
    if (spawnError) {
      dumped = true;
      throw new Error(`could not start ${describe()}: ${spawnError.message}`);
    }
    if (exitStatus !== null) {
      dump('server exited during start-up');
      throw new Error(`${describe()} exited during start-up (code ${exitStatus.code}, signal ${exitStatus.signal})`);
    }
    try {
      const response = await fetch(`${baseURL}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (response.status === 200) break;
      lastProblem = `GET /readyz answered ${response.status}`;
    } catch (error) {
      lastProblem = `GET /readyz failed: ${error.cause?.code ?? error.message}`;
    }
    if (Date.now() > deadline) {
      dump('server not ready');
      child.kill('SIGKILL');
      throw new Error(`${describe()} not ready after ${SERVER_READY_TIMEOUT_MS / 1000} s (${lastProblem})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    baseURL,
    output: () => output,
    /** Sends SIGTERM and checks the server shuts down cleanly (exit code 0) in time. */
    async stop() {
      try {
        if (exitStatus === null) {
          child.kill('SIGTERM');
          let timer;
          const timeout = new Promise((resolve) => { timer = setTimeout(resolve, SERVER_EXIT_TIMEOUT_MS, 'timeout'); });
          const result = await Promise.race([exited, timeout]);
          clearTimeout(timer);
          if (result === 'timeout') {
            child.kill('SIGKILL');
            dump('server did not stop');
            assert.fail(`server did not exit within ${SERVER_EXIT_TIMEOUT_MS / 1000} s of SIGTERM`);
          }
        }
        if (exitStatus.code !== 0) {
          dump('server did not stop cleanly');
          assert.fail(
            `server exited with code ${exitStatus.code}, signal ${exitStatus.signal} after SIGTERM; ` +
              'expected a graceful shutdown with exit code 0',
          );
        }
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Launches Debian's Chromium headless through playwright-core. A launch that fails is tried
 * again, twice: on a freshly installed machine the first start of Chromium has been seen to
 * crash (SIGSEGV) before it opened a page, which says nothing about the pages under test.
 */
export async function launchBrowser() {
  const options = {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  };
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await chromium.launch(options);
    } catch (error) {
      if (attempt >= 3) throw error;
      console.error(`# Chromium did not start (attempt ${attempt}): ${String(error).split('\n')[0]}; trying again`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/**
 * A new browser context (fresh cookies) with `baseURL` set, and a page in it. Collects
 * Content-Security-Policy violations and failed same-origin requests on the page, so tests can
 * check that every stylesheet actually loaded: `page.problems` lists them. The viewport is a
 * desktop's (1280 × 800) unless `viewport` says otherwise.
 */
export async function newPage(browser, baseURL, { viewport = { width: 1280, height: 800 } } = {}) {
  // A Norwegian visitor's browser: Accept-Language nb-NO.
  const context = await browser.newContext({ baseURL, locale: 'nb-NO', viewport });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) {
      page.problems.push(`CSP violation: ${message.text()}`);
    }
  });
  page.on('response', (response) => {
    const request = response.request();
    // The document itself may be a 404/422/500 page on purpose; subresources may not fail.
    if (request.resourceType() !== 'document' && response.url().startsWith(baseURL) && response.status() >= 400) {
      page.problems.push(`${request.resourceType()} ${response.url()} answered ${response.status()}`);
    }
  });
  page.on('requestfailed', (request) => {
    page.problems.push(`${request.resourceType()} ${request.url()} failed: ${request.failure()?.errorText}`);
  });
  return { context, page };
}

/** Asserts the page loaded without CSP violations or failed subresources. */
export function assertNoPageProblems(page, label) {
  const problems = page.problems.splice(0);
  assert.deepEqual(problems, [], `${label}: problems while loading the page:\n  ${problems.join('\n  ')}`);
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core on the page against WCAG 2.1 A and AA and asserts there are no violations.
 * On failure the message lists each violation's id, impact, help text and failing nodes.
 */
export async function assertNoAxeViolations(page, label) {
  // Evaluated through the DevTools protocol, so the site's strict CSP (no inline scripts) does
  // not block it and need not be bypassed.
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) {
    await page.evaluate(axeSource);
  }
  const results = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }),
    AXE_TAGS,
  );
  assert.ok(results.passes.length > 0, `${label}: axe ran no checks`);
  const report = results.violations.map((violation) => {
    const nodes = violation.nodes
      .map((node) => `      - ${node.target.join(' ')}\n        ${node.html}\n        ${(node.failureSummary ?? '').replaceAll('\n', '\n        ')}`)
      .join('\n');
    return `  ${violation.id} (${violation.impact}): ${violation.help}\n    ${violation.helpUrl}\n${nodes}`;
  });
  assert.equal(
    results.violations.length,
    0,
    `${label}: ${results.violations.length} axe violation(s) at WCAG 2.1 AA on ${page.url()}:\n${report.join('\n')}`,
  );
}

/** Saves a full-page screenshot as tests/e2e/screenshots/<name>.png. */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/** Chooses the language the way a visitor does: through the language switch's link. */
export async function chooseLanguage(page, lang) {
  const response = await page.goto(`/sprak/${lang}?tilbake=/`);
  assert.equal(response?.status(), 200, `/sprak/${lang}?tilbake=/ should redirect to the front page`);
  assert.equal(new URL(page.url()).pathname, '/', `/sprak/${lang}?tilbake=/ should land on /`);
}

/** The `lang` attribute of the page's <html> element. */
export function documentLang(page) {
  return page.evaluate(() => document.documentElement.lang);
}

/**
 * Starts the server and the browser before the tests of a file and stops both after them.
 * The returned object gets `server` and `browser` once `before` has run. `env` is passed to
 * `startServer`.
 */
export function useServerAndBrowser({ env = {} } = {}) {
  const shared = { server: undefined, browser: undefined };
  before(async () => {
    shared.server = await startServer({ env });
    shared.browser = await launchBrowser();
  });
  after(async () => {
    await shared.browser?.close();
    await shared.server?.stop();
  });
  return shared;
}

/** Elements that reach past the viewport, outside anything that scrolls sideways on its own. */
export function stickingOut(page) {
  return page.evaluate(() => {
    const viewport = document.documentElement.clientWidth;
    const contained = (el) => {
      for (let parent = el.parentElement; parent && parent !== document.body; parent = parent.parentElement) {
        if (getComputedStyle(parent).overflowX !== 'visible') return true;
      }
      return false;
    };
    const wide = [];
    for (const el of document.body.querySelectorAll('*')) {
      const rect = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      if (rect.width === 0 || rect.height === 0 || contained(el)) continue;
      if (style.position === 'absolute' && style.clip !== 'auto' && rect.width <= 1) continue;
      const reaches = style.overflowX === 'visible' ? rect.left + el.scrollWidth : rect.right;
      if (rect.right > viewport + 0.5 || rect.left < -0.5 || reaches > viewport + 1) {
        wide.push(`<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}> ${Math.round(rect.left)}..${Math.round(reaches)} px`);
      }
    }
    return wide;
  });
}

/** The data-testid of the focused element or its closest ancestor with one. */
export function focusedTestId(page) {
  return page.evaluate(() => document.activeElement?.closest('[data-testid]')?.dataset.testid ?? null);
}

/** Logs a persona (`{ name }`) in from the front page, through the test provider's page. */
export async function logInResident(page, persona) {
  await page.goto('/');
  await page.getByRole('link', { name: 'Logg inn' }).click();
  await page.waitForURL(/\/test-idp\/authorize/);
  await page.getByLabel(persona.name, { exact: false }).check();
  await page.getByRole('button', { name: 'Logg inn' }).click();
  await page.waitForURL(/\/min-side$/);
}

/** Logs a demo employee in at /ansatt/logg-inn. */
export async function logInEmployee(page, name) {
  await page.goto('/ansatt/logg-inn');
  await page.waitForURL(/\/test-idp\/authorize/);
  await page.getByLabel(name, { exact: false }).check();
  await page.getByRole('button', { name: 'Logg inn' }).click();
  await page.waitForURL(/\/ansatt$/);
}

/** Chooses whom to act for on Min side by the choice's label. */
export async function actFor(page, label) {
  await page.goto('/min-side/representere');
  await page.getByLabel(label, { exact: false }).check();
  await page.getByRole('button', { name: 'Bytt' }).click();
  await page.waitForURL(/\/min-side$/);
}

/**
 * Checks the page now open (path and query) in every language: the right `lang`, no page
 * problems, axe clean, and nothing wider than 320 px; screenshots the nn and en versions at
 * 320 px as `<lang>-<prefix><label>-320`. `ignore(problem)` drops problems that are the
 * browser's own, not the site's. Leaves the page in bokmål at desktop width.
 */
export async function checkInEveryLanguage(page, label, { prefix = '', ignore = () => false } = {}) {
  const url = new URL(page.url());
  const path = url.pathname + url.search;
  try {
    for (const lang of LANGUAGES) {
      await chooseLanguage(page, lang);
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.goto(path);
      assert.equal(await documentLang(page), lang, `${label} (${lang})`);
      page.problems = page.problems.filter((problem) => !ignore(problem));
      assertNoPageProblems(page, `${label} (${lang})`);
      await assertNoAxeViolations(page, `${label} (${lang})`);
      await page.setViewportSize({ width: 320, height: 640 });
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 320, `${label} (${lang}) is ${width} px wide at 320 px`);
      assert.deepEqual(await stickingOut(page), [], `${label} (${lang}): elements stick out at 320 px`);
      if (lang !== 'nb') await screenshot(page, `${lang}-${prefix}${label.replace(/\W+/g, '-')}-320`);
    }
  } finally {
    await chooseLanguage(page, 'nb');
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(path);
  }
}
