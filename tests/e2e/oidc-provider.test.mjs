// Checks that the oidc-provider test harness (oidc-provider.mjs) behaves like ID-porten, with
// plain fetch: no browser, no allmenning server. The relying party's redirect URIs point at a
// loopback port where nothing listens; the tests only read the Location headers sent there.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, sign, verify } from 'node:crypto';
import { startOidcProvider } from './oidc-provider.mjs';

const CLIENT_ID = 'allmenning-e2e';
const RP = 'http://127.0.0.1:9';
const REDIRECT_URI = `${RP}/logg-inn/tilbake`;
const POST_LOGOUT_REDIRECT_URI = `${RP}/logg-ut/ferdig`;
const FRONTCHANNEL_LOGOUT_URI = `${RP}/logg-ut/frontkanal`;
const INGRID = { pid: '14839221100', name: 'Ingrid Solberg' };
const SUBSTANTIAL = 'idporten-loa-substantial';
const HIGH = 'idporten-loa-high';

let op;
let metadata;

before(async () => {
  op = await startOidcProvider({
    clientId: CLIENT_ID,
    redirectUris: [REDIRECT_URI],
    postLogoutRedirectUris: [POST_LOGOUT_REDIRECT_URI],
    frontchannelLogoutUri: FRONTCHANNEL_LOGOUT_URI,
    accounts: [INGRID],
  });
  const response = await fetch(`${op.issuer}/.well-known/openid-configuration`);
  assert.equal(response.status, 200);
  metadata = await response.json();
});

after(() => op?.stop());

// ---------------------------------------------------------------------------------------------
// A browser's worth of fetch: cookies and redirects handled by hand.

/** Keeps cookies by name. Paths are ignored: the provider's cookie names never collide. */
class CookieJar {
  #cookies = new Map();

  store(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const expires = attributes.find((a) => /^expires=/i.test(a));
      const expired = value === '' || (expires && Date.parse(expires.slice(8)) <= Date.now());
      if (expired) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header() {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/** One request without following redirects, sending and keeping the jar's cookies. */
async function browse(jar, url, { method = 'GET', form } = {}) {
  const headers = { cookie: jar.header() };
  let body;
  if (form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  const response = await fetch(url, { method, headers, body, redirect: 'manual' });
  jar.store(response);
  return response;
}

/**
 * Follows redirects within the provider. Returns { callback } (a URL) when the browser is sent
 * to the relying party, or { response, url } for the first page that is not a redirect.
 */
async function follow(jar, response, url) {
  while (response.status >= 300 && response.status < 400) {
    const next = new URL(response.headers.get('location'), url);
    if (next.origin === RP) return { callback: next };
    url = next.href;
    response = await browse(jar, url);
  }
  return { response, url };
}

/** A PKCE pair: a random verifier and its S256 challenge. */
function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** An authorization request like the relying party's, with parameters to add or omit. */
function authorizationUrl({ challenge, state, nonce, acrValues = SUBSTANTIAL, scope = 'openid profile', extra = {}, omit = [] }) {
  const params = {
    client_id: CLIENT_ID,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope,
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    acr_values: acrValues,
    ui_locales: 'nb',
    ...extra,
  };
  for (const name of omit) delete params[name];
  return `${metadata.authorization_endpoint}?${new URLSearchParams(params)}`;
}

/** Undoes HTML escaping in an attribute value. */
function unescapeHtml(value) {
  return value
    .replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code)))
    .replaceAll('&quot;', '"')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

/** The action of the page's only form. */
function formAction(html, base) {
  const match = /<form[^>]*action="([^"]+)"/.exec(html);
  assert.ok(match, 'the page has a form');
  return new URL(unescapeHtml(match[1]), base).href;
}

/** Starts an authorization request and returns what the browser shows (the login page). */
async function startLogin(jar, options = {}) {
  const request = { ...pkce(), state: randomUUID(), nonce: randomUUID(), ...options };
  const url = authorizationUrl(request);
  return { request, ...(await follow(jar, await browse(jar, url), url)) };
}

/** Submits the login page's form and follows the redirects back to the relying party. */
async function submitLogin(jar, page, { pid = INGRID.pid, acr = SUBSTANTIAL } = {}) {
  const html = await page.response.text();
  const action = formAction(html, page.url);
  const response = await browse(jar, action, { method: 'POST', form: { pid, acr } });
  return { html, ...(await follow(jar, response, action)) };
}

/** A whole login: authorization request, login form, callback with a code. */
async function logIn(jar, { acr = SUBSTANTIAL, ...options } = {}) {
  const page = await startLogin(jar, options);
  assert.equal(page.response?.status, 200, 'the login page is shown');
  const { callback } = await submitLogin(jar, page, { acr });
  assert.ok(callback, 'the browser is sent back to the relying party');
  assert.equal(callback.searchParams.get('state'), page.request.state);
  assert.equal(callback.searchParams.get('error'), null, callback.searchParams.get('error_description'));
  return { ...page.request, code: callback.searchParams.get('code') };
}

// ---------------------------------------------------------------------------------------------
// JWTs, by hand with node:crypto.

function signJwt(header, payload, privateKey) {
  const encode = (part) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const input = `${encode(header)}.${encode(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

/** An RFC 7523 client assertion as ID-porten wants it, signed RS256. */
function clientAssertion({ key = op.clientPrivateKeyPem, kid = op.clientKid, ...overrides } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return signJwt(
    { alg: 'RS256', kid, typ: 'JWT' },
    { iss: CLIENT_ID, sub: CLIENT_ID, aud: op.issuer, iat: now, exp: now + 60, jti: randomUUID(), ...overrides },
    key,
  );
}

async function redeem(code, verifier, assertion = clientAssertion()) {
  const response = await fetch(metadata.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    }),
  });
  return { status: response.status, body: await response.json() };
}

/** Checks an ID token's RS256 signature against the provider's JWKS and returns its parts. */
async function verifyIdToken(idToken) {
  const [headerPart, payloadPart, signature] = idToken.split('.');
  const header = JSON.parse(Buffer.from(headerPart, 'base64url'));
  assert.equal(header.alg, 'RS256');
  const { keys } = await (await fetch(metadata.jwks_uri)).json();
  const jwk = keys.find((key) => key.kid === header.kid);
  assert.ok(jwk, 'the ID token names a key of the provider');
  const valid = verify(
    'sha256',
    Buffer.from(`${headerPart}.${payloadPart}`),
    createPublicKey({ key: jwk, format: 'jwk' }),
    Buffer.from(signature, 'base64url'),
  );
  assert.ok(valid, 'the ID token signature verifies');
  return { header, claims: JSON.parse(Buffer.from(payloadPart, 'base64url')) };
}

// ---------------------------------------------------------------------------------------------

test('the discovery document describes ID-porten', () => {
  assert.equal(metadata.issuer, op.issuer);
  assert.match(op.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.deepEqual(metadata.response_types_supported, ['code']);
  assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
  assert.deepEqual(metadata.acr_values_supported, [SUBSTANTIAL, HIGH]);
  assert.deepEqual(metadata.token_endpoint_auth_methods_supported, ['private_key_jwt']);
  assert.ok(metadata.id_token_signing_alg_values_supported.includes('RS256'));
  assert.deepEqual(metadata.ui_locales_supported, ['nb', 'nn', 'en', 'se']);
  assert.equal(metadata.end_session_endpoint, `${op.issuer}/session/end`);
  assert.equal(metadata.frontchannel_logout_supported, true);
  assert.equal(metadata.frontchannel_logout_session_supported, true);
  assert.match(op.clientPrivateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.ok(op.clientKid);
});

describe('authorization requests ID-porten refuses', () => {
  const cases = [
    ['without code_challenge', { omit: ['code_challenge', 'code_challenge_method'] }],
    ['with code_challenge_method=plain', { extra: { code_challenge_method: 'plain' } }],
    ['without state', { omit: ['state'] }],
    ['without nonce', { omit: ['nonce'] }],
    ['with an unknown acr value', { acrValues: 'idporten-loa-low' }],
  ];
  for (const [name, { omit = [], extra = {}, acrValues }] of cases) {
    test(name, async () => {
      const state = omit.includes('state') ? undefined : randomUUID();
      const url = authorizationUrl({ ...pkce(), state, nonce: randomUUID(), acrValues, extra, omit });
      const response = await fetch(url, { redirect: 'manual' });
      assert.equal(response.status, 303);
      const location = new URL(response.headers.get('location'));
      assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
      assert.equal(location.searchParams.get('error'), 'invalid_request');
      assert.equal(location.searchParams.get('code'), null);
      if (state) assert.equal(location.searchParams.get('state'), state);
    });
  }
});

test('a full code flow with PKCE and private_key_jwt gives an ID-porten ID token', async () => {
  const jar = new CookieJar();
  const page = await startLogin(jar, { acrValues: SUBSTANTIAL });
  assert.equal(page.response.status, 200);
  const { html, callback } = await submitLogin(jar, page, { pid: INGRID.pid, acr: SUBSTANTIAL });

  // The login page is the plain, labelled form the browser tests use.
  assert.match(html, /<html lang="nb">/);
  assert.match(html, /<h1>/);
  assert.match(html, /<label for="pid">Fødselsnummer<\/label>/);
  assert.match(html, /<input type="text" id="pid" name="pid"/);
  assert.match(html, /name="acr" value="idporten-loa-substantial" checked/);
  assert.match(html, /name="acr" value="idporten-loa-high">/);
  assert.match(html, /<button type="submit">Logg inn<\/button>/);

  assert.ok(callback, 'no consent page: the browser goes straight back');
  assert.equal(`${callback.origin}${callback.pathname}`, REDIRECT_URI);
  assert.equal(callback.searchParams.get('state'), page.request.state);
  assert.equal(callback.searchParams.get('iss'), op.issuer);
  const code = callback.searchParams.get('code');
  assert.ok(code);

  // A client assertion signed by another key is refused, and does not use up the code.
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const forged = await redeem(code, page.request.verifier, clientAssertion({ key: stranger }));
  assert.equal(forged.status, 401);
  assert.equal(forged.body.error, 'invalid_client');
  const wrongSub = await redeem(code, page.request.verifier, clientAssertion({ sub: 'someone-else' }));
  assert.equal(wrongSub.body.error, 'invalid_client');

  const { status, body } = await redeem(code, page.request.verifier);
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.token_type, 'Bearer');
  const { claims } = await verifyIdToken(body.id_token);
  assert.equal(claims.iss, op.issuer);
  assert.equal(claims.aud, CLIENT_ID);
  assert.equal(claims.nonce, page.request.nonce);
  assert.equal(claims.pid, INGRID.pid);
  assert.equal(claims.acr, SUBSTANTIAL);
  assert.deepEqual(claims.amr, ['TestID']);
  assert.equal(claims.locale, 'nb');
  assert.equal(typeof claims.auth_time, 'number');
  assert.equal(typeof claims.sid, 'string');
  assert.match(claims.sub, /^[\w-]{43}$/, 'sub is opaque');
  assert.notEqual(claims.sub, INGRID.pid);

  // The same code a second time is refused.
  const replay = await redeem(code, page.request.verifier);
  assert.equal(replay.body.error, 'invalid_grant');
});

test('a wrong code_verifier is refused', async () => {
  const { code } = await logIn(new CookieJar());
  const { body } = await redeem(code, pkce().verifier);
  assert.equal(body.error, 'invalid_grant');
});

test('scope openid alone still gives pid, and ui_locales becomes locale', async () => {
  const jar = new CookieJar();
  const login = await logIn(jar, { scope: 'openid', extra: { ui_locales: 'nn' } });
  const { body } = await redeem(login.code, login.verifier);
  const { claims } = await verifyIdToken(body.id_token);
  assert.equal(claims.pid, INGRID.pid);
  assert.equal(claims.locale, 'nn');

  // Asking for more scopes later in the same session grants them without a consent page.
  const more = await startLogin(jar, { scope: 'openid profile' });
  assert.ok(more.callback, 'no consent page');
  assert.ok(more.callback.searchParams.get('code'), more.callback.searchParams.get('error_description'));
});

test('an unknown eleven-digit pid logs in; anything else is refused on the page', async () => {
  const jar = new CookieJar();
  const page = await startLogin(jar);
  const html = await page.response.text();
  const action = formAction(html, page.url);
  const refused = await browse(jar, action, { method: 'POST', form: { pid: '1234', acr: SUBSTANTIAL } });
  assert.equal(refused.status, 400);
  assert.match(await refused.text(), /role="alert"/);

  const accepted = await browse(jar, action, { method: 'POST', form: { pid: '31827799956', acr: SUBSTANTIAL } });
  const { callback } = await follow(jar, accepted, action);
  const { body } = await redeem(callback.searchParams.get('code'), page.request.verifier);
  assert.equal((await verifyIdToken(body.id_token)).claims.pid, '31827799956');
});

test('a level below the requested one is refused; the session then serves lower requests', async () => {
  const jar = new CookieJar();
  const page = await startLogin(jar, { acrValues: HIGH });
  const html = await page.response.text();
  assert.match(html, /name="acr" value="idporten-loa-high" checked/, 'the requested level is preselected');
  const action = formAction(html, page.url);

  const tooLow = await browse(jar, action, { method: 'POST', form: { pid: INGRID.pid, acr: SUBSTANTIAL } });
  assert.equal(tooLow.status, 400);
  assert.match(await tooLow.text(), /role="alert"/);

  const high = await browse(jar, action, { method: 'POST', form: { pid: INGRID.pid, acr: HIGH } });
  const { callback } = await follow(jar, high, action);
  const first = await redeem(callback.searchParams.get('code'), page.request.verifier);
  assert.equal((await verifyIdToken(first.body.id_token)).claims.acr, HIGH);

  // Single sign-on: a request for substantial needs no login and says what the person used.
  const again = await startLogin(jar, { acrValues: SUBSTANTIAL });
  assert.ok(again.callback, 'no login page the second time');
  const second = await redeem(again.callback.searchParams.get('code'), again.request.verifier);
  assert.equal((await verifyIdToken(second.body.id_token)).claims.acr, HIGH);
});

test('a request for high on a substantial session asks for a new login', async () => {
  const jar = new CookieJar();
  await logIn(jar, { acrValues: SUBSTANTIAL, acr: SUBSTANTIAL });
  const stepUp = await startLogin(jar, { acrValues: HIGH });
  assert.equal(stepUp.response?.status, 200, 'the login page is shown again');
  assert.match(await stepUp.response.text(), /Fødselsnummer/);
});

test('RP-initiated logout frames the front-channel URI and returns without a click', async () => {
  const jar = new CookieJar();
  const { code, verifier } = await logIn(jar);
  const { body } = await redeem(code, verifier);
  const { claims } = await verifyIdToken(body.id_token);

  const state = randomUUID();
  const logoutUrl = `${metadata.end_session_endpoint}?${new URLSearchParams({
    id_token_hint: body.id_token,
    post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI,
    state,
  })}`;
  const page = await browse(jar, logoutUrl);
  assert.equal(page.status, 200);
  const html = await page.text();

  const frame = /<iframe[^>]*src="([^"]+)"/.exec(html);
  assert.ok(frame, 'the logout page frames the relying party');
  const frameUrl = new URL(unescapeHtml(frame[1]));
  assert.equal(`${frameUrl.origin}${frameUrl.pathname}`, FRONTCHANNEL_LOGOUT_URI);
  assert.equal(frameUrl.searchParams.get('iss'), op.issuer);
  assert.equal(frameUrl.searchParams.get('sid'), claims.sid);

  // The page submits its form by script; here the form is posted as the script would.
  assert.match(html, /form\.submit\(\)/);
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)[1];
  const confirmed = await browse(jar, formAction(html, logoutUrl), { method: 'POST', form: { xsrf, logout: 'yes' } });
  assert.equal(confirmed.status, 303);
  const back = new URL(confirmed.headers.get('location'));
  assert.equal(`${back.origin}${back.pathname}`, POST_LOGOUT_REDIRECT_URI);
  assert.equal(back.searchParams.get('state'), state);

  // The provider's session is gone: the next request shows the login page.
  const next = await startLogin(jar);
  assert.equal(next.response?.status, 200);
});
