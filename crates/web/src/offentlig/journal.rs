//! The public journal (`/offentlig-journal`): the municipality's journal entries by date, for
//! anyone, screened as their skjerming says (`archive::public::public_entry`, the one rule the
//! page, the JSON and the CSV share), and requests for access (innsynskrav) to entries in it.

use std::collections::HashMap;

use archive::public::{PublicEntry, public_entry};
use archive::{ArchiveError, access};
use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use kernel::Kommunenummer;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::ansatt::arkiv::{case_of, journal_of, page_error, show_date};
use crate::error::{ApiError, PageError};
use crate::extract::{ClientAddress, Visit};
use crate::view::{self, Base};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/offentlig-journal", get(journal_page))
        .route("/offentlig-journal.json", get(journal_json))
        .route("/offentlig-journal.csv", get(journal_csv))
        .route("/offentlig-journal/innsyn", get(request_form).post(submit_request))
        .route("/offentlig-journal/innsyn/{id}", get(receipt))
}

/// The longest period one page, JSON or CSV covers, in days (both ends included).
pub const MAX_DAYS: i64 = 31;

/// The most entries one period shows.
const MAX_ENTRIES: usize = 5000;

/// Why a period was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PeriodError {
    From,
    To,
    Order,
    TooLong,
}

impl PeriodError {
    fn key(self) -> &'static str {
        match self {
            PeriodError::From => "journal-error-from",
            PeriodError::To => "journal-error-to",
            PeriodError::Order => "journal-error-order",
            PeriodError::TooLong => "journal-error-too-long",
        }
    }

    fn field(self) -> &'static str {
        match self {
            PeriodError::From | PeriodError::Order | PeriodError::TooLong => "fra",
            PeriodError::To => "til",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct PeriodQuery {
    fra: Option<String>,
    til: Option<String>,
}

fn parse_date(text: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text.trim(), &format).ok()
}

/// The period asked for: today by default; `til` defaults to `fra`.
fn period(query: &PeriodQuery) -> Result<(time::Date, time::Date), PeriodError> {
    let today = kernel::time::today_in_norway();
    fn given(text: &Option<String>) -> Option<&str> {
        text.as_deref().map(str::trim).filter(|t| !t.is_empty())
    }
    let from = match given(&query.fra) {
        Some(text) => parse_date(text).ok_or(PeriodError::From)?,
        None => today,
    };
    let to = match given(&query.til) {
        Some(text) => parse_date(text).ok_or(PeriodError::To)?,
        None => from,
    };
    if to < from {
        return Err(PeriodError::Order);
    }
    if (to - from).whole_days() >= MAX_DAYS {
        return Err(PeriodError::TooLong);
    }
    Ok((from, to))
}

/// The public entries of a period, screened.
async fn entries(
    state: &AppState,
    kommune: Kommunenummer,
    from: time::Date,
    to: time::Date,
) -> Result<Vec<PublicEntry>, ArchiveError> {
    let posts = journal_of(state, kommune, from, to, MAX_ENTRIES).await?;
    let mut cases = HashMap::new();
    let mut out = Vec::new();
    for post in posts.iter().filter(|p| archive::public::is_journalfoert(p)) {
        let case = case_of(state, kommune, post, &mut cases).await?;
        let parties = state.archive.children(kommune, &post.system_id, &["korrespondansepart"], 0, 100).await?;
        out.push(public_entry(post, case.as_ref(), &parties));
    }
    Ok(out)
}

/// The public entry of one journalpost, if it is in the public journal.
async fn entry(state: &AppState, kommune: Kommunenummer, id: &str) -> Result<Option<PublicEntry>, ArchiveError> {
    let post = match state.archive.get(kommune, id).await {
        Ok(post) if post.entity.is_a("journalpost") && archive::public::is_journalfoert(&post) => post,
        Ok(_) | Err(ArchiveError::NotFound) => return Ok(None),
        Err(other) => return Err(other),
    };
    let case = case_of(state, kommune, &post, &mut HashMap::new()).await?;
    let parties = state.archive.children(kommune, &post.system_id, &["korrespondansepart"], 0, 100).await?;
    Ok(Some(public_entry(&post, case.as_ref(), &parties)))
}

#[derive(Serialize)]
struct ShownError {
    field: &'static str,
    text: String,
}

#[derive(Serialize)]
struct EntryView {
    #[serde(flatten)]
    entry: PublicEntry,
    date: String,
}

fn views(entries: Vec<PublicEntry>) -> Vec<EntryView> {
    entries.into_iter().map(|entry| EntryView { date: show_date(&entry.journaldato), entry }).collect()
}

#[derive(Serialize)]
struct JournalPage {
    #[serde(flatten)]
    base: Base,
    from: String,
    to: String,
    from_shown: String,
    to_shown: String,
    entries: Vec<EntryView>,
    errors: Vec<ShownError>,
    max_days: i64,
    json_href: String,
    csv_href: String,
}

async fn journal_page(
    State(state): State<AppState>,
    visit: Visit,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let query: PeriodQuery = serde_html_form::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let today = kernel::time::today_in_norway();
    let (from, to, errors) = match period(&query) {
        Ok((from, to)) => (from, to, vec![]),
        Err(error) => (
            today,
            today,
            vec![ShownError { field: error.field(), text: state.i18n.message(visit.language, error.key(), &[]) }],
        ),
    };
    let list =
        if errors.is_empty() { entries(&state, visit.kommune, from, to).await.map_err(page_error)? } else { vec![] };
    let page = JournalPage {
        base: Base::of(&state, &visit, "journal"),
        from: query.fra.clone().filter(|_| !errors.is_empty()).unwrap_or_else(|| from.to_string()),
        to: query.til.clone().filter(|_| !errors.is_empty()).unwrap_or_else(|| to.to_string()),
        from_shown: show_date(&from.to_string()),
        to_shown: show_date(&to.to_string()),
        entries: views(list),
        max_days: MAX_DAYS,
        json_href: format!("/offentlig-journal.json?fra={from}&til={to}"),
        csv_href: format!("/offentlig-journal.csv?fra={from}&til={to}"),
        errors,
    };
    let has_errors = !page.errors.is_empty();
    view::form_page(&state, "offentlig/journal.html", &page, has_errors)
}

fn api_period(raw: Option<&str>) -> Result<(time::Date, time::Date), ApiError> {
    let query: PeriodQuery =
        serde_html_form::from_str(raw.unwrap_or("")).map_err(|e| ApiError::MalformedQuery(e.to_string()))?;
    period(&query).map_err(|e| {
        ApiError::MalformedQuery(
            match e {
                PeriodError::From => "fra: must be a date YYYY-MM-DD",
                PeriodError::To => "til: must be a date YYYY-MM-DD",
                PeriodError::Order => "til: must not be before fra",
                PeriodError::TooLong => "til: the period is at most 31 days",
            }
            .to_owned(),
        )
    })
}

fn api_error(error: ArchiveError) -> ApiError {
    match error {
        ArchiveError::Store(store) => ApiError::Store(store),
        other => ApiError::Store(store::StoreError::Malformed(other.to_string())),
    }
}

#[derive(Serialize)]
struct JournalJson {
    fra: String,
    til: String,
    entries: Vec<PublicEntry>,
}

async fn journal_json(
    State(state): State<AppState>,
    visit: Visit,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (from, to) = api_period(raw.as_deref())?;
    let list = entries(&state, visit.kommune, from, to).await.map_err(api_error)?;
    Ok(Json(JournalJson { fra: from.to_string(), til: to.to_string(), entries: list }).into_response())
}

async fn journal_csv(
    State(state): State<AppState>,
    visit: Visit,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (from, to) = api_period(raw.as_deref())?;
    let list = entries(&state, visit.kommune, from, to).await.map_err(api_error)?;
    let mut response = archive::public::to_csv(&list).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(value) = HeaderValue::from_str(&format!("inline; filename=\"offentlig-journal-{from}-{to}.csv\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

// ----- Requests for access -----

#[derive(Debug, Default, Deserialize)]
struct RequestForm {
    name: Option<String>,
    email: Option<String>,
    message: Option<String>,
    #[serde(default)]
    post: Vec<String>,
}

#[derive(Default, Serialize)]
struct FieldErrors {
    name: Option<String>,
    email: Option<String>,
    message: Option<String>,
    entries: Option<String>,
}

#[derive(Serialize)]
struct RequestPage<'a> {
    #[serde(flatten)]
    base: Base,
    entries: Vec<EntryView>,
    name: &'a str,
    email: &'a str,
    message: &'a str,
    errors: Vec<ShownError>,
    field_errors: FieldErrors,
    deadline_days: u32,
}

fn error_key(error: access::FieldError) -> &'static str {
    match (error.field, error.rule) {
        ("email", "required") => "journal-error-email-required",
        ("email", _) => "journal-error-email-invalid",
        ("name", _) => "journal-error-name-too-long",
        ("message", _) => "journal-error-message-too-long",
        ("entries", "too_many") => "journal-error-entries-too-many",
        ("entries", "unknown") => "journal-error-entries-unknown",
        _ => "journal-error-entries-required",
    }
}

async fn request_page(
    state: &AppState,
    visit: &Visit,
    form: &RequestForm,
    errors: &[access::FieldError],
) -> Result<Response, PageError> {
    let mut list = Vec::new();
    for id in form.post.iter().take(access::MAX_ENTRIES) {
        if let Some(found) = entry(state, visit.kommune, id).await.map_err(page_error)? {
            list.push(found);
        }
    }
    let text = |e: access::FieldError| state.i18n.message(visit.language, error_key(e), &[]);
    let mut field_errors = FieldErrors::default();
    for error in errors {
        let slot = match error.field {
            "name" => &mut field_errors.name,
            "email" => &mut field_errors.email,
            "message" => &mut field_errors.message,
            _ => &mut field_errors.entries,
        };
        slot.get_or_insert_with(|| text(*error));
    }
    let shown = errors
        .iter()
        .map(|e| ShownError {
            field: match e.field {
                "name" => "name",
                "email" => "email",
                "message" => "message",
                _ => "entries",
            },
            text: text(*e),
        })
        .collect();
    let page = RequestPage {
        base: Base::new(
            state,
            visit.language,
            Some(visit.kommune),
            "/offentlig-journal",
            "journal",
            visit.user.as_ref(),
        ),
        entries: views(list),
        name: form.name.as_deref().unwrap_or_default(),
        email: form.email.as_deref().unwrap_or_default(),
        message: form.message.as_deref().unwrap_or_default(),
        errors: shown,
        field_errors,
        deadline_days: access::DEADLINE_WORKING_DAYS,
    };
    view::form_page(state, "offentlig/innsyn.html", &page, !errors.is_empty())
}

/// The form, with the entries chosen in the journal (`?post=…&post=…`).
async fn request_form(
    State(state): State<AppState>,
    visit: Visit,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let form: RequestForm = serde_html_form::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let form = RequestForm { post: form.post, ..RequestForm::default() };
    let errors =
        if form.post.is_empty() { vec![access::FieldError { field: "entries", rule: "required" }] } else { vec![] };
    request_page(&state, &visit, &form, &errors).await
}

async fn submit_request(
    State(state): State<AppState>,
    visit: Visit,
    ClientAddress(address): ClientAddress,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    if !state.limiters.feedback.allow(address) {
        return Err(PageError::TooManyRequests);
    }
    // Repeated `post` fields, as the journal's checkboxes send them; a body that is not a form
    // is an empty form, so the visitor sees what is missing.
    let form: RequestForm = serde_html_form::from_bytes(&body).unwrap_or_default();
    let checked = match access::check(form.name.as_deref(), form.email.as_deref(), form.message.as_deref(), &form.post)
    {
        Ok(checked) => checked,
        Err(errors) => return request_page(&state, &visit, &form, &errors).await,
    };
    // Only entries of the public journal may be asked for.
    for id in &checked.entries {
        if entry(&state, visit.kommune, id).await.map_err(page_error)?.is_none() {
            let errors = [access::FieldError { field: "entries", rule: "unknown" }];
            return request_page(&state, &visit, &form, &errors).await;
        }
    }
    match access::register(&state.archive, visit.kommune, &checked).await {
        Ok(request) => Ok(Redirect::to(&format!("/offentlig-journal/innsyn/{}", request.id)).into_response()),
        Err(ArchiveError::Invalid { .. }) => {
            let errors = [access::FieldError { field: "entries", rule: "unknown" }];
            request_page(&state, &visit, &form, &errors).await
        }
        Err(other) => Err(page_error(other)),
    }
}

#[derive(Serialize)]
struct ReceiptPage {
    #[serde(flatten)]
    base: Base,
    reference: String,
    received: String,
    deadline: String,
    deadline_days: u32,
    entries: Vec<EntryView>,
    status: String,
}

async fn receipt(State(state): State<AppState>, visit: Visit, Path(id): Path<String>) -> Result<Response, PageError> {
    let request = access::get(&state.archive, visit.kommune, &id).await.map_err(page_error)?;
    let mut list = Vec::new();
    for entry_id in request.entry_ids() {
        if let Some(found) = entry(&state, visit.kommune, &entry_id).await.map_err(page_error)? {
            list.push(found);
        }
    }
    let page = ReceiptPage {
        base: Base::of(&state, &visit, "journal"),
        reference: request.id.clone(),
        received: show_date(&request.received_at.to_rfc3339()),
        deadline: show_date(&request.deadline),
        deadline_days: access::DEADLINE_WORKING_DAYS,
        entries: views(list),
        status: request.status,
    };
    Ok(view::page(&state, "offentlig/innsyn_kvittering.html", &page)?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(fra: Option<&str>, til: Option<&str>) -> PeriodQuery {
        PeriodQuery { fra: fra.map(str::to_owned), til: til.map(str::to_owned) }
    }

    #[test]
    fn a_period_is_at_most_31_days_and_in_order() {
        let today = kernel::time::today_in_norway();
        assert_eq!(period(&query(None, None)), Ok((today, today)));
        let (from, to) = period(&query(Some("2026-12-01"), Some("2026-12-31"))).expect("31 days");
        assert_eq!((to - from).whole_days(), 30);
        assert_eq!(period(&query(Some("2026-12-01"), Some("2027-01-01"))), Err(PeriodError::TooLong));
        assert_eq!(period(&query(Some("2026-12-02"), Some("2026-12-01"))), Err(PeriodError::Order));
        assert_eq!(period(&query(Some("i går"), None)), Err(PeriodError::From));
        assert_eq!(period(&query(Some("2026-12-01"), Some("x"))), Err(PeriodError::To));
        assert_eq!(
            period(&query(Some("2026-12-01"), Some(""))).map(|(_, to)| to.to_string()),
            Ok("2026-12-01".to_owned())
        );
    }
}
