//! Min side: the resident's own page — who they are logged in as and acting for, notices, the
//! access log about them — with the choice of whom to act for and their fullmakter.

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use identity::callers::ResidentPurpose;
use identity::fullmakt::{self, FullmaktRule, NewFullmakt};
use identity::policy::{self, Action, Asker, Party, Resource};
use identity::{ActingAs, acting, actions};
use kernel::{Fnr, Language};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::PageError;
use crate::extract::{Citizen, CsrfForm, MultiForm, Visit, check_csrf};
use crate::login::resident_caller;
use crate::view::{self, Base};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/min-side", get(min_side))
        .route("/min-side/representere", get(choose_page).post(choose))
        .route("/min-side/fullmakt", get(fullmakt_page).post(grant))
        .route("/min-side/fullmakt/{id}/trekk", post(revoke))
}

fn area_name(code: &str, language: Language) -> String {
    fullmakt::SERVICE_AREAS
        .iter()
        .find(|(c, ..)| *c == code)
        .map(|(_, nb, nn, en)| match language {
            Language::Bokmal => *nb,
            Language::Nynorsk => *nn,
            Language::English => *en,
        })
        .unwrap_or(code)
        .to_owned()
}

/// The access-log actions a resident is shown in words; any other shows its code.
pub(crate) const EXPLAINED_ACTIONS: [&str; 14] = [
    registers::select::actions::PERSON,
    registers::select::actions::CONTACT,
    registers::select::actions::ORGANISATION,
    registers::select::actions::PROPERTY,
    registers::select::actions::ROLES,
    registers::select::actions::WARDS,
    actions::LOGIN,
    actions::LOGIN_REFUSED,
    actions::LOGOUT,
    actions::ACTING_AS,
    actions::FULLMAKT_GRANTED,
    actions::FULLMAKT_REVOKED,
    actions::TOKEN_ISSUED,
    actions::TOKEN_REFUSED,
];

/// The translation key that explains an access-log action, if there is one.
pub(crate) fn action_key(action: &str) -> Option<String> {
    EXPLAINED_ACTIONS.contains(&action).then(|| format!("log-action-{}", action.replace('.', "-")))
}

/// Who read, as the resident is shown it: themselves, the municipality's systems, an employee,
/// or another organisation's system (by its number).
fn actor_key(actor: &str, me: &Fnr) -> (&'static str, String) {
    match actor.split_once(':') {
        Some(("person", digits)) if digits == me.as_digits() => ("log-by-you", String::new()),
        Some(("person", _)) => ("log-by-person", String::new()),
        Some(("employee", _)) => ("log-by-employee", String::new()),
        Some(("client", orgnr)) => ("log-by-client", orgnr.to_owned()),
        _ => ("log-by-system", String::new()),
    }
}

#[derive(Serialize)]
struct LogEntryView {
    at: String,
    action: String,
    action_key: Option<String>,
    purpose: String,
    legal_basis: String,
    by_key: &'static str,
    orgnr: String,
}

#[derive(Serialize)]
struct MinSidePage {
    #[serde(flatten)]
    base: Base,
    notices: Vec<fullmakt::PersonNotice>,
    log: Vec<LogEntryView>,
}

async fn min_side(State(state): State<AppState>, visit: Visit, citizen: Citizen) -> Result<Html<String>, PageError> {
    let me = citizen.me;
    // The page shows the affairs of whom the person acts for: the policy decides.
    let party = match &citizen.user.session.acting_as {
        ActingAs::Organisation(orgnr, _) => Party::Organisation(orgnr),
        other => Party::Person(other.person().unwrap_or(&me)),
    };
    let asker = Asker::Person {
        me: &me,
        acting_as: &citizen.user.session.acting_as,
        fullmakt_areas: &citizen.user.fullmakt_areas,
    };
    let area = citizen.user.fullmakt_areas.first().map_or("post", String::as_str);
    if !policy::decide(&asker, Action::Read, &Resource::Affairs { party, area }).allowed() {
        return Err(PageError::Forbidden);
    }
    let notices = state.identity.fullmakter.notices(&me, 20).await?;
    let log =
        audit::AuditLog::new(state.db.clone()).about(&me, 20).await.map_err(|e| PageError::Internal(e.to_string()))?;
    let log: Vec<_> = log
        .into_iter()
        .map(|entry| {
            let at = time::OffsetDateTime::from_unix_timestamp(entry.at / 1000)
                .ok()
                .map(kernel::time::in_norway)
                .and_then(|t| t.format(time::macros::format_description!("[day].[month].[year] [hour]:[minute]")).ok())
                .unwrap_or_default();
            let (by_key, orgnr) = actor_key(&entry.actor, &me);
            LogEntryView {
                at,
                action_key: action_key(&entry.action),
                action: entry.action,
                purpose: entry.purpose,
                legal_basis: entry.legal_basis,
                by_key,
                orgnr,
            }
        })
        .collect();
    view::page(
        &state,
        "minside/min_side.html",
        &MinSidePage { base: Base::of(&state, &visit, "min-side"), notices, log },
    )
}

#[derive(Serialize)]
struct OptionView {
    value: String,
    name: String,
    kind: &'static str,
    areas: Vec<String>,
    current: bool,
}

fn option_value(acting_as: &ActingAs) -> String {
    match acting_as {
        ActingAs::Myself => "myself".to_owned(),
        ActingAs::Child(fnr) => format!("child:{}", fnr.as_digits()),
        ActingAs::Ward(fnr) => format!("ward:{}", fnr.as_digits()),
        ActingAs::Organisation(orgnr, _) => format!("organisation:{}", orgnr.as_digits()),
        ActingAs::Fullmakt { id, .. } => format!("fullmakt:{id}"),
    }
}

async fn options(state: &AppState, citizen: &Citizen) -> Result<Vec<acting::ActingOption>, PageError> {
    let caller = resident_caller(&citizen.me, &ActingAs::Myself, ResidentPurpose::ShowWhomYouCanActFor)?;
    Ok(acting::options(
        &state.identity.registers,
        &state.identity.fullmakter,
        &caller,
        &citizen.me,
        &citizen.user.session.display_name,
        kernel::time::today_in_norway(),
    )
    .await?)
}

#[derive(Serialize)]
struct ChoosePage {
    #[serde(flatten)]
    base: Base,
    options: Vec<OptionView>,
}

async fn choose_page(State(state): State<AppState>, visit: Visit, citizen: Citizen) -> Result<Html<String>, PageError> {
    let language = visit.language;
    let options = options(&state, &citizen).await?;
    let current = option_value(&citizen.user.session.acting_as);
    let views: Vec<OptionView> = options
        .iter()
        .map(|o| OptionView {
            value: option_value(&o.acting_as),
            name: o.name.clone(),
            kind: o.acting_as.kind(),
            areas: o.areas.iter().map(|a| area_name(a, language)).collect(),
            current: option_value(&o.acting_as) == current,
        })
        .collect();
    view::page(
        &state,
        "minside/representere.html",
        &ChoosePage { base: Base::of(&state, &visit, "min-side"), options: views },
    )
}

#[derive(Debug, Deserialize)]
struct ChooseForm {
    csrf: Option<String>,
    som: Option<String>,
}

async fn choose(
    State(state): State<AppState>,
    citizen: Citizen,
    Form(form): Form<ChooseForm>,
) -> Result<Response, PageError> {
    check_csrf(&citizen.user, form.csrf.as_deref())?;
    let wanted = form.som.unwrap_or_default();
    // Only a choice the registers and fullmakter offer right now can be taken.
    let options = options(&state, &citizen).await?;
    let Some(choice) = options.iter().find(|o| option_value(&o.acting_as) == wanted) else {
        return Err(PageError::Forbidden);
    };
    let name = (choice.acting_as != ActingAs::Myself).then_some(choice.name.as_str());
    state.identity.sessions.set_acting_as(&citizen.user.session, &choice.acting_as, name).await?;
    identity::record(
        &state.db,
        audit::Actor::Person(citizen.me),
        choice.acting_as.audit_label(),
        actions::ACTING_AS,
        Some(choice.acting_as.person().unwrap_or(&citizen.me)),
        Some(choice.acting_as.kind()),
    )
    .await?;
    Ok(Redirect::to("/min-side").into_response())
}

#[derive(Debug, Default, Deserialize)]
struct GrantForm {
    csrf: Option<String>,
    holder: Option<String>,
    #[serde(default)]
    areas: Vec<String>,
    valid_from: Option<String>,
    valid_to: Option<String>,
}

/// A date as people in Norway write it, and as the access log shows it: 23.11.2026.
fn shown_date(date: time::Date) -> String {
    format!("{:02}.{:02}.{}", date.day(), u8::from(date.month()), date.year())
}

#[derive(Serialize)]
struct FullmaktView {
    id: String,
    name: String,
    areas: Vec<String>,
    valid_from: String,
    valid_to: String,
    active: bool,
}

async fn names(state: &AppState, citizen: &Citizen, people: &[Fnr]) -> Result<Vec<(Fnr, String)>, PageError> {
    if people.is_empty() {
        return Ok(vec![]);
    }
    let caller = resident_caller(&citizen.me, &ActingAs::Myself, ResidentPurpose::ShowFullmakter)?;
    let persons =
        state.identity.registers.persons(&caller, people).await.map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(persons.into_iter().map(|p| (p.fnr, format!("{} {}", p.name.given, p.name.family))).collect())
}

#[derive(Serialize)]
struct AreaChoice {
    code: &'static str,
    name: String,
    checked: bool,
}

#[derive(Serialize)]
struct ShownError<'a> {
    field: &'a str,
    key: &'a str,
}

/// The form's fields as shown again: what was typed, or empty.
#[derive(Serialize)]
struct GrantValues<'a> {
    holder: &'a str,
    valid_from: &'a str,
    valid_to: &'a str,
}

#[derive(Serialize)]
struct FullmaktPage<'a> {
    #[serde(flatten)]
    base: Base,
    given: Vec<FullmaktView>,
    received: Vec<FullmaktView>,
    areas: Vec<AreaChoice>,
    form: GrantValues<'a>,
    errors: Vec<ShownError<'a>>,
    may_manage: bool,
    today: String,
}

async fn fullmakt_view(
    state: &AppState,
    visit: &Visit,
    citizen: &Citizen,
    form: &GrantForm,
    errors: &[(&str, &str)],
) -> Result<Response, PageError> {
    let language = visit.language;
    let given = state.identity.fullmakter.given_by(&citizen.me).await?;
    let received = state.identity.fullmakter.given_to(&citizen.me).await?;
    let mut people: Vec<Fnr> = given.iter().map(|f| f.holder).chain(received.iter().map(|f| f.giver)).collect();
    people.sort();
    people.dedup();
    people.truncate(registers::MAX_BATCH);
    let known = names(state, citizen, &people).await?;
    let day = kernel::time::today_in_norway();
    let view = |f: &fullmakt::Fullmakt, other: &Fnr| FullmaktView {
        id: f.id.clone(),
        name: known.iter().find(|(fnr, _)| fnr == other).map_or_else(String::new, |(_, n)| n.clone()),
        areas: f.areas.iter().map(|a| area_name(a, language)).collect(),
        valid_from: shown_date(f.valid_from),
        valid_to: shown_date(f.valid_to),
        active: f.active_on(day),
    };
    let given: Vec<FullmaktView> = given.iter().map(|f| view(f, &f.holder)).collect();
    let received: Vec<FullmaktView> = received.iter().map(|f| view(f, &f.giver)).collect();
    let areas = fullmakt::SERVICE_AREAS
        .iter()
        .map(|(code, ..)| AreaChoice {
            code,
            name: area_name(code, language),
            checked: form.areas.iter().any(|a| a == code),
        })
        .collect();
    let page = FullmaktPage {
        // The form posts to the page itself: the language switch returns to the page.
        base: Base::new(state, language, Some(visit.kommune), "/min-side/fullmakt", "min-side", Some(&citizen.user)),
        given,
        received,
        areas,
        form: GrantValues {
            holder: form.holder.as_deref().unwrap_or_default(),
            valid_from: form.valid_from.as_deref().unwrap_or_default(),
            valid_to: form.valid_to.as_deref().unwrap_or_default(),
        },
        errors: errors.iter().map(|(field, key)| ShownError { field, key }).collect(),
        may_manage: citizen.user.session.acting_as == ActingAs::Myself,
        today: day.to_string(),
    };
    view::form_page(state, "minside/fullmakt.html", &page, !errors.is_empty())
}

async fn fullmakt_page(State(state): State<AppState>, visit: Visit, citizen: Citizen) -> Result<Response, PageError> {
    fullmakt_view(&state, &visit, &citizen, &GrantForm::default(), &[]).await
}

fn parse_date(text: Option<&str>) -> Option<time::Date> {
    time::Date::parse(text?.trim(), time::macros::format_description!("[year]-[month]-[day]")).ok()
}

async fn grant(
    State(state): State<AppState>,
    visit: Visit,
    citizen: Citizen,
    MultiForm(form): MultiForm<GrantForm>,
) -> Result<Response, PageError> {
    check_csrf(&citizen.user, form.csrf.as_deref())?;
    let asker = Asker::Person { me: &citizen.me, acting_as: &citizen.user.session.acting_as, fullmakt_areas: &[] };
    if !policy::decide(
        &asker,
        Action::ManageFullmakt,
        &Resource::Affairs { party: Party::Person(&citizen.me), area: "post" },
    )
    .allowed()
    {
        return Err(PageError::Forbidden);
    }
    let mut errors: Vec<(&str, &str)> = Vec::new();
    let holder = form.holder.as_deref().map(|h| h.trim().replace(' ', "")).and_then(|h| Fnr::parse(&h).ok());
    if holder.is_none() {
        errors.push(("holder", "fullmakt-error-holder"));
    }
    let day = kernel::time::today_in_norway();
    let valid_from = match form.valid_from.as_deref().filter(|v| !v.trim().is_empty()) {
        None => Some(day),
        Some(text) => parse_date(Some(text)),
    };
    let valid_to = parse_date(form.valid_to.as_deref());
    if valid_from.is_none() || valid_to.is_none() {
        errors.push(("valid_to", "fullmakt-error-date"));
    }
    if form.areas.is_empty() {
        errors.push(("areas", "fullmakt-error-areas"));
    }
    let (Some(holder), Some(valid_from), Some(valid_to), true) = (holder, valid_from, valid_to, errors.is_empty())
    else {
        return fullmakt_view(&state, &visit, &citizen, &form, &errors).await;
    };
    let new = NewFullmakt { holder, areas: form.areas.clone(), valid_from, valid_to };
    if let Err(rule) = fullmakt::check(&citizen.me, &new, day) {
        let error = match rule {
            FullmaktRule::HolderIsGiver => ("holder", "fullmakt-error-self"),
            FullmaktRule::HolderUnknown => ("holder", "fullmakt-error-unknown"),
            FullmaktRule::Areas => ("areas", "fullmakt-error-areas"),
            FullmaktRule::Period => ("valid_to", "fullmakt-error-period"),
        };
        return fullmakt_view(&state, &visit, &citizen, &form, &[error]).await;
    }
    // The holder must be a person the population register knows, so a typing error does not
    // give someone else power over one's affairs.
    let known = names(&state, &citizen, &[holder]).await?;
    let Some((_, holder_name)) = known.first() else {
        return fullmakt_view(&state, &visit, &citizen, &form, &[("holder", "fullmakt-error-unknown")]).await;
    };
    state.identity.fullmakter.grant(&citizen.me, &citizen.user.session.display_name, holder_name, &new).await?;
    Ok(Redirect::to("/min-side/fullmakt").into_response())
}

async fn revoke(
    State(state): State<AppState>,
    citizen: Citizen,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    check_csrf(&citizen.user, form.csrf.as_deref())?;
    if citizen.user.session.acting_as != ActingAs::Myself {
        return Err(PageError::Forbidden);
    }
    let fullmakt = state.identity.fullmakter.get(&id).await?.ok_or(PageError::NotFound)?;
    // Only the two parties may end it; anyone else learns nothing, and nothing is read.
    if fullmakt.giver != citizen.me && fullmakt.holder != citizen.me {
        return Err(PageError::NotFound);
    }
    let other = if fullmakt.giver == citizen.me { fullmakt.holder } else { fullmakt.giver };
    let known = names(&state, &citizen, &[other]).await?;
    let other_name = known.first().map_or("", |(_, n)| n.as_str()).to_owned();
    let me_name = citizen.user.session.display_name.clone();
    let names = if fullmakt.giver == citizen.me {
        (me_name.as_str(), other_name.as_str())
    } else {
        (other_name.as_str(), me_name.as_str())
    };
    state.identity.fullmakter.revoke(&citizen.me, &id, names).await?;
    Ok(Redirect::to("/min-side/fullmakt").into_response())
}
