//! Login, sessions, acting for others, fullmakt, employees and machine clients, end to end on a
//! real socket. In demo mode the relying party talks to the built-in test identity provider over
//! HTTP, as it would to ID-porten, so these tests walk the same redirects a browser does: a tiny
//! browser below keeps the cookies and follows `location` by hand.

use std::collections::HashMap;

use allmenning::config::Mode;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use store::{Db, params};

use crate::helpers::{InProcess, Spawned, spawn_app_with_db, test_settings, two_municipalities};

const INGRID: &str = "14839221100";
const LARS: &str = "30818516084";
const PER: &str = "17825133097";
const SUBSTANTIAL: &str = "idporten-loa-substantial";
const HIGH: &str = "idporten-loa-high";
/// The test provider's client id for the residents' login (`app.rs`).
const CITIZEN_CLIENT: &str = "allmenning-innbygger";

// ----- A small browser -----

/// One answer, read whole.
#[derive(Debug)]
pub(crate) struct Page {
    pub(crate) status: StatusCode,
    headers: HeaderMap,
    pub(crate) body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).expect("a location header")
    }

    /// The whole `set-cookie` header that sets `name`, attributes included.
    fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.split_once('=').is_some_and(|(n, _)| n.trim() == name))
            .map(str::to_owned)
    }

    #[track_caller]
    pub(crate) fn assert_redirect(&self, to: &str) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "{}", self.body);
        assert!(self.location().starts_with(to), "expected a redirect to {to}, got {}", self.location());
    }
}

/// A browser without a cookie store of reqwest's: it keeps cookies from `set-cookie` itself,
/// sends them to the one server it talks to, and never follows a redirect on its own.
#[derive(Debug)]
pub(crate) struct Browser {
    client: reqwest::Client,
    base: String,
    /// Cookies per site (host and port), as a browser keeps them: a cookie set by one host is
    /// never sent to another.
    jars: HashMap<String, HashMap<String, String>>,
}

/// The host and port of an absolute URL.
fn authority(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?']).next().unwrap_or_default().to_ascii_lowercase()
}

impl Browser {
    pub(crate) fn new(app: &Spawned) -> Self {
        Self { client: app.client.clone(), base: app.url(""), jars: HashMap::new() }
    }

    /// A browser that reaches the server by its hosts' names, as a real browser would: every
    /// name in `hosts` resolves to the server, and requests go to `http://{base_host}:{port}`.
    fn by_name(app: &Spawned, hosts: &[&str], base_host: &str) -> Self {
        let mut client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        for host in hosts {
            client = client.resolve(host, app.address);
        }
        let client = client.build().expect("a client");
        Self { client, base: format!("http://{base_host}:{}", app.address.port()), jars: HashMap::new() }
    }

    /// The site a request to `url` goes to.
    fn site(&self, url: &str) -> String {
        authority(url)
    }

    /// The cookies of the site this browser's relative paths go to.
    fn cookies(&self) -> &HashMap<String, String> {
        static EMPTY: std::sync::LazyLock<HashMap<String, String>> = std::sync::LazyLock::new(HashMap::new);
        self.jars.get(&self.site(&self.base)).unwrap_or(&EMPTY)
    }

    pub(crate) fn cookies_mut(&mut self) -> &mut HashMap<String, String> {
        let site = self.site(&self.base);
        self.jars.entry(site).or_default()
    }

    /// A browser that has only this session cookie (a stolen or kept copy, say).
    fn with_session(app: &Spawned, session: &str) -> Self {
        let mut browser = Self::new(app);
        browser.cookies_mut().insert("sesjon".to_owned(), session.to_owned());
        browser
    }

    fn cookie(&self, name: &str) -> String {
        self.cookies().get(name).cloned().unwrap_or_else(|| panic!("the browser has no {name} cookie"))
    }

    fn absolute(&self, target: &str) -> String {
        if target.starts_with('/') { format!("{}{target}", self.base) } else { target.to_owned() }
    }

    fn remember(&mut self, site: String, set_cookie: &str) {
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else { return };
        let expired = parts.any(|attribute| attribute.trim().eq_ignore_ascii_case("max-age=0"));
        let jar = self.jars.entry(site).or_default();
        if expired || value.is_empty() {
            jar.remove(name.trim());
        } else {
            jar.insert(name.trim().to_owned(), value.trim().to_owned());
        }
    }

    async fn send(&mut self, url: &str, mut request: reqwest::RequestBuilder) -> Page {
        let site = self.site(url);
        if let Some(jar) = self.jars.get(&site).filter(|jar| !jar.is_empty()) {
            let pairs: Vec<String> = jar.iter().map(|(name, value)| format!("{name}={value}")).collect();
            request = request.header(header::COOKIE, pairs.join("; "));
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let headers = response.headers().clone();
        for value in headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            self.remember(site.clone(), value);
        }
        let body = response.text().await.expect("a text body");
        Page { status, headers, body }
    }

    pub(crate) async fn get(&mut self, target: &str) -> Page {
        let url = self.absolute(target);
        let request = self.client.get(&url);
        self.send(&url, request).await
    }

    async fn post_raw(&mut self, target: &str, content_type: &str, body: &[u8]) -> Page {
        let url = self.absolute(target);
        let request = self.client.post(&url).header(header::CONTENT_TYPE, content_type).body(body.to_vec());
        self.send(&url, request).await
    }

    pub(crate) async fn post_form(&mut self, target: &str, fields: &[(&str, &str)]) -> Page {
        let url = self.absolute(target);
        let request = self
            .client
            .post(&url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(encode_form(fields));
        self.send(&url, request).await
    }

    async fn follow(&mut self, page: &Page) -> Page {
        assert!(page.status.is_redirection(), "not a redirect: {} {}", page.status, page.body);
        let location = page.location().to_owned();
        self.get(&location).await
    }

    /// Starts a login at `path` (`/logg-inn` or `/ansatt/logg-inn`) and opens the test
    /// provider's page; returns the authorization request's URL.
    async fn start_login(&mut self, path: &str) -> String {
        let started = self.get(path).await;
        assert!(started.status.is_redirection(), "{}", started.body);
        assert!(started.location().contains("/test-idp/authorize?"), "{}", started.location());
        assert!(self.cookies().contains_key("innlogging"), "the login is bound to this browser");
        let authorize = started.location().to_owned();
        let page = self.get(&authorize).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("action=\"/test-idp/authorize\""), "the test provider's form: {}", page.body);
        authorize
    }

    /// Submits the test provider's login form: the request's parameters (the hidden fields) and
    /// `fields`.
    async fn submit_login(&mut self, authorize: &str, fields: &[(&str, &str)]) -> Page {
        let mut form = query_pairs(authorize);
        form.extend(fields.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())));
        let form: Vec<(&str, &str)> = form.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
        // The provider's own address, which need not be this browser's site.
        let endpoint = authorize.split_once('?').map_or(authorize, |(endpoint, _)| endpoint).to_owned();
        self.post_form(&endpoint, &form).await
    }

    /// Logs `who` in at the test provider and returns the callback URL it sends the browser
    /// back to, without following it.
    async fn callback_for(&mut self, login_path: &str, who: &str, acr: &str) -> String {
        let authorize = self.start_login(login_path).await;
        let approved = self.submit_login(&authorize, &[("who", who), ("acr", acr)]).await;
        approved.assert_redirect(&format!("{}{login_path}/tilbake?code=", self.base));
        approved.location().to_owned()
    }

    /// The whole citizen login; returns the callback's answer (a redirect to Min side).
    async fn login_as(&mut self, fnr: &str) -> Page {
        let callback = self.callback_for("/logg-inn", fnr, SUBSTANTIAL).await;
        let finished = self.get(&callback).await;
        finished.assert_redirect("/min-side");
        assert!(self.cookies().contains_key("sesjon"), "a session cookie is set");
        assert!(!self.cookies().contains_key("innlogging"), "the login cookie is cleared");
        finished
    }

    /// The whole employee login, as one of the demo employees.
    pub(crate) async fn login_employee(&mut self, subject: &str) -> Page {
        let callback = self.callback_for("/ansatt/logg-inn", subject, SUBSTANTIAL).await;
        let finished = self.get(&callback).await;
        finished.assert_redirect("/ansatt");
        assert!(self.cookies().contains_key("sesjon"), "a session cookie is set");
        finished
    }

    /// The CSRF token on a page this browser may see.
    pub(crate) async fn csrf(&mut self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        csrf_of(&page.body)
    }
}

pub(crate) fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a form with a CSRF token") + marker.len();
    html[start..].chars().take_while(|c| *c != '"').collect()
}

/// The value of the first choice of kind `kind` (`child`, `organisation`, `fullmakt`, ...) on
/// the page of whom to act for; the values themselves are opaque.
fn option_value(html: &str, kind: &str) -> Option<String> {
    let input_end = html.find(&format!("data-kind=\"{kind}\""))?;
    let input_start = html[..input_end].rfind("<input")?;
    let value = html[input_start..input_end].split("value=\"").nth(1)?;
    Some(value.chars().take_while(|c| *c != '"').collect())
}

/// The part of a page inside the element marked `data-testid="{id}"`, up to its list's end.
fn section<'h>(html: &'h str, id: &str) -> &'h str {
    let start = html.find(&format!("data-testid=\"{id}\"")).unwrap_or_else(|| panic!("no {id} in {html}"));
    let rest = &html[start..];
    &rest[..rest.find("</ul>").unwrap_or(rest.len())]
}

fn encode_form(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish()
}

/// The decoded query parameters of a URL, in order.
fn query_pairs(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    form_urlencoded::parse(query.as_bytes()).map(|(name, value)| (name.into_owned(), value.into_owned())).collect()
}

fn query_value(url: &str, name: &str) -> String {
    query_pairs(url)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

/// `url` with its query replaced by `pairs`.
fn with_query(url: &str, pairs: &[(String, String)]) -> String {
    let base = url.split_once('?').map_or(url, |(base, _)| base);
    let fields: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    format!("{base}?{}", encode_form(&fields))
}

/// `url` with the query parameter `name` set to `value`.
fn replace_param(url: &str, name: &str, value: &str) -> String {
    let pairs: Vec<(String, String)> =
        query_pairs(url).into_iter().map(|(n, v)| if n == name { (n, value.to_owned()) } else { (n, v) }).collect();
    with_query(url, &pairs)
}

// ----- The database, read directly -----

/// The first column of every row, as text (cast numbers in the SQL: `CAST(x AS TEXT)`).
pub(crate) async fn texts(db: &Db, sql: &str, params: &[store::Param]) -> Vec<String> {
    db.fetch_all::<(Option<String>,)>(sql, params)
        .await
        .expect("query")
        .into_iter()
        .map(|(first,)| first.unwrap_or_default())
        .collect()
}

async fn number(db: &Db, sql: &str, params: &[store::Param]) -> i64 {
    texts(db, sql, params).await.first().and_then(|n| n.parse().ok()).expect("a number")
}

async fn sessions_of(db: &Db, principal: &str) -> i64 {
    number(db, "SELECT CAST(COUNT(*) AS TEXT) FROM sessions WHERE principal = $1", &params![principal]).await
}

async fn all_sessions(db: &Db) -> i64 {
    number(db, "SELECT CAST(COUNT(*) AS TEXT) FROM sessions", &[]).await
}

async fn audit_count(db: &Db, action: &str) -> i64 {
    number(db, "SELECT CAST(COUNT(*) AS TEXT) FROM audit_log WHERE action = $1", &params![action]).await
}

/// What the stored session of `principal` acts as: `myself`, `child`, `fullmakt`, ...
async fn acting_kind(db: &Db, principal: &str) -> String {
    let stored = texts(db, "SELECT acting_as FROM sessions WHERE principal = $1", &params![principal]).await;
    let stored = stored.first().expect("a session");
    let json: serde_json::Value = serde_json::from_str(stored).expect("stored as JSON");
    json["kind"].as_str().expect("a kind").to_owned()
}

// ----- Numbers and dates made here -----

/// A valid fødselsnummer for the birth date `ddmmyy` (month + 80 for a synthetic one), synthetic
/// or not as asked, found by trying individual numbers in turn.
fn valid_fnr(ddmmyy: &str, synthetic: bool) -> kernel::Fnr {
    (0..100_000)
        .map(|n| format!("{ddmmyy}{n:05}"))
        .filter_map(|digits| kernel::Fnr::parse(&digits).ok())
        .find(|fnr| fnr.is_synthetic() == synthetic)
        .expect("some individual number is valid")
}

/// Today in Norway (as the server sees it) moved by `years`, as YYYY-MM-DD.
fn today_plus_years(years: i32) -> String {
    let today = kernel::time::today_in_norway();
    // 29 February is not in every year; the 28th is as good for these tests.
    let day = if u8::from(today.month()) == 2 && today.day() == 29 { 28 } else { today.day() };
    format!("{:04}-{:02}-{day:02}", today.year() + years, u8::from(today.month()))
}

// ----- 1. A whole login -----

#[tokio::test]
async fn a_resident_logs_in_through_the_test_provider_and_a_new_login_replaces_the_session() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let mut browser = Browser::new(&app);
    // The access log shows times on Norwegian clocks (the login's minute, or the next).
    let clock = || {
        let now = kernel::time::now_in_norway();
        format!("{:02}.{:02}.{} {:02}:{:02}", now.day(), u8::from(now.month()), now.year(), now.hour(), now.minute())
    };
    let before = clock();
    let finished = browser.login_as(INGRID).await;
    let cookie = finished.set_cookie("sesjon").expect("the session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");

    let page = browser.get("/min-side").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Ingrid Solberg"), "{}", page.body);
    let log = section(&page.body, "access-log");
    assert!(log.contains(&before) || log.contains(&clock()), "{before}: {log}");
    let logins = "SELECT CAST(COUNT(*) AS TEXT) FROM audit_log WHERE action = 'identity.login' AND subject = $1";
    assert_eq!(number(&db, logins, &params![INGRID]).await, 1);
    assert_eq!(sessions_of(&db, INGRID).await, 1);

    // Logging in again in the same browser sends the old session cookie to the callback: the
    // new session has a new id and the old one is gone.
    let first = browser.cookie("sesjon");
    browser.login_as(INGRID).await;
    let second = browser.cookie("sesjon");
    assert_ne!(first, second, "the session id rotates at login");
    assert_eq!(sessions_of(&db, INGRID).await, 1, "the old session ended");
    assert_eq!(number(&db, logins, &params![INGRID]).await, 2);
    Browser::with_session(&app, &first).get("/min-side").await.assert_redirect("/logg-inn");
    assert!(browser.get("/min-side").await.body.contains("Ingrid Solberg"));
}

// ----- 2. Callbacks that do not check out -----

/// The callback was refused: the login-failed page, no session cookie, one more refusal in the
/// access log and no more sessions than before (`refusals` and `sessions` are before and after).
#[track_caller]
fn assert_refused(page: &Page, refusals: (i64, i64), sessions: (i64, i64)) {
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
    assert!(page.body.contains("Innloggingen mislyktes"), "{}", page.body);
    assert!(page.set_cookie("sesjon").is_none(), "no session cookie");
    assert_eq!(refusals.1, refusals.0 + 1, "the refusal is in the access log");
    assert_eq!(sessions.1, sessions.0, "no session was created");
}

#[tokio::test]
async fn callbacks_that_do_not_check_out_are_refused_logged_and_start_no_session() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let refusals = || audit_count(&db, "identity.login.refused");

    // A tampered state.
    let mut browser = Browser::new(&app);
    let callback = browser.callback_for("/logg-inn", INGRID, SUBSTANTIAL).await;
    let state = query_value(&callback, "state");
    let tampered = format!("{}{}", &state[..state.len() - 1], if state.ends_with('A') { 'B' } else { 'A' });
    let before = refusals().await;
    let page = browser.get(&replace_param(&callback, "state", &tampered)).await;
    assert_refused(&page, (before, refusals().await), (0, all_sessions(&db).await));

    // No state at all.
    let mut browser = Browser::new(&app);
    let callback = browser.callback_for("/logg-inn", INGRID, SUBSTANTIAL).await;
    let without_state: Vec<_> = query_pairs(&callback).into_iter().filter(|(n, _)| n != "state").collect();
    let before = refusals().await;
    let page = browser.get(&with_query(&callback, &without_state)).await;
    assert_refused(&page, (before, refusals().await), (0, all_sessions(&db).await));

    // No code.
    let mut browser = Browser::new(&app);
    let callback = browser.callback_for("/logg-inn", INGRID, SUBSTANTIAL).await;
    let without_code: Vec<_> = query_pairs(&callback).into_iter().filter(|(n, _)| n != "code").collect();
    let before = refusals().await;
    let page = browser.get(&with_query(&callback, &without_code)).await;
    assert_refused(&page, (before, refusals().await), (0, all_sessions(&db).await));

    // A code the provider never issued, with the right state in the right browser: the token
    // endpoint refuses it.
    let mut browser = Browser::new(&app);
    let callback = browser.callback_for("/logg-inn", INGRID, SUBSTANTIAL).await;
    let before = refusals().await;
    let page = browser.get(&replace_param(&callback, "code", "oppdiktet-kode")).await;
    assert_refused(&page, (before, refusals().await), (0, all_sessions(&db).await));

    // The callback arrives in another browser: without the cookie that binds the login.
    let mut browser = Browser::new(&app);
    let callback = browser.callback_for("/logg-inn", INGRID, SUBSTANTIAL).await;
    let before = refusals().await;
    let page = Browser::new(&app).get(&callback).await;
    assert_refused(&page, (before, refusals().await), (0, all_sessions(&db).await));
    // The attempt is used up: the right browser cannot finish it afterwards either.
    let before = refusals().await;
    let page = browser.get(&callback).await;
    assert_refused(&page, (before, refusals().await), (0, all_sessions(&db).await));

    // The user cancels at the provider: logged like a refusal, but the page says the login was
    // cancelled, not that it failed, and offers to start again.
    let mut browser = Browser::new(&app);
    let authorize = browser.start_login("/logg-inn").await;
    let cancelled = browser.submit_login(&authorize, &[("avbryt", "1")]).await;
    cancelled.assert_redirect(&format!("{}/logg-inn/tilbake?error=access_denied", app.url("")));
    let before = refusals().await;
    let callback = browser.follow(&cancelled).await;
    callback.assert_redirect("/logg-inn/avbrutt");
    assert!(callback.set_cookie("sesjon").is_none(), "no session cookie");
    assert_eq!(refusals().await, before + 1, "the cancelled login is in the access log");
    assert_eq!(all_sessions(&db).await, 0, "no session was created");
    let page = browser.follow(&callback).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Innloggingen ble avbrutt"), "{}", page.body);
    assert!(!page.body.contains("mislyktes"), "{}", page.body);
    assert!(page.body.contains("href=\"/logg-inn\""), "a way to try again: {}", page.body);

    // The same callback twice: the state is single use.
    let mut browser = Browser::new(&app);
    let callback = browser.callback_for("/logg-inn", INGRID, SUBSTANTIAL).await;
    let binding = browser.cookie("innlogging");
    browser.get(&callback).await.assert_redirect("/min-side");
    assert_eq!(all_sessions(&db).await, 1);
    let mut replay = Browser::new(&app);
    replay.cookies_mut().insert("innlogging".to_owned(), binding);
    let before = refusals().await;
    let page = replay.get(&callback).await;
    assert_refused(&page, (before, refusals().await), (1, all_sessions(&db).await));
}

// ----- 3. The level of assurance -----

#[tokio::test]
async fn a_login_below_the_minimum_level_of_assurance_is_refused_by_the_relying_party() {
    let mut settings = test_settings(Mode::Demo).await;
    settings.settings.idporten.acr_values = SUBSTANTIAL.to_owned();
    settings.settings.idporten.minimum_acr = HIGH.to_owned();
    let (app, db) = spawn_app_with_db(settings).await;

    // The provider asks for substantial, so it issues a substantial token; we need high.
    let mut browser = Browser::new(&app);
    let callback = browser.callback_for("/logg-inn", INGRID, SUBSTANTIAL).await;
    let before = audit_count(&db, "identity.login.refused").await;
    let page = browser.get(&callback).await;
    assert_refused(&page, (before, audit_count(&db, "identity.login.refused").await), (0, all_sessions(&db).await));

    // The same person at the high level gets in.
    let mut browser = Browser::new(&app);
    let callback = browser.callback_for("/logg-inn", INGRID, HIGH).await;
    browser.get(&callback).await.assert_redirect("/min-side");
    assert_eq!(sessions_of(&db, INGRID).await, 1);
    let stored = texts(&db, "SELECT acr FROM sessions WHERE principal = $1", &params![INGRID]).await;
    assert_eq!(stored, [HIGH]);
}

/// Seconds since the epoch, now.
fn now_seconds() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs())
        .expect("seconds fit")
}

/// A machine client's assertion for the demo token endpoint at `issuer`, asking for `scope`.
pub(crate) fn machine_assertion(
    key: &identity::jose::SigningKey,
    client_id: &str,
    issuer: &str,
    scope: &str,
) -> String {
    let now = now_seconds();
    let claims = serde_json::json!({
        "iss": client_id, "aud": issuer, "iat": now, "exp": now + 60,
        "jti": uuid::Uuid::now_v7().to_string(), "scope": scope,
    });
    key.sign("JWT", &claims).expect("signed")
}

/// Asks the demo token endpoint for a token with `assertion`: its status and JSON body.
pub(crate) async fn token_request(app: &Spawned, assertion: &str) -> (StatusCode, serde_json::Value) {
    let response = app
        .client
        .post(app.url("/maskinporten/token"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode_form(&[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion)]))
        .send()
        .await
        .expect("the token endpoint answers");
    let status = response.status();
    (status, response.json::<serde_json::Value>().await.expect("JSON"))
}

// ----- 4. The test provider itself -----

/// A client assertion (RFC 7523) for the test provider's token endpoint, signed with the demo
/// relying party's key as the application itself signs them.
async fn client_assertion(db: &Db, issuer: &str) -> String {
    let key = identity::keys::platform_key(db, "demo-rp").await.expect("the relying party's key");
    let now = now_seconds();
    let claims = serde_json::json!({
        "iss": CITIZEN_CLIENT, "sub": CITIZEN_CLIENT, "aud": issuer,
        "iat": now, "exp": now + 60, "jti": uuid::Uuid::now_v7().to_string(),
    });
    key.sign("JWT", &claims).expect("signed")
}

#[tokio::test]
async fn the_test_provider_accepts_only_synthetic_numbers_and_known_clients_and_codes_are_single_use() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let codes = || number(&db, "SELECT CAST(COUNT(*) AS TEXT) FROM test_idp_codes", &[]);
    let mut browser = Browser::new(&app);
    let authorize = browser.start_login("/logg-inn").await;
    // Each persona comes with its situation, so a demo user knows whom to pick.
    let page = browser.get(&authorize).await;
    assert!(page.body.contains("Har nettopp fått en datter, Emma."), "{}", page.body);
    assert!(page.body.contains("aria-describedby=\"who-1-story\""), "{}", page.body);

    let real = valid_fnr("010150", false).as_digits();
    let page = browser.submit_login(&authorize, &[("who", INGRID), ("pid", &real), ("acr", SUBSTANTIAL)]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page.body);
    assert!(page.body.contains("data-testid=\"error-summary\""));
    assert!(page.body.contains("ikke syntetisk"), "{}", page.body);
    let page = browser.submit_login(&authorize, &[("pid", "1234567890x"), ("acr", SUBSTANTIAL)]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page.body);
    assert!(page.body.contains("data-testid=\"error-summary\""));
    assert!(page.body.contains("Fødselsnummeret er ikke gyldig"), "{}", page.body);
    assert_eq!(codes().await, 0, "no code for a refused number");

    // A client or redirect URI the provider does not know: an error here, never a redirect.
    for (name, value) in [("client_id", "ukjent-klient"), ("redirect_uri", "https://angriper.example/tilbake")] {
        let wrong = replace_param(&authorize, name, value);
        let page = browser.get(&wrong).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{name}");
        assert!(page.headers.get(header::LOCATION).is_none(), "{name}");
        let posted = browser.submit_login(&wrong, &[("who", INGRID), ("acr", SUBSTANTIAL)]).await;
        assert_eq!(posted.status, StatusCode::BAD_REQUEST, "{name}");
        assert!(posted.headers.get(header::LOCATION).is_none(), "{name}");
    }
    assert_eq!(codes().await, 0);

    // The token endpoint, called as the relying party would: a code is worth one exchange, and
    // only with the PKCE verifier it was made for.
    let issuer = app.url("/test-idp");
    let redirect_uri = app.url("/logg-inn/tilbake");
    let exchange = async |code: &str, verifier: &str| {
        let assertion = client_assertion(&db, &issuer).await;
        let response = app
            .client
            .post(app.url("/test-idp/token"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(encode_form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &redirect_uri),
                ("code_verifier", verifier),
                ("client_id", CITIZEN_CLIENT),
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", &assertion),
            ]))
            .send()
            .await
            .expect("the token endpoint answers");
        let status = response.status();
        (status, response.json::<serde_json::Value>().await.expect("JSON"))
    };
    let verifier_of = async |callback: &str| {
        let state = query_value(callback, "state");
        let found = texts(&db, "SELECT code_verifier FROM login_attempts WHERE state = $1", &params![state]).await;
        found.into_iter().next().expect("the login attempt")
    };

    let callback = browser.callback_for("/logg-inn", INGRID, SUBSTANTIAL).await;
    let (code, verifier) = (query_value(&callback, "code"), verifier_of(&callback).await);
    let (status, body) = exchange(&code, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["id_token"].as_str().is_some_and(|t| t.split('.').count() == 3), "{body}");
    let (status, body) = exchange(&code, &verifier).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant", "a replayed code: {body}");

    let mut browser = Browser::new(&app);
    let callback = browser.callback_for("/logg-inn", INGRID, SUBSTANTIAL).await;
    let (code, verifier) = (query_value(&callback, "code"), verifier_of(&callback).await);
    let (status, body) = exchange(&code, &format!("{verifier}feil")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant", "a wrong verifier: {body}");
    let (status, body) = exchange(&code, &verifier).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the code was used up by the wrong try: {body}");
}

// ----- 5. Acting for others -----

#[tokio::test]
async fn a_parent_acts_for_her_child_and_a_daglig_leder_for_his_company_but_only_as_offered() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let mut ingrid = Browser::new(&app);
    ingrid.login_as(INGRID).await;
    let page = ingrid.get("/min-side/representere").await;
    assert_eq!(page.status, StatusCode::OK);
    let emma = option_value(&page.body, "child").expect("Emma is offered");
    let csrf = csrf_of(&page.body);

    for token in [None, Some("feil")] {
        let mut fields = vec![("som", emma.as_str())];
        fields.extend(token.map(|t| ("csrf", t)));
        let refused = ingrid.post_form("/min-side/representere", &fields).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "CSRF token {token:?}");
        assert_eq!(acting_kind(&db, INGRID).await, "myself");
    }
    let not_offered =
        ingrid.post_form("/min-side/representere", &[("csrf", &csrf), ("som", "child:17825133097")]).await;
    assert_eq!(not_offered.status, StatusCode::FORBIDDEN);
    assert_eq!(acting_kind(&db, INGRID).await, "myself");
    assert_eq!(audit_count(&db, "identity.acting-as").await, 0);

    ingrid.post_form("/min-side/representere", &[("csrf", &csrf), ("som", &emma)]).await.assert_redirect("/min-side");
    let page = ingrid.get("/min-side").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Representerer Emma"), "{}", page.body);
    assert_eq!(acting_kind(&db, INGRID).await, "child");

    let mut lars = Browser::new(&app);
    lars.login_as(LARS).await;
    let registers = registers::LocalRegisters::new(db.clone());
    let lars_fnr = kernel::Fnr::parse(LARS).expect("persona");
    let mut haugen = None;
    for (orgnr, _) in registers.roles_of(&lars_fnr).await.expect("roles") {
        let organisation = registers.organisation(&orgnr).await.expect("lookup").expect("exists");
        if organisation.name == "Haugen Snekkerverksted AS" {
            haugen = Some(orgnr.as_digits());
        }
    }
    let haugen = haugen.expect("Lars has a role in his company");
    let page = lars.get("/min-side/representere").await;
    assert!(page.body.contains("Haugen Snekkerverksted AS"), "{}", page.body);
    let choice = option_value(&page.body, "organisation").expect("the company is offered");
    let csrf = csrf_of(&page.body);
    lars.post_form("/min-side/representere", &[("csrf", &csrf), ("som", &choice)]).await.assert_redirect("/min-side");
    let page = lars.get("/min-side").await;
    assert!(page.body.contains("Representerer Haugen Snekkerverksted AS"), "{}", page.body);

    let acting_for =
        texts(&db, "SELECT acting_for FROM audit_log WHERE action = 'identity.acting-as' ORDER BY seq", &[]).await;
    assert_eq!(acting_for.len(), 2, "{acting_for:?}");
    assert!(acting_for[0].starts_with("child:"), "{acting_for:?}");
    assert!(acting_for[1].starts_with(&format!("organisation:{haugen}:")), "{acting_for:?}");
}

// ----- 6. Fullmakt -----

#[tokio::test]
async fn a_fullmakt_lets_the_holder_act_until_the_giver_revokes_it() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let fullmakter = || number(&db, "SELECT CAST(COUNT(*) AS TEXT) FROM fullmakter", &[]);
    let mut ingrid = Browser::new(&app);
    ingrid.login_as(INGRID).await;
    let page = ingrid.get("/min-side/fullmakt").await;
    assert!(page.body.contains(r#"id="holder" name="holder" maxlength="13" value="""#), "an empty field");
    assert!(page.body.contains(r#"id="valid_to" name="valid_to" value="""#), "an empty field");
    let csrf = csrf_of(&page.body);
    let next_year = today_plus_years(1);

    let unknown = valid_fnr("018150", true);
    let registers = registers::LocalRegisters::new(db.clone());
    assert!(registers.person(&unknown).await.expect("lookup").is_none(), "the number is nobody's");
    let unknown = unknown.as_digits();
    let invalid: [(&str, &str, Option<&str>, &str); 5] = [
        ("to herself", INGRID, Some("helse-omsorg"), "Du kan ikke gi fullmakt til deg selv"),
        ("without areas", PER, None, "Velg minst ett tjenesteområde"),
        ("ending in the past", PER, Some("helse-omsorg"), "Sluttdatoen kan ikke være før startdatoen"),
        ("to nobody", &unknown, Some("helse-omsorg"), "Vi fant ingen person"),
        ("to a garbage number", "123", Some("helse-omsorg"), "Fødselsnummeret må ha 11 siffer"),
    ];
    for (case, holder, area, message) in invalid {
        let valid_to = if case == "ending in the past" { "2020-01-01" } else { next_year.as_str() };
        let mut fields =
            vec![("csrf", csrf.as_str()), ("holder", holder), ("surname", "Olsen"), ("valid_to", valid_to)];
        fields.extend(area.map(|a| ("areas", a)));
        let page = ingrid.post_form("/min-side/fullmakt", &fields).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{case}: {}", page.body);
        assert!(page.body.contains("data-testid=\"error-summary\""), "{case}");
        assert!(page.body.contains(message), "{case}: {}", page.body);
        assert_eq!(fullmakter().await, 0, "{case}");
    }

    let granted = ingrid
        .post_form(
            "/min-side/fullmakt",
            &[
                ("csrf", &csrf),
                ("holder", PER),
                ("surname", "Olsen"),
                ("areas", "helse-omsorg"),
                ("valid_to", &next_year),
            ],
        )
        .await;
    granted.assert_redirect("/min-side/fullmakt");
    assert_eq!(fullmakter().await, 1);
    let notices = "SELECT kind FROM person_notices WHERE recipient = $1";
    assert_eq!(texts(&db, notices, &params![INGRID]).await, ["fullmakt-granted-by-you"]);
    assert_eq!(texts(&db, notices, &params![PER]).await, ["fullmakt-granted-to-you"]);
    let id = texts(&db, "SELECT id FROM fullmakter", &[]).await.remove(0);
    // The period as people write dates here: day, month, year.
    let shown = |iso: &str| iso.split('-').rev().collect::<Vec<_>>().join(".");
    let period = format!("Gjelder {} til {}.", shown(&today_plus_years(0)), shown(&next_year));
    let page = ingrid.get("/min-side/fullmakt").await;
    assert!(page.body.contains(&period), "{period}: {}", page.body);

    let mut per = Browser::new(&app);
    // Per has chosen bokmål on the site (his contact register language is another).
    per.cookies_mut().insert("lang".to_owned(), "nb".to_owned());
    per.login_as(PER).await;
    let page = per.get("/min-side/representere").await;
    let choice = option_value(&page.body, "fullmakt").expect("the fullmakt is offered");
    let per_csrf = csrf_of(&page.body);
    per.post_form("/min-side/representere", &[("csrf", &per_csrf), ("som", &choice)])
        .await
        .assert_redirect("/min-side");
    let page = per.get("/min-side").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Representerer Ingrid Solberg"), "{}", page.body);
    assert_eq!(acting_kind(&db, PER).await, "fullmakt");

    ingrid
        .post_form(&format!("/min-side/fullmakt/{id}/trekk"), &[("csrf", &csrf)])
        .await
        .assert_redirect("/min-side/fullmakt");
    // Per's very next request finds the fullmakt gone.
    let page = per.get("/min-side").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Du representerer ikke lenger"), "{}", page.body);
    assert!(!page.body.contains("Representerer Ingrid Solberg"));
    assert_eq!(acting_kind(&db, PER).await, "myself");
    let page = per.get("/min-side/representere").await;
    assert!(!page.body.contains(&choice), "a revoked fullmakt is not offered");
}

#[tokio::test]
async fn a_stranger_cannot_revoke_a_fullmakt_nor_cause_a_read_of_the_givers_data() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let mut ingrid = Browser::new(&app);
    ingrid.login_as(INGRID).await;
    let csrf = ingrid.csrf("/min-side/fullmakt").await;
    let to = today_plus_years(1);
    let fields = [
        ("csrf", csrf.as_str()),
        ("holder", PER),
        ("surname", "Olsen"),
        ("areas", "helse-omsorg"),
        ("valid_to", to.as_str()),
    ];
    ingrid.post_form("/min-side/fullmakt", &fields).await.assert_redirect("/min-side/fullmakt");
    let id = texts(&db, "SELECT id FROM fullmakter", &[]).await.remove(0);

    let mut lars = Browser::new(&app);
    lars.login_as(LARS).await;
    let lars_csrf = lars.csrf("/min-side/fullmakt").await;
    let page = lars.post_form(&format!("/min-side/fullmakt/{id}/trekk"), &[("csrf", &lars_csrf)]).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.body);
    let revoked = texts(&db, "SELECT CAST(revoked_at AS TEXT) FROM fullmakter WHERE id = $1", &params![id]).await;
    assert_eq!(revoked, [""], "the fullmakt is still in force");
    let about_ingrid_by_lars = "SELECT action FROM audit_log WHERE subject = $1 AND actor = $2";
    let reads = texts(&db, about_ingrid_by_lars, &params![INGRID, format!("person:{LARS}")]).await;
    assert!(reads.is_empty(), "Lars's refused request read Ingrid's data: {reads:?}");
}

#[tokio::test]
async fn a_fullmakt_cannot_be_backdated_beyond_the_five_year_limit() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let mut ingrid = Browser::new(&app);
    ingrid.login_as(INGRID).await;
    let csrf = ingrid.csrf("/min-side/fullmakt").await;
    let to = today_plus_years(1);
    let fields = [
        ("csrf", csrf.as_str()),
        ("holder", PER),
        ("surname", "Olsen"),
        ("areas", "helse-omsorg"),
        ("valid_from", "2000-01-01"),
        ("valid_to", to.as_str()),
    ];
    let page = ingrid.post_form("/min-side/fullmakt", &fields).await;
    let stored = texts(&db, "SELECT valid_from FROM fullmakter", &[]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "stored from {stored:?} to {to}");
    assert!(stored.is_empty());
}

// ----- 7. Logout -----

#[tokio::test]
async fn logging_out_ends_the_session_here_and_at_the_provider() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let mut ingrid = Browser::new(&app);
    ingrid.login_as(INGRID).await;
    let session = ingrid.cookie("sesjon");
    let csrf = ingrid.csrf("/min-side").await;

    let forged = ingrid.post_form("/logg-ut", &[("csrf", "feil")]).await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
    assert_eq!(sessions_of(&db, INGRID).await, 1, "a forged logout ends nothing");

    // The form's navigation may not leave the site (form-action 'self'), so the answer is a
    // page that sends the browser on to the provider's logout, by meta refresh and by a link.
    let out = ingrid.post_form("/logg-ut", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(out.set_cookie("sesjon").is_some_and(|c| c.contains("Max-Age=0")), "the session cookie is cleared");
    assert_eq!(sessions_of(&db, INGRID).await, 0);
    let endsession = out
        .body
        .split("data-testid=\"continue-logout\"")
        .next()
        .and_then(|before| before.rsplit("href=\"").next())
        .map(|href| href.split('"').next().unwrap_or_default().replace("&amp;", "&").replace("&#x2f;", "/"))
        .expect("a link on to the provider");
    assert!(endsession.starts_with(&app.url("/test-idp/endsession?")), "{endsession}");
    assert!(out.body.contains("http-equiv=\"refresh\""), "a meta refresh sends the browser on");
    let back = ingrid.get(&endsession).await;
    back.assert_redirect(&app.url("/logg-ut/ferdig"));
    let done = ingrid.follow(&back).await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.body.contains("Du er logget ut"), "{}", done.body);
    ingrid.get("/min-side").await.assert_redirect("/logg-inn");
    Browser::with_session(&app, &session).get("/min-side").await.assert_redirect("/logg-inn");
}

#[tokio::test]
async fn logging_out_everywhere_ends_every_session_of_the_person() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let (mut phone, mut laptop) = (Browser::new(&app), Browser::new(&app));
    phone.login_as(INGRID).await;
    laptop.login_as(INGRID).await;
    let mut per = Browser::new(&app);
    per.login_as(PER).await;
    assert_eq!(sessions_of(&db, INGRID).await, 2);

    let csrf = phone.csrf("/min-side").await;
    phone.post_form("/logg-ut/overalt", &[("csrf", &csrf)]).await.assert_redirect("/logg-ut/ferdig");
    assert_eq!(sessions_of(&db, INGRID).await, 0);
    laptop.get("/min-side").await.assert_redirect("/logg-inn");
    phone.get("/min-side").await.assert_redirect("/logg-inn");
    assert_eq!(per.get("/min-side").await.status, StatusCode::OK, "another person's session lives on");
}

#[tokio::test]
async fn front_channel_logout_ends_the_session_of_that_provider_session_only() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let (mut first, mut second) = (Browser::new(&app), Browser::new(&app));
    first.login_as(INGRID).await;
    second.login_as(INGRID).await;
    let sid_of = async |browser: &Browser| {
        let hash = identity::jose::sha256_base64url(&browser.cookie("sesjon"));
        texts(&db, "SELECT idp_sid FROM sessions WHERE id_hash = $1", &params![hash]).await.remove(0)
    };
    let (sid, other_sid) = (sid_of(&first).await, sid_of(&second).await);
    assert!(!sid.is_empty() && sid != other_sid);

    let issuer = app.url("/test-idp");
    let mut provider_frame = Browser::new(&app);
    let unknown =
        provider_frame.get(&format!("/logg-ut/frontkanal?iss=https%3A%2F%2Fangriper.example&sid={sid}")).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(sessions_of(&db, INGRID).await, 2);

    let page = provider_frame
        .get(&format!(
            "/logg-ut/frontkanal?iss={}&sid={}",
            identity::oidc::form_encode(&issuer),
            identity::oidc::form_encode(&sid)
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csp = page.headers["content-security-policy"].to_str().expect("csp");
    assert!(csp.contains(&format!("frame-ancestors {}", app.url(""))), "{csp}");
    // One rule only: X-Frame-Options: DENY would contradict the provider's frame.
    assert!(!page.headers.contains_key("x-frame-options"), "{:?}", page.headers);
    assert_eq!(sessions_of(&db, INGRID).await, 1);
    first.get("/min-side").await.assert_redirect("/logg-inn");
    assert_eq!(second.get("/min-side").await.status, StatusCode::OK);
}

// ----- 8. Timeouts -----

#[tokio::test]
async fn a_session_ends_after_the_idle_and_the_absolute_timeout() {
    let mut settings = test_settings(Mode::Demo).await;
    settings.settings.sessions.idle_minutes = 1;
    settings.settings.sessions.absolute_minutes = 2;
    let (app, db) = spawn_app_with_db(settings).await;
    let shift = async |browser: &Browser, column: &str, seconds: i64| {
        let hash = identity::jose::sha256_base64url(&browser.cookie("sesjon"));
        let sql = format!("UPDATE sessions SET {column} = {column} - $1 WHERE id_hash = $2");
        assert_eq!(db.execute(&sql, &params![seconds, hash]).await.expect("update"), 1);
    };

    let mut idle = Browser::new(&app);
    idle.login_as(INGRID).await;
    shift(&idle, "last_seen_at", 30).await;
    assert_eq!(idle.get("/min-side").await.status, StatusCode::OK, "within the idle time");
    shift(&idle, "last_seen_at", 600).await;
    idle.get("/min-side").await.assert_redirect("/logg-inn");
    assert_eq!(sessions_of(&db, INGRID).await, 0, "the timed-out session is deleted");

    // Active all along (last seen now), but logged in longer ago than the absolute limit.
    let mut busy = Browser::new(&app);
    busy.login_as(PER).await;
    assert_eq!(busy.get("/min-side").await.status, StatusCode::OK);
    shift(&busy, "created_at", 600).await;
    busy.get("/min-side").await.assert_redirect("/logg-inn");
    assert_eq!(sessions_of(&db, PER).await, 0);
}

/// Moves the clock of the session in `browser` back by `seconds`: as if that much time had
/// passed since its last request and its login.
async fn age_session(db: &Db, browser: &Browser, seconds: i64) {
    let hash = identity::jose::sha256_base64url(&browser.cookie("sesjon"));
    let sql = "UPDATE sessions SET last_seen_at = last_seen_at - $1, created_at = created_at - $1 WHERE id_hash = $2";
    assert_eq!(db.execute(sql, &params![seconds, hash]).await.expect("update"), 1);
}

#[tokio::test]
async fn a_session_in_use_outlives_a_one_minute_idle_timeout() {
    let mut settings = test_settings(Mode::Demo).await;
    settings.settings.sessions.idle_minutes = 1;
    let (app, db) = spawn_app_with_db(settings).await;
    let mut browser = Browser::new(&app);
    browser.login_as(INGRID).await;
    // A request 50 seconds after login, and another 50 seconds after that: never a minute idle.
    age_session(&db, &browser, 50).await;
    assert_eq!(browser.get("/min-side").await.status, StatusCode::OK);
    age_session(&db, &browser, 50).await;
    let page = browser.get("/min-side").await;
    assert_eq!(page.status, StatusCode::OK, "logged out after 50 s without a request: {:?}", page.headers);
}

// ----- 9. Employees -----

#[tokio::test]
async fn employees_see_what_their_roles_allow_and_administrators_grant_roles() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let mut admin = Browser::new(&app);
    admin.login_employee("admin").await;
    let page = admin.get("/ansatt/admin").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // Roles name their unit as people know it.
    assert!(page.body.contains("Saksbehandler (Barnehageavdelingen)"), "{}", page.body);
    assert!(page.body.contains("Administrator (hele kommunen)"), "{}", page.body);
    let admin_csrf = csrf_of(&page.body);

    let mut kari = Browser::new(&app);
    kari.login_employee("kari.saksbehandler").await;
    assert_eq!(kari.get("/ansatt/admin").await.status, StatusCode::FORBIDDEN);
    let page = kari.get("/ansatt").await;
    assert_eq!(page.status, StatusCode::OK);
    let units = section(&page.body, "staff-case-units");
    assert!(units.contains("Barnehageavdelingen"), "{units}");
    assert!(!units.contains("Helse og omsorg") && !units.contains("Byggesak"), "{units}");

    let kari_id =
        texts(&db, "SELECT principal FROM sessions WHERE display_name = $1", &params!["Kari Nilsen"]).await.remove(0);
    let grant = |role: &'static str, unit: &'static str| {
        [
            ("csrf", admin_csrf.clone()),
            ("employee", kari_id.clone()),
            ("role", role.to_owned()),
            ("unit", unit.to_owned()),
            ("action", "grant".to_owned()),
        ]
    };
    let fields = grant("saksbehandler", "helse");
    let granted = admin.post_form("/ansatt/admin/roller", &fields.each_ref().map(|(n, v)| (*n, v.as_str()))).await;
    granted.assert_redirect("/ansatt/admin");
    let page = kari.get("/ansatt").await;
    let units = section(&page.body, "staff-case-units");
    assert!(units.contains("Barnehageavdelingen") && units.contains("Helse og omsorg"), "{units}");
    let grants =
        "SELECT CAST(COUNT(*) AS TEXT) FROM audit_log WHERE action = 'identity.role.granted' AND resource = $1";
    assert_eq!(number(&db, grants, &params![format!("{kari_id}:saksbehandler:helse")]).await, 1);

    let fields = grant("administrator", "helse");
    let refused = admin.post_form("/ansatt/admin/roller", &fields.each_ref().map(|(n, v)| (*n, v.as_str()))).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(number(&db, grants, &params![format!("{kari_id}:administrator:helse")]).await, 0);
    assert_eq!(kari.get("/ansatt/admin").await.status, StatusCode::FORBIDDEN);

    let mut ingrid = Browser::new(&app);
    ingrid.login_as(INGRID).await;
    assert_eq!(ingrid.get("/ansatt").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_contact_registers_language_is_the_sites_after_login_unless_one_was_chosen() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let personas = [INGRID, LARS, PER].map(|p| kernel::Fnr::parse(p).expect("persona"));
    let contacts = registers::LocalRegisters::new(db.clone()).contacts(&personas).await.expect("contacts");
    for contact in contacts {
        let wanted = contact.language.expect("every persona has a language in KRR").tag();
        let mut browser = Browser::new(&app);
        let finished = browser.login_as(&contact.fnr.as_digits()).await;
        assert!(finished.set_cookie("lang").is_some_and(|c| c.contains("Max-Age")), "a lasting choice");
        assert_eq!(browser.cookie("lang"), wanted);
        let page = browser.get("/min-side").await;
        assert!(page.body.contains(&format!("<html lang=\"{wanted}\"")), "{wanted}");

        // A language chosen here before is kept.
        let chosen = if wanted == "en" { "nn" } else { "en" };
        let mut browser = Browser::new(&app);
        browser.cookies_mut().insert("lang".to_owned(), chosen.to_owned());
        let finished = browser.login_as(&contact.fnr.as_digits()).await;
        assert_eq!(finished.set_cookie("lang"), None);
        assert!(browser.get("/min-side").await.body.contains(&format!("<html lang=\"{chosen}\"")));
    }
    // The read is in the person's access log, with its purpose.
    let purposes = texts(
        &db,
        "SELECT purpose FROM audit_log WHERE subject = $1 AND purpose LIKE $2",
        &params![INGRID, "%språket ditt%"],
    )
    .await;
    assert!(!purposes.is_empty(), "the contact register read is logged");
}

const HOSTS: [&str; 2] = ["bergen.test", "stavanger.test"];

#[tokio::test]
async fn residents_and_employees_log_in_on_either_host_of_a_two_municipality_deployment() {
    let mut settings = test_settings(Mode::Demo).await;
    two_municipalities(&mut settings.settings);
    let (app, _db) = spawn_app_with_db(settings).await;
    let port = app.address.port();
    for host in HOSTS {
        // The browser knows the hosts by name and keeps each host's cookies to itself, so the
        // login only completes when the provider sends it back to the host it started on.
        let mut resident = Browser::by_name(&app, &HOSTS, host);
        let callback = resident.callback_for("/logg-inn", INGRID, SUBSTANTIAL).await;
        assert!(callback.starts_with(&format!("http://{host}:{port}/logg-inn/tilbake?")), "{callback}");
        let finished = resident.get(&callback).await;
        finished.assert_redirect("/min-side");
        let page = resident.get("/min-side").await;
        assert_eq!(page.status, StatusCode::OK, "{host}: {}", page.body);

        let mut employee = Browser::by_name(&app, &HOSTS, host);
        employee.login_employee("admin").await;
        let page = employee.get("/ansatt").await;
        assert_eq!(page.status, StatusCode::OK, "{host}: {}", page.body);
        assert!(page.body.contains("Per Admin"));
    }

    // A login that started on one host cannot be finished on the other: the provider's answer
    // carried to Stavanger, with Bergen's login cookie copied along, is refused.
    let mut bergen = Browser::by_name(&app, &HOSTS, "bergen.test");
    let callback = bergen.callback_for("/ansatt/logg-inn", "admin", SUBSTANTIAL).await;
    let binding = bergen.cookie("innlogging");
    let mut stavanger = Browser::by_name(&app, &HOSTS, "stavanger.test");
    stavanger.cookies_mut().insert("innlogging".to_owned(), binding);
    let moved = callback.replace("bergen.test", "stavanger.test");
    let refused = stavanger.get(&moved).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    assert!(!stavanger.cookies().contains_key("sesjon"));

    // An employee session belongs to the municipality it logged in to: Bergen's session cookie
    // shown to Stavanger is nobody there.
    let mut bergen = Browser::by_name(&app, &HOSTS, "bergen.test");
    bergen.login_employee("admin").await;
    let mut thief = Browser::by_name(&app, &HOSTS, "stavanger.test");
    thief.cookies_mut().insert("sesjon".to_owned(), bergen.cookie("sesjon"));
    thief.get("/ansatt").await.assert_redirect("/ansatt/logg-inn");
    assert_eq!(thief.get("/ansatt/admin").await.status, StatusCode::SEE_OTHER);
}

// ----- 10. Machine clients -----

#[tokio::test]
async fn a_machine_client_gets_a_token_and_reads_an_organisation_with_the_right_scope_only() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let issuer = app.url("/maskinporten");
    let key = identity::keys::platform_key(&db, "maskinporten").await.expect("the token endpoint's key");
    let bergen = crate::helpers::kommune("4601");
    let audiences = vec![(bergen, app.url("/api"))];
    let maskinporten = identity::maskinporten::Maskinporten::new(db.clone(), issuer.clone(), key, audiences);
    let maskinporten = maskinporten.registry(bergen);
    let by = audit::Actor::System("test");
    let consumer = kernel::OrgNr::parse("974760673").expect("orgnr");
    let pem = std::fs::read_to_string(
        crate::helpers::repository_root().join("crates/identity/tests/fixtures/test-client-rsa.pem"),
    )
    .expect("the test key");
    let client_key = identity::jose::SigningKey::from_pem(&pem, "k1").expect("an RSA key");
    let jwk = serde_json::to_string(&client_key.public_jwk()).expect("JSON");
    let register = async |scope: &str| {
        let client =
            maskinporten.register_client(&by, "Testklient", consumer, &[scope.to_owned()]).await.expect("registered");
        maskinporten.add_key(&by, &client.client_id, &jwk).await.expect("key added");
        client.client_id
    };
    let reader = register("allmenning:enhetsregisteret.read").await;
    let notices_only = register("allmenning:notices.read").await;
    let assertion = |client_id: &str, scope: &str| machine_assertion(&client_key, client_id, &issuer, scope);
    let token_request = async |assertion: &str| token_request(&app, assertion).await;

    let signed = assertion(&reader, "allmenning:enhetsregisteret.read");
    let (status, body) = token_request(&signed).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().expect("an access token").to_owned();
    let (status, body) = token_request(&signed).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant", "a replayed assertion: {body}");

    let lars = kernel::Fnr::parse(LARS).expect("persona");
    let registers = registers::LocalRegisters::new(db.clone());
    let mut haugen = None;
    for (orgnr, _) in registers.roles_of(&lars).await.expect("roles") {
        if registers.organisation(&orgnr).await.expect("lookup").is_some_and(|o| o.name.starts_with("Haugen")) {
            haugen = Some(orgnr.as_digits());
        }
    }
    let path = format!("/api/v1/organisations/{}", haugen.expect("Haugen Snekkerverksted AS"));
    let response = app.client.get(app.url(&path)).bearer_auth(&token).send().await.expect("answer");
    assert_eq!(response.status(), StatusCode::OK);
    let organisation: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(organisation["name"], "Haugen Snekkerverksted AS");

    let response = app.client.get(app.url(&path)).send().await.expect("answer");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");

    let (status, body) = token_request(&assertion(&notices_only, "allmenning:notices.read")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let narrow = body["access_token"].as_str().expect("an access token").to_owned();
    let response = app.client.get(app.url(&path)).bearer_auth(&narrow).send().await.expect("answer");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
    let problem: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(problem["code"], "insufficient_scope");
}

#[tokio::test]
async fn an_administrator_sees_and_touches_only_their_own_municipalitys_machine_clients() {
    let mut settings = test_settings(Mode::Demo).await;
    two_municipalities(&mut settings.settings);
    let (app, db) = spawn_app_with_db(settings).await;
    let (bergen_k, stavanger_k) = (crate::helpers::kommune("4601"), crate::helpers::kommune("1103"));
    let key = identity::keys::platform_key(&db, "maskinporten").await.expect("the token endpoint's key");
    let port = app.address.port();
    let audiences = vec![
        (bergen_k, format!("http://bergen.test:{port}/api")),
        (stavanger_k, format!("http://stavanger.test:{port}/api")),
    ];
    let maskinporten = identity::maskinporten::Maskinporten::new(db.clone(), app.url("/maskinporten"), key, audiences);

    let mut bergen = Browser::by_name(&app, &HOSTS, "bergen.test");
    bergen.login_employee("admin").await;
    let mut stavanger = Browser::by_name(&app, &HOSTS, "stavanger.test");
    stavanger.login_employee("admin").await;

    // Bergen registers a client and gives it a key.
    let csrf = bergen.csrf("/ansatt/admin/klienter").await;
    let registered = bergen
        .post_form(
            "/ansatt/admin/klienter",
            &[
                ("csrf", &csrf),
                ("name", "Bergens fagsystem"),
                ("orgnr", "974760673"),
                ("scopes", "allmenning:enhetsregisteret.read"),
            ],
        )
        .await;
    registered.assert_redirect("/ansatt/admin/klienter");
    let clients = maskinporten.registry(bergen_k).clients().await.expect("Bergen's clients");
    let client_id = clients.iter().find(|c| c.name == "Bergens fagsystem").expect("registered").client_id.clone();
    let pem = std::fs::read_to_string(
        crate::helpers::repository_root().join("crates/identity/tests/fixtures/test-client-rsa.pem"),
    )
    .expect("the test key");
    let client_key = identity::jose::SigningKey::from_pem(&pem, "k1").expect("an RSA key");
    let jwk = serde_json::to_string(&client_key.public_jwk()).expect("JSON");
    bergen
        .post_form("/ansatt/admin/klienter/nokler", &[("csrf", &csrf), ("client_id", &client_id), ("jwk", &jwk)])
        .await
        .assert_redirect("/ansatt/admin/klienter");

    // Stavanger's administrator neither sees it nor can touch it: each change answers 404.
    let listing = stavanger.get("/ansatt/admin/klienter").await;
    assert_eq!(listing.status, StatusCode::OK);
    assert!(!listing.body.contains(&client_id) && !listing.body.contains("Bergens fagsystem"));
    let theirs = stavanger.csrf("/ansatt/admin/klienter").await;
    let other_key = identity::jose::SigningKey::generate_es256("stavanger-key").expect("a key").0;
    let other_jwk = serde_json::to_string(&other_key.public_jwk()).expect("JSON");
    let attempts: [(&str, Vec<(&str, &str)>); 3] = [
        ("/ansatt/admin/klienter/nokler", vec![("csrf", &theirs), ("client_id", &client_id), ("jwk", &other_jwk)]),
        (
            "/ansatt/admin/klienter/endre",
            vec![("csrf", &theirs), ("client_id", &client_id), ("kid", "k1"), ("action", "remove-key")],
        ),
        ("/ansatt/admin/klienter/endre", vec![("csrf", &theirs), ("client_id", &client_id), ("action", "disable")]),
    ];
    for (path, fields) in &attempts {
        let refused = stavanger.post_form(path, fields).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{path} {fields:?}: {}", refused.body);
        assert!(!refused.body.contains("Bergen"), "a 404 without details");
    }
    let client = maskinporten.registry(bergen_k).client(&client_id).await.expect("read").expect("still there");
    assert!(!client.disabled, "not disabled");
    assert_eq!(client.kids, vec!["k1".to_owned()], "its key kept, no key added");

    // Its token is for Bergen's API: Stavanger's host refuses it.
    let assertion =
        machine_assertion(&client_key, &client_id, &app.url("/maskinporten"), "allmenning:enhetsregisteret.read");
    let (status, body) = token_request(&app, &assertion).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().expect("a token").to_owned();
    let lars = kernel::Fnr::parse(LARS).expect("persona");
    let (orgnr, _) = registers::LocalRegisters::new(db.clone())
        .roles_of(&lars)
        .await
        .expect("roles")
        .into_iter()
        .next()
        .expect("Lars has a role in an organisation");
    let path = format!("/api/v1/organisations/{}", orgnr.as_digits());
    let at = |host: &str| bergen.client.get(format!("http://{host}:{port}{path}")).bearer_auth(&token).send();
    assert_eq!(at("bergen.test").await.expect("answer").status(), StatusCode::OK);
    let refused = at("stavanger.test").await.expect("answer");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

/// An administrator removes a client's key on the clients page: the key is gone, and an
/// assertion signed with it no longer gets a token (one signed with the client's other key does).
#[tokio::test]
async fn an_administrator_removes_a_clients_key_and_assertions_signed_with_it_are_refused() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let issuer = app.url("/maskinporten");
    let mut admin = Browser::new(&app);
    admin.login_employee("admin").await;
    let csrf = admin.csrf("/ansatt/admin/klienter").await;
    let registered = admin
        .post_form(
            "/ansatt/admin/klienter",
            &[("csrf", &csrf), ("name", "Nøkkelklient"), ("orgnr", "974760673"), ("scopes", "allmenning:notices.read")],
        )
        .await;
    registered.assert_redirect("/ansatt/admin/klienter");
    let (client_id,) = db
        .municipal(crate::helpers::kommune("4601"))
        .fetch_all::<(String,)>(
            "SELECT client_id FROM machine_clients WHERE kommunenummer = $1 AND name = $2",
            &params!["Nøkkelklient"],
        )
        .await
        .expect("the client")
        .remove(0);
    let pem = std::fs::read_to_string(
        crate::helpers::repository_root().join("crates/identity/tests/fixtures/test-client-rsa.pem"),
    )
    .expect("the test key");
    let old_key = identity::jose::SigningKey::from_pem(&pem, "gammel").expect("an RSA key");
    let new_key = identity::jose::SigningKey::from_pem(&pem, "ny").expect("an RSA key");
    for key in [&old_key, &new_key] {
        let jwk = serde_json::to_string(&key.public_jwk()).expect("JSON");
        let added = admin
            .post_form("/ansatt/admin/klienter/nokler", &[("csrf", &csrf), ("client_id", &client_id), ("jwk", &jwk)])
            .await;
        added.assert_redirect("/ansatt/admin/klienter");
    }
    let kids = "SELECT kid FROM machine_client_keys WHERE client_id = $1 ORDER BY kid";
    assert_eq!(texts(&db, kids, &params![client_id.as_str()]).await, ["gammel", "ny"]);

    let token_status = async |key: &identity::jose::SigningKey| {
        token_request(&app, &machine_assertion(key, &client_id, &issuer, "allmenning:notices.read")).await
    };
    let (status, body) = token_status(&old_key).await;
    assert_eq!(status, StatusCode::OK, "the key works before it is removed: {body}");

    let remove_old = [("csrf", csrf.as_str()), ("client_id", &client_id), ("kid", "gammel"), ("action", "remove-key")];
    let removed = admin.post_form("/ansatt/admin/klienter/endre", &remove_old).await;
    removed.assert_redirect("/ansatt/admin/klienter");
    assert_eq!(texts(&db, kids, &params![client_id.as_str()]).await, ["ny"], "the key is gone");
    let page = admin.get("/ansatt/admin/klienter").await;
    assert!(!page.body.contains("<code>gammel</code>") && page.body.contains("<code>ny</code>"), "{}", page.body);

    let (status, body) = token_status(&old_key).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    let (status, body) = token_status(&new_key).await;
    assert_eq!(status, StatusCode::OK, "the client's other key still works: {body}");

    // Removing it again finds nothing to remove: the key is not found.
    let again = admin.post_form("/ansatt/admin/klienter/endre", &remove_old).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.body);
}

// ----- 11. Production mode -----

#[tokio::test]
async fn the_test_provider_never_runs_outside_demo_mode() {
    let app = InProcess::new(Mode::Production).await;
    for path in ["/logg-inn", "/ansatt/logg-inn", "/test-idp/.well-known/openid-configuration", "/test-idp/authorize"] {
        assert_eq!(app.get(path).await.status(), axum::http::StatusCode::NOT_FOUND, "{path}");
    }
}

// ----- 12. Rate limits -----

#[tokio::test]
async fn logins_from_one_address_are_rate_limited() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let mut browser = Browser::new(&app);
    // Thirty starts a minute from one address are allowed; the next is refused with the
    // too-many-attempts page, and no login attempt is stored for it.
    for attempt in 1..=30 {
        let started = browser.get("/logg-inn").await;
        assert_eq!(started.status, StatusCode::SEE_OTHER, "attempt {attempt}");
    }
    let stored = number(&db, "SELECT CAST(COUNT(*) AS TEXT) FROM login_attempts", &[]).await;
    let refused = browser.get("/logg-inn").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.body.contains("For mange forsøk"), "{}", refused.body);
    assert_eq!(number(&db, "SELECT CAST(COUNT(*) AS TEXT) FROM login_attempts", &[]).await, stored);
}

/// One municipality's logins never use up another's, nor one provider's the other's.
#[tokio::test]
async fn login_limits_count_per_municipality_and_provider() {
    let mut settings = test_settings(Mode::Demo).await;
    two_municipalities(&mut settings.settings);
    let (app, _db) = spawn_app_with_db(settings).await;
    let mut bergen = Browser::by_name(&app, &HOSTS, "bergen.test");
    for attempt in 1..=30 {
        assert_eq!(bergen.get("/logg-inn").await.status, StatusCode::SEE_OTHER, "attempt {attempt}");
    }
    assert_eq!(bergen.get("/logg-inn").await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(bergen.get("/ansatt/logg-inn").await.status, StatusCode::SEE_OTHER, "Bergen's employee login");
    let mut stavanger = Browser::by_name(&app, &HOSTS, "stavanger.test");
    assert_eq!(stavanger.get("/logg-inn").await.status, StatusCode::SEE_OTHER, "Stavanger's resident login");
    assert_eq!(stavanger.get("/ansatt/logg-inn").await.status, StatusCode::SEE_OTHER, "Stavanger's employee login");
}

/// The metrics name every route and count every request: only a scraper on this machine, or one
/// with the configured token, may read them.
#[tokio::test]
async fn metrics_are_for_this_machine_or_the_token_holder() {
    let mut settings = test_settings(Mode::Production).await;
    // Behind a proxy on this machine, a visitor from elsewhere is not local.
    settings.settings.server.trusted_proxies = vec!["127.0.0.1".to_owned()];
    settings.settings.server.metrics_token = "skrape-hemmelig".to_owned().into();
    let (app, _db) = spawn_app_with_db(settings).await;
    let metrics = async |forwarded: Option<&str>, token: Option<&str>| {
        let mut request = app.client.get(app.url("/metrics"));
        if let Some(forwarded) = forwarded {
            request = request.header("x-forwarded-for", forwarded);
        }
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        request.send().await.expect("answer").status()
    };
    assert_eq!(metrics(None, None).await, StatusCode::OK, "from this machine");
    assert_eq!(metrics(Some("198.51.100.1"), None).await, StatusCode::NOT_FOUND);
    assert_eq!(metrics(Some("198.51.100.1"), Some("feil")).await, StatusCode::NOT_FOUND);
    assert_eq!(metrics(Some("198.51.100.1"), Some("skrape-hemmelig")).await, StatusCode::OK);
}

/// A malformed bearer token is refused every time, but only the first refusals from an address
/// go into the access log: nobody can grow the hash chain at will.
#[tokio::test]
async fn refused_bearer_tokens_are_logged_only_up_to_a_limit() {
    let mut settings = test_settings(Mode::Demo).await;
    settings.settings.rate_limits.logged_refusals_per_window = 5;
    let (app, db) = spawn_app_with_db(settings).await;
    for attempt in 1..=12 {
        let response = app
            .client
            .get(app.url("/api/v1/organisations/974760673"))
            .header(header::AUTHORIZATION, "Bearer not.a.token")
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    assert_eq!(audit_count(&db, identity::actions::TOKEN_REFUSED).await, 5);
}

/// A client that is not a trusted proxy cannot pick its own rate-limit key: a new
/// `X-Forwarded-For` on every attempt changes nothing.
#[tokio::test]
async fn a_forged_forwarded_for_does_not_escape_the_login_limit() {
    let (app, _db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let start = async |forwarded: String| {
        let response =
            app.client.get(app.url("/logg-inn")).header("x-forwarded-for", forwarded).send().await.expect("answer");
        response.status()
    };
    for attempt in 1..=30 {
        assert_eq!(start(format!("198.51.100.{attempt}")).await, StatusCode::SEE_OTHER, "attempt {attempt}");
    }
    assert_eq!(start("203.0.113.77".to_owned()).await, StatusCode::TOO_MANY_REQUESTS);
}

/// Behind a trusted proxy every visitor comes from the proxy's address; the limit keys on the
/// address the proxy reports, so one visitor's attempts do not lock out the next.
#[tokio::test]
async fn behind_a_trusted_proxy_the_login_limit_keys_on_the_forwarded_address() {
    let mut settings = test_settings(Mode::Demo).await;
    settings.settings.server.trusted_proxies = vec!["127.0.0.1".to_owned()];
    let (app, _db) = spawn_app_with_db(settings).await;
    let start = async |forwarded: &str| {
        let response =
            app.client.get(app.url("/logg-inn")).header("x-forwarded-for", forwarded).send().await.expect("answer");
        response.status()
    };
    for attempt in 1..=30 {
        // The visitor's own claim first, the proxy's report last: the report counts.
        assert_eq!(start("10.9.9.9, 198.51.100.1").await, StatusCode::SEE_OTHER, "attempt {attempt}");
    }
    assert_eq!(start("198.51.100.1").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(start("198.51.100.2").await, StatusCode::SEE_OTHER, "another visitor behind the same proxy");
}

#[tokio::test]
async fn token_requests_from_one_address_are_rate_limited() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let request = async || token_request(&app, "x.y.z").await;
    // 120 requests a minute from one address are answered (here: refused on their merits, each
    // logged); the next is turned away before anything is read or written.
    for attempt in 1..=120 {
        let (status, body) = request().await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "attempt {attempt}: {body}");
        assert_eq!(body["error"], "invalid_grant", "attempt {attempt}: {body}");
    }
    let logged = audit_count(&db, identity::actions::TOKEN_REFUSED).await;
    assert_eq!(logged, 120);
    let (status, body) = request().await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"], "slow_down", "{body}");
    assert_eq!(audit_count(&db, identity::actions::TOKEN_REFUSED).await, logged);
}

// ----- 13. Hostile input -----

/// Everything a form could change, as text: the national identity tables row by row, and the
/// municipality's employees, roles, units and feedback.
async fn everything_changeable(db: &Db) -> Vec<String> {
    let mut state = Vec::new();
    for sql in [
        "SELECT id_hash || ' ' || acting_as FROM sessions ORDER BY id_hash",
        "SELECT id || ' ' || holder || ' ' || areas || ' ' || valid_to || ' ' || CAST(COALESCE(revoked_at, 0) AS TEXT) \
         FROM fullmakter ORDER BY id",
        "SELECT id FROM person_notices ORDER BY id",
        "SELECT client_id || ' ' || kid FROM machine_client_keys ORDER BY client_id, kid",
        "SELECT issuer || ' ' || jti FROM used_jtis ORDER BY issuer, jti",
        "SELECT CAST(COUNT(*) AS TEXT) FROM test_idp_codes",
    ] {
        state.push(texts(db, sql, &[]).await.join("\n"));
    }
    let bergen = kernel::Kommunenummer::parse("4601").expect("kommunenummer");
    let employees = identity::employees::Employees::new(db.clone(), bergen);
    state.push(format!("{:?}", employees.list().await.expect("employees")));
    state.push(format!("{:?}", employees.units().await.expect("units")));
    state.push(content::feedback_count(db.municipal(bergen)).await.expect("feedback").to_string());
    let clients = db
        .municipal(bergen)
        .fetch_all::<(String,)>(
            "SELECT client_id || ' ' || name || ' ' || scopes || ' ' || CAST(COALESCE(disabled_at, 0) AS TEXT) \
             FROM machine_clients WHERE kommunenummer = $1 ORDER BY client_id",
            &[],
        )
        .await
        .expect("clients");
    state.push(format!("{clients:?}"));
    state
}

#[tokio::test]
async fn hostile_bodies_to_every_form_change_nothing_and_never_fail_the_server() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let mut ingrid = Browser::new(&app);
    ingrid.login_as(INGRID).await;
    let ingrid_csrf = ingrid.csrf("/min-side/fullmakt").await;
    let mut admin = Browser::new(&app);
    admin.login_employee("admin").await;
    let admin_csrf = admin.csrf("/ansatt/admin").await;
    let mut stranger = Browser::new(&app);
    let before = everything_changeable(&db).await;

    let long = "x".repeat(5_000);
    let next_year = today_plus_years(1);
    let far = today_plus_years(10);
    // Bodies no form accepts: empty, not a form, broken escapes, not UTF-8, a wrong CSRF token.
    let garbage: [(&str, &[u8]); 6] = [
        ("application/x-www-form-urlencoded", b""),
        ("application/json", b"{\"csrf\": \"x\"}"),
        ("application/x-www-form-urlencoded", b"%ZZ=%&&=&csrf"),
        ("application/x-www-form-urlencoded", b"csrf=\xff\xfe&name=\xc3"),
        ("application/x-www-form-urlencoded", b"csrf=feil&som=myself&holder=17825133097&areas=helse-omsorg"),
        ("text/plain", b"csrf=feil"),
    ];
    let resident_routes = ["/logg-ut", "/logg-ut/overalt", "/min-side/representere", "/min-side/fullmakt"];
    let admin_routes = [
        "/logg-ut",
        "/logg-ut/overalt",
        "/ansatt/admin/ansatte",
        "/ansatt/admin/roller",
        "/ansatt/admin/klienter",
        "/ansatt/admin/klienter/nokler",
        "/ansatt/admin/klienter/endre",
    ];
    let open_routes =
        ["/tilgjengelighet/tilbakemelding", "/test-idp/authorize", "/test-idp/token", "/maskinporten/token"];
    let mut answers = Vec::new();
    for (content_type, body) in garbage {
        for route in resident_routes.iter().chain(["/min-side/fullmakt/x/trekk"].iter()) {
            answers.push((*route, ingrid.post_raw(route, content_type, body).await.status));
        }
        for route in admin_routes {
            answers.push((route, admin.post_raw(route, content_type, body).await.status));
        }
        for route in open_routes.iter().chain(resident_routes.iter()).chain(admin_routes.iter()) {
            answers.push((*route, stranger.post_raw(route, content_type, body).await.status));
        }
    }

    // The right CSRF token, and fields that do not check out.
    let resident_forms: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("/min-side/representere", vec![("som", "")]),
        ("/min-side/representere", vec![("som", "child:17825133097")]),
        ("/min-side/representere", vec![("som", "organisation:999999999")]),
        ("/min-side/representere", vec![("som", "fullmakt:finnes-ikke")]),
        ("/min-side/representere", vec![("som", &long)]),
        ("/min-side/fullmakt", vec![("holder", ""), ("areas", "helse-omsorg"), ("valid_to", &next_year)]),
        ("/min-side/fullmakt", vec![("holder", "12345678901"), ("areas", "helse-omsorg"), ("valid_to", &next_year)]),
        ("/min-side/fullmakt", vec![("holder", PER), ("areas", "ukjent"), ("valid_to", &next_year)]),
        ("/min-side/fullmakt", vec![("holder", PER), ("valid_to", &next_year)]),
        ("/min-side/fullmakt", vec![("holder", PER), ("areas", "helse-omsorg"), ("valid_to", "2020-01-01")]),
        ("/min-side/fullmakt", vec![("holder", PER), ("areas", "helse-omsorg"), ("valid_to", "i morgen")]),
        ("/min-side/fullmakt", vec![("holder", PER), ("areas", "helse-omsorg"), ("valid_to", &far)]),
        ("/min-side/fullmakt", vec![("holder", PER), ("areas", &long), ("valid_to", &next_year)]),
        ("/min-side/fullmakt/finnes-ikke/trekk", vec![]),
        ("/min-side/fullmakt/%27%20OR%201%3D1/trekk", vec![]),
    ];
    for (route, fields) in resident_forms {
        let mut fields = fields;
        fields.push(("csrf", &ingrid_csrf));
        answers.push((route, ingrid.post_form(route, &fields).await.status));
    }
    let admin_forms: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("/ansatt/admin/ansatte", vec![("subject", ""), ("name", "Ny Ansatt")]),
        ("/ansatt/admin/ansatte", vec![("subject", "ny"), ("name", "")]),
        ("/ansatt/admin/ansatte", vec![("subject", &long), ("name", "Ny Ansatt")]),
        ("/ansatt/admin/ansatte", vec![("subject", "ny"), ("name", "Ny Ansatt"), ("email", "uten-krollalfa")]),
        ("/ansatt/admin/ansatte", vec![("subject", "admin"), ("name", "En til")]),
        ("/ansatt/admin/roller", vec![("employee", "finnes-ikke"), ("role", "leder"), ("unit", "barnehage")]),
        ("/ansatt/admin/roller", vec![("employee", "finnes-ikke"), ("role", "keiser"), ("unit", "barnehage")]),
        ("/ansatt/admin/roller", vec![("role", "leder"), ("unit", "ukjent")]),
        ("/ansatt/admin/klienter", vec![("name", ""), ("orgnr", "974760673"), ("scopes", "allmenning:notices.read")]),
        ("/ansatt/admin/klienter", vec![("name", "K"), ("orgnr", "123"), ("scopes", "allmenning:notices.read")]),
        ("/ansatt/admin/klienter", vec![("name", "K"), ("orgnr", "974760673"), ("scopes", "ukjent:scope")]),
        ("/ansatt/admin/klienter", vec![("name", "K"), ("orgnr", "974760673")]),
        (
            "/ansatt/admin/klienter",
            vec![("name", &long), ("orgnr", "974760673"), ("scopes", "allmenning:notices.read")],
        ),
        ("/ansatt/admin/klienter/nokler", vec![("client_id", "finnes-ikke"), ("jwk", "{}")]),
        ("/ansatt/admin/klienter/nokler", vec![("client_id", "finnes-ikke"), ("jwk", "ikke json")]),
        ("/ansatt/admin/klienter/endre", vec![("client_id", "finnes-ikke"), ("action", "disable")]),
        ("/ansatt/admin/klienter/endre", vec![("client_id", "finnes-ikke"), ("kid", "k1"), ("action", "remove-key")]),
        ("/ansatt/admin/klienter/endre", vec![("client_id", "finnes-ikke"), ("action", "eksploder")]),
    ];
    for (route, fields) in admin_forms {
        let mut fields = fields;
        fields.push(("csrf", &admin_csrf));
        answers.push((route, admin.post_form(route, &fields).await.status));
    }
    for (route, fields) in [
        ("/tilgjengelighet/tilbakemelding", vec![("message", "")]),
        ("/tilgjengelighet/tilbakemelding", vec![("message", "Hei"), ("contact_email", "ikke-en-adresse")]),
        ("/tilgjengelighet/tilbakemelding", vec![("message", &"x".repeat(100_000))]),
    ] {
        answers.push((route, stranger.post_form(route, &fields).await.status));
    }

    for (route, status) in &answers {
        assert!(status.is_client_error() || status.is_redirection(), "{route}: {status}");
    }
    assert_eq!(everything_changeable(&db).await, before, "a hostile body changed something");
    // Both sessions are still there and still act as themselves.
    assert_eq!(ingrid.get("/min-side").await.status, StatusCode::OK);
    assert_eq!(acting_kind(&db, INGRID).await, "myself");
    assert_eq!(admin.get("/ansatt/admin").await.status, StatusCode::OK);
}
