//! Rendering pages: the templates (minijinja, strict), the translations (Fluent), the assets
//! compiled into the binary, and the [`Base`] every page's view struct starts from.
//!
//! A page is a `#[derive(Serialize)]` struct with `#[serde(flatten)] base: Base` and the
//! fields its template uses; [`page`] and [`form_page`] render it. A template that names a
//! variable its view does not have fails, so a typo is a failing test, not a blank.
//!
//! Every template also gets `has_errors`: true when a form is shown again with errors. Then
//! `base.html` starts the `<title>` with "Feil:"/"Error:", and the error summary, which carries
//! `autofocus`, takes focus when the page loads (Designsystemet's pattern, with no script).

pub mod assets;
pub mod i18n;
pub mod links;
pub mod templates;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use kernel::{Kommunenummer, Language};
use serde::Serialize;

use crate::AppState;
use crate::error::PageError;
use crate::extract::{CurrentUser, UserHeader, Visit};

/// One language in the language switch.
#[derive(Debug, Serialize)]
pub struct LanguageChoice {
    tag: &'static str,
    name: &'static str,
    href: String,
    current: bool,
}

/// What every page shows: language, municipality, navigation, language switch, and who is
/// logged in (acting for whom).
#[derive(Debug, Serialize)]
pub struct Base {
    /// The page's language tag.
    pub lang: &'static str,
    /// The municipality's name ("allmenning" on a host that belongs to none).
    pub kommune: &'static str,
    /// "Bergen kommune", "Bergen municipality".
    pub site_name: String,
    /// Demo mode: the banner shows.
    pub demo: bool,
    /// The language switch.
    pub languages: Vec<LanguageChoice>,
    /// Which navigation item is current.
    pub active: &'static str,
    /// Who is logged in.
    pub user: Option<UserHeader>,
    /// Whether residents can log in here.
    pub citizen_login: bool,
}

impl Base {
    /// The base of a page at `here` (path and query), in `language`.
    pub fn new(
        state: &AppState,
        language: Language,
        kommune: Option<Kommunenummer>,
        here: &str,
        active: &'static str,
        user: Option<&CurrentUser>,
    ) -> Self {
        // "Bergen kommune", "Bergen municipality"; just "allmenning" on a host that belongs to
        // no municipality.
        let site_name = kommune.map_or_else(
            || "allmenning".to_owned(),
            |k| state.i18n.message(language, "site-name", &[("kommune", k.navn().to_owned())]),
        );
        Self {
            lang: language.tag(),
            kommune: kommune.map_or("allmenning", |k| k.navn()),
            site_name,
            demo: state.config.demo,
            languages: Language::ALL
                .iter()
                .map(|l| LanguageChoice {
                    tag: l.tag(),
                    name: l.endonym(),
                    href: format!("/sprak/{}?tilbake={}", l.tag(), links::encode(here)),
                    current: *l == language,
                })
                .collect(),
            active,
            user: user.map(CurrentUser::header),
            citizen_login: state.identity.citizens.is_some(),
        }
    }

    /// The base of the page `visit` is on.
    pub fn of(state: &AppState, visit: &Visit, active: &'static str) -> Self {
        Self::new(state, visit.language, Some(visit.kommune), &visit.here, active, visit.user.as_ref())
    }
}

/// Renders `template` with `view` and `has_errors`.
fn render<V: Serialize>(state: &AppState, template: &str, view: &V, has_errors: bool) -> Result<String, PageError> {
    let context = minijinja::context! { has_errors => has_errors, ..minijinja::Value::from_serialize(view) };
    Ok(state.templates.render(template, context)?)
}

/// Renders `template` with `view`: a page without a form shown again with errors.
pub fn page<V: Serialize>(state: &AppState, template: &str, view: &V) -> Result<Html<String>, PageError> {
    Ok(Html(render(state, template, view, false)?))
}

/// Renders a form page: 200, or 422 with "Feil:" before the title when it is shown again with
/// errors.
pub fn form_page<V: Serialize>(
    state: &AppState,
    template: &str,
    view: &V,
    has_errors: bool,
) -> Result<Response, PageError> {
    let status = if has_errors { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((status, Html(render(state, template, view, has_errors)?)).into_response())
}

#[derive(Serialize)]
struct ErrorView<'a> {
    #[serde(flatten)]
    base: Base,
    title_key: &'static str,
    body_key: &'static str,
    reference: Option<&'a str>,
    login_again: bool,
}

/// Renders the error page for `status` in `language`.
pub(crate) fn render_error_page(
    state: &AppState,
    language: Language,
    kommune: Option<Kommunenummer>,
    status: StatusCode,
    reference: Option<&str>,
) -> Result<Response, PageError> {
    let (title_key, body_key) = match status {
        StatusCode::NOT_FOUND => ("not-found-title", "not-found-body"),
        StatusCode::MISDIRECTED_REQUEST => ("unknown-host-title", "unknown-host-body"),
        StatusCode::PAYLOAD_TOO_LARGE => ("too-large-title", "too-large-body"),
        StatusCode::BAD_REQUEST => ("bad-request-title", "bad-request-body"),
        StatusCode::FORBIDDEN => ("forbidden-title", "forbidden-body"),
        StatusCode::UNAUTHORIZED => ("login-failed-title", "login-failed-body"),
        StatusCode::BAD_GATEWAY => ("login-unavailable-title", "login-unavailable-body"),
        StatusCode::TOO_MANY_REQUESTS => ("too-many-title", "too-many-body"),
        StatusCode::REQUEST_TIMEOUT => ("timeout-title", "timeout-body"),
        _ => ("server-error-title", "server-error-body"),
    };
    let view = ErrorView {
        base: Base::new(state, language, kommune, "/", "", None),
        title_key,
        body_key,
        // Only a server error needs a reference for support; a missing page does not.
        reference: if status.is_server_error() { reference } else { None },
        login_again: status == StatusCode::UNAUTHORIZED,
    };
    Ok((status, page(state, "error.html", &view)?).into_response())
}
