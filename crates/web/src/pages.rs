//! HTML pages: the front page, the accessibility statement with its feedback form, the
//! language switch, and the error pages.

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use content::{FEEDBACK_MAX_CHARS, FEEDBACK_PAGE_MAX_CHARS, Feedback, FeedbackError, FeedbackField, FeedbackRule};
use kernel::{Kommunenummer, Language};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

use crate::error::PageError;
use crate::tenancy::Municipality;
use crate::{AppState, LANGUAGE_COOKIE, Lang};

/// The date the accessibility statement was last reviewed.
const ACCESSIBILITY_STATEMENT_UPDATED: &str = "2026-11-22";

pub(crate) fn routes(demo: bool) -> Router<AppState> {
    let router = Router::new()
        .route("/", get(front_page))
        .route("/tilgjengelighet", get(accessibility_statement))
        .route("/tilgjengelighet/tilbakemelding", post(submit_feedback))
        .route("/sprak/{language}", get(choose_language));
    if demo {
        // Lets the browser tests check the 500 page like any other page.
        router.route("/demo/feil", get(demo_error))
    } else {
        router
    }
}

#[derive(Serialize)]
struct LanguageChoice {
    tag: &'static str,
    name: &'static str,
    href: String,
    current: bool,
}

/// Percent-encodes everything but unreserved characters and `/`.
pub(crate) fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The variables every page needs: language, municipality, navigation, language switch, and
/// who is logged in (acting for whom).
pub(crate) fn base_context(
    state: &AppState,
    language: Language,
    kommune: Option<Kommunenummer>,
    here: &str,
    active: &str,
    user: Option<&crate::auth::CurrentUser>,
) -> Value {
    let kommune_name = kommune.map(|k| k.navn()).unwrap_or("allmenning");
    // "Bergen kommune", "Bergen municipality"; just "allmenning" on a host that belongs to no
    // municipality.
    let site_name = kommune.map_or_else(
        || "allmenning".to_owned(),
        |k| state.i18n.message(language, "site-name", &[("kommune", k.navn().to_owned())]),
    );
    let languages: Vec<LanguageChoice> = Language::ALL
        .iter()
        .map(|l| LanguageChoice {
            tag: l.tag(),
            name: l.endonym(),
            href: format!("/sprak/{}?tilbake={}", l.tag(), encode_component(here)),
            current: *l == language,
        })
        .collect();
    context! {
        lang => language.tag(),
        kommune => kommune_name,
        site_name => site_name,
        demo => state.config.demo,
        languages => languages,
        active => active,
        user => user.map(crate::auth::CurrentUser::header),
        citizen_login => state.identity.citizens.is_some(),
    }
}

/// Renders a form page: 200, or 422 when it is shown again with errors.
pub(crate) fn render_form(
    state: &AppState,
    template: &str,
    context: Value,
    has_errors: bool,
) -> Result<axum::response::Response, PageError> {
    let status = if has_errors { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((status, Html(state.templates.render(template, context)?)).into_response())
}

fn render(state: &AppState, template: &str, context: Value) -> Result<Html<String>, PageError> {
    Ok(Html(state.templates.render(template, context)?))
}

fn path_and_query(uri: &Uri) -> &str {
    uri.path_and_query().map_or("/", |pq| pq.as_str())
}

async fn front_page(
    State(state): State<AppState>,
    Municipality(kommune): Municipality,
    Lang(language): Lang,
    uri: Uri,
    crate::auth::MaybeUser(user): crate::auth::MaybeUser,
) -> Result<Html<String>, PageError> {
    let notices = content::notices(state.db.municipal(kommune), 10).await?;
    let base = base_context(&state, language, Some(kommune), path_and_query(&uri), "home", user.as_ref());
    render(&state, "index.html", context! { notices => notices, ..base })
}

#[derive(Deserialize)]
struct AccessibilityQuery {
    mottatt: Option<String>,
}

/// The form as sent. Absent fields are left out when the form is shown again, so an empty
/// field renders empty rather than as "none".
#[derive(Debug, Default, Deserialize, Serialize)]
struct FeedbackForm {
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    page: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    contact_email: Option<String>,
}

#[derive(Serialize)]
struct ShownError {
    field: &'static str,
    text: String,
}

fn error_text(state: &AppState, language: Language, error: &FeedbackError) -> String {
    let (key, max) = match (error.field, error.rule) {
        (FeedbackField::Message, FeedbackRule::Required) => ("error-message-required", None),
        (FeedbackField::Message, _) => ("error-message-too-long", Some(FEEDBACK_MAX_CHARS)),
        (FeedbackField::Page, _) => ("error-page-too-long", Some(FEEDBACK_PAGE_MAX_CHARS)),
        (FeedbackField::ContactEmail, _) => ("error-contact_email-invalid-email", None),
    };
    let args: Vec<(&str, String)> = max.map(|m| ("max", m.to_string())).into_iter().collect();
    state.i18n.message(language, key, &args)
}

fn accessibility_page(
    state: &AppState,
    language: Language,
    kommune: Kommunenummer,
    received: bool,
    form: &FeedbackForm,
    errors: &[FeedbackError],
) -> Result<Html<String>, PageError> {
    let shown: Vec<ShownError> =
        errors.iter().map(|e| ShownError { field: e.field.name(), text: error_text(state, language, e) }).collect();
    let field_errors: std::collections::BTreeMap<&str, &str> =
        shown.iter().map(|e| (e.field, e.text.as_str())).collect();
    let base = base_context(state, language, Some(kommune), "/tilgjengelighet", "accessibility", None);
    render(
        state,
        "accessibility.html",
        context! {
            received => received,
            form => form,
            errors => shown,
            field_errors => field_errors,
            updated => ACCESSIBILITY_STATEMENT_UPDATED,
            ..base
        },
    )
}

async fn accessibility_statement(
    State(state): State<AppState>,
    Municipality(kommune): Municipality,
    Lang(language): Lang,
    Query(query): Query<AccessibilityQuery>,
) -> Result<Html<String>, PageError> {
    let received = query.mottatt.is_some();
    accessibility_page(&state, language, kommune, received, &FeedbackForm::default(), &[])
}

async fn submit_feedback(
    State(state): State<AppState>,
    Municipality(kommune): Municipality,
    Lang(language): Lang,
    form: Result<Form<FeedbackForm>, FormRejection>,
) -> Result<Response, PageError> {
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(PageError::TooLarge),
        // A body that is not a form at all is treated as an empty form: the visitor sees
        // what is missing rather than a bare error.
        Err(_) => FeedbackForm::default(),
    };
    match Feedback::parse(form.message.as_deref(), form.page.as_deref(), form.contact_email.as_deref(), language) {
        Ok(feedback) => {
            content::record_feedback(&state.db, kommune, &feedback).await?;
            Ok(Redirect::to("/tilgjengelighet?mottatt=1#tilbakemelding").into_response())
        }
        Err(errors) => {
            let page = accessibility_page(&state, language, kommune, false, &form, &errors)?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Deserialize)]
struct ChooseLanguageQuery {
    tilbake: Option<String>,
}

/// Only local paths are followed back, so the switch cannot be used to send people elsewhere.
pub(crate) fn safe_return_path(candidate: Option<&str>) -> &str {
    match candidate {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control)
                && path.len() <= 2000 =>
        {
            path
        }
        _ => "/",
    }
}

async fn choose_language(
    State(state): State<AppState>,
    Path(tag): Path<String>,
    Query(query): Query<ChooseLanguageQuery>,
) -> Result<Response, PageError> {
    let language: Language = tag.parse().map_err(|_| PageError::NotFound)?;
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    let cookie =
        format!("{LANGUAGE_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly{secure}", language.tag());
    let mut response = Redirect::to(safe_return_path(query.tilbake.as_deref())).into_response();
    let value = HeaderValue::from_str(&cookie).map_err(|e| PageError::Internal(e.to_string()))?;
    response.headers_mut().insert(header::SET_COOKIE, value);
    Ok(response)
}

async fn demo_error() -> PageError {
    PageError::Internal("the demonstration error page was requested".to_owned())
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
        _ => ("server-error-title", "server-error-body"),
    };
    // Only a server error needs a reference for support; a missing page does not.
    let reference = if status.is_server_error() { reference } else { None };
    let base = base_context(state, language, kommune, "/", "", None);
    let page = render(
        state,
        "error.html",
        context! { title_key => title_key, body_key => body_key, reference => reference,
        login_again => status == StatusCode::UNAUTHORIZED, ..base },
    )?;
    Ok((status, page).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_paths_stay_on_this_site() {
        assert_eq!(safe_return_path(Some("/tilgjengelighet?x=1")), "/tilgjengelighet?x=1");
        for bad in ["https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)", ""] {
            assert_eq!(safe_return_path(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_return_path(None), "/");
    }

    #[test]
    fn components_are_percent_encoded() {
        assert_eq!(encode_component("/a b?c=d&e"), "/a%20b%3Fc%3Dd%26e");
        assert_eq!(encode_component("/ø"), "/%C3%B8");
    }
}
