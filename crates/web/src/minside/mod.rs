//! Min side: the resident's own page — who they are logged in as and acting for, notices, the
//! access log about them — with the choice of whom to act for and their fullmakter; the inbox
//! of letters is in [`post`].

pub(crate) mod post;
pub(crate) mod saker;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
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
        .merge(self::post::routes())
        .merge(saker::routes())
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
pub(crate) const EXPLAINED_ACTIONS: [&str; 16] = [
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
    "cases.case.read",
    "cases.inquiry.read",
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

/// The purposes and legal bases the platform writes, by the key that says them in the
/// visitor's language. The access log stores what the reader wrote (in bokmål, so the log
/// reads the same whoever looks); the words for another language belong here, in `web`. The
/// texts are taken from where they are decided, so a changed text shows up in the test below
/// rather than quietly falling back to bokmål.
struct KnownTexts {
    purposes: Vec<(String, &'static str)>,
    legal_bases: Vec<(String, &'static str)>,
    /// The machine-client legal basis around its scope: prefix and suffix.
    client_basis: Option<(String, String)>,
}

static KNOWN_TEXTS: std::sync::LazyLock<KnownTexts> = std::sync::LazyLock::new(|| {
    let security = identity::security_context(audit::Actor::System("min-side"), None);
    let mut purposes = vec![
        (ResidentPurpose::ShowName.text().to_owned(), "log-purpose-show-name"),
        (ResidentPurpose::ShowWhomYouCanActFor.text().to_owned(), "log-purpose-show-acting"),
        (ResidentPurpose::ShowFullmakter.text().to_owned(), "log-purpose-show-fullmakter"),
        (ResidentPurpose::FindFullmaktHolder.text().to_owned(), "log-purpose-find-fullmakt-holder"),
        (ResidentPurpose::ChooseLanguage.text().to_owned(), "log-purpose-choose-language"),
        (security.purpose.as_str().to_owned(), "log-purpose-security"),
    ];
    let legal_bases = vec![
        (identity::callers::RESIDENT_LEGAL_BASIS.to_owned(), "log-basis-resident"),
        (security.legal_basis.as_str().to_owned(), "log-basis-security"),
    ];
    let marker = "SCOPE";
    let client =
        kernel::OrgNr::parse("974760673").ok().and_then(|orgnr| identity::callers::machine_client(orgnr, marker).ok());
    let client_basis = client.as_ref().and_then(|caller| {
        let (prefix, suffix) = caller.access().legal_basis.as_str().split_once(marker)?;
        Some((prefix.to_owned(), suffix.to_owned()))
    });
    if let Some(caller) = &client {
        purposes.push((caller.access().purpose.as_str().to_owned(), "log-purpose-machine-client"));
    }
    KnownTexts { purposes, legal_bases, client_basis }
});

/// A stored purpose or legal basis as the visitor reads it, and `Some("nb")` when it could not
/// be translated and stays in bokmål (so a screen reader reads it as Norwegian).
fn translated(state: &AppState, language: Language, text: &str, purpose: bool) -> (String, Option<&'static str>) {
    let known = &*KNOWN_TEXTS;
    let table = if purpose { &known.purposes } else { &known.legal_bases };
    if let Some((_, key)) = table.iter().find(|(stored, _)| stored == text) {
        return (state.i18n.message(language, key, &[]), None);
    }
    if !purpose
        && let Some((prefix, suffix)) = &known.client_basis
        && let Some(scope) = text.strip_prefix(prefix.as_str()).and_then(|rest| rest.strip_suffix(suffix.as_str()))
    {
        return (state.i18n.message(language, "log-basis-machine-client", &[("scope", scope.to_owned())]), None);
    }
    let lang = (language != Language::Bokmal).then_some("nb");
    (text.to_owned(), lang)
}

/// One action in a group of the access log.
#[derive(Serialize)]
struct LogAction {
    code: String,
    key: Option<String>,
}

/// One line of the access log: the reads one action made (one visit to a page reads several
/// registers), shown as one line that can be opened.
#[derive(Serialize)]
struct LogLine {
    at: String,
    by_key: &'static str,
    orgnr: String,
    purpose: String,
    purpose_lang: Option<&'static str>,
    legal_basis: String,
    legal_basis_lang: Option<&'static str>,
    actions: Vec<LogAction>,
}

/// How far apart, in milliseconds, reads may lie and still be one action's. An action's reads
/// follow each other within milliseconds; a person clicking again takes longer.
const ONE_ACTION_MILLIS: i64 = 2000;

/// Entries (newest first) grouped into the actions that made them: neighbours with the same
/// reader, acting for the same, with the same purpose and legal basis, within
/// [`ONE_ACTION_MILLIS`] of the group's newest. The log carries no request id to group by; these
/// are the fields one action's reads share and two actions rarely do.
fn group_entries(entries: Vec<audit::Entry>) -> Vec<Vec<audit::Entry>> {
    let mut groups: Vec<Vec<audit::Entry>> = Vec::new();
    for entry in entries {
        let joins = groups.last().and_then(|group| group.first()).is_some_and(|first| {
            first.actor == entry.actor
                && first.acting_for == entry.acting_for
                && first.purpose == entry.purpose
                && first.legal_basis == entry.legal_basis
                && (first.at - entry.at).abs() < ONE_ACTION_MILLIS
        });
        match groups.last_mut() {
            Some(group) if joins => group.push(entry),
            _ => groups.push(vec![entry]),
        }
    }
    groups
}

/// How many lines of the access log Min side shows, and how many entries it reads for them.
const LOG_LINES: usize = 20;
const LOG_ENTRIES: u32 = 200;

fn log_lines(state: &AppState, language: Language, me: &Fnr, entries: Vec<audit::Entry>) -> Vec<LogLine> {
    group_entries(entries)
        .into_iter()
        .take(LOG_LINES)
        .filter_map(|group| {
            let first = group.first()?;
            let at = time::OffsetDateTime::from_unix_timestamp(first.at / 1000)
                .ok()
                .map(kernel::time::in_norway)
                .and_then(|t| t.format(time::macros::format_description!("[day].[month].[year] [hour]:[minute]")).ok())
                .unwrap_or_default();
            let (by_key, orgnr) = actor_key(&first.actor, me);
            let (purpose, purpose_lang) = translated(state, language, &first.purpose, true);
            let (legal_basis, legal_basis_lang) = translated(state, language, &first.legal_basis, false);
            let mut actions: Vec<LogAction> = Vec::new();
            for entry in &group {
                if !actions.iter().any(|a| a.code == entry.action) {
                    actions.push(LogAction { key: action_key(&entry.action), code: entry.action.clone() });
                }
            }
            Some(LogLine { at, by_key, orgnr, purpose, purpose_lang, legal_basis, legal_basis_lang, actions })
        })
        .collect()
}

#[derive(Serialize)]
struct MinSidePage {
    #[serde(flatten)]
    base: Base,
    /// Whose affairs the page shows: `myself`, `person` (a child, a ward, a fullmakt giver),
    /// `organisation`, or `not-covered` (a fullmakt without letters and notices).
    shows: &'static str,
    notices: Vec<fullmakt::PersonNotice>,
    log: Vec<LogLine>,
}

async fn min_side(State(state): State<AppState>, visit: Visit, citizen: Citizen) -> Result<Html<String>, PageError> {
    let me = citizen.me;
    let claimed = &citizen.user.session.acting_as;
    // The session says whom the person acts for; the registers and fullmakter say whether
    // they may. The policy then answers whether `me`, with the relations that hold, may read
    // the affairs of the party the session names.
    let caller = resident_caller(&me, claimed, ResidentPurpose::ShowWhomYouCanActFor)?;
    let backed = acting::backed_by_relations(
        &state.identity.registers,
        &state.identity.fullmakter,
        &caller,
        &me,
        claimed,
        kernel::time::today_in_norway(),
    )
    .await?;
    let party = match claimed {
        ActingAs::Organisation(orgnr, _) => Party::Organisation(orgnr),
        other => Party::Person(other.person().unwrap_or(&me)),
    };
    let asker = Asker::Person { me: &me, acting_as: &backed, fullmakt_areas: &citizen.user.fullmakt_areas };
    // Notices and the access log are letters and notices ("post").
    let decision = policy::decide(&asker, Action::Read, &Resource::Affairs { party, area: "post" });
    let shows = match (decision.allowed(), party) {
        (true, Party::Person(person)) if *person == me => "myself",
        (true, Party::Person(_)) => "person",
        (true, Party::Organisation(_)) => "organisation",
        // A fullmakt in force that does not cover letters and notices: the page, without them.
        (false, _) if backed == *claimed && matches!(claimed, ActingAs::Fullmakt { .. }) => "not-covered",
        (false, _) => return Err(PageError::Forbidden),
    };
    let (notices, log) = match party {
        Party::Person(person) if matches!(shows, "myself" | "person") => {
            let notices = state.identity.fullmakter.notices(person, 20).await?;
            let entries = audit::AuditLog::new(state.db.clone())
                .about(person, LOG_ENTRIES)
                .await
                .map_err(|e| PageError::Internal(e.to_string()))?;
            (notices, log_lines(&state, visit.language, &me, entries))
        }
        _ => (vec![], vec![]),
    };
    view::page(
        &state,
        "minside/min_side.html",
        &MinSidePage { base: Base::of(&state, &visit, "min-side"), shows, notices, log },
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
    let session = &citizen.user.session;
    // Each choice is an opaque token for this session: no fødselsnummer in the page.
    let views: Vec<OptionView> = options
        .iter()
        .map(|o| OptionView {
            value: acting::option_token(&session.id_hash, &o.acting_as),
            name: o.name.clone(),
            kind: o.acting_as.kind(),
            areas: o.areas.iter().map(|a| area_name(a, language)).collect(),
            current: o.acting_as == session.acting_as,
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
    // Only a choice the registers and fullmakter offer right now can be taken; a token from
    // another session, or made up, matches none and learns nothing.
    let options = options(&state, &citizen).await?;
    let Some(choice) = acting::chosen(&options, &citizen.user.session.id_hash, &wanted) else {
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
    surname: Option<String>,
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
    /// The other party's name; empty when the register shields them.
    name: String,
    areas: Vec<String>,
    valid_from: String,
    valid_to: String,
    /// `active`, `upcoming` or `expired`.
    status: &'static str,
    revocable: bool,
}

/// The names of `people` as the fullmakt pages show them: `None` for a person the register
/// shields (strengt fortrolig), whose name is never shown to another resident.
async fn names(state: &AppState, citizen: &Citizen, people: &[Fnr]) -> Result<Vec<(Fnr, Option<String>)>, PageError> {
    if people.is_empty() {
        return Ok(vec![]);
    }
    let caller = resident_caller(&citizen.me, &ActingAs::Myself, ResidentPurpose::ShowFullmakter)?;
    let persons =
        state.identity.registers.persons(&caller, people).await.map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(persons
        .into_iter()
        .map(|p| {
            let name =
                (!p.adressebeskyttelse.is_strengt_fortrolig()).then(|| format!("{} {}", p.name.given, p.name.family));
            (p.fnr, name)
        })
        .collect())
}

#[derive(Serialize)]
struct AreaChoice {
    code: &'static str,
    name: String,
    checked: bool,
}

/// The form's fields, by the id of the control an error links to.
const FIELDS: [&str; 5] = ["holder", "surname", "areas", "valid_from", "valid_to"];

/// The id of the control an error on `field` links to: the field itself, or for the areas
/// the first box.
fn anchor(field: &str) -> String {
    match (field, fullmakt::SERVICE_AREAS.first()) {
        ("areas", Some((code, ..))) => format!("area-{code}"),
        _ => field.to_owned(),
    }
}

#[derive(Serialize)]
struct ShownError {
    anchor: String,
    key: &'static str,
}

/// The form's fields as shown again: what was typed, or empty.
#[derive(Serialize)]
struct GrantValues<'a> {
    holder: &'a str,
    surname: &'a str,
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
    /// Every error, in the order of the fields, for the summary.
    errors: Vec<ShownError>,
    /// The errors of each field, beside it.
    field_errors: std::collections::BTreeMap<&'static str, Vec<&'static str>>,
    confirmation: Option<&'static str>,
    may_manage: bool,
    today: String,
}

/// One broken rule: the field it is about and the message that says it.
type FormError = (&'static str, &'static str);

async fn fullmakt_view(
    state: &AppState,
    visit: &Visit,
    citizen: &Citizen,
    form: &GrantForm,
    errors: &[FormError],
    confirmation: Option<&'static str>,
) -> Result<Response, PageError> {
    let language = visit.language;
    // A revoked fullmakt is not listed: it no longer binds anyone, and the notice on Min side
    // and the access log keep the record of it. Listing it as "not in force now" read as if it
    // might come back.
    let given: Vec<_> =
        state.identity.fullmakter.given_by(&citizen.me).await?.into_iter().filter(|f| f.revoked_at.is_none()).collect();
    let received: Vec<_> =
        state.identity.fullmakter.given_to(&citizen.me).await?.into_iter().filter(|f| f.revoked_at.is_none()).collect();
    let mut people: Vec<Fnr> = given.iter().map(|f| f.holder).chain(received.iter().map(|f| f.giver)).collect();
    people.sort();
    people.dedup();
    people.truncate(registers::MAX_BATCH);
    let known = names(state, citizen, &people).await?;
    let day = kernel::time::today_in_norway();
    let may_manage = may_manage_fullmakter(citizen);
    let view = |f: &fullmakt::Fullmakt, other: &Fnr| {
        let status = if f.active_on(day) {
            "active"
        } else if f.valid_from > day {
            "upcoming"
        } else {
            "expired"
        };
        FullmaktView {
            id: f.id.clone(),
            name: known.iter().find(|(fnr, _)| fnr == other).and_then(|(_, n)| n.clone()).unwrap_or_default(),
            areas: f.areas.iter().map(|a| area_name(a, language)).collect(),
            valid_from: shown_date(f.valid_from),
            valid_to: shown_date(f.valid_to),
            status,
            revocable: may_manage && status != "expired",
        }
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
    let mut ordered: Vec<FormError> = Vec::new();
    for field in FIELDS {
        for error in errors.iter().filter(|(f, _)| *f == field) {
            if !ordered.contains(error) {
                ordered.push(*error);
            }
        }
    }
    // Every field has an entry, empty when it is fine: the templates refuse an undefined one.
    let mut field_errors: std::collections::BTreeMap<&'static str, Vec<&'static str>> =
        FIELDS.iter().map(|field| (*field, Vec::new())).collect();
    for (field, key) in &ordered {
        field_errors.entry(field).or_default().push(key);
    }
    let page = FullmaktPage {
        // The form posts to the page itself: the language switch returns to the page.
        base: Base::new(state, language, Some(visit.kommune), "/min-side/fullmakt", "min-side", Some(&citizen.user)),
        given,
        received,
        areas,
        form: GrantValues {
            holder: form.holder.as_deref().unwrap_or_default(),
            surname: form.surname.as_deref().unwrap_or_default(),
            valid_from: form.valid_from.as_deref().unwrap_or_default(),
            valid_to: form.valid_to.as_deref().unwrap_or_default(),
        },
        errors: ordered.iter().map(|(field, key)| ShownError { anchor: anchor(field), key }).collect(),
        field_errors,
        confirmation,
        may_manage,
        today: day.to_string(),
    };
    view::form_page(state, "minside/fullmakt.html", &page, !ordered.is_empty())
}

/// What the page confirms after a redirect: `?kvittering=gitt` or `?kvittering=trukket`.
#[derive(Debug, Deserialize)]
struct Receipt {
    kvittering: Option<String>,
}

impl Receipt {
    fn message(&self) -> Option<&'static str> {
        match self.kvittering.as_deref() {
            Some("gitt") => Some("fullmakt-confirm-granted"),
            Some("trukket") => Some("fullmakt-confirm-revoked"),
            _ => None,
        }
    }
}

async fn fullmakt_page(
    State(state): State<AppState>,
    visit: Visit,
    citizen: Citizen,
    Query(receipt): Query<Receipt>,
) -> Result<Response, PageError> {
    fullmakt_view(&state, &visit, &citizen, &GrantForm::default(), &[], receipt.message()).await
}

/// A date field: empty, a date, or not a date.
enum DateField {
    Empty,
    Date(time::Date),
    Invalid,
}

fn date_field(text: Option<&str>) -> DateField {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => DateField::Empty,
        Some(text) => time::Date::parse(text, time::macros::format_description!("[year]-[month]-[day]"))
            .map_or(DateField::Invalid, DateField::Date),
    }
}

/// The holder's number as typed, read: spaces are allowed between the digits.
fn holder_field(text: Option<&str>) -> Result<Fnr, FormError> {
    let digits: String = text.unwrap_or_default().chars().filter(|c| !c.is_whitespace()).collect();
    if digits.is_empty() {
        return Err(("holder", "fullmakt-error-holder-missing"));
    }
    if digits.chars().count() != 11 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(("holder", "fullmakt-error-holder-format"));
    }
    Fnr::parse(&digits).map_err(|_| ("holder", "fullmakt-error-holder-invalid"))
}

fn surname_field(text: Option<&str>) -> Result<&str, FormError> {
    let text = text.unwrap_or_default().trim();
    if text.is_empty() {
        return Err(("surname", "fullmakt-error-surname-missing"));
    }
    if text.chars().count() > fullmakt::MAX_SURNAME_CHARS {
        return Err(("surname", "fullmakt-error-surname-long"));
    }
    if text.chars().any(char::is_control) {
        return Err(("surname", "fullmakt-error-surname-characters"));
    }
    Ok(text)
}

fn rule_error(rule: FullmaktRule) -> FormError {
    match rule {
        FullmaktRule::HolderIsGiver => ("holder", "fullmakt-error-self"),
        FullmaktRule::NoAreas => ("areas", "fullmakt-error-areas"),
        FullmaktRule::UnknownArea => ("areas", "fullmakt-error-area-unknown"),
        FullmaktRule::StartsInPast => ("valid_from", "fullmakt-error-from-past"),
        FullmaktRule::StartsTooLate => ("valid_from", "fullmakt-error-from-late"),
        FullmaktRule::EndsBeforeStart => ("valid_to", "fullmakt-error-to-before-from"),
        FullmaktRule::TooLong => ("valid_to", "fullmakt-error-too-long"),
    }
}

/// The policy's answer to "may this person, as the session acts, manage their own fullmakter?"
fn may_manage_fullmakter(citizen: &Citizen) -> bool {
    let asker = Asker::Person { me: &citizen.me, acting_as: &citizen.user.session.acting_as, fullmakt_areas: &[] };
    policy::decide(
        &asker,
        Action::ManageFullmakt,
        &Resource::Affairs { party: Party::Person(&citizen.me), area: "post" },
    )
    .allowed()
}

async fn grant(
    State(state): State<AppState>,
    visit: Visit,
    citizen: Citizen,
    MultiForm(form): MultiForm<GrantForm>,
) -> Result<Response, PageError> {
    check_csrf(&citizen.user, form.csrf.as_deref())?;
    if !may_manage_fullmakter(&citizen) {
        return Err(PageError::Forbidden);
    }
    // Every field is read, and every rule it breaks is said beside it.
    let mut errors: Vec<FormError> = Vec::new();
    let holder = holder_field(form.holder.as_deref()).map_err(|e| errors.push(e)).ok();
    let surname = surname_field(form.surname.as_deref()).map_err(|e| errors.push(e)).ok();
    let day = kernel::time::today_in_norway();
    let valid_from = match date_field(form.valid_from.as_deref()) {
        DateField::Empty => Some(day),
        DateField::Date(date) => Some(date),
        DateField::Invalid => {
            errors.push(("valid_from", "fullmakt-error-from-invalid"));
            None
        }
    };
    let valid_to = match date_field(form.valid_to.as_deref()) {
        DateField::Empty => {
            errors.push(("valid_to", "fullmakt-error-to-missing"));
            None
        }
        DateField::Date(date) => Some(date),
        DateField::Invalid => {
            errors.push(("valid_to", "fullmakt-error-to-invalid"));
            None
        }
    };
    // The rules need a holder and a period; those that can be checked without them are.
    let new = NewFullmakt {
        holder: holder.unwrap_or(citizen.me),
        areas: form.areas.clone(),
        valid_from: valid_from.unwrap_or(day),
        valid_to: valid_to.or(valid_from).unwrap_or(day),
    };
    if let Err(rules) = fullmakt::check(&citizen.me, &new, day) {
        for rule in rules {
            let applies = match rule {
                FullmaktRule::HolderIsGiver => holder.is_some(),
                FullmaktRule::NoAreas | FullmaktRule::UnknownArea => true,
                FullmaktRule::StartsInPast | FullmaktRule::StartsTooLate => valid_from.is_some(),
                FullmaktRule::EndsBeforeStart | FullmaktRule::TooLong => valid_from.is_some() && valid_to.is_some(),
            };
            if applies {
                errors.push(rule_error(rule));
            }
        }
    }
    let (Some(holder), Some(surname), true) = (holder, surname, errors.is_empty()) else {
        return fullmakt_view(&state, &visit, &citizen, &form, &errors, None).await;
    };
    // The holder must be the person the giver means: the number and the surname must both
    // match. No such person and a surname that does not match get the same answer, and no
    // name is shown before the match, so the form tells nobody whose a number is.
    // Each look-up counts against the person looking, so surnames cannot be guessed quickly.
    if !state.limiters.fullmakt_lookups.allow_in(&citizen.me.as_digits(), None) {
        return Err(PageError::TooManyRequests);
    }
    let caller = resident_caller(&citizen.me, &ActingAs::Myself, ResidentPurpose::FindFullmaktHolder)?;
    let found = fullmakt::find_holder(&state.identity.registers, &caller, &holder, surname).await?;
    let Some(found) = found else {
        return fullmakt_view(&state, &visit, &citizen, &form, &[("holder", "fullmakt-error-no-match")], None).await;
    };
    let holder_name = found.name.unwrap_or_default();
    match state.identity.fullmakter.grant(&citizen.me, &citizen.user.session.display_name, &holder_name, &new).await {
        Ok(_) => Ok(Redirect::to("/min-side/fullmakt?kvittering=gitt").into_response()),
        Err(identity::IdentityError::Conflict(_)) => {
            fullmakt_view(&state, &visit, &citizen, &form, &[("holder", "fullmakt-error-duplicate")], None).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn revoke(
    State(state): State<AppState>,
    citizen: Citizen,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    check_csrf(&citizen.user, form.csrf.as_deref())?;
    if !may_manage_fullmakter(&citizen) {
        return Err(PageError::Forbidden);
    }
    let fullmakt = state.identity.fullmakter.get(&id).await?.ok_or(PageError::NotFound)?;
    // Only the two parties may end it; anyone else learns nothing, and nothing is read.
    let asker = Asker::Person { me: &citizen.me, acting_as: &citizen.user.session.acting_as, fullmakt_areas: &[] };
    let resource = Resource::Fullmakt { giver: &fullmakt.giver, holder: &fullmakt.holder };
    if !policy::decide(&asker, Action::ManageFullmakt, &resource).allowed() {
        return Err(PageError::NotFound);
    }
    let other = if fullmakt.giver == citizen.me { fullmakt.holder } else { fullmakt.giver };
    let known = names(&state, &citizen, &[other]).await?;
    let other_name = known.first().and_then(|(_, n)| n.clone()).unwrap_or_default();
    let me_name = citizen.user.session.display_name.clone();
    let names = if fullmakt.giver == citizen.me {
        (me_name.as_str(), other_name.as_str())
    } else {
        (other_name.as_str(), me_name.as_str())
    };
    state.identity.fullmakter.revoke(&citizen.me, &id, names).await?;
    Ok(Redirect::to("/min-side/fullmakt?kvittering=trukket").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, at: i64, actor: &str, purpose: &str) -> audit::Entry {
        audit::Entry {
            seq,
            at,
            actor: actor.to_owned(),
            acting_for: None,
            action: format!("action-{seq}"),
            subject: None,
            resource: None,
            purpose: purpose.to_owned(),
            legal_basis: "basis".to_owned(),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn one_actions_reads_are_one_line_and_two_actions_are_two() {
        let entries = vec![
            entry(6, 100_500, "person:1", "Vise hvem du kan representere"),
            entry(5, 100_020, "person:1", "Vise hvem du kan representere"),
            entry(4, 100_000, "person:1", "Vise hvem du kan representere"),
            // The same purpose a minute earlier: another visit.
            entry(3, 40_000, "person:1", "Vise hvem du kan representere"),
            // At the same moment, but another purpose or reader: another action.
            entry(2, 39_990, "person:1", "Innlogging: vise navnet ditt"),
            entry(1, 39_990, "employee:e-1", "Innlogging: vise navnet ditt"),
        ];
        let groups: Vec<Vec<i64>> =
            group_entries(entries).into_iter().map(|g| g.into_iter().map(|e| e.seq).collect()).collect();
        assert_eq!(groups, vec![vec![6, 5, 4], vec![3], vec![2], vec![1]]);
        let apart = vec![entry(2, 20_000, "person:1", "p"), entry(1, 10_000, "person:1", "p")];
        assert_eq!(group_entries(apart).len(), 2);
    }

    #[test]
    fn every_purpose_and_legal_basis_the_platform_writes_has_a_translation() {
        let i18n = crate::view::i18n::I18n::load().expect("translations");
        let known = &*KNOWN_TEXTS;
        assert_eq!(known.purposes.len(), 7, "the machine client's purpose is found");
        assert!(known.client_basis.is_some(), "the machine client's legal basis is found");
        let keys = known
            .purposes
            .iter()
            .chain(known.legal_bases.iter())
            .map(|(_, key)| *key)
            .chain(["log-basis-machine-client"]);
        for key in keys {
            for language in [Language::Bokmal, Language::Nynorsk, Language::English] {
                assert!(i18n.has_message(language, key), "{key} in {language:?}");
            }
        }
        // Keys the templates build at run time, and those only handlers name.
        let built = ["active", "upcoming", "expired"].map(|status| format!("fullmakt-status-{status}"));
        let named = ["fullmakt-confirm-granted", "fullmakt-confirm-revoked", "fullmakt-shielded-name"];
        for key in built.iter().map(String::as_str).chain(named) {
            for language in [Language::Bokmal, Language::Nynorsk, Language::English] {
                assert!(i18n.has_message(language, key), "{key} in {language:?}");
            }
        }
    }

    #[test]
    fn the_holders_number_is_read_with_one_message_per_way_it_can_be_wrong() {
        assert_eq!(holder_field(None).err(), Some(("holder", "fullmakt-error-holder-missing")));
        assert_eq!(holder_field(Some("  ")).err(), Some(("holder", "fullmakt-error-holder-missing")));
        assert_eq!(holder_field(Some("123")).err(), Some(("holder", "fullmakt-error-holder-format")));
        assert_eq!(holder_field(Some("1483922110x")).err(), Some(("holder", "fullmakt-error-holder-format")));
        assert_eq!(holder_field(Some("14839221101")).err(), Some(("holder", "fullmakt-error-holder-invalid")));
        assert!(holder_field(Some("148392 21100")).is_ok());
        let receipt = |kvittering: Option<&str>| Receipt { kvittering: kvittering.map(str::to_owned) }.message();
        assert_eq!(receipt(Some("gitt")), Some("fullmakt-confirm-granted"));
        assert_eq!(receipt(Some("trukket")), Some("fullmakt-confirm-revoked"));
        assert_eq!(receipt(Some("noe")), None);
        assert_eq!(receipt(None), None);
    }
}
