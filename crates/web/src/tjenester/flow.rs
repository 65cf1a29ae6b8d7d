//! Applying: the start page (whom one applies for), one page per question group with the
//! prefilled facts shown and not asked, a summary to check, sending, and the receipt with the
//! case number. Every page saves the draft, which Min side lists until it is sent.
//!
//! Bad input changes nothing: a page with a field error is shown again with the error next to
//! the field and a summary that takes focus, and the draft stays as it was. The idempotency
//! key is a hidden field derived from the draft, so a second click or a replayed POST gives the
//! first case back, and a key that does not belong to the draft is refused.

use axum::Router;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use identity::callers::ResidentPurpose;
use identity::{ActingAs, acting};
use kernel::{ErrorKind, Fnr, Language, OrgNr};
use serde::Serialize;
use services::apply::{ApplyError, Who};
use services::definition::Page;
use services::{Draft, ErrorCode, FieldError, Prefill, Service, Upload};

use super::catalog;
use super::catalog::applicant_key;
use super::form_view::{self, FieldView, Shown};
use crate::AppState;
use crate::error::PageError;
use crate::extract::{Citizen, Visit, check_csrf};
use crate::login::resident_caller;
use crate::view::{self, Base};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/tjenester/{id}/start", get(start_page).post(start))
        .route("/tjenester/soknad/{draft}", get(resume))
        .route("/tjenester/soknad/{draft}/side/{page}", get(form_page).post(save_page))
        .route("/tjenester/soknad/{draft}/oppsummering", get(summary_page))
        .route("/tjenester/soknad/{draft}/send", axum::routing::post(submit))
        .route("/tjenester/soknad/{draft}/stemmer-ikke/{field}", get(wrong_fact_page).post(report_wrong_fact))
        .route("/tjenester/kvittering/{case}", get(receipt))
}

/// An apply error as a page: missing or someone else's is a 404, not allowed a 403.
pub(crate) fn apply_error(error: ApplyError) -> PageError {
    if matches!(error, ApplyError::Closed) {
        return PageError::NotFound;
    }
    match error.kind() {
        ErrorKind::NotFound => PageError::NotFound,
        ErrorKind::Forbidden => PageError::Forbidden,
        ErrorKind::Invalid | ErrorKind::Conflict => PageError::BadRequest,
        _ => PageError::Internal(error.to_string()),
    }
}

/// The idempotency key of a draft's submission (the hidden field on the summary page).
fn submission_key(draft_id: &str) -> String {
    format!("soknad:{draft_id}")
}

/// Who applies: the person logged in, acting as `acting` (the session's name for whom it acts
/// for, when that is whom the application is for).
fn who(citizen: &Citizen, acting: ActingAs) -> Who {
    let session = &citizen.user.session;
    let acting_name = if session.acting_as == acting { session.acting_name.clone() } else { None };
    Who { me: citizen.me, name: session.display_name.clone(), acting, acting_name }
}

/// Whom a draft is for, from its stored subject key; an organisation keeps the role the session
/// holds for it (a draft for another organisation than the session's cannot be continued).
fn acting_of(subject: &str, session: &ActingAs) -> Option<ActingAs> {
    let (kind, id) = subject.split_once(':').unwrap_or((subject, ""));
    match kind {
        "self" => Some(ActingAs::Myself),
        "child" => Fnr::parse(id).ok().map(ActingAs::Child),
        "ward" => Fnr::parse(id).ok().map(ActingAs::Ward),
        "organisation" => {
            let orgnr = OrgNr::parse(id).ok()?;
            match session {
                ActingAs::Organisation(own, role) if *own == orgnr => Some(ActingAs::Organisation(orgnr, *role)),
                _ => None,
            }
        }
        "fullmakt" => match session {
            ActingAs::Fullmakt { giver, .. } if giver.as_digits() == id => Some(session.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// A draft of the person logged in, with its prefill and whom it is for.
async fn own_draft(
    state: &AppState,
    visit: &Visit,
    citizen: &Citizen,
    draft_id: &str,
) -> Result<(Who, Draft, Prefill), PageError> {
    let drafts = state.applications.drafts_of(visit.kommune, &citizen.me).await.map_err(apply_error)?;
    let stored = drafts.into_iter().find(|d| d.id == draft_id).ok_or(PageError::NotFound)?;
    let acting = acting_of(&stored.subject, &citizen.user.session.acting_as).ok_or(PageError::Forbidden)?;
    let who = who(citizen, acting);
    let (draft, _) = state.applications.draft(visit.kommune, &who, draft_id).await.map_err(apply_error)?;
    let prefill = Prefill { values: draft.prefill.clone(), children: vec![] };
    Ok((who, draft, prefill))
}

fn service_of<'a>(state: &'a AppState, draft: &Draft) -> Result<&'a Service, PageError> {
    catalog(state).get(&draft.service).ok_or(PageError::NotFound)
}

/// The name of whom the draft is for, from the prefill (the child's name) or the session.
fn subject_name(citizen: &Citizen, prefill: &Prefill, who: &Who) -> String {
    let fact = match who.acting {
        ActingAs::Child(_) => Some("child.name"),
        ActingAs::Ward(_) => Some("ward.name"),
        ActingAs::Organisation(..) => Some("organisation.name"),
        _ => None,
    };
    fact.and_then(|fact| prefill.values.iter().find(|v| v.fact.name() == fact).map(|v| v.display.clone()))
        .or_else(|| citizen.user.session.acting_name.clone())
        .unwrap_or_else(|| citizen.user.session.display_name.clone())
}

// ---------------------------------------------------------------------------------------------
// Start

#[derive(Serialize)]
struct ChildChoice {
    value: String,
    name: String,
}

#[derive(Serialize)]
struct StartPage {
    #[serde(flatten)]
    base: Base,
    id: String,
    name: String,
    applicants: Vec<&'static str>,
    /// Whom the session acts for may apply.
    allowed: bool,
    /// The person acts as themselves and the service is for children: choose one.
    children: Vec<ChildChoice>,
    acting_name: String,
    error: Option<String>,
}

async fn start_view(
    state: &AppState,
    visit: &Visit,
    citizen: &Citizen,
    service: &Service,
    error: Option<String>,
) -> Result<Response, PageError> {
    let acting = &citizen.user.session.acting_as;
    let allowed = service.applicants.iter().any(|a| a.allows(acting));
    let mut children = vec![];
    let for_children = service.applicants.contains(&services::Applicant::Child);
    if !allowed && for_children && matches!(acting, ActingAs::Myself) {
        let caller = resident_caller(&citizen.me, &ActingAs::Myself, ResidentPurpose::ShowWhomYouCanActFor)?;
        let options = acting::options(
            &state.identity.registers,
            &state.identity.fullmakter,
            &caller,
            &citizen.me,
            &citizen.user.session.display_name,
            kernel::time::today_in_norway(),
        )
        .await?;
        children = options
            .into_iter()
            .filter_map(|o| match o.acting_as {
                ActingAs::Child(fnr) => Some(ChildChoice { value: fnr.as_digits(), name: o.name }),
                _ => None,
            })
            .collect();
    }
    let has_errors = error.is_some();
    let page = StartPage {
        base: Base::of(state, visit, "tjenester"),
        id: service.id.clone(),
        name: service.name.get(visit.language).to_owned(),
        applicants: service.applicants.iter().map(|a| applicant_key(*a)).collect(),
        allowed,
        acting_name: citizen
            .user
            .session
            .acting_name
            .clone()
            .unwrap_or_else(|| citizen.user.session.display_name.clone()),
        children,
        error,
    };
    let refused = !page.allowed && page.children.is_empty();
    let response = view::form_page(state, "tjenester/start.html", &page, has_errors)?;
    if refused {
        return Ok((axum::http::StatusCode::FORBIDDEN, response).into_response());
    }
    Ok(response)
}

async fn start_page(
    State(state): State<AppState>,
    visit: Visit,
    citizen: Citizen,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let service = catalog(&state).get(&id).ok_or(PageError::NotFound)?;
    start_view(&state, &visit, &citizen, service, None).await
}

#[derive(serde::Deserialize)]
struct StartForm {
    csrf: Option<String>,
    barn: Option<String>,
}

async fn start(
    State(state): State<AppState>,
    visit: Visit,
    citizen: Citizen,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<StartForm>,
) -> Result<Response, PageError> {
    check_csrf(&citizen.user, form.csrf.as_deref())?;
    let service = catalog(&state).get(&id).ok_or(PageError::NotFound)?;
    let acting = match form.barn.as_deref() {
        Some(digits) => ActingAs::Child(Fnr::parse(digits).map_err(|_| PageError::BadRequest)?),
        None => citizen.user.session.acting_as.clone(),
    };
    if form.barn.is_none() && !service.applicants.iter().any(|a| a.allows(&acting)) {
        let message = state.i18n.message(visit.language, "tjenester-start-choose-child", &[]);
        return start_view(&state, &visit, &citizen, service, Some(message)).await;
    }
    match state.applications.start(visit.kommune, &who(&citizen, acting), &id).await {
        Ok(draft) => {
            let page =
                draft.page.clone().or_else(|| service.form.pages.first().map(|p| p.id.clone())).unwrap_or_default();
            Ok(Redirect::to(&format!("/tjenester/soknad/{}/side/{page}", draft.id)).into_response())
        }
        Err(ApplyError::Forbidden(_)) => {
            let message = state.i18n.message(visit.language, "tjenester-start-refused", &[]);
            let response = start_view(&state, &visit, &citizen, service, Some(message)).await?;
            Ok((axum::http::StatusCode::FORBIDDEN, response).into_response())
        }
        Err(error) => Err(apply_error(error)),
    }
}

async fn resume(
    State(state): State<AppState>,
    visit: Visit,
    citizen: Citizen,
    Path(draft_id): Path<String>,
) -> Result<Response, PageError> {
    let (_, draft, _) = own_draft(&state, &visit, &citizen, &draft_id).await?;
    let service = service_of(&state, &draft)?;
    let page = draft
        .page
        .clone()
        .filter(|p| service.form.pages.iter().any(|page| &page.id == p))
        .or_else(|| service.form.pages.first().map(|p| p.id.clone()))
        .unwrap_or_default();
    Ok(Redirect::to(&format!("/tjenester/soknad/{}/side/{page}", draft.id)).into_response())
}

// ---------------------------------------------------------------------------------------------
// Form pages

#[derive(Serialize)]
struct StepView {
    number: usize,
    title: String,
    href: String,
    current: bool,
}

#[derive(Serialize)]
struct ShownError {
    id: String,
    text: String,
}

/// A fact from the registers shown on a page (not asked).
#[derive(Serialize)]
struct KnownFact {
    key: String,
    label: String,
    display: String,
    source: String,
    fetched_on: String,
}

#[derive(Serialize)]
struct FormPage {
    #[serde(flatten)]
    base: Base,
    draft: String,
    service_id: String,
    service_name: String,
    subject_name: String,
    page_id: String,
    title: String,
    number: usize,
    count: usize,
    steps: Vec<StepView>,
    previous: Option<String>,
    multipart: bool,
    known: Vec<KnownFact>,
    fields: Vec<FieldView>,
    errors: Vec<ShownError>,
    last: bool,
}

fn page_of<'a>(service: &'a Service, page_id: &str) -> Result<(usize, &'a Page), PageError> {
    service.form.pages.iter().enumerate().find(|(_, p)| p.id == page_id).ok_or(PageError::NotFound)
}

/// Field errors for the summary at the top: each links to its field.
fn shown_errors(state: &AppState, language: Language, errors: &[FieldError]) -> Vec<ShownError> {
    errors
        .iter()
        .map(|error| ShownError {
            id: form_view::element_id(&error.field),
            text: form_view::error_text(state, language, error),
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn render_form(
    state: &AppState,
    visit: &Visit,
    citizen: &Citizen,
    who: &Who,
    draft: &Draft,
    prefill: &Prefill,
    service: &Service,
    page_id: &str,
    shown: &Shown<'_>,
    errors: &[FieldError],
) -> Result<Response, PageError> {
    let language = visit.language;
    let (index, page) = page_of(service, page_id)?;
    let href = |p: &Page| format!("/tjenester/soknad/{}/side/{}", draft.id, p.id);
    let mut summary_errors = shown_errors(state, language, errors);
    // An error on a field of another page (a tampered form): the summary still names it.
    summary_errors.dedup_by(|a, b| a.id == b.id && a.text == b.text);
    let view = FormPage {
        base: Base::of(state, visit, "tjenester"),
        draft: draft.id.clone(),
        service_id: service.id.clone(),
        service_name: service.name.get(language).to_owned(),
        subject_name: subject_name(citizen, prefill, who),
        page_id: page.id.clone(),
        title: page.title.get(language).to_owned(),
        number: index + 1,
        count: service.form.pages.len(),
        steps: service
            .form
            .pages
            .iter()
            .enumerate()
            .map(|(i, p)| StepView {
                number: i + 1,
                title: p.title.get(language).to_owned(),
                href: href(p),
                current: i == index,
            })
            .collect(),
        previous: index.checked_sub(1).and_then(|i| service.form.pages.get(i)).map(href),
        multipart: page.fields.iter().any(|f| f.kind == services::definition::FieldType::Attachment),
        known: known_facts(service, page, index, prefill, language),
        fields: form_view::fields(state, language, page, prefill, shown, errors),
        errors: summary_errors,
        last: index + 1 == service.form.pages.len(),
    };
    view::form_page(state, "tjenester/side.html", &view, !errors.is_empty())
}

/// The facts a page shows instead of asking: its prefilled fields, and on the first page the
/// facts that fill no field (the organisation's name and form, say).
fn known_facts(service: &Service, page: &Page, index: usize, prefill: &Prefill, language: Language) -> Vec<KnownFact> {
    prefill
        .values
        .iter()
        .filter(|value| match service.field(&value.field) {
            Some(_) => page.fields.iter().any(|f| f.name == value.field),
            None => index == 0,
        })
        .map(|value| KnownFact {
            key: value.field.clone(),
            label: service
                .field(&value.field)
                .map_or_else(|| value.fact.label(language).to_owned(), |f| f.label.get(language).to_owned()),
            display: match &value.value {
                services::Value::Bool(b) => services::value::yes_no(*b, language).to_owned(),
                _ => value.display.clone(),
            },
            source: value.source.clone(),
            fetched_on: services::value::norwegian_date(value.fetched_on),
        })
        .collect()
}

async fn form_page(
    State(state): State<AppState>,
    visit: Visit,
    citizen: Citizen,
    Path((draft_id, page_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (who, draft, prefill) = own_draft(&state, &visit, &citizen, &draft_id).await?;
    let service = service_of(&state, &draft)?;
    render_form(&state, &visit, &citizen, &who, &draft, &prefill, service, &page_id, &Shown::Saved(&draft.answers), &[])
}

/// A posted page: its text fields in order, and its files.
struct Posted {
    pairs: Vec<(String, String)>,
    uploads: Vec<Upload>,
}

/// Reads a page's body, urlencoded or multipart (a page with attachments).
async fn read_body(request: Request) -> Result<Posted, PageError> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let bytes = axum::body::Bytes::from_request(request, &()).await.map_err(|_| PageError::TooLarge)?;
        let pairs: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
        return Ok(Posted { pairs, uploads: vec![] });
    }
    let mut body = Multipart::from_request(request, &()).await.map_err(|_| PageError::BadRequest)?;
    let mut posted = Posted { pairs: vec![], uploads: vec![] };
    while let Some(field) = body.next_field().await.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            PageError::TooLarge
        } else {
            PageError::BadRequest
        }
    })? {
        let name = field.name().unwrap_or_default().to_owned();
        match field.file_name().map(str::to_owned) {
            Some(file_name) => {
                let bytes = field.bytes().await.map_err(|_| PageError::TooLarge)?;
                // A file input left empty still sends a part, with no name and no bytes.
                if !(file_name.is_empty() && bytes.is_empty()) {
                    posted.uploads.push(Upload { field: name, file_name, bytes: bytes.to_vec() });
                }
            }
            None => {
                let text = field.text().await.map_err(|_| PageError::BadRequest)?;
                posted.pairs.push((name, text));
            }
        }
    }
    Ok(posted)
}

async fn save_page(
    State(state): State<AppState>,
    visit: Visit,
    citizen: Citizen,
    Path((draft_id, page_id)): Path<(String, String)>,
    request: Request,
) -> Result<Response, PageError> {
    let posted = read_body(request).await?;
    let token = posted.pairs.iter().find(|(k, _)| k == "_csrf").map(|(_, v)| v.as_str());
    check_csrf(&citizen.user, token)?;
    let (who, draft, prefill) = own_draft(&state, &visit, &citizen, &draft_id).await?;
    let service = service_of(&state, &draft)?;
    let (index, _) = page_of(service, &page_id)?;
    let action = posted.pairs.iter().find(|(k, _)| k == "_handling").map(|(_, v)| v.clone()).unwrap_or_default();
    let mut pairs: Vec<(String, String)> = posted.pairs.clone();
    // "Remove" of a group's entry: its values are left out of what is saved.
    let stay = if let Some(entry) = action.strip_prefix("fjern:") {
        let prefix = format!("{entry}.");
        pairs.retain(|(k, _)| !k.starts_with(&prefix));
        true
    } else {
        action.starts_with("legg-til")
    };
    let mut result =
        state.applications.save_page(visit.kommune, &who, &draft.id, &page_id, &pairs, posted.uploads.clone()).await;
    // Every field is on the page; the server decides which its conditions show. Answers to
    // fields their condition hides are left out (once), rather than refused.
    if let Err(ApplyError::Invalid(errors)) = &result {
        let hidden: Vec<String> =
            errors.iter().filter(|e| e.code == ErrorCode::NotShown).map(|e| e.field.clone()).collect();
        let only_hidden_and_blank = !hidden.is_empty();
        if only_hidden_and_blank {
            pairs.retain(|(k, _)| !hidden.contains(k));
            let uploads: Vec<Upload> = posted.uploads.iter().filter(|u| !hidden.contains(&u.field)).cloned().collect();
            result = state.applications.save_page(visit.kommune, &who, &draft.id, &page_id, &pairs, uploads).await;
        }
    }
    match result {
        Ok(saved) => {
            let next = if stay {
                format!("/tjenester/soknad/{}/side/{page_id}", saved.id)
            } else {
                match service.form.pages.get(index + 1) {
                    Some(next) => format!("/tjenester/soknad/{}/side/{}", saved.id, next.id),
                    None => format!("/tjenester/soknad/{}/oppsummering", saved.id),
                }
            };
            Ok(Redirect::to(&next).into_response())
        }
        Err(ApplyError::Invalid(errors)) => {
            let errors = visible_errors(service, &page_id, errors);
            render_form(
                &state,
                &visit,
                &citizen,
                &who,
                &draft,
                &prefill,
                service,
                &page_id,
                &Shown::Posted(&draft.answers, &posted.pairs),
                &errors,
            )
        }
        Err(error) => Err(apply_error(error)),
    }
}

/// Errors on keys the page does not have (a tampered form: another page's field, another
/// service's, a prefilled one) are named in the summary under the page's first field, so the
/// person sees a clear message rather than nothing.
fn visible_errors(service: &Service, page_id: &str, errors: Vec<FieldError>) -> Vec<FieldError> {
    let Ok((_, page)) = page_of(service, page_id) else { return errors };
    errors
        .into_iter()
        .map(|mut error| {
            let top = error.field.split('[').next().unwrap_or_default().to_owned();
            if !page.fields.iter().any(|f| f.name == top) {
                error.params.insert("field".to_owned(), error.field.clone());
                error.field = page.fields.first().map(|f| f.name.clone()).unwrap_or_default();
            }
            error
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Summary and sending

#[derive(Serialize)]
struct SectionView {
    heading: String,
    change: Option<String>,
    rows: Vec<(String, String)>,
}

#[derive(Serialize)]
struct SummaryPage {
    #[serde(flatten)]
    base: Base,
    draft: String,
    service_name: String,
    subject_name: String,
    sections: Vec<SectionView>,
    errors: Vec<ShownError>,
    idempotency_key: String,
    back: String,
}

#[allow(clippy::too_many_arguments)]
fn render_summary(
    state: &AppState,
    visit: &Visit,
    citizen: &Citizen,
    who: &Who,
    draft: &Draft,
    prefill: &Prefill,
    service: &Service,
    errors: &[FieldError],
) -> Result<Response, PageError> {
    let language = visit.language;
    let sections = services::summary::sections(service, &draft.answers, prefill, language)
        .into_iter()
        .map(|section| SectionView {
            change: service
                .form
                .pages
                .iter()
                .find(|p| p.title.get(language) == section.heading)
                .map(|p| format!("/tjenester/soknad/{}/side/{}", draft.id, p.id)),
            heading: section.heading,
            rows: section.rows,
        })
        .collect();
    // A missing answer links to the page that asks it.
    let errors: Vec<ShownError> = errors
        .iter()
        .map(|error| {
            let top = error.field.split('[').next().unwrap_or_default();
            let page = service.form.pages.iter().find(|p| p.fields.iter().any(|f| f.name == top));
            ShownError {
                id: page.map_or_else(String::new, |p| {
                    format!("/tjenester/soknad/{}/side/{}#{}", draft.id, p.id, form_view::element_id(&error.field))
                }),
                text: format!(
                    "{}: {}",
                    service.field(top).map_or(top, |f| f.label.get(language)),
                    form_view::error_text(state, language, error)
                ),
            }
        })
        .collect();
    let back =
        service.form.pages.last().map(|p| format!("/tjenester/soknad/{}/side/{}", draft.id, p.id)).unwrap_or_default();
    let view = SummaryPage {
        base: Base::of(state, visit, "tjenester"),
        draft: draft.id.clone(),
        service_name: service.name.get(language).to_owned(),
        subject_name: subject_name(citizen, prefill, who),
        sections,
        errors,
        idempotency_key: submission_key(&draft.id),
        back,
    };
    let has_errors = !view.errors.is_empty();
    view::form_page(state, "tjenester/oppsummering.html", &view, has_errors)
}

async fn summary_page(
    State(state): State<AppState>,
    visit: Visit,
    citizen: Citizen,
    Path(draft_id): Path<String>,
) -> Result<Response, PageError> {
    let (who, draft, prefill) = own_draft(&state, &visit, &citizen, &draft_id).await?;
    let service = service_of(&state, &draft)?;
    render_summary(&state, &visit, &citizen, &who, &draft, &prefill, service, &[])
}

#[derive(serde::Deserialize)]
struct SendForm {
    csrf: Option<String>,
    idempotency_key: Option<String>,
}

async fn submit(
    State(state): State<AppState>,
    visit: Visit,
    citizen: Citizen,
    Path(draft_id): Path<String>,
    axum::Form(form): axum::Form<SendForm>,
) -> Result<Response, PageError> {
    check_csrf(&citizen.user, form.csrf.as_deref())?;
    let key = form.idempotency_key.unwrap_or_default();
    if key != submission_key(&draft_id) {
        return Err(PageError::BadRequest);
    }
    // A replay after the draft was sent finds no draft; whom it was for is then the session's.
    let drafts = state.applications.drafts_of(visit.kommune, &citizen.me).await.map_err(apply_error)?;
    let acting = drafts
        .iter()
        .find(|d| d.id == draft_id)
        .and_then(|d| acting_of(&d.subject, &citizen.user.session.acting_as))
        .unwrap_or_else(|| citizen.user.session.acting_as.clone());
    let who = who(&citizen, acting);
    match state.applications.submit(visit.kommune, &who, &draft_id, &key, visit.language).await {
        Ok(submitted) => Ok(Redirect::to(&format!("/tjenester/kvittering/{}", submitted.case_id)).into_response()),
        Err(ApplyError::Incomplete(errors)) => {
            let (who, draft, prefill) = own_draft(&state, &visit, &citizen, &draft_id).await?;
            let service = service_of(&state, &draft)?;
            render_summary(&state, &visit, &citizen, &who, &draft, &prefill, service, &errors)
        }
        Err(error) => Err(apply_error(error)),
    }
}

// ---------------------------------------------------------------------------------------------
// Receipt

#[derive(Serialize)]
struct ReceiptPage {
    #[serde(flatten)]
    base: Base,
    mappe_id: String,
    service_name: String,
    status: &'static str,
    deadline: String,
    decision: Option<DecisionView>,
}

/// A decision as the applicant reads it.
#[derive(Serialize)]
pub(crate) struct DecisionView {
    pub outcome: String,
    pub automated: bool,
    pub vedtak: String,
    pub reasons: String,
    pub explanations: Vec<String>,
    pub appeal_deadline: Option<String>,
}

/// The outcome's words.
pub(crate) fn outcome_key(code: &str) -> &'static str {
    match code {
        "innvilget" => "tjenester-outcome-innvilget",
        "delvis_innvilget" => "tjenester-outcome-delvis_innvilget",
        _ => "tjenester-outcome-avslag",
    }
}

/// An ISO date as dd.mm.åååå.
pub(crate) fn shown_date(iso: &str) -> String {
    services::value::parse_iso(iso).map_or_else(|| iso.to_owned(), services::value::norwegian_date)
}

pub(crate) fn decision_view(state: &AppState, language: Language, decision: &cases::Decision) -> DecisionView {
    DecisionView {
        outcome: state.i18n.message(language, outcome_key(&decision.outcome), &[]),
        automated: decision.automated,
        vedtak: decision.vedtak.clone(),
        reasons: decision.reasons.clone(),
        explanations: decision.fired().into_iter().map(|rule| rule.explanation).collect(),
        appeal_deadline: decision.appeal_deadline.as_deref().map(shown_date),
    }
}

async fn receipt(
    State(state): State<AppState>,
    visit: Visit,
    citizen: Citizen,
    Path(case_id): Path<String>,
) -> Result<Html<String>, PageError> {
    let case = state.cases.case(visit.kommune, &case_id).await.map_err(case_error)?.ok_or(PageError::NotFound)?;
    // Only the one who sent it sees the receipt.
    if case.submitted_by.0 != citizen.me.as_digits() {
        return Err(PageError::NotFound);
    }
    let decision = state.cases.decision(visit.kommune, &case.id).await.map_err(case_error)?;
    let page = ReceiptPage {
        base: Base::of(&state, &visit, "tjenester"),
        mappe_id: case.mappe_id.clone(),
        service_name: catalog(&state)
            .get(&case.service_id)
            .map_or_else(|| case.service_title.clone(), |s| s.name.get(visit.language).to_owned()),
        status: case.status.label(visit.language),
        deadline: services::value::norwegian_date(case.deadline),
        decision: decision.as_ref().map(|d| decision_view(&state, visit.language, d)),
    };
    view::page(&state, "tjenester/kvittering.html", &page)
}

/// A case error as a page error.
pub(crate) fn case_error(error: cases::CaseError) -> PageError {
    match error.kind() {
        ErrorKind::NotFound => PageError::NotFound,
        ErrorKind::Forbidden => PageError::Forbidden,
        ErrorKind::Invalid | ErrorKind::Conflict => PageError::BadRequest,
        _ => PageError::Internal(error.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// "This is wrong"

#[derive(Serialize)]
struct WrongFactPage {
    #[serde(flatten)]
    base: Base,
    draft: String,
    field: String,
    label: String,
    value: String,
    source: String,
    text: String,
    error: Option<String>,
    sent: bool,
    back: String,
}

#[derive(serde::Deserialize, Default)]
struct WrongFactForm {
    csrf: Option<String>,
    text: Option<String>,
}

/// The most a report of a wrong fact may say.
const WRONG_FACT_MAX: usize = 2000;

#[allow(clippy::too_many_arguments)]
async fn wrong_fact_view(
    state: &AppState,
    visit: &Visit,
    citizen: &Citizen,
    draft_id: &str,
    field: &str,
    text: &str,
    error: Option<String>,
    sent: bool,
) -> Result<Response, PageError> {
    let (_, draft, prefill) = own_draft(state, visit, citizen, draft_id).await?;
    let service = service_of(state, &draft)?;
    let value = prefill.get(field).ok_or(PageError::NotFound)?;
    let label = service
        .field(field)
        .map_or_else(|| value.fact.label(visit.language).to_owned(), |f| f.label.get(visit.language).to_owned());
    let back = service.form.pages.iter().find(|p| p.fields.iter().any(|f| f.name == field)).map_or_else(
        || format!("/tjenester/soknad/{draft_id}"),
        |p| format!("/tjenester/soknad/{draft_id}/side/{}", p.id),
    );
    let has_errors = error.is_some();
    let page = WrongFactPage {
        base: Base::of(state, visit, "tjenester"),
        draft: draft.id.clone(),
        field: field.to_owned(),
        label,
        value: value.display.clone(),
        source: value.source.clone(),
        text: text.to_owned(),
        error,
        sent,
        back,
    };
    view::form_page(state, "tjenester/stemmer_ikke.html", &page, has_errors)
}

async fn wrong_fact_page(
    State(state): State<AppState>,
    visit: Visit,
    citizen: Citizen,
    Path((draft_id, field)): Path<(String, String)>,
) -> Result<Response, PageError> {
    wrong_fact_view(&state, &visit, &citizen, &draft_id, &field, "", None, false).await
}

async fn report_wrong_fact(
    State(state): State<AppState>,
    visit: Visit,
    citizen: Citizen,
    Path((draft_id, field)): Path<(String, String)>,
    axum::Form(form): axum::Form<WrongFactForm>,
) -> Result<Response, PageError> {
    check_csrf(&citizen.user, form.csrf.as_deref())?;
    let text = form.text.unwrap_or_default();
    let trimmed = text.trim();
    let error = if trimmed.is_empty() {
        Some(state.i18n.message(visit.language, "tjenester-wrong-required", &[]))
    } else if trimmed.chars().count() > WRONG_FACT_MAX {
        Some(state.i18n.message(visit.language, "tjenester-wrong-too-long", &[("max", WRONG_FACT_MAX.to_string())]))
    } else {
        None
    };
    if error.is_some() {
        return wrong_fact_view(&state, &visit, &citizen, &draft_id, &field, &text, error, false).await;
    }
    let (who, _, prefill) = own_draft(&state, &visit, &citizen, &draft_id).await?;
    if prefill.get(&field).is_none() {
        return Err(PageError::NotFound);
    }
    state.applications.report_wrong_fact(visit.kommune, &who, &draft_id, &field, trimmed).await.map_err(apply_error)?;
    wrong_fact_view(&state, &visit, &citizen, &draft_id, &field, "", None, true).await
}
