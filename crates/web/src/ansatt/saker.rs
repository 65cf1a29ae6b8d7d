//! The caseworker's workbench (`/ansatt/saker`): the employee's own queue and their units'
//! queues with filters, a case page (applicant, answers, documents, history, notes, requests
//! for information, assignment, deadlines, the rules' proposal), and the decision form with a
//! preview of the letter as PDF.
//!
//! Who may: the queues are those of the units where the policy gives `HandleCase` on the unit's
//! cases; an employee with none gets 403. A case is read only through
//! [`cases::Cases::view_as_employee`], which asks the policy and writes the access-log entry; a
//! refusal is the 403 page, and nothing of the case is read. The case's files open through the
//! case (`/ansatt/saker/{id}/dokument/{dokumentobjekt}`), with the same check and log entry.
//! Every change goes through the case engine, which asks the policy again.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use cases::{CaseError, CaseSummary, CaseView, NewDecision, Outcome, QueueFilter, Status};
use identity::employees::{Employee, Employees, Unit};
use identity::policy::{self, Action, Asker, Resource};
use kernel::Language;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::PageError;
use crate::extract::{MultiForm, Staff, Visit, check_csrf};
use crate::minside::post::shown_time;
use crate::view::{self, Base};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ansatt/saker", get(queue))
        .route("/ansatt/saker/{id}", get(case))
        .route("/ansatt/saker/{id}/dokument/{objekt}", get(document))
        .route("/ansatt/saker/{id}/notat", post(add_note))
        .route("/ansatt/saker/{id}/opplysninger", post(request_information))
        .route("/ansatt/saker/{id}/tildel", post(assign))
        .route("/ansatt/saker/{id}/vedtak", get(decision_form).post(decide))
        .route("/ansatt/saker/{id}/vedtak/forhandsvisning", post(preview))
}

/// The units whose cases this employee handles (the policy's `HandleCase`); none is 403.
pub(crate) async fn case_units(state: &AppState, visit: &Visit, staff: &Staff) -> Result<Vec<Unit>, PageError> {
    let units = Employees::new(state.db.clone(), visit.kommune).units().await?;
    let mine: Vec<Unit> = units.into_iter().filter(|u| handles(&staff.employee, &u.code)).collect();
    if mine.is_empty() { Err(PageError::Forbidden) } else { Ok(mine) }
}

fn handles(employee: &Employee, unit: &str) -> bool {
    employee.active
        && policy::decide(
            &Asker::Employee { roles: &employee.roles },
            Action::HandleCase,
            &Resource::UnitCases { unit },
        )
        .allowed()
}

/// A case error as a page: refused is 403, unknown 404, the rest logged as a 500.
pub(crate) fn case_error(error: CaseError) -> PageError {
    match error {
        CaseError::Forbidden(_) => PageError::Forbidden,
        CaseError::NotFound => PageError::NotFound,
        CaseError::Store(store) => store.into(),
        other => PageError::Internal(other.to_string()),
    }
}

/// A message in the page's language.
fn say(state: &AppState, language: Language, key: &str) -> String {
    state.i18n.message(language, key, &[])
}

/// The key of a case status: `saker-status-under-behandling`.
fn status_key(status: Status) -> String {
    format!("saker-status-{}", status.code().replace('_', "-"))
}

/// The key of a history event: `saker-event-opplysninger-etterspurt`.
fn event_key(event: &str) -> String {
    format!("saker-event-{}", event.replace(['_', 'ø', 'å'], "-"))
}

/// The key of a decision's outcome: `saker-outcome-delvis-innvilget`.
fn outcome_key(code: &str) -> String {
    format!("saker-outcome-{}", code.replace('_', "-"))
}

/// Every history event the engine writes.
const EVENTS: [&str; 12] = [
    "mottatt",
    "klage_mottatt",
    "kvittering_sendt",
    "tildelt",
    "notat",
    "opplysninger_etterspurt",
    "opplysninger_mottatt",
    "til_kontroll",
    "vedtak",
    "vedtaksbrev_sendt",
    "foreløpig_svar_påkrevd",
    "avsluttet",
];

/// An ISO date as the page shows it (`2026-12-03` → `03.12.2026`).
fn shown_date(iso: &str) -> String {
    let mut parts = iso.splitn(3, '-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(y), Some(m), Some(d)) => format!("{d}.{m}.{y}"),
        _ => iso.to_owned(),
    }
}

fn date_text(date: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

/// Someone named in the history or as assignee: an employee's name when known, else the id.
fn employee_name(employees: &[Employee], id: &str) -> String {
    employees.iter().find(|e| e.id == id).map_or_else(|| id.to_owned(), |e| e.name.clone())
}

// ----- The queue -----

#[derive(Debug, Default, Deserialize)]
struct QueueQuery {
    enhet: Option<String>,
    status: Option<String>,
    tjeneste: Option<String>,
    forfalt: Option<String>,
}

#[derive(Serialize)]
struct QueueLine {
    id: String,
    mappe_id: String,
    public_title: String,
    service_title: String,
    unit: String,
    status: String,
    assigned_to: Option<String>,
    deadline: String,
    overdue: bool,
    provisional_reply_flagged: bool,
    received: String,
    appeal: bool,
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
struct QueuePage {
    #[serde(flatten)]
    base: Base,
    mine: Vec<QueueLine>,
    unit_cases: Vec<QueueLine>,
    units: Vec<Choice>,
    statuses: Vec<Choice>,
    services: Vec<Choice>,
    overdue_only: bool,
    filtered: bool,
}

fn queue_line(
    state: &AppState,
    language: Language,
    units: &[Unit],
    employees: &[Employee],
    c: CaseSummary,
) -> QueueLine {
    QueueLine {
        status: say(state, language, &status_key(c.status)),
        unit: units.iter().find(|u| u.code == c.unit).map_or_else(|| c.unit.clone(), |u| u.name.clone()),
        assigned_to: c.assigned_to.as_deref().map(|id| employee_name(employees, id)),
        deadline: shown_date(&c.deadline),
        received: shown_time(c.received_at),
        appeal: c.appeal_of.is_some(),
        overdue: c.overdue,
        provisional_reply_flagged: c.provisional_reply_flagged,
        id: c.id,
        mappe_id: c.mappe_id,
        public_title: c.public_title,
        service_title: c.service_title,
    }
}

async fn queue(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Query(query): Query<QueueQuery>,
) -> Result<Response, PageError> {
    let units = case_units(&state, &visit, &staff).await?;
    let language = visit.language;
    let k = visit.kommune;
    let employees = Employees::new(state.db.clone(), k).list().await?;
    // A filter value outside the lists is no filter: the page shows what the employee may see.
    let unit = query.enhet.as_deref().filter(|c| units.iter().any(|u| u.code == *c));
    let status = query.status.as_deref().and_then(Status::from_code);
    let service = query.tjeneste.as_deref().map(str::trim).filter(|s| !s.is_empty() && s.len() <= 100);
    let overdue_only = query.forfalt.is_some();
    let shown_units: Vec<&Unit> = units.iter().filter(|u| unit.is_none_or(|c| c == u.code)).collect();
    let mut mine = Vec::new();
    let mut unit_cases = Vec::new();
    let mut services = BTreeMap::new();
    for u in &units {
        // The services seen in the unit's queue, for the filter.
        let all = state
            .cases
            .queue(k, &QueueFilter { unit: Some(u.code.clone()), limit: 500, ..QueueFilter::default() })
            .await
            .map_err(case_error)?;
        for c in all {
            services.insert(c.service_id.clone(), c.service_title.clone());
        }
    }
    for u in shown_units {
        let filter = QueueFilter {
            unit: Some(u.code.clone()),
            status,
            service: service.map(str::to_owned),
            overdue_only,
            limit: 500,
            ..QueueFilter::default()
        };
        let found = state.cases.queue(k, &filter).await.map_err(case_error)?;
        for c in found {
            if c.assigned_to.as_deref() == Some(staff.employee.id.as_str()) {
                mine.push(queue_line(&state, language, &units, &employees, c.clone()));
            }
            unit_cases.push(queue_line(&state, language, &units, &employees, c));
        }
    }
    let page = QueuePage {
        base: Base::of(&state, &visit, "ansatt"),
        mine,
        unit_cases,
        units: units
            .iter()
            .map(|u| Choice { value: u.code.clone(), label: u.name.clone(), selected: unit == Some(u.code.as_str()) })
            .collect(),
        statuses: Status::ALL
            .iter()
            .map(|s| Choice {
                value: s.code().to_owned(),
                label: say(&state, language, &status_key(*s)),
                selected: status == Some(*s),
            })
            .collect(),
        services: services
            .into_iter()
            .map(|(id, title)| Choice { selected: service == Some(id.as_str()), value: id, label: title })
            .collect(),
        overdue_only,
        filtered: unit.is_some() || status.is_some() || service.is_some() || overdue_only,
    };
    Ok(view::page(&state, "ansatt/saker.html", &page)?.into_response())
}

// ----- The case page -----

/// One broken rule: the field it is about and the message that says it.
type FormError = (&'static str, &'static str);

#[derive(Serialize)]
struct ShownError {
    anchor: &'static str,
    key: &'static str,
}

fn shown_errors(errors: &[FormError]) -> Vec<ShownError> {
    errors.iter().map(|(anchor, key)| ShownError { anchor, key }).collect()
}

fn field_errors(fields: &[&'static str], errors: &[FormError]) -> BTreeMap<&'static str, Vec<&'static str>> {
    let mut map: BTreeMap<&'static str, Vec<&'static str>> = fields.iter().map(|f| (*f, Vec::new())).collect();
    for (field, key) in errors {
        map.entry(field).or_default().push(key);
    }
    map
}

#[derive(Serialize)]
struct PartyView {
    name: String,
    number: String,
    kind: &'static str,
}

#[derive(Serialize)]
struct SectionView {
    heading: String,
    rows: Vec<(String, String)>,
}

#[derive(Serialize)]
struct DocumentView {
    title: String,
    file: Option<String>,
}

#[derive(Serialize)]
struct JournalpostView {
    registrerings_id: String,
    title: String,
    kind: String,
    documents: Vec<DocumentView>,
}

#[derive(Serialize)]
struct HistoryLine {
    at: String,
    event: String,
    status: String,
    actor: String,
}

#[derive(Serialize)]
struct NoteLine {
    author: String,
    text: String,
    at: String,
}

#[derive(Serialize)]
struct RequestLine {
    question: String,
    due: String,
    requested_by: String,
    requested_at: String,
    answer: Option<String>,
    answered_at: Option<String>,
}

#[derive(Serialize)]
struct DecisionLine {
    outcome: String,
    vedtak: String,
    reasons: String,
    legal_basis: String,
    appeal_body: Option<String>,
    decided_by: String,
    automated: bool,
    fired: Vec<cases::FiredRule>,
    letter_sent_on: Option<String>,
    appeal_deadline: Option<String>,
}

#[derive(Serialize)]
struct ProposalView {
    result: String,
    vedtak: String,
    reasons: String,
    fired: Vec<cases::FiredRule>,
}

#[derive(Serialize, Default)]
struct CaseForms {
    note: String,
    question: String,
    due: String,
}

#[derive(Serialize)]
struct CasePage {
    #[serde(flatten)]
    base: Base,
    id: String,
    title: String,
    mappe_id: String,
    service_title: String,
    unit: String,
    status: String,
    done: bool,
    applicant: PartyView,
    subject: Option<PartyView>,
    submitted_by: String,
    received: String,
    deadline: String,
    overdue: bool,
    provisional_reply_due: Option<String>,
    provisional_reply_flagged: bool,
    assigned_to: Option<String>,
    assigned_to_me: bool,
    appeal_of: Option<String>,
    appeal_late: bool,
    sections: Vec<SectionView>,
    journalposts: Vec<JournalpostView>,
    history: Vec<HistoryLine>,
    notes: Vec<NoteLine>,
    requests: Vec<RequestLine>,
    decision: Option<DecisionLine>,
    proposal: Option<ProposalView>,
    colleagues: Vec<Choice>,
    may_decide: bool,
    forms: CaseForms,
    errors: Vec<ShownError>,
    field_errors: BTreeMap<&'static str, Vec<&'static str>>,
    done_message: Option<&'static str>,
}

fn party_view(party: &cases::Party) -> PartyView {
    PartyView { name: party.name().to_owned(), number: party.identifier(), kind: party.kind() }
}

fn actor_text(state: &AppState, language: Language, employees: &[Employee], actor: &str) -> String {
    if let Some(id) = actor.strip_prefix("ansatt:") {
        employee_name(employees, id)
    } else if actor == "person" {
        say(state, language, "saker-actor-person")
    } else {
        say(state, language, "saker-actor-system")
    }
}

/// The journalposts of the case's saksmappe with their documents' titles, each linking to its
/// file through the case (`document`), which whoever may see the case may read.
async fn journalposts(state: &AppState, visit: &Visit, case_id: &str, saksmappe: &str) -> Vec<JournalpostView> {
    let k = visit.kommune;
    let Ok(posts) = state.archive.children(k, saksmappe, &["journalpost"], 0, 200).await else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for post in posts {
        let mut documents = Vec::new();
        for description in
            state.archive.children(k, &post.system_id, &["dokumentbeskrivelse"], 0, 100).await.unwrap_or_default()
        {
            let file = state
                .archive
                .children(k, &description.system_id, &["dokumentobjekt"], 0, 1)
                .await
                .unwrap_or_default()
                .first()
                .map(|o| format!("/ansatt/saker/{case_id}/dokument/{}", o.system_id));
            documents.push(DocumentView { title: description.text("tittel").unwrap_or_default().to_owned(), file });
        }
        out.push(JournalpostView {
            registrerings_id: post.text("registreringsID").unwrap_or_default().to_owned(),
            title: post.text("tittel").unwrap_or_default().to_owned(),
            kind: post.kode("journalposttype").unwrap_or_default().to_owned(),
            documents,
        });
    }
    out
}

fn proposal_view(state: &AppState, language: Language, proposal: &serde_json::Value) -> ProposalView {
    let text = |name: &str| proposal.get(name).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let result = match proposal.get("result").and_then(|v| v.as_str()) {
        Some("innvilget") => say(state, language, "saker-outcome-innvilget"),
        Some("avslag") => say(state, language, "saker-outcome-avslag"),
        _ => say(state, language, "saker-proposal-manual"),
    };
    ProposalView {
        result,
        vedtak: text("vedtak"),
        reasons: text("begrunnelse"),
        fired: proposal.get("fired").and_then(|f| serde_json::from_value(f.clone()).ok()).unwrap_or_default(),
    }
}

async fn case_page(
    state: &AppState,
    visit: &Visit,
    staff: &Staff,
    id: &str,
    forms: CaseForms,
    errors: &[FormError],
    done_message: Option<&'static str>,
) -> Result<Response, PageError> {
    let k = visit.kommune;
    let language = visit.language;
    let view: CaseView = state.cases.view_as_employee(k, &staff.employee, id).await.map_err(case_error)?;
    let CaseView { case, history, notes, information_requests, decision } = view;
    let units = Employees::new(state.db.clone(), k).units().await?;
    let employees = Employees::new(state.db.clone(), k).list().await?;
    let today = kernel::time::today_in_norway();
    let colleagues = employees
        .iter()
        .filter(|e| handles(e, &case.unit))
        .map(|e| Choice {
            value: e.id.clone(),
            label: e.name.clone(),
            selected: case.assigned_to.as_deref() == Some(e.id.as_str()),
        })
        .collect();
    let may_decide = !case.status.is_done()
        && policy::decide(
            &Asker::Employee { roles: &staff.employee.roles },
            Action::DecideCase,
            &Resource::Case { unit: &case.unit, party: case.applicant.as_policy(), area: &case.area },
        )
        .allowed();
    let page = CasePage {
        base: Base::new(state, language, Some(k), &format!("/ansatt/saker/{id}"), "ansatt", Some(&staff.user)),
        id: case.id.clone(),
        title: case.title.clone(),
        mappe_id: case.mappe_id.clone(),
        service_title: case.service_title.clone(),
        unit: units.iter().find(|u| u.code == case.unit).map_or_else(|| case.unit.clone(), |u| u.name.clone()),
        status: say(state, language, &status_key(case.status)),
        done: case.status.is_done(),
        applicant: party_view(&case.applicant),
        subject: case.subject.as_ref().map(party_view),
        submitted_by: case.submitted_by.1.clone(),
        received: shown_time(case.received_at.0),
        deadline: shown_date(&date_text(case.deadline)),
        overdue: case.overdue_on(today),
        provisional_reply_due: case.provisional_reply_due.map(|d| shown_date(&date_text(d))),
        provisional_reply_flagged: case.provisional_reply_flagged,
        assigned_to: case.assigned_to.as_deref().map(|a| employee_name(&employees, a)),
        assigned_to_me: case.assigned_to.as_deref() == Some(staff.employee.id.as_str()),
        appeal_of: case.appeal_of.clone(),
        appeal_late: case.appeal_late,
        sections: case
            .sections
            .iter()
            .map(|s| SectionView { heading: s.heading.clone(), rows: s.rows.clone() })
            .collect(),
        journalposts: journalposts(state, visit, &case.id, &case.saksmappe).await,
        history: history
            .iter()
            .map(|h| HistoryLine {
                at: shown_time(h.at),
                event: if EVENTS.contains(&h.event.as_str()) {
                    say(state, language, &event_key(&h.event))
                } else {
                    h.event.clone()
                },
                status: Status::from_code(&h.status)
                    .map_or_else(|| h.status.clone(), |s| say(state, language, &status_key(s))),
                actor: actor_text(state, language, &employees, &h.actor),
            })
            .collect(),
        notes: notes
            .into_iter()
            .map(|n| NoteLine {
                author: employee_name(&employees, &n.author),
                text: n.text,
                at: shown_time(n.created_at),
            })
            .collect(),
        requests: information_requests
            .into_iter()
            .map(|r| RequestLine {
                due: shown_date(&r.due),
                requested_by: employee_name(&employees, &r.requested_by),
                requested_at: shown_time(r.requested_at),
                answered_at: r.answered_at.map(shown_time),
                question: r.question,
                answer: r.answer,
            })
            .collect(),
        decision: decision.map(|d| DecisionLine {
            outcome: say(state, language, &outcome_key(&d.outcome)),
            fired: d.fired(),
            decided_by: actor_text(state, language, &employees, &d.decided_by),
            letter_sent_on: d.letter_sent_on.as_deref().map(shown_date),
            appeal_deadline: d.appeal_deadline.as_deref().map(shown_date),
            vedtak: d.vedtak,
            reasons: d.reasons,
            legal_basis: d.legal_basis,
            appeal_body: d.appeal_body,
            automated: d.automated,
        }),
        proposal: case
            .automated_proposal
            .as_ref()
            .filter(|_| case.status == Status::TilKontroll)
            .map(|p| proposal_view(state, language, p)),
        colleagues,
        may_decide,
        forms,
        errors: shown_errors(errors),
        field_errors: field_errors(&["note", "question", "due", "assignee"], errors),
        done_message,
    };
    view::form_page(state, "ansatt/saker_sak.html", &page, !errors.is_empty())
}

#[derive(Deserialize)]
struct CaseQuery {
    ok: Option<String>,
}

async fn case(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Path(id): Path<String>,
    Query(query): Query<CaseQuery>,
) -> Result<Response, PageError> {
    let done = match query.ok.as_deref() {
        Some("notat") => Some("saker-done-note"),
        Some("opplysninger") => Some("saker-done-request"),
        Some("tildelt") => Some("saker-done-assigned"),
        Some("vedtak") => Some("saker-done-decided"),
        _ => None,
    };
    case_page(&state, &visit, &staff, &id, CaseForms::default(), &[], done).await
}

/// A file of the case's own journalposts (the submission, attachments, answers, letters), for
/// whoever may see the case: the same policy check and access-log entry as the case page. A
/// dokumentobjekt of another saksmappe is not found.
async fn document(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Path((id, objekt)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let k = visit.kommune;
    let view: CaseView = state.cases.view_as_employee(k, &staff.employee, &id).await.map_err(case_error)?;
    let object = state.archive.get(k, &objekt).await.map_err(|_| PageError::NotFound)?;
    if !object.entity.is_a("dokumentobjekt") {
        return Err(PageError::NotFound);
    }
    // dokumentobjekt → dokumentbeskrivelse → journalpost → the case's saksmappe.
    let mut parent = object.parent_id.clone();
    for expected in ["dokumentbeskrivelse", "journalpost"] {
        let Some(id) = parent else { return Err(PageError::NotFound) };
        let above = state.archive.get(k, &id).await.map_err(|_| PageError::NotFound)?;
        if !above.entity.is_a(expected) {
            return Err(PageError::NotFound);
        }
        parent = above.parent_id;
    }
    if parent.as_deref() != Some(view.case.saksmappe.as_str()) {
        return Err(PageError::NotFound);
    }
    crate::ansatt::arkiv::file_response(&state, k, &object).await
}

#[derive(Debug, Default, Deserialize)]
struct NoteForm {
    csrf: Option<String>,
    note: Option<String>,
}

/// The longest note, question or decision text the forms take (the engine's limits).
const MAX_NOTE: usize = 10_000;
const MAX_QUESTION: usize = 5_000;
const MAX_TEXT: usize = 20_000;

/// A text that must hold something, within `max` characters.
fn text_field(
    value: Option<&str>,
    field: &'static str,
    max: usize,
    missing: &'static str,
    long: &'static str,
) -> Result<String, FormError> {
    let text = value.unwrap_or_default().replace("\r\n", "\n");
    let text = text.trim();
    if text.is_empty() {
        return Err((field, missing));
    }
    if text.chars().count() > max {
        return Err((field, long));
    }
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t')) {
        return Err((field, "saker-error-characters"));
    }
    Ok(text.to_owned())
}

async fn add_note(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Path(id): Path<String>,
    MultiForm(form): MultiForm<NoteForm>,
) -> Result<Response, PageError> {
    check_csrf(&staff.user, form.csrf.as_deref())?;
    let forms = CaseForms { note: form.note.clone().unwrap_or_default(), ..CaseForms::default() };
    let text =
        match text_field(form.note.as_deref(), "note", MAX_NOTE, "saker-error-note-missing", "saker-error-note-long") {
            Ok(text) => text,
            Err(error) => return case_page(&state, &visit, &staff, &id, forms, &[error], None).await,
        };
    match state.cases.add_note(visit.kommune, &staff.employee, &id, &text).await {
        Ok(_) => Ok(Redirect::to(&format!("/ansatt/saker/{id}?ok=notat#notater")).into_response()),
        Err(CaseError::Invalid(_)) => {
            case_page(&state, &visit, &staff, &id, forms, &[("note", "saker-error-note-missing")], None).await
        }
        Err(other) => Err(case_error(other)),
    }
}

#[derive(Debug, Default, Deserialize)]
struct RequestForm {
    csrf: Option<String>,
    question: Option<String>,
    due: Option<String>,
}

fn due_field(value: Option<&str>) -> Result<time::Date, FormError> {
    let text = value.unwrap_or_default().trim();
    if text.is_empty() {
        return Err(("due", "saker-error-due-missing"));
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format).map_err(|_| ("due", "saker-error-due-format"))?;
    if date < kernel::time::today_in_norway() {
        return Err(("due", "saker-error-due-past"));
    }
    Ok(date)
}

async fn request_information(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Path(id): Path<String>,
    MultiForm(form): MultiForm<RequestForm>,
) -> Result<Response, PageError> {
    check_csrf(&staff.user, form.csrf.as_deref())?;
    let forms = CaseForms {
        question: form.question.clone().unwrap_or_default(),
        due: form.due.clone().unwrap_or_default(),
        ..CaseForms::default()
    };
    let question = text_field(
        form.question.as_deref(),
        "question",
        MAX_QUESTION,
        "saker-error-question-missing",
        "saker-error-question-long",
    );
    let due = due_field(form.due.as_deref());
    let (question, due) = match (question, due) {
        (Ok(question), Ok(due)) => (question, due),
        (question, due) => {
            let errors: Vec<FormError> = [question.err(), due.err()].into_iter().flatten().collect();
            return case_page(&state, &visit, &staff, &id, forms, &errors, None).await;
        }
    };
    match state.cases.request_information(visit.kommune, &staff.employee, &id, &question, due).await {
        Ok(_) => Ok(Redirect::to(&format!("/ansatt/saker/{id}?ok=opplysninger#opplysninger")).into_response()),
        Err(CaseError::Invalid(_)) => {
            case_page(&state, &visit, &staff, &id, forms, &[("question", "saker-error-question-missing")], None).await
        }
        Err(CaseError::Conflict(_)) => {
            case_page(&state, &visit, &staff, &id, forms, &[("question", "saker-error-case-done")], None).await
        }
        Err(other) => Err(case_error(other)),
    }
}

#[derive(Debug, Default, Deserialize)]
struct AssignForm {
    csrf: Option<String>,
    assignee: Option<String>,
}

async fn assign(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Path(id): Path<String>,
    MultiForm(form): MultiForm<AssignForm>,
) -> Result<Response, PageError> {
    check_csrf(&staff.user, form.csrf.as_deref())?;
    let k = visit.kommune;
    // Only a colleague of the case's unit; "meg" is the employee themself. Only the case's unit
    // is read before the policy has answered (the engine asks it again when it assigns).
    let wanted = form.assignee.as_deref().map(str::trim).unwrap_or_default();
    let to = if wanted == "meg" { staff.employee.id.clone() } else { wanted.to_owned() };
    let unit = state.cases.unit_of(k, &id).await.map_err(case_error)?.ok_or(PageError::NotFound)?;
    if !handles(&staff.employee, &unit) {
        return Err(PageError::Forbidden);
    }
    let colleague = Employees::new(state.db.clone(), k).get(&to).await?.filter(|e| handles(e, &unit));
    if colleague.is_none() {
        return case_page(
            &state,
            &visit,
            &staff,
            &id,
            CaseForms::default(),
            &[("assignee", "saker-error-assignee")],
            None,
        )
        .await;
    }
    match state.cases.assign(k, &staff.employee, &id, &to).await {
        Ok(()) => Ok(Redirect::to(&format!("/ansatt/saker/{id}?ok=tildelt")).into_response()),
        Err(CaseError::Conflict(_)) => {
            case_page(&state, &visit, &staff, &id, CaseForms::default(), &[("assignee", "saker-error-case-done")], None)
                .await
        }
        Err(other) => Err(case_error(other)),
    }
}

// ----- The decision -----

#[derive(Debug, Default, Deserialize)]
struct DecisionForm {
    csrf: Option<String>,
    outcome: Option<String>,
    vedtak: Option<String>,
    reasons: Option<String>,
    legal_basis: Option<String>,
    appeal_body: Option<String>,
}

/// The decision form's fields, in the order the page shows them.
const DECISION_FIELDS: [&str; 5] = ["outcome", "vedtak", "reasons", "legal_basis", "appeal_body"];

/// A single line of at most `max` characters.
fn line_field(value: Option<&str>, field: &'static str, max: usize) -> Result<Option<String>, FormError> {
    let text = value.unwrap_or_default().trim();
    if text.chars().count() > max {
        return Err((field, "saker-error-line-long"));
    }
    if text.chars().any(char::is_control) {
        return Err((field, "saker-error-characters"));
    }
    Ok(Some(text.to_owned()).filter(|t| !t.is_empty()))
}

fn read_decision(form: &DecisionForm) -> Result<NewDecision, Vec<FormError>> {
    let mut errors = Vec::new();
    let outcome = match form.outcome.as_deref().and_then(Outcome::from_code) {
        Some(outcome) => Some(outcome),
        None => {
            errors.push(("outcome", "saker-error-outcome"));
            None
        }
    };
    let vedtak =
        text_field(form.vedtak.as_deref(), "vedtak", MAX_TEXT, "saker-error-vedtak-missing", "saker-error-text-long")
            .map_err(|e| errors.push(e))
            .ok();
    let reasons = text_field(
        form.reasons.as_deref(),
        "reasons",
        MAX_TEXT,
        "saker-error-reasons-missing",
        "saker-error-text-long",
    )
    .map_err(|e| errors.push(e))
    .ok();
    let legal_basis = match line_field(form.legal_basis.as_deref(), "legal_basis", 300) {
        Ok(Some(basis)) => Some(basis),
        Ok(None) => {
            errors.push(("legal_basis", "saker-error-legal-basis-missing"));
            None
        }
        Err(error) => {
            errors.push(error);
            None
        }
    };
    let appeal_body = line_field(form.appeal_body.as_deref(), "appeal_body", 200).map_err(|e| errors.push(e)).ok();
    match (outcome, vedtak, reasons, legal_basis, appeal_body) {
        (Some(outcome), Some(vedtak), Some(reasons), Some(legal_basis), Some(appeal_body)) => {
            Ok(NewDecision { outcome, vedtak, reasons, legal_basis, appeal_body })
        }
        _ => Err(errors),
    }
}

#[derive(Serialize)]
struct DecisionValues {
    outcome: String,
    vedtak: String,
    reasons: String,
    legal_basis: String,
    appeal_body: String,
}

#[derive(Serialize)]
struct DecisionPage {
    #[serde(flatten)]
    base: Base,
    id: String,
    title: String,
    mappe_id: String,
    service_title: String,
    applicant: String,
    outcomes: Vec<Choice>,
    form: DecisionValues,
    errors: Vec<ShownError>,
    field_errors: BTreeMap<&'static str, Vec<&'static str>>,
}

async fn decision_page(
    state: &AppState,
    visit: &Visit,
    staff: &Staff,
    id: &str,
    form: Option<&DecisionForm>,
    errors: &[FormError],
) -> Result<Response, PageError> {
    let k = visit.kommune;
    let language = visit.language;
    let view = state.cases.view_as_employee(k, &staff.employee, id).await.map_err(case_error)?;
    let case = view.case;
    if case.status.is_done() {
        return Ok(Redirect::to(&format!("/ansatt/saker/{id}")).into_response());
    }
    // The rules' proposal fills in a case til kontroll; the case's legal basis and appeal body
    // are filled in always.
    let proposal = case.automated_proposal.as_ref().filter(|_| case.status == Status::TilKontroll);
    let proposed =
        |name: &str| proposal.and_then(|p| p.get(name)).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let values = match form {
        Some(form) => DecisionValues {
            outcome: form.outcome.clone().unwrap_or_default(),
            vedtak: form.vedtak.clone().unwrap_or_default(),
            reasons: form.reasons.clone().unwrap_or_default(),
            legal_basis: form.legal_basis.clone().unwrap_or_default(),
            appeal_body: form.appeal_body.clone().unwrap_or_default(),
        },
        None => DecisionValues {
            outcome: proposed("result"),
            vedtak: proposed("vedtak"),
            reasons: proposed("begrunnelse"),
            legal_basis: case.legal_basis.clone(),
            appeal_body: case.appeal_body.clone().unwrap_or_default(),
        },
    };
    let outcomes = [Outcome::Grant, Outcome::PartialGrant, Outcome::Reject]
        .iter()
        .map(|o| Choice {
            value: o.code().to_owned(),
            label: say(state, language, &outcome_key(o.code())),
            selected: values.outcome == o.code(),
        })
        .collect();
    let page = DecisionPage {
        base: Base::new(state, language, Some(k), &format!("/ansatt/saker/{id}/vedtak"), "ansatt", Some(&staff.user)),
        id: case.id.clone(),
        title: case.title.clone(),
        mappe_id: case.mappe_id.clone(),
        service_title: case.service_title.clone(),
        applicant: case.applicant.name().to_owned(),
        outcomes,
        form: values,
        errors: errors
            .iter()
            .map(|(f, key)| ShownError { anchor: if *f == "outcome" { "outcome-innvilget" } else { f }, key })
            .collect(),
        field_errors: field_errors(&DECISION_FIELDS, errors),
    };
    view::form_page(state, "ansatt/saker_vedtak.html", &page, !errors.is_empty())
}

async fn decision_form(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    decision_page(&state, &visit, &staff, &id, None, &[]).await
}

async fn decide(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Path(id): Path<String>,
    MultiForm(form): MultiForm<DecisionForm>,
) -> Result<Response, PageError> {
    check_csrf(&staff.user, form.csrf.as_deref())?;
    let decision = match read_decision(&form) {
        Ok(decision) => decision,
        Err(errors) => return decision_page(&state, &visit, &staff, &id, Some(&form), &errors).await,
    };
    match state.cases.decide(visit.kommune, &staff.employee, &id, decision).await {
        Ok(_) => Ok(Redirect::to(&format!("/ansatt/saker/{id}?ok=vedtak")).into_response()),
        Err(CaseError::Invalid(reason)) => {
            // The form checks what the engine checks; should they differ, nothing is stored and
            // the employee is told.
            tracing::warn!(case.id = %id, %reason, "the case engine refused a decision the form accepted");
            decision_page(&state, &visit, &staff, &id, Some(&form), &[("vedtak", "saker-error-refused")]).await
        }
        Err(CaseError::Conflict(_)) => Ok(Redirect::to(&format!("/ansatt/saker/{id}")).into_response()),
        Err(other) => Err(case_error(other)),
    }
}

/// The decision letter as it would be sent, rendered from the form as PDF (not stored, not
/// sent): the same `vedtak` template and fields as the letter job uses. The recipient block
/// carries the applicant's name only; the address is looked up when the letter is sent.
async fn preview(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Path(id): Path<String>,
    MultiForm(form): MultiForm<DecisionForm>,
) -> Result<Response, PageError> {
    check_csrf(&staff.user, form.csrf.as_deref())?;
    let decision = match read_decision(&form) {
        Ok(decision) => decision,
        Err(errors) => return decision_page(&state, &visit, &staff, &id, Some(&form), &errors).await,
    };
    let k = visit.kommune;
    let case = state.cases.view_as_employee(k, &staff.employee, &id).await.map_err(case_error)?.case;
    let mut fields = BTreeMap::new();
    fields.insert("tjeneste".to_owned(), case.service_title.clone());
    fields.insert("vedtak".to_owned(), decision.vedtak);
    fields.insert("begrunnelse".to_owned(), decision.reasons);
    fields.insert("hjemmel".to_owned(), decision.legal_basis);
    if let Some(body) = decision.appeal_body.or(case.appeal_body.clone()) {
        fields.insert("klageinstans".to_owned(), body);
    }
    let title = match case.language {
        Language::English => format!("Decision: {}", case.service_title),
        _ => format!("Vedtak: {}", case.service_title),
    };
    let units = Employees::new(state.db.clone(), k).units().await?;
    let renderer = state.post.renderer().map_err(|e| PageError::Internal(e.to_string()))?;
    let pdf = renderer
        .render_letter(&render::Letter {
            kind: render::LetterKind::Vedtak,
            language: case.language,
            municipality: render::Municipality { name: format!("{} kommune", k.navn()), coat_of_arms_svg: None },
            sender_unit: units
                .iter()
                .find(|u| u.code == case.unit)
                .map_or_else(|| case.unit.clone(), |u| u.name.clone()),
            recipient: render::RecipientBlock { name: case.applicant.name().to_owned(), address_lines: None },
            date: kernel::time::today_in_norway(),
            case_ref: Some(render::CaseReference { mappe_id: case.mappe_id.clone(), journalpostnummer: None }),
            title,
            fields,
            paragraphs: Vec::new(),
        })
        .map_err(|e| PageError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf"),
            (header::CONTENT_DISPOSITION, "inline; filename=\"forhandsvisning-vedtak.pdf\""),
            (header::CACHE_CONTROL, "no-store"),
        ],
        pdf.bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_event_and_outcome_has_words_in_every_language() {
        let i18n = crate::view::i18n::I18n::load().expect("translations");
        let keys = Status::ALL
            .iter()
            .map(|s| status_key(*s))
            .chain(EVENTS.iter().map(|e| event_key(e)))
            .chain(["innvilget", "delvis_innvilget", "avslag"].map(outcome_key))
            .chain(["saker-actor-person", "saker-actor-system", "saker-proposal-manual"].map(str::to_owned))
            .chain(
                ["saker-done-note", "saker-done-request", "saker-done-assigned", "saker-done-decided"]
                    .map(str::to_owned),
            );
        for key in keys {
            for language in Language::ALL {
                assert!(i18n.has_message(language, &key), "{key} in {language:?}");
            }
        }
    }

    #[test]
    fn a_decision_needs_every_field_and_a_known_outcome() {
        let errors = read_decision(&DecisionForm::default()).expect_err("refused");
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, vec!["outcome", "vedtak", "reasons", "legal_basis"]);
        let form = DecisionForm {
            outcome: Some("innvilget".into()),
            vedtak: Some(" Du får plass. ".into()),
            reasons: Some("Fordi.".into()),
            legal_basis: Some("barnehageloven § 16".into()),
            appeal_body: Some(String::new()),
            csrf: None,
        };
        let decision = read_decision(&form).expect("a good form");
        assert_eq!(decision.vedtak, "Du får plass.");
        assert_eq!(decision.appeal_body, None);
        let tampered = DecisionForm { outcome: Some("kanskje".into()), ..form };
        assert_eq!(read_decision(&tampered).expect_err("refused"), vec![("outcome", "saker-error-outcome")]);
    }

    #[test]
    fn a_due_date_is_a_date_not_in_the_past() {
        assert_eq!(due_field(None).err(), Some(("due", "saker-error-due-missing")));
        assert_eq!(due_field(Some("31.12.2030")).err(), Some(("due", "saker-error-due-format")));
        assert_eq!(due_field(Some("2001-01-01")).err(), Some(("due", "saker-error-due-past")));
        assert!(due_field(Some("2099-01-01")).is_ok());
    }
}
