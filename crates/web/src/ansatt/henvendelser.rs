//! Inquiries (henvendelser) at the service desk (`/ansatt/henvendelser`): the list of the
//! employee's units' inquiries with filters, a fast registration form (channel, unit, category,
//! an optional person by fødselsnummer, the text, archive duty), and one inquiry with its answer
//! form, closing, and the time it took to answer.
//!
//! Who may: an employee who handles some unit's cases (the policy's `HandleCase`), for the
//! inquiries of those units; the engine asks the policy again when it answers or closes.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use cases::{CaseError, Channel, Inquiry, InquiryFilter, InquiryStatus, NewInquiry, Party};
use identity::employees::{Employees, Unit};
use kernel::{Fnr, Language};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::ansatt::saker::{case_error, case_units};
use crate::error::PageError;
use crate::extract::{MultiForm, Staff, Visit, check_csrf};
use crate::minside::post::shown_time;
use crate::view::{self, Base};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ansatt/henvendelser", get(list))
        .route("/ansatt/henvendelser/ny", get(new_inquiry).post(register))
        .route("/ansatt/henvendelser/{id}", get(inquiry))
        .route("/ansatt/henvendelser/{id}/svar", post(answer))
        .route("/ansatt/henvendelser/{id}/lukk", post(close))
}

/// Every channel, in the order the form offers them.
const CHANNELS: [Channel; 5] = [Channel::Counter, Channel::Phone, Channel::Email, Channel::Chat, Channel::Web];

/// The categories the desk registers under: the services the demo's units answer for, general
/// questions, and a wrong register fact. (The service catalogue will give these per service.)
const CATEGORIES: [&str; 7] =
    ["generelt", "barnehageplass", "sfo", "byggesak", "helse_og_omsorg", "eiendomsskatt", cases::WRONG_REGISTER_FACT];

const STATUSES: [InquiryStatus; 3] = [InquiryStatus::Registrert, InquiryStatus::Besvart, InquiryStatus::Lukket];

fn say(state: &AppState, language: Language, key: &str) -> String {
    state.i18n.message(language, key, &[])
}

fn channel_key(channel: Channel) -> String {
    format!("henv-channel-{}", channel.code())
}

fn status_key(status: InquiryStatus) -> String {
    format!("henv-status-{}", status.code())
}

fn category_key(category: &str) -> String {
    format!("henv-category-{}", category.replace('_', "-"))
}

/// A category in words, or as stored when this site has none for it.
fn category_text(state: &AppState, language: Language, category: &str) -> String {
    let key = category_key(category);
    if state.i18n.has_message(language, &key) { say(state, language, &key) } else { category.to_owned() }
}

/// Seconds as "2 t 5 min" in the page's language.
fn duration_text(state: &AppState, language: Language, seconds: i64) -> String {
    let minutes = (seconds + 59) / 60;
    state.i18n.message(
        language,
        "henv-duration",
        &[("hours", (minutes / 60).to_string()), ("minutes", (minutes % 60).to_string())],
    )
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

fn unit_name(units: &[Unit], code: &str) -> String {
    units.iter().find(|u| u.code == code).map_or_else(|| code.to_owned(), |u| u.name.clone())
}

// ----- The list -----

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    status: Option<String>,
    kanal: Option<String>,
    kategori: Option<String>,
}

#[derive(Serialize)]
struct Line {
    id: String,
    registered: String,
    channel: String,
    category: String,
    unit: String,
    status: String,
    time_to_answer: Option<String>,
}

#[derive(Serialize)]
struct ListPage {
    #[serde(flatten)]
    base: Base,
    inquiries: Vec<Line>,
    statuses: Vec<Choice>,
    channels: Vec<Choice>,
    categories: Vec<Choice>,
    filtered: bool,
    registered_now: bool,
}

#[derive(Deserialize)]
struct Registered {
    registrert: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let units = case_units(&state, &visit, &staff).await?;
    let language = visit.language;
    let status = query.status.as_deref().and_then(InquiryStatus::from_code);
    let channel = query.kanal.as_deref().and_then(Channel::from_code);
    let category = query.kategori.as_deref().filter(|c| CATEGORIES.contains(c));
    let mut found: Vec<Inquiry> = Vec::new();
    for unit in &units {
        let filter = InquiryFilter {
            unit: Some(unit.code.clone()),
            status,
            category: category.map(str::to_owned),
            channel,
            limit: 500,
        };
        found.extend(state.cases.inquiries(visit.kommune, &filter).await.map_err(case_error)?);
    }
    // Newest first across the units.
    found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
    let inquiries = found
        .into_iter()
        .map(|i| Line {
            registered: shown_time(i.created_at),
            channel: say(&state, language, &channel_key(i.channel)),
            category: category_text(&state, language, &i.category),
            unit: unit_name(&units, &i.unit),
            status: say(&state, language, &status_key(i.status)),
            time_to_answer: i.seconds_to_answer().map(|s| duration_text(&state, language, s)),
            id: i.id,
        })
        .collect();
    let page = ListPage {
        base: Base::of(&state, &visit, "ansatt"),
        inquiries,
        statuses: STATUSES
            .iter()
            .map(|s| Choice {
                value: s.code().to_owned(),
                label: say(&state, language, &status_key(*s)),
                selected: status == Some(*s),
            })
            .collect(),
        channels: CHANNELS
            .iter()
            .map(|c| Choice {
                value: c.code().to_owned(),
                label: say(&state, language, &channel_key(*c)),
                selected: channel == Some(*c),
            })
            .collect(),
        categories: category_choices(&state, language, category),
        filtered: status.is_some() || channel.is_some() || category.is_some(),
        registered_now: false,
    };
    view::page(&state, "ansatt/henvendelser.html", &page).map(IntoResponse::into_response)
}

fn category_choices(state: &AppState, language: Language, chosen: Option<&str>) -> Vec<Choice> {
    CATEGORIES
        .iter()
        .map(|c| Choice {
            value: (*c).to_owned(),
            label: say(state, language, &category_key(c)),
            selected: chosen == Some(*c),
        })
        .collect()
}

// ----- Registration -----

#[derive(Debug, Default, Deserialize)]
struct InquiryForm {
    csrf: Option<String>,
    channel: Option<String>,
    unit: Option<String>,
    category: Option<String>,
    fnr: Option<String>,
    name: Option<String>,
    contact: Option<String>,
    text: Option<String>,
    archive_duty: Option<String>,
}

/// The registration form's fields, in the order the page shows them.
const FIELDS: [&str; 7] = ["channel", "unit", "category", "fnr", "name", "contact", "text"];

type FormError = (&'static str, &'static str);

#[derive(Serialize)]
struct ShownError {
    anchor: &'static str,
    key: &'static str,
}

struct Checked {
    channel: Channel,
    unit: String,
    category: String,
    from: Option<Party>,
    contact: Option<String>,
    text: String,
}

/// The fødselsnummer as typed (spaces allowed), parsed once here.
fn fnr_field(text: Option<&str>) -> Result<Option<Fnr>, FormError> {
    let digits: String = text.unwrap_or_default().chars().filter(|c| !c.is_whitespace()).collect();
    if digits.is_empty() {
        return Ok(None);
    }
    if digits.len() != 11 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(("fnr", "henv-error-fnr-format"));
    }
    Fnr::parse(&digits).map(Some).map_err(|_| ("fnr", "henv-error-fnr-invalid"))
}

fn single_line(text: Option<&str>, field: &'static str, max: usize) -> Result<Option<String>, FormError> {
    let text = text.unwrap_or_default().trim();
    if text.chars().count() > max {
        return Err((field, "henv-error-line-long"));
    }
    if text.chars().any(char::is_control) {
        return Err((field, "henv-error-characters"));
    }
    Ok(Some(text.to_owned()).filter(|t| !t.is_empty()))
}

fn read_form(form: &InquiryForm, units: &[Unit]) -> Result<Checked, Vec<FormError>> {
    let mut errors = Vec::new();
    let channel = form.channel.as_deref().and_then(Channel::from_code);
    if channel.is_none() {
        errors.push(("channel", "henv-error-channel"));
    }
    let unit = form.unit.as_deref().filter(|c| units.iter().any(|u| u.code == *c));
    if unit.is_none() {
        errors.push(("unit", "henv-error-unit"));
    }
    let category = form.category.as_deref().filter(|c| CATEGORIES.contains(c));
    if category.is_none() {
        errors.push(("category", "henv-error-category"));
    }
    let fnr = fnr_field(form.fnr.as_deref()).map_err(|e| errors.push(e)).ok().flatten();
    let name = single_line(form.name.as_deref(), "name", 200).map_err(|e| errors.push(e)).ok().flatten();
    if fnr.is_some() && name.is_none() && !errors.iter().any(|(f, _)| *f == "name") {
        errors.push(("name", "henv-error-name-missing"));
    }
    let contact = single_line(form.contact.as_deref(), "contact", 200).map_err(|e| errors.push(e)).ok().flatten();
    let text = form.text.as_deref().unwrap_or_default().replace("\r\n", "\n");
    let text = text.trim();
    if text.is_empty() {
        errors.push(("text", "henv-error-text-missing"));
    } else if text.chars().count() > 10_000 {
        errors.push(("text", "henv-error-text-long"));
    } else if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t')) {
        errors.push(("text", "henv-error-characters"));
    }
    match (channel, unit, category, errors.is_empty()) {
        (Some(channel), Some(unit), Some(category), true) => Ok(Checked {
            channel,
            unit: unit.to_owned(),
            category: category.to_owned(),
            from: fnr.zip(name).map(|(fnr, name)| Party::Person { fnr, name }),
            contact,
            text: text.to_owned(),
        }),
        _ => Err(errors),
    }
}

#[derive(Serialize)]
struct FormValues {
    channel: String,
    unit: String,
    category: String,
    fnr: String,
    name: String,
    contact: String,
    text: String,
    archive_duty: bool,
}

#[derive(Serialize)]
struct FormPage {
    #[serde(flatten)]
    base: Base,
    channels: Vec<Choice>,
    units: Vec<Choice>,
    categories: Vec<Choice>,
    form: FormValues,
    errors: Vec<ShownError>,
    field_errors: std::collections::BTreeMap<&'static str, Vec<&'static str>>,
}

fn form_view(
    state: &AppState,
    visit: &Visit,
    staff: &Staff,
    units: &[Unit],
    form: &InquiryForm,
    errors: &[FormError],
) -> Result<Response, PageError> {
    let language = visit.language;
    let mut field_errors: std::collections::BTreeMap<&'static str, Vec<&'static str>> =
        FIELDS.iter().map(|f| (*f, Vec::new())).collect();
    let mut shown = Vec::new();
    for field in FIELDS {
        for (f, key) in errors.iter().filter(|(f, _)| *f == field) {
            field_errors.entry(f).or_default().push(key);
            shown.push(ShownError { anchor: f, key });
        }
    }
    let channel = form.channel.clone().unwrap_or_else(|| Channel::Counter.code().to_owned());
    let unit = form.unit.clone().unwrap_or_default();
    let category = form.category.as_deref().unwrap_or("generelt");
    let page = FormPage {
        base: Base::new(state, language, Some(visit.kommune), "/ansatt/henvendelser/ny", "ansatt", Some(&staff.user)),
        channels: CHANNELS
            .iter()
            .map(|c| Choice {
                value: c.code().to_owned(),
                label: say(state, language, &channel_key(*c)),
                selected: channel == c.code(),
            })
            .collect(),
        units: units
            .iter()
            .enumerate()
            .map(|(i, u)| Choice {
                value: u.code.clone(),
                label: u.name.clone(),
                selected: if unit.is_empty() { i == 0 } else { unit == u.code },
            })
            .collect(),
        categories: category_choices(state, language, Some(category)),
        form: FormValues {
            channel: channel.clone(),
            unit: unit.clone(),
            category: category.to_owned(),
            fnr: form.fnr.clone().unwrap_or_default(),
            name: form.name.clone().unwrap_or_default(),
            contact: form.contact.clone().unwrap_or_default(),
            text: form.text.clone().unwrap_or_default(),
            archive_duty: form.archive_duty.is_some(),
        },
        errors: shown,
        field_errors,
    };
    view::form_page(state, "ansatt/henvendelse_ny.html", &page, !errors.is_empty())
}

async fn new_inquiry(State(state): State<AppState>, visit: Visit, staff: Staff) -> Result<Response, PageError> {
    let units = case_units(&state, &visit, &staff).await?;
    form_view(&state, &visit, &staff, &units, &InquiryForm::default(), &[])
}

async fn register(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    MultiForm(form): MultiForm<InquiryForm>,
) -> Result<Response, PageError> {
    check_csrf(&staff.user, form.csrf.as_deref())?;
    let units = case_units(&state, &visit, &staff).await?;
    let checked = match read_form(&form, &units) {
        Ok(checked) => checked,
        Err(errors) => return form_view(&state, &visit, &staff, &units, &form, &errors),
    };
    let new = NewInquiry {
        channel: checked.channel,
        service_id: Some(checked.category.clone()).filter(|c| c != "generelt" && c != cases::WRONG_REGISTER_FACT),
        category: checked.category,
        unit: checked.unit,
        text: checked.text,
        from: checked.from,
        contact: checked.contact,
        registered_by: Some(staff.employee.id.clone()),
        archive_duty: form.archive_duty.is_some(),
        language: visit.language,
    };
    match state.cases.register_inquiry(visit.kommune, new).await {
        Ok(id) => Ok(Redirect::to(&format!("/ansatt/henvendelser/{id}?registrert=1")).into_response()),
        Err(CaseError::Invalid(reason)) => {
            tracing::warn!(%reason, "the case engine refused an inquiry the form accepted");
            form_view(&state, &visit, &staff, &units, &form, &[("text", "henv-error-refused")])
        }
        Err(other) => Err(case_error(other)),
    }
}

// ----- One inquiry -----

#[derive(Serialize)]
struct InquiryPage {
    #[serde(flatten)]
    base: Base,
    id: String,
    registered: String,
    registered_by: Option<String>,
    channel: String,
    category: String,
    unit: String,
    status: String,
    open: bool,
    answerable: bool,
    text: String,
    from_name: Option<String>,
    from_number: Option<String>,
    contact: Option<String>,
    archive_duty: bool,
    answer: Option<String>,
    answered_by: Option<String>,
    answered: Option<String>,
    time_to_answer: Option<String>,
    closed: Option<String>,
    answer_draft: String,
    registered_now: bool,
    errors: Vec<ShownError>,
    field_errors: std::collections::BTreeMap<&'static str, Vec<&'static str>>,
}

async fn inquiry_page(
    state: &AppState,
    visit: &Visit,
    staff: &Staff,
    id: &str,
    answer_draft: &str,
    errors: &[FormError],
    registered_now: bool,
) -> Result<Response, PageError> {
    let units = case_units(state, visit, staff).await?;
    let language = visit.language;
    // The engine asks the policy (another unit's inquiry is 403, nothing of it read) and logs the
    // view of a named person.
    let inquiry = state.cases.view_inquiry_as_employee(visit.kommune, &staff.employee, id).await.map_err(case_error)?;
    let employees = Employees::new(state.db.clone(), visit.kommune).list().await?;
    let name_of = |id: &str| employees.iter().find(|e| e.id == id).map_or_else(|| id.to_owned(), |e| e.name.clone());
    let mut field_errors: std::collections::BTreeMap<&'static str, Vec<&'static str>> =
        [("answer", Vec::new())].into_iter().collect();
    for (field, key) in errors {
        field_errors.entry(field).or_default().push(key);
    }
    let page = InquiryPage {
        base: Base::new(
            state,
            language,
            Some(visit.kommune),
            &format!("/ansatt/henvendelser/{id}"),
            "ansatt",
            Some(&staff.user),
        ),
        registered: shown_time(inquiry.created_at),
        registered_by: inquiry.registered_by.as_deref().map(name_of),
        channel: say(state, language, &channel_key(inquiry.channel)),
        category: category_text(state, language, &inquiry.category),
        unit: unit_name(&units, &inquiry.unit),
        status: say(state, language, &status_key(inquiry.status)),
        open: inquiry.status != InquiryStatus::Lukket,
        answerable: inquiry.status == InquiryStatus::Registrert,
        from_name: inquiry.from.as_ref().map(|p| p.name().to_owned()),
        from_number: inquiry.from.as_ref().map(Party::identifier),
        archive_duty: inquiry.archive_duty,
        answered_by: inquiry.answered_by.as_deref().map(name_of),
        answered: inquiry.answered_at.map(shown_time),
        time_to_answer: inquiry.seconds_to_answer().map(|s| duration_text(state, language, s)),
        closed: inquiry.closed_at.map(shown_time),
        id: inquiry.id,
        text: inquiry.text,
        contact: inquiry.contact,
        answer: inquiry.answer,
        answer_draft: answer_draft.to_owned(),
        registered_now,
        errors: errors.iter().map(|(anchor, key)| ShownError { anchor, key }).collect(),
        field_errors,
    };
    view::form_page(state, "ansatt/henvendelse.html", &page, !errors.is_empty())
}

async fn inquiry(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Path(id): Path<String>,
    Query(query): Query<Registered>,
) -> Result<Response, PageError> {
    inquiry_page(&state, &visit, &staff, &id, "", &[], query.registrert.is_some()).await
}

#[derive(Debug, Default, Deserialize)]
struct AnswerForm {
    csrf: Option<String>,
    answer: Option<String>,
}

async fn answer(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Path(id): Path<String>,
    MultiForm(form): MultiForm<AnswerForm>,
) -> Result<Response, PageError> {
    check_csrf(&staff.user, form.csrf.as_deref())?;
    let draft = form.answer.clone().unwrap_or_default();
    let text = draft.replace("\r\n", "\n");
    let text = text.trim();
    let error = if text.is_empty() {
        Some("henv-error-answer-missing")
    } else if text.chars().count() > 20_000 {
        Some("henv-error-line-long")
    } else if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t')) {
        Some("henv-error-characters")
    } else {
        None
    };
    if let Some(key) = error {
        return inquiry_page(&state, &visit, &staff, &id, &draft, &[("answer", key)], false).await;
    }
    match state.cases.answer_inquiry(visit.kommune, &staff.employee, &id, text, visit.language).await {
        Ok(()) => Ok(Redirect::to(&format!("/ansatt/henvendelser/{id}")).into_response()),
        Err(CaseError::Conflict(_)) => {
            inquiry_page(&state, &visit, &staff, &id, &draft, &[("answer", "henv-error-answered")], false).await
        }
        Err(other) => Err(case_error(other)),
    }
}

#[derive(Debug, Default, Deserialize)]
struct CloseForm {
    csrf: Option<String>,
}

async fn close(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Path(id): Path<String>,
    MultiForm(form): MultiForm<CloseForm>,
) -> Result<Response, PageError> {
    check_csrf(&staff.user, form.csrf.as_deref())?;
    match state.cases.close_inquiry(visit.kommune, &staff.employee, &id).await {
        Ok(()) | Err(CaseError::Conflict(_)) => Ok(Redirect::to(&format!("/ansatt/henvendelser/{id}")).into_response()),
        Err(other) => Err(case_error(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_status_and_category_has_words_in_every_language() {
        let i18n = crate::view::i18n::I18n::load().expect("translations");
        let keys = CHANNELS
            .iter()
            .map(|c| channel_key(*c))
            .chain(STATUSES.iter().map(|s| status_key(*s)))
            .chain(CATEGORIES.iter().map(|c| category_key(c)))
            .chain(["henv-duration".to_owned()]);
        for key in keys {
            for language in Language::ALL {
                assert!(i18n.has_message(language, &key), "{key} in {language:?}");
            }
        }
    }

    #[test]
    fn a_fodselsnummer_is_optional_but_must_be_valid_and_named() {
        assert_eq!(fnr_field(Some("")).ok(), Some(None));
        assert!(matches!(fnr_field(Some("148392 21100")), Ok(Some(_))));
        assert_eq!(fnr_field(Some("1234")).err(), Some(("fnr", "henv-error-fnr-format")));
        assert_eq!(fnr_field(Some("14839221101")).err(), Some(("fnr", "henv-error-fnr-invalid")));
        let units = vec![Unit {
            code: "barnehage".into(),
            name: "Barnehageavdelingen".into(),
            service_area: "barnehage".into(),
        }];
        let form = InquiryForm {
            channel: Some("telefon".into()),
            unit: Some("barnehage".into()),
            category: Some("barnehageplass".into()),
            fnr: Some("14839221100".into()),
            text: Some("Når får vi svar?".into()),
            ..InquiryForm::default()
        };
        let errors = read_form(&form, &units).err().expect("refused");
        assert_eq!(errors, vec![("name", "henv-error-name-missing")]);
        let named = InquiryForm { name: Some("Kari Nordmann".into()), ..form };
        assert!(read_form(&named, &units).is_ok());
        let errors = read_form(&InquiryForm::default(), &units).err().expect("refused");
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, vec!["channel", "unit", "category", "text"]);
    }
}
