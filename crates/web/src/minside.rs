//! Min side: the resident's own page — who they are logged in as and acting for, notices, the
//! access log about them — with the choice of whom to act for and their fullmakter.

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use identity::fullmakt::{self, FullmaktRule, NewFullmakt};
use identity::policy::{self, Action, Asker, Party, Resource};
use identity::{ActingAs, acting, actions};
use kernel::{Fnr, Language};
use minijinja::context;
use serde::{Deserialize, Serialize};

use crate::auth::{Citizen, CsrfForm, check_csrf, resident_caller};
use crate::error::PageError;
use crate::tenancy::Municipality;
use crate::{AppState, Lang};
use identity::callers::ResidentPurpose;

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

async fn min_side(
    State(state): State<AppState>,
    Municipality(kommune): Municipality,
    Lang(language): Lang,
    citizen: Citizen,
) -> Result<Response, PageError> {
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
            context! { at => at, action => entry.action, action_key => action_key(&entry.action), purpose => entry.purpose,
                       legal_basis => entry.legal_basis, by_key => by_key, orgnr => orgnr }
        })
        .collect();
    let base =
        crate::pages::base_context(&state, language, Some(kommune), "/min-side", "min-side", Some(&citizen.user));
    crate::pages::render_form(&state, "min_side.html", context! { notices => notices, log => log, ..base }, false)
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

async fn choose_page(
    State(state): State<AppState>,
    Municipality(kommune): Municipality,
    Lang(language): Lang,
    citizen: Citizen,
) -> Result<Response, PageError> {
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
    let base = crate::pages::base_context(
        &state,
        language,
        Some(kommune),
        "/min-side/representere",
        "min-side",
        Some(&citizen.user),
    );
    crate::pages::render_form(&state, "representere.html", context! { options => views, ..base }, false)
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

#[derive(Debug, Default, Deserialize, Serialize)]
struct GrantForm {
    #[serde(skip_serializing)]
    csrf: Option<String>,
    // A field not given is left out, so the page shows an empty field rather than "none".
    #[serde(skip_serializing_if = "Option::is_none")]
    holder: Option<String>,
    #[serde(default, deserialize_with = "crate::forms::one_or_many")]
    areas: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
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

async fn fullmakt_view(
    state: &AppState,
    citizen: &Citizen,
    language: Language,
    kommune: kernel::Kommunenummer,
    form: &GrantForm,
    errors: &[(&str, &str)],
) -> Result<Response, PageError> {
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
    let areas: Vec<_> = fullmakt::SERVICE_AREAS
        .iter()
        .map(|(code, ..)| context! { code => code, name => area_name(code, language), checked => form.areas.iter().any(|a| a == code) })
        .collect();
    let errors: Vec<_> = errors.iter().map(|(field, key)| context! { field => field, key => key }).collect();
    let has_errors = !errors.is_empty();
    let base = crate::pages::base_context(
        state,
        language,
        Some(kommune),
        "/min-side/fullmakt",
        "min-side",
        Some(&citizen.user),
    );
    crate::pages::render_form(
        state,
        "fullmakt.html",
        context! { given => given, received => received, areas => areas, form => form, errors => errors,
        may_manage => citizen.user.session.acting_as == ActingAs::Myself, today => day.to_string(), ..base },
        has_errors,
    )
}

async fn fullmakt_page(
    State(state): State<AppState>,
    Municipality(kommune): Municipality,
    Lang(language): Lang,
    citizen: Citizen,
) -> Result<Response, PageError> {
    fullmakt_view(&state, &citizen, language, kommune, &GrantForm::default(), &[]).await
}

fn parse_date(text: Option<&str>) -> Option<time::Date> {
    time::Date::parse(text?.trim(), time::macros::format_description!("[year]-[month]-[day]")).ok()
}

async fn grant(
    State(state): State<AppState>,
    Municipality(kommune): Municipality,
    Lang(language): Lang,
    citizen: Citizen,
    crate::forms::MultiForm(form): crate::forms::MultiForm<GrantForm>,
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
        return fullmakt_view(&state, &citizen, language, kommune, &form, &errors).await;
    };
    let new = NewFullmakt { holder, areas: form.areas.clone(), valid_from, valid_to };
    if let Err(rule) = fullmakt::check(&citizen.me, &new, day) {
        let error = match rule {
            FullmaktRule::HolderIsGiver => ("holder", "fullmakt-error-self"),
            FullmaktRule::HolderUnknown => ("holder", "fullmakt-error-unknown"),
            FullmaktRule::Areas => ("areas", "fullmakt-error-areas"),
            FullmaktRule::Period => ("valid_to", "fullmakt-error-period"),
        };
        return fullmakt_view(&state, &citizen, language, kommune, &form, &[error]).await;
    }
    // The holder must be a person the population register knows, so a typing error does not
    // give someone else power over one's affairs.
    let known = names(&state, &citizen, &[holder]).await?;
    let Some((_, holder_name)) = known.first() else {
        return fullmakt_view(&state, &citizen, language, kommune, &form, &[("holder", "fullmakt-error-unknown")])
            .await;
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
