// Login and logout against an independent OpenID provider: the npm package `oidc-provider`,
// configured the ID-porten way (PKCE required, both acr values, a `pid` claim,
// `private_key_jwt`, RP-initiated and front-channel logout; see oidc-provider.mjs). The
// server runs in demo mode but with `[idporten]` pointing at that provider, so the relying
// party is configured exactly as it would be for the real ID-porten.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assertNoAxeViolations, freePort, launchBrowser, newPage, screenshot, startServer } from './harness.mjs';
import { startOidcProvider } from './oidc-provider.mjs';

const INGRID = { pid: '14839221100', name: 'Ingrid Solberg' };

const shared = {};

before(async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  shared.provider = await startOidcProvider({
    clientId: 'allmenning-e2e',
    redirectUris: [`${base}/logg-inn/tilbake`],
    postLogoutRedirectUris: [`${base}/logg-ut/ferdig`],
    frontchannelLogoutUri: `${base}/logg-ut/frontkanal`,
    accounts: [INGRID],
  });
  shared.keyDir = mkdtempSync(path.join(os.tmpdir(), 'allmenning-oidc-key-'));
  const keyFile = path.join(shared.keyDir, 'client.pem');
  writeFileSync(keyFile, shared.provider.clientPrivateKeyPem, { mode: 0o600 });
  shared.server = await startServer({
    port,
    env: {
      ALLMENNING__IDPORTEN__ISSUER: shared.provider.issuer,
      ALLMENNING__IDPORTEN__CLIENT_ID: shared.provider.clientId,
      ALLMENNING__IDPORTEN__CLIENT_KEY_FILE: keyFile,
      ALLMENNING__IDPORTEN__CLIENT_KEY_ID: shared.provider.clientKid,
    },
  });
  shared.browser = await launchBrowser();
});

after(async () => {
  await shared.browser?.close();
  await shared.server?.stop();
  await shared.provider?.stop();
  if (shared.keyDir) rmSync(shared.keyDir, { recursive: true, force: true });
});

test('a resident logs in and out through oidc-provider in Chromium', async () => {
  const { context, page } = await newPage(shared.browser, shared.server.baseURL);
  try {
    await page.goto('/');
    await page.getByRole('link', { name: 'Logg inn' }).click();
    // The provider's own login page, on its own origin.
    await page.waitForURL((url) => url.origin === shared.provider.issuer);
    await page.getByLabel('Fødselsnummer').fill(INGRID.pid);
    await page.getByRole('button', { name: 'Logg inn' }).click();

    await page.waitForURL(`${shared.server.baseURL}/min-side`);
    assert.equal(await page.getByTestId('logged-in-as').innerText(), `Logget inn som ${INGRID.name}`);
    assert.match(await page.getByTestId('access-log').innerText(), /\tDu\tInnlogging\t/);
    await assertNoAxeViolations(page, 'Min side after an oidc-provider login');
    await screenshot(page, 'nb-min-side-oidc-provider');

    // RP-initiated logout: our session ends, the provider's logout page runs (loading our
    // front-channel logout URI in a frame) and sends the browser back to us.
    await page.getByRole('button', { name: 'Logg ut', exact: true }).click();
    try {
      await page.waitForURL(/\/logg-ut\/ferdig(\?|$)/, { timeout: 15_000 });
    } catch (error) {
      console.error('DEBUG url', page.url(), (await page.content()).slice(0, 3000));
      throw error;
    }
    assert.match(await page.locator('h1').innerText(), /Du er logget ut/);

    // Logged out at the provider too: Min side sends the browser to the provider's login page
    // again, not straight back in.
    await page.goto('/min-side');
    await page.waitForURL((url) => url.origin === shared.provider.issuer);
    assert.ok(await page.getByLabel('Fødselsnummer').isVisible(), 'the provider asks for a login again');
  } finally {
    await context.close();
  }
});
