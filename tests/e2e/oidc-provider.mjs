// An independent OpenID provider for the browser tests: panva's `oidc-provider` (OpenID
// certified) on loopback, configured the way ID-porten behaves (shared/STANDARDS.md), so that
// the relying party is tested against someone else's implementation of the protocol and not
// only against the demo's own `/test-idp`.
//
// What it mirrors:
//   - discovery at {issuer}/.well-known/openid-configuration;
//   - the authorization code flow only, PKCE S256 mandatory, `state` and `nonce` required;
//   - `acr_values` idporten-loa-substantial / idporten-loa-high, and a step-up login when a
//     client asks for more than the session has;
//   - `private_key_jwt` as the only client authentication at the token endpoint;
//   - an RS256 ID token with `sub`, `pid`, `acr`, `amr` (["TestID"]), `auth_time`, `locale`
//     and `sid`, whether the scope is `openid` or `openid profile`;
//   - RP-initiated logout that returns to the post_logout_redirect_uri without a confirmation
//     click, and front-channel logout (iframes to the client's frontchannel_logout_uri with
//     `iss` and `sid`).
//
// The installed oidc-provider (9.x) has no front-channel logout feature (older majors had
// one, for a draft of the spec), so the logout page below renders the iframes itself, and the
// discovery document advertises it by hand.
//
// Not a test file itself: `node --test tests/e2e/` runs only *.test.mjs.

import { createHash, generateKeyPair, randomBytes } from 'node:crypto';
import http from 'node:http';
import { once } from 'node:events';
import { promisify } from 'node:util';
import Provider, { errors, interactionPolicy } from 'oidc-provider';

/** The levels of assurance ID-porten offers, from lowest to highest. */
export const ACR_VALUES = ['idporten-loa-substantial', 'idporten-loa-high'];

/** The languages ID-porten's login pages are offered in; the first is the default. */
export const UI_LOCALES = ['nb', 'nn', 'en', 'se'];

/** What ID-porten's test users' authentication methods are called. */
const AMR = ['TestID'];

/** The names of the levels on the login page, in the words ID-porten uses. */
const ACR_LABELS = {
  'idporten-loa-substantial': 'Betydelig sikkerhetsnivå',
  'idporten-loa-high': 'Høyt sikkerhetsnivå',
};

/** A fødselsnummer or d-nummer as ID-porten's test users have them: eleven digits. */
const PID_PATTERN = /^\d{11}$/;

/** Login forms are tiny; anything larger is not a person typing. */
const MAX_FORM_BYTES = 16 * 1024;

const INTERACTION_PATH = /^\/interaction\/([\w-]+)(\/login)?$/;

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * Starts the provider on 127.0.0.1 and a free port.
 *
 * @param {object} options
 * @param {string} options.clientId the relying party's client_id
 * @param {string[]} options.redirectUris its registered redirect URIs
 * @param {string[]} [options.postLogoutRedirectUris] its registered post-logout redirect URIs
 * @param {string} [options.frontchannelLogoutUri] where the logout page frames it (with `iss`
 *   and `sid`) when the person logs out
 * @param {{ pid: string, name: string }[]} [options.accounts] test people listed on the login
 *   page; any other eleven-digit number is accepted too, as ID-porten's test environment does
 * @returns {Promise<{ issuer: string, clientId: string, clientPrivateKeyPem: string,
 *   clientKid: string, stop: () => Promise<void> }>}
 */
export async function startOidcProvider({
  clientId,
  redirectUris,
  postLogoutRedirectUris = [],
  frontchannelLogoutUri,
  accounts = [],
}) {
  if (!clientId) throw new TypeError('clientId is required');
  if (!redirectUris?.length) throw new TypeError('at least one redirect URI is required');
  for (const account of accounts) {
    if (!PID_PATTERN.test(account.pid)) throw new TypeError(`account pid ${account.pid} is not 11 digits`);
  }

  // The issuer contains the port, and the provider needs the issuer when it is built, so the
  // server listens first and is handed the provider's request handler afterwards.
  let handle = (_request, response) => {
    response.statusCode = 503;
    response.end();
  };
  const server = http.createServer((request, response) => handle(request, response));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${server.address().port}`;

  const [signingKey, clientKey] = await Promise.all([rsaKeyPair(), rsaKeyPair()]);
  const people = new People(accounts);
  const provider = new Provider(issuer, configuration({
    clientId,
    redirectUris,
    postLogoutRedirectUris,
    frontchannelLogoutUri,
    signingJwk: signingKey.privateJwk,
    clientPublicJwk: clientKey.publicJwk,
    people,
  }));
  // ID-porten always puts `sid` in the ID token, so that front-channel logout can name the
  // session; oidc-provider only does so for back-channel logout clients (or when the `claims`
  // parameter asks for it), hence this override of its per-provider Client class.
  provider.Client.prototype.includeSid = () => true;
  provider.use(interactionRoutes(provider, people));
  provider.on('server_error', (_ctx, error) => {
    process.stderr.write(`oidc-provider test IdP: server error: ${error.stack ?? error}\n`);
  });
  handle = provider.callback();

  return {
    issuer,
    clientId,
    clientPrivateKeyPem: clientKey.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    clientKid: clientKey.publicJwk.kid,
    async stop() {
      if (!server.listening) return;
      // fetch keeps connections alive; without closing them close() would wait for their timeout.
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

/** An RSA 2048 key pair, with its JWKs named by their RFC 7638 thumbprint. */
async function rsaKeyPair() {
  const { publicKey, privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
  const publicJwk = publicKey.export({ format: 'jwk' });
  const kid = jwkThumbprint(publicJwk);
  return {
    privateKey,
    publicJwk: { ...publicJwk, kid, alg: 'RS256', use: 'sig' },
    privateJwk: { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' },
  };
}

/** The RFC 7638 thumbprint of an RSA JWK: SHA-256 over its required members in order. */
function jwkThumbprint({ e, kty, n }) {
  return createHash('sha256').update(JSON.stringify({ e, kty, n })).digest('base64url');
}

/**
 * The people who can log in. `sub` is an opaque, stable hash of the fødselsnummer, like
 * ID-porten's pairwise subject, so that a relying party that mistakes `sub` for the person
 * fails here as it would in production; `pid` is the fødselsnummer itself.
 */
class People {
  #byAccountId = new Map();

  constructor(accounts) {
    this.listed = accounts.map(({ pid, name }) => ({ pid, name }));
    for (const { pid } of this.listed) this.#remember(pid);
  }

  /** The account id for a fødselsnummer, remembering the person on first login. */
  accountIdFor(pid, locale) {
    const person = this.#remember(pid);
    person.locale = locale;
    return person.accountId;
  }

  find(accountId) {
    return this.#byAccountId.get(accountId);
  }

  #remember(pid) {
    const accountId = createHash('sha256').update(`allmenning-test-idp:${pid}`).digest('base64url');
    if (!this.#byAccountId.has(accountId)) {
      this.#byAccountId.set(accountId, { accountId, pid, locale: UI_LOCALES[0] });
    }
    return this.#byAccountId.get(accountId);
  }
}

/** The oidc-provider configuration that makes it behave like ID-porten. */
function configuration({
  clientId,
  redirectUris,
  postLogoutRedirectUris,
  frontchannelLogoutUri,
  signingJwk,
  clientPublicJwk,
  people,
}) {
  const policy = interactionPolicy.base();
  policy.get('login').checks.push(stepUpCheck());

  return {
    clients: [{
      client_id: clientId,
      application_type: 'web',
      redirect_uris: redirectUris,
      post_logout_redirect_uris: postLogoutRedirectUris,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'RS256',
      id_token_signed_response_alg: 'RS256',
      jwks: { keys: [clientPublicJwk] },
      ...(frontchannelLogoutUri
        ? { frontchannel_logout_uri: frontchannelLogoutUri, frontchannel_logout_session_required: true }
        : {}),
    }],
    jwks: { keys: [signingJwk] },
    responseTypes: ['code'],
    // Every request needs PKCE; oidc-provider 9 knows only S256, so `plain` is refused too.
    pkce: { required: () => true },
    clientAuthMethods: ['private_key_jwt'],
    assertJwtClientAuthClaimsAndHeader: assertClientAssertion,
    enabledJWA: {
      clientAuthSigningAlgValues: ['RS256', 'RS384', 'RS512'],
      idTokenSigningAlgValues: ['RS256'],
    },
    acrValues: ACR_VALUES,
    scopes: ['openid', 'profile'],
    // ID-porten gives `pid` with plain `openid` as well as with `profile`.
    // `acr`, `amr` and `auth_time` are listed with the scope because oidc-provider otherwise
    // includes them only when asked for (acr_values, max_age, the claims parameter), and
    // ID-porten always sends them.
    claims: {
      openid: ['sub', 'pid', 'locale', 'acr', 'amr', 'auth_time'],
      profile: ['pid', 'locale'],
      sid: null,
    },
    // ID-porten puts the person's claims in the ID token even though an access token is
    // issued too; oidc-provider's default would keep scope claims for userinfo only.
    conformIdTokenClaims: false,
    extraParams: {
      state: requireParam('state'),
      nonce: requireParam('nonce'),
      acr_values: checkAcrValues,
    },
    extraClientMetadata: {
      properties: ['frontchannel_logout_uri', 'frontchannel_logout_session_required'],
      validator: validateFrontchannelMetadata,
    },
    discovery: {
      ui_locales_supported: UI_LOCALES,
      frontchannel_logout_supported: true,
      frontchannel_logout_session_supported: true,
    },
    async findAccount(_ctx, accountId) {
      const person = people.find(accountId);
      if (!person) return undefined;
      return {
        accountId,
        async claims() {
          return { sub: accountId, pid: person.pid, locale: person.locale };
        },
      };
    },
    interactions: {
      policy,
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    // The session cookies are left without `Secure` (oidc-provider adds it only when the
    // request came over https), and signed with a key of this run.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    features: {
      devInteractions: { enabled: false },
      // ID-porten binds no tokens to DPoP keys; leaving it on would advertise it in discovery.
      dPoP: { enabled: false },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      userinfo: { enabled: true },
    },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 1800,
      Session: 3600,
      Grant: 3600,
    },
    clientBasedCORS: () => false,
    renderError,
  };
}

/** The position of an acr value in ACR_VALUES, or -1 for anything else. */
function acrRank(acr) {
  return ACR_VALUES.indexOf(acr);
}

/** The lowest level a request accepts (the first value of acr_values by rank). */
function minimumAcr(acrValues) {
  const ranks = (acrValues ?? '').split(' ').map(acrRank).filter((rank) => rank >= 0);
  return ACR_VALUES[ranks.length ? Math.min(...ranks) : 0];
}

/** The first supported language of a ui_locales parameter, or the default. */
function chosenLocale(uiLocales) {
  return (uiLocales ?? '').split(' ').find((locale) => UI_LOCALES.includes(locale)) ?? UI_LOCALES[0];
}

/** An extraParams validator that turns an optional OpenID parameter into a required one. */
function requireParam(name) {
  return function required(_ctx, value) {
    if (!value) throw new errors.InvalidRequest(`missing required parameter '${name}'`);
  };
}

function checkAcrValues(_ctx, value) {
  if (value === undefined) return;
  const unknown = value.split(' ').filter((acr) => acrRank(acr) < 0);
  if (unknown.length) throw new errors.InvalidRequest(`unsupported acr_values: ${unknown.join(' ')}`);
}

/**
 * Asks for a new login when the client wants a higher level than the person's session has,
 * as ID-porten does; oidc-provider itself treats acr_values as voluntary.
 */
function stepUpCheck() {
  return new interactionPolicy.Check(
    'acr_values_step_up',
    'the session has a lower level of assurance than requested',
    'login_required',
    (ctx) => {
      const { oidc } = ctx;
      if (!oidc.session.accountId || oidc.result?.login) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      return acrRank(oidc.acr) < acrRank(minimumAcr(oidc.params.acr_values))
        ? interactionPolicy.Check.REQUEST_PROMPT
        : interactionPolicy.Check.NO_NEED_TO_PROMPT;
    },
  );
}

/** How long a client assertion may live, as ID-porten allows (exp − iat). */
const MAX_ASSERTION_LIFETIME_S = 120;

/**
 * The RFC 7523 rules oidc-provider leaves to the deployment (it checks `iss`, `aud`, `exp`,
 * `jti` and the signature itself): `sub` = client_id, an `iat`, `aud` = the issuer, and a short
 * lifetime, as ID-porten requires.
 */
async function assertClientAssertion(ctx, claims, _header, client) {
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (claims.sub !== client.clientId) {
    throw new errors.InvalidClientAuth('sub (JWT subject) must be the client_id');
  }
  if (!audiences.includes(ctx.oidc.issuer)) {
    throw new errors.InvalidClientAuth('aud (JWT audience) must be the issuer identifier');
  }
  if (typeof claims.iat !== 'number') {
    throw new errors.InvalidClientAuth('iat (issued at) must be provided in the client_assertion JWT');
  }
  if (claims.exp - claims.iat > MAX_ASSERTION_LIFETIME_S) {
    throw new errors.InvalidClientAuth(`the client_assertion JWT may live at most ${MAX_ASSERTION_LIFETIME_S} s`);
  }
}

function validateFrontchannelMetadata(_ctx, key, value) {
  if (value === undefined) return;
  if (key === 'frontchannel_logout_uri' && !URL.canParse(value)) {
    throw new errors.InvalidClientMetadata('frontchannel_logout_uri must be a URL');
  }
  if (key === 'frontchannel_logout_session_required' && typeof value !== 'boolean') {
    throw new errors.InvalidClientMetadata('frontchannel_logout_session_required must be a boolean');
  }
}

// ---------------------------------------------------------------------------------------------
// The login interaction.

/**
 * Koa middleware for /interaction/:uid (the login page, or an automatic consent) and
 * /interaction/:uid/login (the login form's target). Anything else goes on to the provider.
 */
function interactionRoutes(provider, people) {
  return async function interactions(ctx, next) {
    const match = INTERACTION_PATH.exec(ctx.path);
    if (!match) return next();
    const [, uid, login] = match;
    try {
      const interaction = await provider.interactionDetails(ctx.req, ctx.res);
      if (interaction.uid !== uid) throw new errors.SessionNotFound('interaction does not match the cookie');
      if (login && ctx.method === 'POST') return await submitLogin(ctx, provider, people, interaction);
      if (!login && ctx.method === 'GET') return await showInteraction(ctx, provider, people, interaction);
      ctx.status = 405;
      ctx.set('Allow', login ? 'POST' : 'GET');
    } catch (error) {
      if (!error.expose) throw error;
      await renderError(ctx, { error: error.error, error_description: error.error_description }, error);
      ctx.status = error.status ?? 400;
    }
  };
}

/** Shows the login form, or grants consent at once: ID-porten never asks for it. */
async function showInteraction(ctx, provider, people, interaction) {
  if (interaction.prompt.name === 'login') {
    renderLogin(ctx, people, interaction, {
      acr: minimumAcr(interaction.params.acr_values),
    });
    return;
  }
  const grantId = await grantConsent(provider, interaction, interaction.session.accountId);
  await finish(ctx, provider, { consent: { grantId } });
}

async function submitLogin(ctx, provider, people, interaction) {
  const form = await readForm(ctx);
  const pid = (form.get('pid') ?? '').replace(/\s/g, '');
  const acr = form.get('acr') ?? '';
  const minimum = minimumAcr(interaction.params.acr_values);

  let problem;
  if (!PID_PATTERN.test(pid)) {
    problem = 'Fødselsnummeret må ha 11 siffer.';
  } else if (acrRank(acr) < 0) {
    problem = 'Velg et sikkerhetsnivå.';
  } else if (acrRank(acr) < acrRank(minimum)) {
    problem = `Tjenesten krever ${ACR_LABELS[minimum].toLowerCase()}. Velg det eller et høyere nivå.`;
  }
  if (problem) {
    ctx.status = 400;
    renderLogin(ctx, people, interaction, { pid, acr: acrRank(acr) < 0 ? minimum : acr, problem });
    return;
  }

  const accountId = people.accountIdFor(pid, chosenLocale(interaction.params.ui_locales));
  // Consent is granted along with the login, so that no consent page follows.
  const grantId = await grantConsent(provider, interaction, accountId);
  await finish(ctx, provider, {
    login: { accountId, acr, amr: AMR, remember: false },
    consent: { grantId },
  });
}

/**
 * A Grant of everything the client asked for: the OpenID scopes and claims of this request,
 * added to the person's existing grant for the client when there is one.
 */
async function grantConsent(provider, interaction, accountId) {
  const { params, prompt: { details } } = interaction;
  let grant = interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined;
  if (!grant || grant.accountId !== accountId) {
    grant = new provider.Grant({ accountId, clientId: params.client_id });
  }
  const scopes = (params.scope ?? '').split(' ').filter((scope) => ['openid', 'profile'].includes(scope));
  grant.addOIDCScope(scopes.join(' '));
  if (details.missingOIDCClaims?.length) grant.addOIDCClaims(details.missingOIDCClaims);
  return grant.save();
}

/** Stores the interaction's result and sends the browser back to the authorization endpoint. */
async function finish(ctx, provider, result) {
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
  ctx.status = 303;
  ctx.redirect(returnTo);
}

/** Reads an application/x-www-form-urlencoded body, refusing anything large. */
async function readForm(ctx) {
  if (!ctx.is('application/x-www-form-urlencoded')) {
    throw new errors.InvalidRequest('the login form must be sent as application/x-www-form-urlencoded');
  }
  let size = 0;
  const chunks = [];
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new errors.InvalidRequest('the form is too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// ---------------------------------------------------------------------------------------------
// Pages. Plain, self-contained HTML (no external resources), in bokmål whatever the requested
// language so that browser tests can find the same labels every time; the requested language
// is shown on the page and goes into the `locale` claim.

function escapeHtml(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
  body { font-family: system-ui, sans-serif; margin: 0; color: #1e2b3c; background: #fff; line-height: 1.5; }
  main { max-width: 32rem; margin: 2rem auto; padding: 0 1rem; }
  label, legend { display: block; font-weight: 600; }
  input[type=text] { font-size: 1.125rem; padding: .5rem; width: 14rem; border: 2px solid #1e2b3c; border-radius: 4px; }
  fieldset { border: 0; padding: 0; margin: 1.5rem 0; }
  fieldset label { display: inline; font-weight: 400; }
  button { font-size: 1rem; padding: .6rem 1.4rem; color: #fff; background: #0062ba; border: 0; border-radius: 4px; cursor: pointer; }
  :focus-visible { outline: 3px solid #1e2b3c; outline-offset: 2px; }
  .problem { border-left: 4px solid #c30000; padding: .25rem 1rem; background: #fff5f5; }
  .hint { margin: .25rem 0; color: #4d5968; }
  iframe { border: 0; width: 0; height: 0; position: absolute; }`;

function page({ title, body, script = '' }) {
  return `<!DOCTYPE html>
<html lang="nb">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
${script}
</body>
</html>`;
}

function renderLogin(ctx, people, interaction, { pid = '', acr, problem }) {
  const { params, uid } = interaction;
  const listed = people.listed.length
    ? `<h2>Testbrukere</h2>
<ul>${people.listed.map(({ pid: p, name }) => `<li>${escapeHtml(name)}: ${escapeHtml(p)}</li>`).join('')}</ul>`
    : '';
  const radios = ACR_VALUES.map((value) => `<div>
<input type="radio" id="acr-${value}" name="acr" value="${value}"${value === acr ? ' checked' : ''}>
<label for="acr-${value}">${ACR_LABELS[value]} (${value})</label>
</div>`).join('\n');

  ctx.type = 'html';
  ctx.body = page({
    title: problem ? 'Feil – Logg inn – ID-porten (test)' : 'Logg inn – ID-porten (test)',
    body: `<h1>Logg inn med testbruker</h1>
<p>Innlogging til <strong>${escapeHtml(params.client_id)}</strong> gjennom en testutgave av ID-porten.
Språk ønsket av tjenesten: <span data-testid="ui-locales">${escapeHtml(chosenLocale(params.ui_locales))}</span>.</p>
${problem ? `<div class="problem" role="alert" id="problem"><p>${escapeHtml(problem)}</p></div>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label for="pid">Fødselsnummer</label>
<p class="hint" id="pid-hint">11 siffer, for eksempel 14839221100.</p>
<input type="text" id="pid" name="pid" inputmode="numeric" autocomplete="off" value="${escapeHtml(pid)}" aria-describedby="pid-hint${problem ? ' problem' : ''}"${problem ? ' aria-invalid="true"' : ''}>
<fieldset>
<legend>Sikkerhetsnivå</legend>
${radios}
</fieldset>
<button type="submit">Logg inn</button>
</form>
${listed}`,
  });
}

/**
 * The RP-initiated logout page. It frames every client of the session that registered a
 * frontchannel_logout_uri (with `iss` and `sid`), then submits oidc-provider's confirmation
 * form by script once the frames have loaded (or after FRONTCHANNEL_WAIT_MS), so the browser
 * goes straight on to the post_logout_redirect_uri. Without script the person clicks "Logg ut".
 */
async function logoutSource(ctx, form) {
  const frames = await frontchannelLogoutUrls(ctx);
  const iframes = frames
    .map((src, i) => `<iframe title="Utlogging fra tjeneste ${i + 1}" src="${escapeHtml(src)}"></iframe>`)
    .join('\n');
  // oidc-provider's form has only the xsrf field; `logout=yes` ends the whole session (all
  // clients), as logging out of ID-porten does.
  const confirm = form.replace('</form>', '<input type="hidden" name="logout" value="yes"></form>');
  ctx.body = page({
    title: 'Logger ut – ID-porten (test)',
    body: `<h1>Logger ut</h1>
<p>Du logges ut av ID-porten og tjenestene du har brukt.</p>
${confirm}
<noscript><p><button type="submit" form="op.logoutForm">Logg ut</button></p></noscript>
${iframes}`,
    script: `<script>
(() => {
  const form = document.getElementById('op.logoutForm');
  const frames = [...document.querySelectorAll('iframe')];
  let pending = frames.length;
  const submit = () => { if (!form.dataset.sent) { form.dataset.sent = '1'; form.submit(); } };
  if (pending === 0) { submit(); return; }
  frames.forEach((frame) => frame.addEventListener('load', () => { pending -= 1; if (pending === 0) submit(); }));
  setTimeout(submit, ${FRONTCHANNEL_WAIT_MS});
})();
</script>`,
  });
}

/** How long the logout page waits for the relying parties' front-channel frames. */
const FRONTCHANNEL_WAIT_MS = 3000;

/** The front-channel logout URLs of every client the ending session has logged in to. */
async function frontchannelLogoutUrls(ctx) {
  const { session, provider } = ctx.oidc;
  const urls = [];
  for (const clientId of Object.keys(session.authorizations ?? {})) {
    const client = await provider.Client.find(clientId).catch(() => undefined);
    if (!client?.frontchannel_logout_uri) continue;
    const url = new URL(client.frontchannel_logout_uri);
    url.searchParams.set('iss', provider.issuer);
    url.searchParams.set('sid', session.sidFor(clientId));
    urls.push(url.href);
  }
  return urls;
}

/** Shown after a logout that named no post_logout_redirect_uri. */
async function postLogoutSuccessSource(ctx) {
  ctx.body = page({
    title: 'Logget ut – ID-porten (test)',
    body: '<h1>Du er logget ut</h1>\n<p>Du er logget ut av ID-porten (test).</p>',
  });
}

/** Errors that cannot go back to the client (a bad redirect_uri, an unknown client, ...). */
async function renderError(ctx, out) {
  ctx.type = 'html';
  ctx.body = page({
    title: 'Feil – ID-porten (test)',
    body: `<h1>Noe gikk galt</h1>
<p><code data-testid="error">${escapeHtml(out.error)}</code></p>
<p data-testid="error-description">${escapeHtml(out.error_description)}</p>`,
  });
}
