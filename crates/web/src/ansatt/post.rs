//! The employees' post pages (`/ansatt/post`): a free letter written in a form and sent through
//! the post engine, the letters this employee sent with their status, one letter's status with
//! its channel, reason and history, and the open tasks of the employee's units.
//!
//! Who may: an employee sends letters for the units whose cases they handle (the policy's
//! `HandleCase` on the unit's cases, as for the case pages) — a caseworker or a leader there,
//! or one who holds that role for the whole municipality. No new resource is needed: a letter
//! from a unit is a step in that unit's case work. They see the letters they sent, and the
//! letters and tasks of those units; anything else is "not found".

use archive::ArchiveError;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use identity::employees::{Employees, Unit};
use identity::policy::{self, Action, Asker, Resource};
use kernel::{Fnr, Language, OrgNr};
use post::routing::Reason;
use post::{NewLetter, PostError, Recipient, Sender, Status};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::PageError;
use crate::extract::{MultiForm, Staff, Visit, check_csrf};
use crate::minside::post::{post_error, shown_time};
use crate::view::{self, Base};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ansatt/post", get(sent))
        .route("/ansatt/post/nytt", get(new_letter).post(send))
        .route("/ansatt/post/oppgaver", get(tasks))
        .route("/ansatt/post/{id}", get(status))
}

/// How many sent letters the list shows.
const SENT_SHOWN: i64 = 200;
/// The longest title the engine takes.
const MAX_TITLE: usize = 200;
/// The longest body text the form takes.
const MAX_BODY: usize = 20_000;

/// The units this employee may send letters for: those whose cases they handle. None at all is
/// "forbidden".
async fn sending_units(state: &AppState, visit: &Visit, staff: &Staff) -> Result<Vec<Unit>, PageError> {
    let units = Employees::new(state.db.clone(), visit.kommune).units().await?;
    let asker = Asker::Employee { roles: &staff.employee.roles };
    let mine: Vec<Unit> = units
        .into_iter()
        .filter(|u| policy::decide(&asker, Action::HandleCase, &Resource::UnitCases { unit: &u.code }).allowed())
        .collect();
    if mine.is_empty() { Err(PageError::Forbidden) } else { Ok(mine) }
}

/// The sender id the engine records for this employee.
fn sender_id(staff: &Staff) -> String {
    format!("ansatt:{}", staff.employee.id)
}

/// The translation key of a status: `post-status-sendt-digitalt`.
fn status_key(status: &str) -> String {
    format!("post-status-{}", status.to_lowercase().replace('_', "-"))
}

/// A status as the page shows it: in words when known, else its code.
fn status_text(state: &AppState, language: Language, status: &str) -> String {
    let key = status_key(status);
    if Status::parse(status).is_some() && state.i18n.has_message(language, &key) {
        state.i18n.message(language, &key, &[])
    } else {
        status.to_owned()
    }
}

/// A channel in words (`innboks` → "Innboksen på Min side"), or as stored when unknown.
fn channel_text(state: &AppState, language: Language, channel: Option<&str>) -> String {
    let Some(channel) = channel else { return String::new() };
    let key = format!("post-channel-{}", channel.replace('_', "-"));
    if state.i18n.has_message(language, &key) { state.i18n.message(language, &key, &[]) } else { channel.to_owned() }
}

/// Every routing reason, to find one by its stored code.
const REASONS: [Reason; 9] = [
    Reason::Reserved,
    Reason::MailboxInKrr,
    Reason::InboxWithNotice,
    Reason::InboxWithoutNotice,
    Reason::NotInKrr,
    Reason::Organisation,
    Reason::ProtectedAddress,
    Reason::NoChannel,
    Reason::DigitalOnlyButReserved,
];

/// A reason as the page shows it, and `Some("nb")` when the text is bokmål on a page in another
/// language. A code this site has words for (every routing reason, and the engine's own codes)
/// gives those in the page's language; a routing reason without words falls back to the engine's
/// bokmål text; anything else (a channel's own message) is shown as it is.
#[derive(Serialize)]
struct ReasonView {
    text: String,
    lang: Option<&'static str>,
}

fn reason_view(state: &AppState, language: Language, code: &str) -> ReasonView {
    let key = format!("post-reason-{}", code.replace('_', "-"));
    if code.chars().all(|c| c.is_ascii_lowercase() || c == '_') && state.i18n.has_message(language, &key) {
        return ReasonView { text: state.i18n.message(language, &key, &[]), lang: None };
    }
    if let Some(reason) = REASONS.iter().find(|r| r.code() == code) {
        return ReasonView { text: reason.text().to_owned(), lang: (language != Language::Bokmal).then_some("nb") };
    }
    ReasonView { text: code.to_owned(), lang: None }
}

// ----- Sent letters -----

#[derive(Serialize)]
struct SentLine {
    id: String,
    title: String,
    recipient_name: String,
    created: String,
    status: String,
    channel: String,
}

#[derive(Serialize)]
struct SentPage {
    #[serde(flatten)]
    base: Base,
    letters: Vec<SentLine>,
}

async fn sent(State(state): State<AppState>, visit: Visit, staff: Staff) -> Result<Html<String>, PageError> {
    sending_units(&state, &visit, &staff).await?;
    let language = visit.language;
    let letters = state
        .post
        .sent_by(visit.kommune, &sender_id(&staff), SENT_SHOWN)
        .await
        .map_err(post_error)?
        .into_iter()
        .map(|l| SentLine {
            status: status_text(&state, language, &l.status),
            channel: channel_text(&state, language, l.channel.as_deref()),
            created: shown_time(l.created_at),
            id: l.id,
            title: l.title,
            recipient_name: l.recipient_name,
        })
        .collect();
    view::page(&state, "ansatt/post.html", &SentPage { base: Base::of(&state, &visit, "ansatt"), letters })
}

// ----- One letter's status -----

#[derive(Serialize)]
struct HistoryLine {
    at: String,
    status: String,
    reason: Option<ReasonView>,
}

#[derive(Serialize)]
struct StatusPage {
    #[serde(flatten)]
    base: Base,
    sent_now: bool,
    id: String,
    title: String,
    recipient_name: String,
    sender_unit: String,
    security_level: i64,
    digital_only: bool,
    created: String,
    status: String,
    status_code: String,
    channel: String,
    reason: Option<ReasonView>,
    registrerings_id: Option<String>,
    read: Option<String>,
    history: Vec<HistoryLine>,
}

#[derive(Deserialize)]
struct StatusQuery {
    sendt: Option<String>,
}

async fn status(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Path(id): Path<String>,
    Query(query): Query<StatusQuery>,
) -> Result<Html<String>, PageError> {
    let units = sending_units(&state, &visit, &staff).await?;
    let letter = state.post.letter(visit.kommune, &id).await.map_err(post_error)?.ok_or(PageError::NotFound)?;
    // Their own letters, and those of the units they send for; another's is not found.
    if letter.sender != sender_id(&staff) && !units.iter().any(|u| u.name == letter.sender_unit) {
        return Err(PageError::NotFound);
    }
    let language = visit.language;
    let history = state
        .post
        .history(visit.kommune, &letter.id)
        .await
        .map_err(post_error)?
        .into_iter()
        .map(|entry| HistoryLine {
            at: shown_time(entry.at),
            status: status_text(&state, language, &entry.status),
            reason: entry.reason.as_deref().map(|code| reason_view(&state, language, code)),
        })
        .collect();
    let page = StatusPage {
        base: Base::of(&state, &visit, "ansatt"),
        sent_now: query.sendt.is_some(),
        status: status_text(&state, language, &letter.status),
        channel: channel_text(&state, language, letter.channel.as_deref()),
        reason: letter.reason.as_deref().map(|code| reason_view(&state, language, code)),
        created: shown_time(letter.created_at),
        read: letter.read_at.map(shown_time),
        history,
        status_code: letter.status,
        id: letter.id,
        title: letter.title,
        recipient_name: letter.recipient_name,
        sender_unit: letter.sender_unit,
        security_level: letter.security_level,
        digital_only: letter.digital_only,
        registrerings_id: letter.registrerings_id,
    };
    view::page(&state, "ansatt/post_status.html", &page)
}

// ----- Tasks -----

#[derive(Serialize)]
struct TaskLine {
    letter_id: String,
    title: String,
    unit: String,
    reason: ReasonView,
    created: String,
}

#[derive(Serialize)]
struct TasksPage {
    #[serde(flatten)]
    base: Base,
    tasks: Vec<TaskLine>,
}

async fn tasks(State(state): State<AppState>, visit: Visit, staff: Staff) -> Result<Html<String>, PageError> {
    let units = sending_units(&state, &visit, &staff).await?;
    let language = visit.language;
    // The task names the letter and why; never where the recipient lives.
    let tasks = state
        .post
        .tasks(visit.kommune)
        .await
        .map_err(post_error)?
        .into_iter()
        .filter(|t| units.iter().any(|u| u.name == t.unit))
        .map(|t| TaskLine {
            reason: reason_view(&state, language, &t.reason),
            created: shown_time(t.created_at),
            letter_id: t.letter_id,
            title: t.title,
            unit: t.unit,
        })
        .collect();
    view::page(&state, "ansatt/post_oppgaver.html", &TasksPage { base: Base::of(&state, &visit, "ansatt"), tasks })
}

// ----- The free letter -----

#[derive(Debug, Default, Deserialize)]
struct LetterForm {
    csrf: Option<String>,
    /// A key made when the form was shown: sending the same form twice sends one letter.
    form_id: Option<String>,
    recipient: Option<String>,
    title: Option<String>,
    body: Option<String>,
    unit: Option<String>,
    /// The saksmappe (systemID) the letter goes in; a new one when empty.
    saksmappe: Option<String>,
    digital_only: Option<String>,
    security_level: Option<String>,
}

/// The form's fields, in the order the page shows them (and the summary lists errors).
const FIELDS: [&str; 6] = ["recipient", "title", "body", "unit", "saksmappe", "security_level"];

/// One broken rule: the field it is about and the message that says it.
type FormError = (&'static str, &'static str);

/// A letter the form describes, once every field is read.
#[derive(Debug)]
struct Checked {
    recipient: Recipient,
    title: String,
    paragraphs: Vec<String>,
    unit: Unit,
    case: Option<String>,
    digital_only: bool,
    security_level: u8,
}

/// The recipient as typed: eleven digits are a fødselsnummer or d-nummer, nine an
/// organisasjonsnummer; spaces between the digits are allowed.
fn recipient_field(text: Option<&str>) -> Result<Recipient, FormError> {
    let digits: String = text.unwrap_or_default().chars().filter(|c| !c.is_whitespace()).collect();
    if digits.is_empty() {
        return Err(("recipient", "post-error-recipient-missing"));
    }
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(("recipient", "post-error-recipient-format"));
    }
    match digits.len() {
        11 => Fnr::parse(&digits).map(Recipient::Person).map_err(|_| ("recipient", "post-error-recipient-fnr-invalid")),
        9 => OrgNr::parse(&digits)
            .map(Recipient::Organisation)
            .map_err(|_| ("recipient", "post-error-recipient-orgnr-invalid")),
        _ => Err(("recipient", "post-error-recipient-format")),
    }
}

fn title_field(text: Option<&str>) -> Result<String, FormError> {
    let text = text.unwrap_or_default().trim();
    if text.is_empty() {
        return Err(("title", "post-error-title-missing"));
    }
    if text.chars().count() > MAX_TITLE {
        return Err(("title", "post-error-title-long"));
    }
    if text.chars().any(char::is_control) {
        return Err(("title", "post-error-title-characters"));
    }
    Ok(text.to_owned())
}

/// The body as paragraphs: split at blank lines, each paragraph's lines joined.
fn body_field(text: Option<&str>) -> Result<Vec<String>, FormError> {
    let text = text.unwrap_or_default().replace("\r\n", "\n");
    if text.chars().count() > MAX_BODY {
        return Err(("body", "post-error-body-long"));
    }
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t')) {
        return Err(("body", "post-error-body-characters"));
    }
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect();
    if paragraphs.is_empty() {
        return Err(("body", "post-error-body-missing"));
    }
    Ok(paragraphs)
}

fn unit_field(code: Option<&str>, units: &[Unit]) -> Result<Unit, FormError> {
    let code = code.unwrap_or_default().trim();
    units.iter().find(|u| u.code == code).cloned().ok_or(("unit", "post-error-unit"))
}

/// The saksmappe as given: empty, or a systemID (a UUID). Whether it exists and is open, the
/// archive says when the letter is journaled.
fn case_field(text: Option<&str>) -> Result<Option<String>, FormError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(id) => {
            uuid::Uuid::parse_str(id).map(|_| Some(id.to_owned())).map_err(|_| ("saksmappe", "post-error-case-format"))
        }
    }
}

fn security_level_field(text: Option<&str>) -> Result<u8, FormError> {
    match text.map(str::trim) {
        Some("3") => Ok(3),
        Some("4") => Ok(4),
        _ => Err(("security_level", "post-error-security-level")),
    }
}

/// Reads every field, and says every rule broken.
fn read_form(form: &LetterForm, units: &[Unit]) -> Result<Checked, Vec<FormError>> {
    let mut errors = Vec::new();
    let recipient = recipient_field(form.recipient.as_deref()).map_err(|e| errors.push(e)).ok();
    let title = title_field(form.title.as_deref()).map_err(|e| errors.push(e)).ok();
    let paragraphs = body_field(form.body.as_deref()).map_err(|e| errors.push(e)).ok();
    let unit = unit_field(form.unit.as_deref(), units).map_err(|e| errors.push(e)).ok();
    let case = case_field(form.saksmappe.as_deref()).map_err(|e| errors.push(e)).ok();
    let security_level = security_level_field(form.security_level.as_deref()).map_err(|e| errors.push(e)).ok();
    match (recipient, title, paragraphs, unit, case, security_level) {
        (Some(recipient), Some(title), Some(paragraphs), Some(unit), Some(case), Some(security_level)) => Ok(Checked {
            recipient,
            title,
            paragraphs,
            unit,
            case,
            digital_only: form.digital_only.is_some(),
            security_level,
        }),
        _ => Err(errors),
    }
}

#[derive(Serialize)]
struct ShownError {
    anchor: &'static str,
    key: &'static str,
}

#[derive(Serialize)]
struct UnitChoice {
    code: String,
    name: String,
    selected: bool,
}

#[derive(Serialize)]
struct FormValues {
    form_id: String,
    recipient: String,
    title: String,
    body: String,
    saksmappe: String,
    digital_only: bool,
    security_level: String,
}

#[derive(Serialize)]
struct FormPage {
    #[serde(flatten)]
    base: Base,
    units: Vec<UnitChoice>,
    form: FormValues,
    errors: Vec<ShownError>,
    /// The errors of each field, beside it; every field has an entry.
    field_errors: std::collections::BTreeMap<&'static str, Vec<&'static str>>,
}

fn form_view(
    state: &AppState,
    visit: &Visit,
    staff: &Staff,
    units: &[Unit],
    form: &LetterForm,
    errors: &[FormError],
) -> Result<Response, PageError> {
    let mut field_errors: std::collections::BTreeMap<&'static str, Vec<&'static str>> =
        FIELDS.iter().map(|field| (*field, Vec::new())).collect();
    let mut shown = Vec::new();
    for field in FIELDS {
        for (f, key) in errors.iter().filter(|(f, _)| *f == field) {
            field_errors.entry(f).or_default().push(key);
            let anchor = if *f == "security_level" { "security_level-3" } else { f };
            shown.push(ShownError { anchor, key });
        }
    }
    // The employee's own unit is chosen first; the one they chose stays chosen.
    let chosen = form.unit.as_deref().filter(|c| units.iter().any(|u| u.code == *c));
    let units = units
        .iter()
        .enumerate()
        .map(|(i, u)| UnitChoice {
            code: u.code.clone(),
            name: u.name.clone(),
            selected: chosen.map_or(i == 0, |c| c == u.code),
        })
        .collect();
    let form_id = form
        .form_id
        .as_deref()
        .filter(|id| uuid::Uuid::parse_str(id).is_ok())
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    let page = FormPage {
        // The form posts to the page itself: the language switch returns to the page.
        base: Base::new(state, visit.language, Some(visit.kommune), "/ansatt/post/nytt", "ansatt", Some(&staff.user)),
        units,
        form: FormValues {
            form_id,
            recipient: form.recipient.clone().unwrap_or_default(),
            title: form.title.clone().unwrap_or_default(),
            body: form.body.clone().unwrap_or_default(),
            saksmappe: form.saksmappe.clone().unwrap_or_default(),
            digital_only: form.digital_only.is_some(),
            security_level: form.security_level.clone().unwrap_or_else(|| "3".to_owned()),
        },
        errors: shown,
        field_errors,
    };
    view::form_page(state, "ansatt/post_nytt.html", &page, !errors.is_empty())
}

/// `?saksmappe=` fills in the case the letter goes in.
#[derive(Deserialize)]
struct NewLetterQuery {
    saksmappe: Option<String>,
}

async fn new_letter(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Query(query): Query<NewLetterQuery>,
) -> Result<Response, PageError> {
    let units = sending_units(&state, &visit, &staff).await?;
    let form = LetterForm { saksmappe: query.saksmappe, ..LetterForm::default() };
    form_view(&state, &visit, &staff, &units, &form, &[])
}

async fn send(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    MultiForm(form): MultiForm<LetterForm>,
) -> Result<Response, PageError> {
    check_csrf(&staff.user, form.csrf.as_deref())?;
    let units = sending_units(&state, &visit, &staff).await?;
    let checked = match read_form(&form, &units) {
        Ok(checked) => checked,
        Err(errors) => return form_view(&state, &visit, &staff, &units, &form, &errors),
    };
    let unknown = [("recipient", "post-error-recipient-unknown")];
    // The registers give the name and address for the letter's recipient block, and its
    // language (the reads are logged with the post engine's purpose).
    let resolved = match state.post.resolve(&checked.recipient).await {
        Ok(resolved) => resolved,
        Err(PostError::UnknownRecipient(_)) => return form_view(&state, &visit, &staff, &units, &form, &unknown),
        Err(other) => return Err(post_error(other)),
    };
    let language = resolved.language;
    let letter = NewLetter {
        sender: Sender { id: sender_id(&staff), name: staff.employee.name.clone() },
        external_ref: form
            .form_id
            .as_deref()
            .filter(|id| uuid::Uuid::parse_str(id).is_ok())
            .map(|id| format!("skjema:{id}")),
        recipient: checked.recipient,
        kind: "fritt".to_owned(),
        title: checked.title.clone(),
        sender_unit: checked.unit.name.clone(),
        documents: Vec::new(),
        digital_only: checked.digital_only,
        security_level: checked.security_level,
        reply_allowed: false,
        case: checked.case,
        answers: None,
        language: Some(language),
    };
    // A free letter from the `fritt` template: rendered to PDF/A with its case reference as it
    // is journaled.
    let content = post::TemplateContent {
        kind: render::LetterKind::Fritt,
        fields: std::collections::BTreeMap::new(),
        paragraphs: checked.paragraphs.clone(),
    };
    match state.post.send_template(visit.kommune, letter, content).await {
        Ok(sent) => Ok(Redirect::to(&format!("/ansatt/post/{}?sendt=1", sent.id)).into_response()),
        Err(PostError::UnknownRecipient(_)) => form_view(&state, &visit, &staff, &units, &form, &unknown),
        Err(PostError::Archive(ArchiveError::NotFound)) => {
            form_view(&state, &visit, &staff, &units, &form, &[("saksmappe", "post-error-case-unknown")])
        }
        Err(PostError::Archive(ArchiveError::Closed(_))) => {
            form_view(&state, &visit, &staff, &units, &form, &[("saksmappe", "post-error-case-closed")])
        }
        Err(PostError::Archive(ArchiveError::WrongParent { .. })) => {
            // The default arkivdel takes no saksmappe directly (it holds a
            // klassifikasjonssystem, as the demo archive's does): the letter needs a case.
            tracing::warn!("a new saksmappe cannot be made in the default arkivdel; the letter needs a case");
            form_view(&state, &visit, &staff, &units, &form, &[("saksmappe", "post-error-case-needed")])
        }
        Err(PostError::Invalid(reason)) => {
            // The form checks what the engine checks; should they ever differ, the employee
            // is told the letter was not sent, and the log says why.
            tracing::warn!(%reason, "the post engine refused a letter the form accepted");
            form_view(&state, &visit, &staff, &units, &form, &[("body", "post-error-refused")])
        }
        Err(other) => Err(post_error(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units() -> Vec<Unit> {
        vec![Unit { code: "barnehage".into(), name: "Barnehageavdelingen".into(), service_area: "barnehage".into() }]
    }

    fn form(recipient: &str, title: &str, body: &str) -> LetterForm {
        LetterForm {
            recipient: Some(recipient.into()),
            title: Some(title.into()),
            body: Some(body.into()),
            unit: Some("barnehage".into()),
            security_level: Some("3".into()),
            ..LetterForm::default()
        }
    }

    #[test]
    fn the_recipient_is_a_fodselsnummer_or_an_organisasjonsnummer() {
        assert!(matches!(recipient_field(Some("148392 21100")), Ok(Recipient::Person(_))));
        assert!(matches!(recipient_field(Some("974 760 673")), Ok(Recipient::Organisation(_))));
        assert_eq!(recipient_field(None).err(), Some(("recipient", "post-error-recipient-missing")));
        assert_eq!(recipient_field(Some("12345")).err(), Some(("recipient", "post-error-recipient-format")));
        assert_eq!(recipient_field(Some("1483922110x")).err(), Some(("recipient", "post-error-recipient-format")));
        assert_eq!(recipient_field(Some("14839221101")).err(), Some(("recipient", "post-error-recipient-fnr-invalid")));
        assert_eq!(recipient_field(Some("974760674")).err(), Some(("recipient", "post-error-recipient-orgnr-invalid")));
    }

    #[test]
    fn every_broken_rule_is_said_and_a_good_form_is_read_into_paragraphs() {
        let errors = read_form(&LetterForm::default(), &units()).expect_err("refused");
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        // The case is optional; every other field is needed.
        assert_eq!(fields, FIELDS.iter().copied().filter(|f| *f != "saksmappe").collect::<Vec<_>>());
        let mut bad_case = form("14839221100", "Svar", "Hei");
        bad_case.saksmappe = Some("2026/17".into());
        assert_eq!(read_form(&bad_case, &units()).expect_err("refused"), vec![("saksmappe", "post-error-case-format")]);
        let long = "x".repeat(MAX_TITLE + 1);
        let errors = read_form(&form("14839221100", &long, "Hei"), &units()).expect_err("refused");
        assert_eq!(errors, vec![("title", "post-error-title-long")]);
        let checked =
            read_form(&form("14839221100", " Svar ", "Første\r\nlinje.\r\n\r\n\r\nAndre  avsnitt. "), &units())
                .expect("a good form");
        assert_eq!(checked.title, "Svar");
        assert_eq!(checked.paragraphs, vec!["Første linje.".to_owned(), "Andre avsnitt.".to_owned()]);
        assert_eq!(checked.unit.name, "Barnehageavdelingen");
        assert_eq!(checked.security_level, 3);
        let mut other_unit = form("14839221100", "Svar", "Hei");
        other_unit.unit = Some("skole".into());
        assert_eq!(read_form(&other_unit, &units()).expect_err("refused"), vec![("unit", "post-error-unit")]);
    }

    #[test]
    fn every_status_and_channel_has_words_in_every_language() {
        let i18n = crate::view::i18n::I18n::load().expect("translations");
        let channels =
            ["digital-postkasse", "innboks", "papir", "manuell", "ingen"].map(|c| format!("post-channel-{c}"));
        let keys = Status::ALL
            .iter()
            .map(|s| status_key(s.as_str()))
            .chain(channels)
            .chain(["post-reason-ikke-levert".into()]);
        for key in keys {
            for language in Language::ALL {
                assert!(i18n.has_message(language, &key), "{key} in {language:?}");
            }
        }
    }
}
