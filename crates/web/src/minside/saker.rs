//! Applications on Min side (`/min-side/saker`): unsent drafts (continue, delete) and the cases
//! of whom the session acts for (and, acting as oneself, of one's children), a case page with
//! its status and history as the applicant may see them (no internal notes, no employee), the
//! decision with its explanation, and an appeal (klage) within the deadline.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use cases::{Case, Party};
use identity::callers::ResidentPurpose;
use identity::policy::{self, Action, Asker, Resource};
use identity::{ActingAs, acting};
use kernel::Fnr;
use serde::Serialize;

use crate::AppState;
use crate::error::PageError;
use crate::extract::{Citizen, CsrfForm, Visit, check_csrf};
use crate::login::resident_caller;
use crate::minside::post::shown_time;
use crate::tjenester::flow::{DecisionView, apply_error, case_error, decision_view};
use crate::view::{self, Base};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/min-side/saker", get(list))
        .route("/min-side/saker/utkast/{id}/slett", post(delete_draft))
        .route("/min-side/saker/{id}", get(case_page))
        .route("/min-side/saker/{id}/klage", post(appeal))
        .route("/min-side/saker/{id}/opplysninger/{request}", post(answer_information))
}

/// Whose cases the person sees.
struct Seen {
    me: Fnr,
    /// The parties whose cases are shown.
    parties: Vec<Party>,
    /// Acting through a fullmakt: the session's choice and the fullmakt's areas, which the
    /// policy checks each case against.
    fullmakt: Option<(ActingAs, Vec<String>)>,
}

impl Seen {
    fn shows(&self, party: &Party, unit: &str, area: &str) -> bool {
        let listed = self.parties.iter().any(|p| p.kind() == party.kind() && p.identifier() == party.identifier());
        match &self.fullmakt {
            None => listed,
            Some((acting_as, areas)) => {
                listed
                    && policy::decide(
                        &Asker::Person { me: &self.me, acting_as, fullmakt_areas: areas },
                        Action::Read,
                        &Resource::Case { unit, party: party.as_policy(), area },
                    )
                    .allowed()
            }
        }
    }
}

/// Whose cases the person sees: whom the session acts for (backed by the registers and the
/// fullmakter today), and acting as oneself also one's children; acting through a fullmakt, the
/// giver's cases in the fullmakt's areas only.
async fn seen(state: &AppState, citizen: &Citizen) -> Result<Seen, PageError> {
    let me = citizen.me;
    let claimed = &citizen.user.session.acting_as;
    let caller = resident_caller(&me, claimed, ResidentPurpose::ShowWhomYouCanActFor)?;
    let today = kernel::time::today_in_norway();
    let backed = acting::backed_by_relations(
        &state.identity.registers,
        &state.identity.fullmakter,
        &caller,
        &me,
        claimed,
        today,
    )
    .await?;
    let acting_name = citizen.user.session.acting_name.clone().unwrap_or_default();
    let name = citizen.user.session.display_name.clone();
    let everything = |parties| Seen { me, parties, fullmakt: None };
    Ok(match &backed {
        ActingAs::Myself => {
            let mut parties = vec![Party::Person { fnr: me, name: name.clone() }];
            let options =
                acting::options(&state.identity.registers, &state.identity.fullmakter, &caller, &me, &name, today)
                    .await?;
            parties.extend(options.into_iter().filter_map(|o| match o.acting_as {
                ActingAs::Child(fnr) => Some(Party::Person { fnr, name: o.name }),
                _ => None,
            }));
            everything(parties)
        }
        ActingAs::Child(fnr) | ActingAs::Ward(fnr) => everything(vec![Party::Person { fnr: *fnr, name: acting_name }]),
        ActingAs::Organisation(orgnr, _) => everything(vec![Party::Organisation { orgnr: *orgnr, name: acting_name }]),
        // The giver's cases in the areas the fullmakt covers (checked active above).
        ActingAs::Fullmakt { id, giver } => match state.identity.fullmakter.get(id).await? {
            Some(fullmakt) => Seen {
                me,
                parties: vec![Party::Person { fnr: *giver, name: acting_name }],
                fullmakt: Some((backed.clone(), fullmakt.areas)),
            },
            None => everything(Vec::new()),
        },
    })
}

#[derive(Serialize)]
struct DraftLine {
    id: String,
    service: String,
    updated: String,
}

#[derive(Serialize)]
struct CaseLine {
    id: String,
    mappe_id: String,
    service: String,
    status: &'static str,
    status_code: &'static str,
    received: String,
    appeal: bool,
}

#[derive(Serialize)]
struct ListPage {
    #[serde(flatten)]
    base: Base,
    drafts: Vec<DraftLine>,
    cases: Vec<CaseLine>,
}

async fn list(State(state): State<AppState>, visit: Visit, citizen: Citizen) -> Result<Response, PageError> {
    let language = visit.language;
    let catalog = state.applications.catalog();
    let drafts = state
        .applications
        .drafts_of(visit.kommune, &citizen.me)
        .await
        .map_err(apply_error)?
        .into_iter()
        .map(|d| DraftLine {
            service: catalog.get(&d.service).map_or_else(|| d.service.clone(), |s| s.name.get(language).to_owned()),
            updated: shown_time(d.updated_at.millis()),
            id: d.id,
        })
        .collect();
    let mut cases = Vec::new();
    let seen = seen(&state, &citizen).await?;
    for party in &seen.parties {
        for case in state.cases.for_party(visit.kommune, party).await.map_err(case_error)? {
            if !seen.shows(party, &case.unit, &case.area) {
                continue;
            }
            cases.push(CaseLine {
                service: catalog
                    .get(&case.service_id)
                    .map_or_else(|| case.service_title.clone(), |s| s.name.get(language).to_owned()),
                status: case.status.label(language),
                status_code: case.status.code(),
                received: shown_time(case.received_at),
                appeal: case.appeal_of.is_some(),
                mappe_id: case.mappe_id,
                id: case.id,
            });
        }
    }
    cases.sort_by(|a, b| b.id.cmp(&a.id));
    cases.dedup_by(|a, b| a.id == b.id);
    let page = ListPage { base: Base::of(&state, &visit, "min-side"), drafts, cases };
    Ok(view::page(&state, "minside/saker.html", &page)?.into_response())
}

async fn delete_draft(
    State(state): State<AppState>,
    visit: Visit,
    citizen: Citizen,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Result<Response, PageError> {
    check_csrf(&citizen.user, form.csrf.as_deref())?;
    state.applications.delete_draft(visit.kommune, &citizen.me, &id).await.map_err(apply_error)?;
    Ok(Redirect::to("/min-side/saker").into_response())
}

/// The case `id` if the person may see it now: it is of a party they act for, as the list shows
/// it. Having sent it is not enough: a revoked fullmakt or a role given up ends the right to
/// read the case, answer for it or appeal it.
async fn own_case(state: &AppState, visit: &Visit, citizen: &Citizen, id: &str) -> Result<Case, PageError> {
    let case = state.cases.case(visit.kommune, id).await.map_err(case_error)?.ok_or(PageError::NotFound)?;
    if seen(state, citizen).await?.shows(&case.applicant, &case.unit, &case.area) {
        Ok(case)
    } else {
        Err(PageError::NotFound)
    }
}

#[derive(Serialize)]
struct HistoryLine {
    event: String,
    status: &'static str,
    at: String,
}

#[derive(Serialize)]
struct CasePage {
    #[serde(flatten)]
    base: Base,
    id: String,
    mappe_id: String,
    service: String,
    status: &'static str,
    status_code: &'static str,
    received: String,
    deadline: String,
    history: Vec<HistoryLine>,
    decision: Option<DecisionView>,
    may_appeal: bool,
    appeal_key: String,
    appeal_text: String,
    error: Option<String>,
    appeal_of: Option<String>,
    /// Requests for information not yet answered.
    open_requests: Vec<OpenRequest>,
    answer_text: String,
    answer_error: Option<String>,
}

/// The translation key of what is wrong with a text the applicant wrote, if anything: empty, or
/// longer than `max` characters.
fn text_problem(text: &str, max: usize, empty: &'static str, too_long: &'static str) -> Option<&'static str> {
    if text.trim().is_empty() {
        Some(empty)
    } else if text.chars().count() > max {
        Some(too_long)
    } else {
        None
    }
}

/// The events of a case's history an applicant is shown, with their translation keys; internal
/// notes and assignments are the municipality's own.
fn event_key(event: &str) -> Option<&'static str> {
    Some(match event {
        "mottatt" => "tjenester-event-mottatt",
        "klage_mottatt" => "tjenester-event-klage_mottatt",
        "opplysninger_etterspurt" => "tjenester-event-opplysninger_etterspurt",
        "opplysninger_mottatt" => "tjenester-event-opplysninger_mottatt",
        "kvittering_sendt" => "tjenester-event-kvittering_sendt",
        "vedtak" | "vedtak_fattet" => "tjenester-event-vedtak",
        "vedtaksbrev_sendt" => "tjenester-event-vedtaksbrev_sendt",
        "avsluttet" => "tjenester-event-avsluttet",
        _ => return None,
    })
}

/// A caseworker's question the applicant has not answered yet.
#[derive(serde::Serialize)]
struct OpenRequest {
    id: String,
    question: String,
    due: String,
}

/// What a case page shows again after a refused form.
#[derive(Default)]
struct Refused<'a> {
    appeal_text: &'a str,
    appeal_error: Option<String>,
    answer_text: &'a str,
    answer_error: Option<String>,
}

async fn case_view(
    state: &AppState,
    visit: &Visit,
    citizen: &Citizen,
    id: &str,
    refused: Refused<'_>,
) -> Result<Response, PageError> {
    let language = visit.language;
    let case = own_case(state, visit, citizen, id).await?;
    let entries = state.cases.history(visit.kommune, &case.id).await.map_err(case_error)?;
    let open_requests = if case.status == cases::Status::VenterPaaDeg {
        let asked = state.cases.open_information_requests(visit.kommune, &case.id).await.map_err(case_error)?;
        asked
            .into_iter()
            .map(|request| OpenRequest {
                due: services::value::parse_iso(&request.due)
                    .map_or_else(|| request.due.clone(), services::value::norwegian_date),
                id: request.id,
                question: request.question,
            })
            .collect()
    } else {
        vec![]
    };
    let history = entries
        .into_iter()
        .filter_map(|entry| {
            let key = event_key(&entry.event)?;
            Some(HistoryLine {
                event: state.i18n.message(language, key, &[]),
                status: cases::Status::from_code(&entry.status).map_or("", |s| s.label(language)),
                at: shown_time(entry.at),
            })
        })
        .collect();
    let decision = state.cases.decision(visit.kommune, &case.id).await.map_err(case_error)?;
    let today = services::value::iso(kernel::time::today_in_norway());
    let may_appeal = case.appeal_of.is_none()
        && decision
            .as_ref()
            .and_then(|d| d.appeal_deadline.as_deref())
            .is_some_and(|deadline| today.as_str() <= deadline);
    let has_errors = refused.appeal_error.is_some() || refused.answer_error.is_some();
    let page = CasePage {
        base: Base::of(state, visit, "min-side"),
        id: case.id.clone(),
        mappe_id: case.mappe_id.clone(),
        service: state
            .applications
            .catalog()
            .get(&case.service_id)
            .map_or_else(|| case.service_title.clone(), |s| s.name.get(language).to_owned()),
        status: case.status.label(language),
        status_code: case.status.code(),
        received: shown_time(case.received_at.millis()),
        deadline: services::value::norwegian_date(case.deadline),
        history,
        decision: decision.as_ref().map(|d| decision_view(state, language, d)),
        may_appeal,
        appeal_key: format!("klage:{}", case.id),
        appeal_text: refused.appeal_text.to_owned(),
        error: refused.appeal_error,
        appeal_of: case.appeal_of.clone(),
        open_requests,
        answer_text: refused.answer_text.to_owned(),
        answer_error: refused.answer_error,
    };
    view::form_page(state, "minside/sak.html", &page, has_errors)
}

async fn case_page(
    State(state): State<AppState>,
    visit: Visit,
    citizen: Citizen,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    case_view(&state, &visit, &citizen, &id, Refused::default()).await
}

#[derive(serde::Deserialize)]
struct AppealForm {
    csrf: Option<String>,
    idempotency_key: Option<String>,
    text: Option<String>,
}

/// The most an appeal's text may hold here.
const APPEAL_MAX: usize = 10_000;

async fn appeal(
    State(state): State<AppState>,
    visit: Visit,
    citizen: Citizen,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<AppealForm>,
) -> Result<Response, PageError> {
    check_csrf(&citizen.user, form.csrf.as_deref())?;
    let text = form.text.unwrap_or_default();
    if let Some(key) = text_problem(&text, APPEAL_MAX, "tjenester-appeal-required", "tjenester-appeal-too-long") {
        let message = state.i18n.message(visit.language, key, &[("max", APPEAL_MAX.to_string())]);
        let refused = Refused { appeal_text: &text, appeal_error: Some(message), ..Refused::default() };
        return case_view(&state, &visit, &citizen, &id, refused).await;
    }
    let case = own_case(&state, &visit, &citizen, &id).await?;
    let key = form.idempotency_key.unwrap_or_default();
    if key != format!("klage:{}", case.id) {
        return Err(PageError::BadRequest);
    }
    let submitted = state
        .cases
        .appeal(
            visit.kommune,
            &case.id,
            cases::NewAppeal {
                idempotency_key: key,
                party: case.applicant.clone(),
                submitted_by: (citizen.me, citizen.user.session.display_name.clone()),
                text: text.trim().to_owned(),
                attachments: vec![],
            },
        )
        .await
        .map_err(case_error)?;
    Ok(Redirect::to(&format!("/min-side/saker/{}", submitted.case_id)).into_response())
}

#[derive(serde::Deserialize)]
struct AnswerForm {
    csrf: Option<String>,
    svar: Option<String>,
}

/// The most an answer's text may hold here (as `cases` allows).
const ANSWER_MAX: usize = 10_000;

async fn answer_information(
    State(state): State<AppState>,
    visit: Visit,
    citizen: Citizen,
    Path((id, request)): Path<(String, String)>,
    axum::Form(form): axum::Form<AnswerForm>,
) -> Result<Response, PageError> {
    check_csrf(&citizen.user, form.csrf.as_deref())?;
    let text = form.svar.unwrap_or_default();
    if let Some(key) = text_problem(&text, ANSWER_MAX, "minesaker-answer-required", "minesaker-answer-too-long") {
        let message = state.i18n.message(visit.language, key, &[("max", ANSWER_MAX.to_string())]);
        let refused = Refused { answer_text: &text, answer_error: Some(message), ..Refused::default() };
        return case_view(&state, &visit, &citizen, &id, refused).await;
    }
    let case = own_case(&state, &visit, &citizen, &id).await?;
    let open = state.cases.open_information_requests(visit.kommune, &case.id).await.map_err(case_error)?;
    if !open.iter().any(|asked| asked.id == request) {
        return Err(PageError::NotFound);
    }
    state
        .cases
        .answer_information(visit.kommune, &case.applicant, &case.id, &request, text.trim(), vec![])
        .await
        .map_err(case_error)?;
    Ok(Redirect::to(&format!("/min-side/saker/{}", case.id)).into_response())
}
