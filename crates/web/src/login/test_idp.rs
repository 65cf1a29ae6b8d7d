//! The built-in test identity provider's pages and endpoints, under `/test-idp`, in demo mode
//! only. Its login page lists the demo personas (or the demo employees) and accepts any
//! synthetic fødselsnummer; it says plainly that it is a test login.

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use identity::test_idp::{Audience, AuthorizeError, AuthorizeParams, TestIdp, TestLogin, TokenForm};
use kernel::{Fnr, Language};
use registers::synthetic::Persona;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::PageError;
use crate::extract::Lang;
use crate::view::{self, Base};

/// The demo employees the test provider offers: subject, name, and the message that says
/// what they do.
pub const DEMO_EMPLOYEES: [(&str, &str, &str); 4] = [
    ("kari.saksbehandler", "Kari Nilsen", "test-idp-employee-kari"),
    ("ola.leder", "Ola Dahl", "test-idp-employee-ola"),
    ("anne.arkivar", "Anne Moen", "test-idp-employee-anne"),
    ("admin", "Per Admin", "test-idp-employee-admin"),
];

/// The message that tells a persona's situation, so a demo user knows whom to pick.
fn persona_story(persona: Persona) -> &'static str {
    match persona {
        Persona::ParentOfNewborn => "test-idp-persona-parent-of-newborn",
        Persona::JustMovedIn => "test-idp-persona-just-moved-in",
        Persona::ReservedAgainstDigitalPost => "test-idp-persona-reserved",
        Persona::StrengtFortrolig => "test-idp-persona-strengt-fortrolig",
        Persona::DagligLederOfNewBusiness => "test-idp-persona-daglig-leder",
        Persona::NewInNorway => "test-idp-persona-new-in-norway",
        Persona::NextOfKinOfDeceased => "test-idp-persona-next-of-kin",
    }
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/test-idp/.well-known/openid-configuration", get(discovery))
        .route("/test-idp/jwks", get(jwks))
        .route("/test-idp/authorize", get(authorize_page).post(authorize_submit))
        .route("/test-idp/token", axum::routing::post(token))
        .route("/test-idp/endsession", get(end_session))
}

fn provider(state: &AppState) -> Result<&TestIdp, PageError> {
    state.identity.test_idp.as_ref().ok_or(PageError::NotFound)
}

async fn discovery(State(state): State<AppState>) -> Result<Response, PageError> {
    Ok(axum::Json(provider(&state)?.discovery()).into_response())
}

async fn jwks(State(state): State<AppState>) -> Result<Response, PageError> {
    Ok(axum::Json(provider(&state)?.jwks()).into_response())
}

#[derive(Serialize)]
struct Choice {
    value: String,
    name: String,
    detail: String,
    story: String,
}

/// The request's parameters, carried through the login form as hidden fields.
#[derive(Debug, Default, Deserialize, Serialize)]
struct LoginForm {
    #[serde(flatten)]
    request: AuthorizeFormParams,
    who: Option<String>,
    pid: Option<String>,
    acr: Option<String>,
    avbryt: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
struct AuthorizeFormParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    acr_values: Option<String>,
    ui_locales: Option<String>,
}

impl From<&AuthorizeFormParams> for AuthorizeParams {
    fn from(p: &AuthorizeFormParams) -> Self {
        AuthorizeParams {
            response_type: p.response_type.clone(),
            client_id: p.client_id.clone(),
            redirect_uri: p.redirect_uri.clone(),
            scope: p.scope.clone(),
            state: p.state.clone(),
            nonce: p.nonce.clone(),
            code_challenge: p.code_challenge.clone(),
            code_challenge_method: p.code_challenge_method.clone(),
            acr_values: p.acr_values.clone(),
            ui_locales: p.ui_locales.clone(),
        }
    }
}

fn page_language(params: &AuthorizeFormParams, fallback: Language) -> Language {
    params
        .ui_locales
        .as_deref()
        .and_then(|l| l.split(' ').find_map(|tag| tag.parse::<Language>().ok()))
        .unwrap_or(fallback)
}

fn render_login(
    state: &AppState,
    language: Language,
    params: &AuthorizeFormParams,
    audience: Audience,
    acr: &str,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let choices: Vec<Choice> = match audience {
        Audience::Residents => Persona::ALL
            .iter()
            .map(|p| Choice {
                value: p.fnr().as_digits(),
                name: p.name().to_owned(),
                detail: p.fnr().as_digits(),
                story: state.i18n.message(language, persona_story(*p), &[]),
            })
            .collect(),
        Audience::Employees => DEMO_EMPLOYEES
            .iter()
            .map(|(subject, name, story)| Choice {
                value: (*subject).to_owned(),
                name: (*name).to_owned(),
                detail: (*subject).to_owned(),
                story: state.i18n.message(language, story, &[]),
            })
            .collect(),
    };
    let view = LoginPage {
        base: Base::new(state, language, None, "/test-idp/authorize", "", None),
        params,
        choices,
        residents: audience == Audience::Residents,
        acr,
        error,
    };
    view::form_page(state, "login/test_idp.html", &view, error.is_some())
}

#[derive(Serialize)]
struct LoginPage<'a> {
    #[serde(flatten)]
    base: Base,
    params: &'a AuthorizeFormParams,
    choices: Vec<Choice>,
    residents: bool,
    acr: &'a str,
    error: Option<&'a str>,
}

fn authorize_error(error: AuthorizeError) -> Result<Response, PageError> {
    match error {
        AuthorizeError::Redirect(url) => Ok(Redirect::to(&url).into_response()),
        AuthorizeError::NoRedirect(reason) => {
            tracing::warn!(reason, "test provider refused an authorization request");
            Err(PageError::BadRequest)
        }
    }
}

async fn authorize_page(
    State(state): State<AppState>,
    Lang(language): Lang,
    Query(params): Query<AuthorizeFormParams>,
) -> Result<Response, PageError> {
    let idp = provider(&state)?;
    match idp.check_authorize(&AuthorizeParams::from(&params)) {
        Ok(request) => {
            render_login(&state, page_language(&params, language), &params, request.audience, &request.acr, None)
        }
        Err(error) => authorize_error(error),
    }
}

async fn authorize_submit(
    State(state): State<AppState>,
    Lang(language): Lang,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let idp = provider(&state)?;
    let request = match idp.check_authorize(&AuthorizeParams::from(&form.request)) {
        Ok(request) => request,
        Err(error) => return authorize_error(error),
    };
    let language = page_language(&form.request, language);
    if form.avbryt.is_some() {
        return Ok(Redirect::to(&idp.cancel(&request)).into_response());
    }
    // The login page again, with what was wrong.
    let refuse =
        |error: &str| render_login(&state, language, &form.request, request.audience, &request.acr, Some(error));
    let login = match request.audience {
        Audience::Residents => {
            let typed = form.pid.as_deref().map(str::trim).filter(|p| !p.is_empty());
            let chosen = typed.or(form.who.as_deref());
            let pid = match chosen.map(Fnr::parse) {
                Some(Ok(fnr)) if fnr.is_synthetic() => fnr,
                Some(Ok(_)) => return refuse("test-idp-error-not-synthetic"),
                Some(Err(_)) => return refuse("test-idp-error-invalid"),
                None => return refuse("test-idp-error-choose"),
            };
            let acr = form.acr.clone().unwrap_or_else(|| request.acr.clone());
            TestLogin::Resident { pid, acr }
        }
        Audience::Employees => {
            let Some((subject, name, _)) = DEMO_EMPLOYEES.iter().find(|(s, ..)| Some(*s) == form.who.as_deref()) else {
                return refuse("test-idp-error-choose");
            };
            TestLogin::Employee { subject: (*subject).to_owned(), name: (*name).to_owned() }
        }
    };
    match idp.approve(&request, &login).await {
        Ok(url) => Ok(Redirect::to(&url).into_response()),
        Err(identity::IdentityError::Invalid(_)) => refuse("test-idp-error-level"),
        Err(other) => Err(other.into()),
    }
}

async fn token(State(state): State<AppState>, Form(form): Form<TokenForm>) -> Result<Response, PageError> {
    let idp = provider(&state)?;
    match idp.token(&form).await {
        Ok(body) => Ok(axum::Json(body).into_response()),
        Err(error) => {
            let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
            Ok((
                status,
                axum::Json(serde_json::json!({ "error": error.error, "error_description": error.description })),
            )
                .into_response())
        }
    }
}

#[derive(Debug, Deserialize)]
struct EndSession {
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

async fn end_session(State(state): State<AppState>, Query(query): Query<EndSession>) -> Result<Response, PageError> {
    let idp = provider(&state)?;
    let target = idp.end_session(
        query.id_token_hint.as_deref(),
        query.client_id.as_deref(),
        query.post_logout_redirect_uri.as_deref(),
        query.state.as_deref(),
    );
    Ok(Redirect::to(target.as_deref().unwrap_or("/")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_persona_and_demo_employee_has_a_story_in_every_language() {
        let i18n = crate::view::i18n::I18n::load().expect("translations");
        for language in Language::ALL {
            for key in Persona::ALL.map(persona_story).into_iter().chain(DEMO_EMPLOYEES.map(|(_, _, key)| key)) {
                assert!(i18n.has_message(language, key), "{key} is missing in {language}");
            }
        }
    }
}
