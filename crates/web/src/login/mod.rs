//! Login, logout, sessions and acting for others, on the web: the ID-porten relying party's
//! routes, the built-in test identity provider's routes (demo mode only), the employee login,
//! the session layer that loads a session for every request, and the extractors handlers use
//! to say who may call them. Every state-changing form carries the session's CSRF token.

pub(crate) mod test_idp;

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::cookie::CookieJar;
use identity::callers::ResidentPurpose;
use identity::employees::Employees;
use identity::fullmakt::Fullmakter;
use identity::maskinporten::{AccessTokens, Maskinporten};
use identity::oidc::{Callback, Provider};
use identity::ratelimit::RateLimiter;
use identity::sessions::{NewSession, Sessions};
use identity::test_idp::TestIdp;
use identity::{ActingAs, IdentityError, Principal, actions};
use kernel::{Fnr, Language};
use registers::{Caller, Registers};
use serde::{Deserialize, Serialize};
use time::Duration;

use crate::AppState;
use crate::error::PageError;
use crate::extract::{
    ClientAddress, CsrfForm, CurrentUser, LANGUAGE_COOKIE, Lang, MaybeUser, Municipality, Visit, check_csrf, cookies,
};
use crate::view::{self, Base, links};

/// The session cookie.
pub const SESSION_COOKIE: &str = "sesjon";
/// The short-lived cookie that binds a login's callback to the browser that started it.
pub const LOGIN_COOKIE: &str = "innlogging";

/// The identity services the web layer uses. Built by the binary from its settings.
#[derive(Debug)]
pub struct IdentityServices {
    /// Sessions.
    pub sessions: Sessions,
    /// The residents' provider (ID-porten, `oidc-provider` in tests, or the test provider).
    pub citizens: Option<Provider>,
    /// The employees' provider.
    pub employees: Option<Provider>,
    /// The built-in test provider, in demo mode only.
    pub test_idp: Option<TestIdp>,
    /// The demo token endpoint, in demo mode only.
    pub maskinporten: Option<Maskinporten>,
    /// Verifies machine access tokens presented to the API.
    pub access_tokens: AccessTokens,
    /// The registers, read with the person's own context.
    pub registers: Registers,
    /// Fullmakter.
    pub fullmakter: Fullmakter,
    /// Limits login attempts per address.
    pub login_limiter: RateLimiter,
    /// Limits token requests per address.
    pub token_limiter: RateLimiter,
}

impl IdentityServices {
    /// No login at all, local registers: for tests of the rest of the web layer.
    pub fn without_login(db: store::Db) -> Result<Self, IdentityError> {
        Ok(Self {
            sessions: Sessions::new(db.clone(), identity::sessions::SessionSettings::default()),
            citizens: None,
            employees: None,
            test_idp: None,
            maskinporten: None,
            access_tokens: AccessTokens::new(vec![])?,
            registers: Registers::new(db.clone(), &registers::RegistersConfig::default())?,
            fullmakter: Fullmakter::new(db),
            login_limiter: RateLimiter::new(30, std::time::Duration::from_secs(60)),
            token_limiter: RateLimiter::new(120, std::time::Duration::from_secs(60)),
        })
    }
}

impl From<IdentityError> for PageError {
    fn from(error: IdentityError) -> Self {
        match error {
            IdentityError::NotFound => PageError::NotFound,
            IdentityError::Forbidden(_) => PageError::Forbidden,
            IdentityError::Unauthenticated(_) => PageError::LoginFailed,
            IdentityError::RateLimited => PageError::TooManyRequests,
            IdentityError::Invalid(_) | IdentityError::Conflict(_) => PageError::BadRequest,
            other => PageError::Internal(other.to_string()),
        }
    }
}

pub(crate) fn routes(demo: bool) -> Router<AppState> {
    let router = Router::new()
        .route("/logg-inn", get(login_citizen))
        .route("/logg-inn/tilbake", get(callback_citizen))
        .route("/ansatt/logg-inn", get(login_employee))
        .route("/ansatt/logg-inn/tilbake", get(callback_employee))
        .route("/logg-inn/avbrutt", get(cancelled_citizen))
        .route("/ansatt/logg-inn/avbrutt", get(cancelled_employee))
        .route("/logg-ut", axum::routing::post(logout))
        .route("/logg-ut/overalt", axum::routing::post(logout_everywhere))
        .route("/logg-ut/ferdig", get(logged_out))
        .route("/logg-ut/frontkanal", get(front_channel_logout));
    if demo { router.merge(test_idp::routes()) } else { router }
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    tilbake: Option<String>,
}

async fn begin(
    state: &AppState,
    provider: Option<&Provider>,
    language: Language,
    return_to: &str,
    kommune: kernel::Kommunenummer,
    address: Option<std::net::IpAddr>,
) -> Result<Response, PageError> {
    let provider = provider.ok_or(PageError::NotFound)?;
    if !state.identity.login_limiter.allow_in(&limit_scope(kommune, provider), address) {
        return Err(PageError::TooManyRequests);
    }
    let begun = provider.begin(&state.db, language, return_to, Some(kommune)).await.map_err(|error| {
        tracing::error!(error = %error, "could not start a login");
        PageError::LoginUnavailable
    })?;
    let cookie = cookies::build(state, LOGIN_COOKIE, begun.browser_secret, Some(Duration::minutes(10)));
    Ok((CookieJar::new().add(cookie), Redirect::to(&begun.redirect_to)).into_response())
}

/// The bucket login attempts count in besides the address: one per municipality and
/// provider, so logins at one never use up another's.
fn limit_scope(kommune: kernel::Kommunenummer, provider: &Provider) -> String {
    format!("{kommune}/{}", provider.config().name)
}

async fn login_citizen(
    State(state): State<AppState>,
    Municipality(kommune): Municipality,
    Lang(language): Lang,
    ClientAddress(address): ClientAddress,
    Query(query): Query<LoginQuery>,
) -> Result<Response, PageError> {
    let return_to = links::safe_return_path(query.tilbake.as_deref());
    let return_to = if return_to == "/" { "/min-side" } else { return_to };
    begin(&state, state.identity.citizens.as_ref(), language, return_to, kommune, address).await
}

async fn login_employee(
    State(state): State<AppState>,
    Municipality(kommune): Municipality,
    Lang(language): Lang,
    ClientAddress(address): ClientAddress,
    Query(query): Query<LoginQuery>,
) -> Result<Response, PageError> {
    let return_to = links::safe_return_path(query.tilbake.as_deref());
    let return_to = if return_to == "/" { "/ansatt" } else { return_to };
    begin(&state, state.identity.employees.as_ref(), language, return_to, kommune, address).await
}

/// Records a refused login in the access log and answers with the login-failed page.
async fn refuse(state: &AppState, provider: &str, reason: &str) -> PageError {
    tracing::warn!(login.provider = provider, login.reason = reason, "login refused");
    let system = if provider == "employees" { "employee-login" } else { "idporten" };
    if let Err(error) =
        identity::record(&state.db, audit::Actor::System(system), None, actions::LOGIN_REFUSED, None, Some(provider))
            .await
    {
        tracing::error!(error = %error, "could not log a refused login");
    }
    PageError::LoginFailed
}

fn finish_login(state: &AppState, cookie: String, return_to: &str) -> Response {
    let jar = CookieJar::new()
        .add(cookies::build(state, SESSION_COOKIE, cookie, None))
        .add(cookies::removal(state, LOGIN_COOKIE));
    (jar, Redirect::to(links::safe_return_path(Some(return_to)))).into_response()
}

/// Finishes a login at `provider` (rate limited per address, municipality and provider). A
/// refusal is in the access log and answered with the login-failed page, as is a login that
/// started at another municipality's host; a provider that cannot be reached, with the
/// login-unavailable page.
async fn authenticate(
    state: &AppState,
    provider: Option<&Provider>,
    kommune: kernel::Kommunenummer,
    jar: &CookieJar,
    address: Option<std::net::IpAddr>,
    callback: &Callback,
) -> Result<identity::oidc::Authenticated, PageError> {
    let provider = provider.ok_or(PageError::NotFound)?;
    let name = provider.config().name.as_str();
    if !state.identity.login_limiter.allow_in(&limit_scope(kommune, provider), address) {
        return Err(PageError::TooManyRequests);
    }
    match provider.finish(&state.db, callback, jar.get(LOGIN_COOKIE).map(|c| c.value())).await {
        Ok(authenticated) if authenticated.kommunenummer != Some(kommune) => {
            Err(refuse(state, name, "the login started in another municipality").await)
        }
        Ok(authenticated) => Ok(authenticated),
        Err(IdentityError::Unauthenticated(reason)) => Err(refuse(state, name, &reason).await),
        Err(other) => {
            tracing::error!(error = %other, login.provider = name, "the login could not be finished");
            Err(PageError::LoginUnavailable)
        }
    }
}

/// Whether the provider answered that the person pressed "Avbryt" (`error=access_denied`).
fn cancelled(callback: &Callback) -> bool {
    callback.error.as_deref() == Some("access_denied")
}

#[derive(Serialize)]
struct CancelledPage {
    #[serde(flatten)]
    base: Base,
    /// Where to start the login again.
    again: &'static str,
}

/// After "Avbryt" at the provider: nothing failed, so the page says the login was cancelled
/// and offers to start it again (the refusal is in the access log like any other).
async fn cancelled_citizen(State(state): State<AppState>, visit: Visit) -> Result<Html<String>, PageError> {
    let base = Base::of(&state, &visit, "");
    view::page(&state, "login/cancelled.html", &CancelledPage { base, again: "/logg-inn" })
}

async fn cancelled_employee(State(state): State<AppState>, visit: Visit) -> Result<Html<String>, PageError> {
    let base = Base::of(&state, &visit, "");
    view::page(&state, "login/cancelled.html", &CancelledPage { base, again: "/ansatt/logg-inn" })
}

async fn callback_citizen(
    State(state): State<AppState>,
    Municipality(kommune): Municipality,
    jar: CookieJar,
    ClientAddress(address): ClientAddress,
    Query(callback): Query<Callback>,
) -> Result<Response, PageError> {
    let provider = state.identity.citizens.as_ref();
    let authenticated = match authenticate(&state, provider, kommune, &jar, address, &callback).await {
        Err(PageError::LoginFailed) if cancelled(&callback) => {
            return Ok(Redirect::to("/logg-inn/avbrutt").into_response());
        }
        other => other?,
    };
    let Ok(pid) = Fnr::parse(&authenticated.subject) else {
        return Err(refuse(&state, "idporten", "the pid is not a fødselsnummer or d-nummer").await);
    };
    // The name for the page header, read from Folkeregisteret as the person themselves.
    let caller = resident_caller(&pid, &ActingAs::Myself, ResidentPurpose::ShowName)?;
    let display_name = match state.identity.registers.person(&caller, &pid).await {
        Ok(Some(person)) => format!("{} {}", person.name.given, person.name.family),
        Ok(None) | Err(_) => String::new(),
    };
    let new = NewSession {
        principal: Principal::Person(pid),
        display_name,
        kommunenummer: None,
        provider: "idporten".to_owned(),
        acr: authenticated.acr.clone(),
        idp_sid: authenticated.sid.clone(),
        id_token: Some(authenticated.id_token.clone()),
    };
    let (cookie, _) = state.identity.sessions.start(new, jar.get(SESSION_COOKIE).map(|c| c.value())).await?;
    identity::record(
        &state.db,
        audit::Actor::Person(pid),
        None,
        actions::LOGIN,
        Some(&pid),
        authenticated.acr.as_deref(),
    )
    .await?;
    let mut response = finish_login(&state, cookie, &authenticated.return_to);
    if jar.get(LANGUAGE_COOKIE).is_none()
        && let Some(language) = krr_language(&state, &pid).await
    {
        let chosen = cookies::build(&state, LANGUAGE_COOKIE, language.tag().to_owned(), Some(Duration::days(365)));
        if let Ok(value) = HeaderValue::from_str(&chosen.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// The language the person has chosen in the contact register (KRR), to be the site's
/// language after login when they have not chosen one here. A failed read only means no
/// default: the login goes on.
async fn krr_language(state: &AppState, pid: &Fnr) -> Option<Language> {
    let caller = resident_caller(pid, &ActingAs::Myself, ResidentPurpose::ChooseLanguage).ok()?;
    match state.identity.registers.contacts(&caller, std::slice::from_ref(pid)).await {
        Ok(contacts) => contacts.into_iter().next().and_then(|contact| contact.language),
        Err(error) => {
            tracing::warn!(error = %error, "the language in the contact register could not be read");
            None
        }
    }
}

async fn callback_employee(
    State(state): State<AppState>,
    Municipality(kommune): Municipality,
    jar: CookieJar,
    ClientAddress(address): ClientAddress,
    Query(callback): Query<Callback>,
) -> Result<Response, PageError> {
    let provider = state.identity.employees.as_ref();
    let authenticated = match authenticate(&state, provider, kommune, &jar, address, &callback).await {
        Err(PageError::LoginFailed) if cancelled(&callback) => {
            return Ok(Redirect::to("/ansatt/logg-inn/avbrutt").into_response());
        }
        other => other?,
    };
    let Some(employee) = Employees::new(state.db.clone(), kommune).by_subject(&authenticated.subject).await? else {
        return Err(refuse(&state, "employees", "no active employee has this login").await);
    };
    let new = NewSession {
        principal: Principal::Employee(employee.id.clone()),
        display_name: employee.name.clone(),
        kommunenummer: Some(kommune),
        provider: "employees".to_owned(),
        acr: authenticated.acr.clone(),
        idp_sid: authenticated.sid.clone(),
        id_token: Some(authenticated.id_token.clone()),
    };
    let (cookie, _) = state.identity.sessions.start(new, jar.get(SESSION_COOKIE).map(|c| c.value())).await?;
    identity::record(
        &state.db,
        audit::Actor::Employee(employee.id.clone()),
        None,
        actions::LOGIN,
        None,
        Some(&employee.id),
    )
    .await?;
    Ok(finish_login(&state, cookie, &authenticated.return_to))
}

/// A caller for reading registers as the logged-in person, for their own purposes.
pub fn resident_caller(me: &Fnr, acting_as: &ActingAs, purpose: ResidentPurpose) -> Result<Caller, PageError> {
    identity::callers::resident(me, acting_as, purpose).map_err(|e| PageError::Internal(e.to_string()))
}

#[derive(Serialize)]
struct LoggingOutPage {
    #[serde(flatten)]
    base: Base,
    next: String,
}

async fn logout(
    State(state): State<AppState>,
    visit: Visit,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let Some(user) = visit.user.clone() else { return Ok(Redirect::to("/").into_response()) };
    check_csrf(&user, form.csrf.as_deref())?;
    state.identity.sessions.end(&user.session).await?;
    record_logout(&state, &user, "logout").await?;
    let provider = match user.session.provider.as_str() {
        "employees" => state.identity.employees.as_ref(),
        _ => state.identity.citizens.as_ref(),
    };
    let at_provider = match provider {
        Some(provider) => {
            provider
                .logout_url(user.session.id_token.as_deref(), &identity::jose::random_token(12), Some(visit.kommune))
                .await
        }
        None => None,
    };
    let jar = CookieJar::new().add(cookies::removal(&state, SESSION_COOKIE));
    Ok(match at_provider {
        // The form's own navigation may not leave the site (`form-action 'self'`), so a page
        // here sends the browser on to the provider: a new navigation, with a link as well.
        Some(next) => {
            // Logged out now: the page shows no one in its header.
            let base = Base::new(&state, visit.language, Some(visit.kommune), "/logg-ut", "", None);
            (jar, view::page(&state, "login/logging_out.html", &LoggingOutPage { base, next })?).into_response()
        }
        None => (jar, Redirect::to("/logg-ut/ferdig")).into_response(),
    })
}

/// The logout in the access log; `how` is `logout` or `everywhere`.
async fn record_logout(state: &AppState, user: &CurrentUser, how: &str) -> Result<(), PageError> {
    let subject = user.person().copied();
    identity::record(&state.db, user.session.principal.actor(), None, actions::LOGOUT, subject.as_ref(), Some(how))
        .await?;
    Ok(())
}

async fn logout_everywhere(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let Some(user) = user else { return Ok(Redirect::to("/").into_response()) };
    check_csrf(&user, form.csrf.as_deref())?;
    let ended = state.identity.sessions.end_all(&user.session.principal).await?;
    record_logout(&state, &user, "everywhere").await?;
    tracing::info!(sessions.ended = ended, "logged out everywhere");
    let jar = CookieJar::new().add(cookies::removal(&state, SESSION_COOKIE));
    Ok((jar, Redirect::to("/logg-ut/ferdig")).into_response())
}

#[derive(Serialize)]
struct LoggedOutPage {
    #[serde(flatten)]
    base: Base,
}

async fn logged_out(State(state): State<AppState>, visit: Visit) -> Result<Html<String>, PageError> {
    view::page(&state, "login/logged_out.html", &LoggedOutPage { base: Base::of(&state, &visit, "") })
}

#[derive(Debug, Deserialize)]
struct FrontChannel {
    iss: Option<String>,
    sid: Option<String>,
}

/// Front-channel logout: the provider loads this in a hidden frame when the person logs out
/// elsewhere; every session that provider session started ends.
async fn front_channel_logout(
    State(state): State<AppState>,
    Query(query): Query<FrontChannel>,
) -> Result<Response, PageError> {
    let (Some(iss), Some(sid)) = (query.iss.as_deref(), query.sid.as_deref()) else {
        return Err(PageError::BadRequest);
    };
    let mut origin = None;
    for (name, provider) in [("idporten", &state.identity.citizens), ("employees", &state.identity.employees)] {
        if let Some(provider) = provider
            && provider.is_issuer(iss)
            && sid.len() <= 200
        {
            let ended = state.identity.sessions.end_for_provider_session(name, sid).await?;
            if ended > 0 {
                identity::record(
                    &state.db,
                    audit::Actor::System("front-channel-logout"),
                    None,
                    actions::LOGOUT,
                    None,
                    Some(name),
                )
                .await?;
            }
            origin = Some(iss.split('/').take(3).collect::<Vec<_>>().join("/"));
        }
    }
    let origin = origin.ok_or(PageError::BadRequest)?;
    let mut response = (StatusCode::OK, Html("<!doctype html><title>Logged out</title>")).into_response();
    // This one page may be framed, by the provider only.
    if let Ok(csp) = HeaderValue::from_str(&format!("default-src 'none'; frame-ancestors {origin}")) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
