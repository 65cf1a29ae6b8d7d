//! The public pages anyone may see: the front page, the accessibility statement with its
//! feedback form, the language switch, and the public journal ([`journal`]).

pub mod journal;
pub mod kontakt;

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use content::{FEEDBACK_MAX_CHARS, FEEDBACK_PAGE_MAX_CHARS, Feedback, FeedbackError, FeedbackField, FeedbackRule};
use kernel::Language;
use serde::{Deserialize, Serialize};
use time::Duration;

use crate::AppState;
use crate::error::PageError;
use crate::extract::{ClientAddress, LANGUAGE_COOKIE, Visit};
use crate::view::{self, Base, links};

/// The date the accessibility statement was last reviewed.
const ACCESSIBILITY_STATEMENT_UPDATED: &str = "2026-11-22";

pub(crate) fn routes(demo: bool) -> Router<AppState> {
    let router = Router::new()
        .route("/", get(front_page))
        .route("/tilgjengelighet", get(accessibility_statement))
        .route("/tilgjengelighet/tilbakemelding", post(submit_feedback))
        .route("/sprak/{language}", get(choose_language))
        .merge(journal::routes())
        .merge(kontakt::routes());
    if demo {
        // Lets the browser tests check the 500 page like any other page.
        router.route("/demo/feil", get(demo_error))
    } else {
        router
    }
}

#[derive(Serialize)]
struct FrontPage {
    #[serde(flatten)]
    base: Base,
    notices: Vec<content::Notice>,
}

async fn front_page(State(state): State<AppState>, visit: Visit) -> Result<Html<String>, PageError> {
    let notices = content::notices(state.db.municipal(visit.kommune), 10).await?;
    view::page(&state, "offentlig/index.html", &FrontPage { base: Base::of(&state, &visit, "home"), notices })
}

#[derive(Deserialize)]
struct AccessibilityQuery {
    mottatt: Option<String>,
}

/// The form as sent.
#[derive(Debug, Default, Deserialize)]
struct FeedbackForm {
    message: Option<String>,
    page: Option<String>,
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

/// The form's fields as shown again: what was typed, or empty.
#[derive(Serialize)]
struct FeedbackValues<'a> {
    message: &'a str,
    page: &'a str,
    contact_email: &'a str,
}

/// Each field's error, if it has one.
#[derive(Default, Serialize)]
struct FeedbackFieldErrors {
    message: Option<String>,
    page: Option<String>,
    contact_email: Option<String>,
}

#[derive(Serialize)]
struct AccessibilityPage<'a> {
    #[serde(flatten)]
    base: Base,
    received: bool,
    form: FeedbackValues<'a>,
    errors: Vec<ShownError>,
    field_errors: FeedbackFieldErrors,
    updated: &'static str,
}

fn accessibility_page(
    state: &AppState,
    visit: &Visit,
    received: bool,
    form: &FeedbackForm,
    errors: &[FeedbackError],
) -> Result<Response, PageError> {
    let shown: Vec<ShownError> = errors
        .iter()
        .map(|e| ShownError { field: e.field.name(), text: error_text(state, visit.language, e) })
        .collect();
    let field_errors = |errors: &[FeedbackError]| {
        let mut by_field = FeedbackFieldErrors::default();
        for error in errors {
            let slot = match error.field {
                FeedbackField::Message => &mut by_field.message,
                FeedbackField::Page => &mut by_field.page,
                FeedbackField::ContactEmail => &mut by_field.contact_email,
            };
            slot.get_or_insert_with(|| error_text(state, visit.language, error));
        }
        by_field
    };
    let view = AccessibilityPage {
        // The page's address without the receipt in its query.
        base: Base::new(state, visit.language, Some(visit.kommune), "/tilgjengelighet", "accessibility", None),
        received,
        form: FeedbackValues {
            message: form.message.as_deref().unwrap_or_default(),
            page: form.page.as_deref().unwrap_or_default(),
            contact_email: form.contact_email.as_deref().unwrap_or_default(),
        },
        field_errors: field_errors(errors),
        errors: shown,
        updated: ACCESSIBILITY_STATEMENT_UPDATED,
    };
    view::form_page(state, "offentlig/accessibility.html", &view, !errors.is_empty())
}

async fn accessibility_statement(
    State(state): State<AppState>,
    visit: Visit,
    Query(query): Query<AccessibilityQuery>,
) -> Result<Response, PageError> {
    accessibility_page(&state, &visit, query.mottatt.is_some(), &FeedbackForm::default(), &[])
}

async fn submit_feedback(
    State(state): State<AppState>,
    visit: Visit,
    ClientAddress(address): ClientAddress,
    form: Result<Form<FeedbackForm>, FormRejection>,
) -> Result<Response, PageError> {
    if !state.limiters.feedback.allow(address) {
        return Err(PageError::TooManyRequests);
    }
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(PageError::TooLarge),
        // A body that is not a form at all is treated as an empty form: the visitor sees
        // what is missing rather than a bare error.
        Err(_) => FeedbackForm::default(),
    };
    let (message, page, contact_email) = (form.message.as_deref(), form.page.as_deref(), form.contact_email.as_deref());
    match Feedback::parse(message, page, contact_email, visit.language) {
        Ok(feedback) => {
            content::record_feedback(&state.db, visit.kommune, &feedback).await?;
            Ok(Redirect::to("/tilgjengelighet?mottatt=1#tilbakemelding").into_response())
        }
        Err(errors) => accessibility_page(&state, &visit, false, &form, &errors),
    }
}

#[derive(Deserialize)]
struct ChooseLanguageQuery {
    tilbake: Option<String>,
}

async fn choose_language(
    State(state): State<AppState>,
    Path(tag): Path<String>,
    Query(query): Query<ChooseLanguageQuery>,
    jar: CookieJar,
) -> Result<(CookieJar, Redirect), PageError> {
    let language: Language = tag.parse().map_err(|_| PageError::NotFound)?;
    let cookie =
        crate::extract::cookies::build(&state, LANGUAGE_COOKIE, language.tag().to_owned(), Some(Duration::days(365)));
    Ok((jar.add(cookie), Redirect::to(links::safe_return_path(query.tilbake.as_deref()))))
}

async fn demo_error() -> PageError {
    PageError::Internal("the demonstration error page was requested".to_owned())
}
