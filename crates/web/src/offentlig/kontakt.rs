//! The contact form (`/kontakt`), for anyone, logged in or not: a question or message to the
//! municipality becomes an inquiry (henvendelse) in the unit of the service it is about, or
//! the service desk's when it is about nothing in particular. A logged-in resident is the
//! inquirer; anyone else may leave an e-mail address or phone number to be answered on.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use identity::ActingAs;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::PageError;
use crate::extract::{ClientAddress, Visit, check_csrf};
use crate::tjenester::flow::case_error;
use crate::view::{self, Base};

/// The unit answering inquiries about no service in particular.
pub const SERVICE_DESK_UNIT: &str = "servicetorget";
/// The category of such an inquiry.
const GENERAL: &str = "generelt";
/// The longest message.
const MESSAGE_MAX: usize = 4000;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/kontakt", get(form_page).post(send)).route("/kontakt/mottatt", get(received))
}

#[derive(Debug, Default, Deserialize)]
struct ContactForm {
    csrf: Option<String>,
    tjeneste: Option<String>,
    melding: Option<String>,
    kontakt: Option<String>,
    navn: Option<String>,
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
struct ShownError {
    field: &'static str,
    text: String,
}

#[derive(Serialize, Default)]
struct FieldErrors {
    tjeneste: Option<String>,
    melding: Option<String>,
    kontakt: Option<String>,
    navn: Option<String>,
}

#[derive(Serialize)]
struct ContactPage {
    #[serde(flatten)]
    base: Base,
    logged_in: bool,
    csrf: String,
    services: Vec<Choice>,
    melding: String,
    kontakt: String,
    navn: String,
    errors: Vec<ShownError>,
    field_errors: FieldErrors,
}

fn render(
    state: &AppState,
    visit: &Visit,
    form: &ContactForm,
    errors: Vec<(&'static str, String)>,
) -> Result<Response, PageError> {
    let selected = form.tjeneste.clone().unwrap_or_default();
    let mut services = vec![Choice {
        value: String::new(),
        label: state.i18n.message(visit.language, "kontakt-general", &[]),
        selected: selected.is_empty(),
    }];
    services.extend(state.applications.catalog().services().iter().map(|s| Choice {
        value: s.id.clone(),
        label: s.name.get(visit.language).to_owned(),
        selected: s.id == selected,
    }));
    let mut field_errors = FieldErrors::default();
    for (field, text) in &errors {
        let slot = match *field {
            "tjeneste" => &mut field_errors.tjeneste,
            "kontakt" => &mut field_errors.kontakt,
            "navn" => &mut field_errors.navn,
            _ => &mut field_errors.melding,
        };
        slot.get_or_insert_with(|| text.clone());
    }
    let user = visit.user.as_ref().filter(|u| u.person().is_some());
    let page = ContactPage {
        base: Base::of(state, visit, "kontakt"),
        logged_in: user.is_some(),
        csrf: user.map(|u| u.session.csrf_token.clone()).unwrap_or_default(),
        services,
        melding: form.melding.clone().unwrap_or_default(),
        kontakt: form.kontakt.clone().unwrap_or_default(),
        navn: form.navn.clone().unwrap_or_default(),
        field_errors,
        errors: errors.into_iter().map(|(field, text)| ShownError { field, text }).collect(),
    };
    let has_errors = !page.errors.is_empty();
    view::form_page(state, "offentlig/kontakt.html", &page, has_errors)
}

async fn form_page(State(state): State<AppState>, visit: Visit) -> Result<Response, PageError> {
    render(&state, &visit, &ContactForm::default(), vec![])
}

/// A plausible e-mail address or phone number.
fn is_contact(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let email = text.split_once('@').is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.ends_with('.'));
    let phone = digits >= 8 && text.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-'));
    (email || phone) && !text.chars().any(|c| c.is_control() || (email && c.is_whitespace())) && text.len() <= 200
}

async fn send(
    State(state): State<AppState>,
    visit: Visit,
    ClientAddress(address): ClientAddress,
    axum::Form(form): axum::Form<ContactForm>,
) -> Result<Response, PageError> {
    let user = visit.user.clone().filter(|u| u.person().is_some());
    match &user {
        Some(user) => check_csrf(user, form.csrf.as_deref())?,
        None if !state.limiters.feedback.allow(address) => return Err(PageError::TooManyRequests),
        None => {}
    }
    let language = visit.language;
    let message = |key: &str, args: &[(&str, String)]| state.i18n.message(language, key, args);
    let mut errors = Vec::new();
    let service = match form.tjeneste.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(id) => match state.applications.catalog().get(id) {
            Some(service) => Some(service),
            None => {
                errors.push(("tjeneste", message("kontakt-error-service", &[])));
                None
            }
        },
    };
    let text = form.melding.as_deref().unwrap_or_default().trim().to_owned();
    if text.is_empty() {
        errors.push(("melding", message("kontakt-error-message-required", &[])));
    } else if text.chars().count() > MESSAGE_MAX
        || text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        errors.push(("melding", message("kontakt-error-message-too-long", &[("max", MESSAGE_MAX.to_string())])));
    }
    let contact = form.kontakt.as_deref().unwrap_or_default().trim().to_owned();
    if !contact.is_empty() && !is_contact(&contact) {
        errors.push(("kontakt", message("kontakt-error-contact", &[])));
    } else if contact.is_empty() && user.is_none() {
        errors.push(("kontakt", message("kontakt-error-contact-required", &[])));
    }
    let name = form.navn.as_deref().unwrap_or_default().trim().to_owned();
    if name.chars().count() > 200 || name.chars().any(char::is_control) {
        errors.push(("navn", message("kontakt-error-name", &[])));
    }
    if !errors.is_empty() {
        return render(&state, &visit, &form, errors);
    }
    let from = match &user {
        Some(user) => {
            let me = *user.person().ok_or(PageError::Forbidden)?;
            // Acting for an organisation, the inquiry is the organisation's.
            Some(match &user.session.acting_as {
                ActingAs::Organisation(orgnr, _) => cases::Party::Organisation {
                    orgnr: *orgnr,
                    name: user.session.acting_name.clone().unwrap_or_default(),
                },
                _ => cases::Party::Person { fnr: me, name: user.session.display_name.clone() },
            })
        }
        None => None,
    };
    let text = if user.is_none() && !name.is_empty() { format!("{text}\n\n({name})") } else { text };
    let id = state
        .cases
        .register_inquiry(
            visit.kommune,
            cases::NewInquiry {
                channel: cases::Channel::Web,
                service_id: service.map(|s| s.id.clone()),
                category: service.map_or_else(|| GENERAL.to_owned(), |s| s.id.clone()),
                unit: service.map_or_else(|| SERVICE_DESK_UNIT.to_owned(), |s| s.unit.id.clone()),
                text,
                archive_duty: from.is_some() && service.is_some(),
                from,
                contact: Some(contact).filter(|c| !c.is_empty()),
                registered_by: None,
                language,
            },
        )
        .await
        .map_err(case_error)?;
    let reference: String = id.chars().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect();
    Ok(Redirect::to(&format!("/kontakt/mottatt?referanse={reference}")).into_response())
}

#[derive(Deserialize)]
struct ReceivedQuery {
    referanse: Option<String>,
}

#[derive(Serialize)]
struct ReceivedPage {
    #[serde(flatten)]
    base: Base,
    reference: String,
}

async fn received(
    State(state): State<AppState>,
    visit: Visit,
    Query(query): Query<ReceivedQuery>,
) -> Result<Response, PageError> {
    let reference: String =
        query.referanse.unwrap_or_default().chars().filter(char::is_ascii_hexdigit).take(8).collect();
    let page = ReceivedPage { base: Base::of(&state, &visit, "kontakt"), reference };
    Ok(view::page(&state, "offentlig/kontakt_mottatt.html", &page)?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_are_an_email_address_or_a_phone_number() {
        assert!(is_contact("ingrid@example.no"));
        assert!(is_contact("+47 912 34 567"));
        assert!(!is_contact("ring meg"));
        assert!(!is_contact("123"));
    }
}
