//! Who calls the tjenestegrensesnitt: a machine client with a bearer token carrying the
//! `allmenning:noark5` scope (`login/rfc6749/`), an employee logged in to the employee pages
//! (their session), or — in demo mode only — a demo employee over HTTP Basic
//! (`login/rfc7617/`, the user names and password in `docs/DEMO.md`). Employees need the
//! archivist role; anyone else is 401 with `WWW-Authenticate`, or 403.

use archive::Actor;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use identity::Principal;
use identity::employees::{Employee, Employees};
use identity::maskinporten::AccessTokenError;
use identity::policy::{self, Action, Asker, Resource};
use kernel::Kommunenummer;

use super::feil;
use crate::AppState;
use crate::extract::CurrentUser;

/// The scope a machine client's token needs for the archive.
pub const NOARK5_SCOPE: &str = "allmenning:noark5";

/// The demo employees' password over HTTP Basic (demo mode only; `docs/DEMO.md`).
pub const DEMO_PASSWORD: &str = "noark5-demo";

/// A caller of the tjenestegrensesnitt.
#[derive(Debug, Clone)]
pub(crate) struct NoarkUser {
    /// Who they are in the archive (`opprettetAv`, the endringslogg).
    pub actor: Actor,
    /// Whether they may create, change and delete (not only read).
    pub may_manage: bool,
}

fn unauthorized(state: &AppState, message: &str) -> Response {
    let mut response = feil(StatusCode::UNAUTHORIZED, message);
    let challenge =
        if state.config.demo { "Bearer realm=\"noark5\", Basic realm=\"noark5\"" } else { "Bearer realm=\"noark5\"" };
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    response
}

/// The employee as a caller, when the policy lets them read the archive (403 otherwise).
#[allow(clippy::result_large_err)] // a Response is what every caller answers with
fn as_employee(employee: &Employee) -> Result<NoarkUser, Response> {
    let asker = Asker::Employee { roles: &employee.roles };
    let may_read = policy::decide(&asker, Action::Read, &Resource::Archive).allowed();
    let may_manage = policy::decide(&asker, Action::ManageArchive, &Resource::Archive).allowed();
    if may_read {
        Ok(NoarkUser { actor: Actor { id: employee.id.clone(), name: employee.name.clone() }, may_manage })
    } else {
        Err(feil(StatusCode::FORBIDDEN, "Arkivet er for arkivarer"))
    }
}

/// Finds the caller, or answers 401/403.
pub(crate) async fn authenticate(
    state: &AppState,
    kommune: Kommunenummer,
    headers: &HeaderMap,
    session: Option<CurrentUser>,
) -> Result<NoarkUser, Response> {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::trim);
    let employees = Employees::new(state.db.clone(), kommune);
    if let Some(authorization) = authorization {
        let (scheme, credentials) = authorization.split_once(' ').unwrap_or((authorization, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            let audience = state.municipalities.api_audience(kommune);
            return match state.identity.access_tokens.verify(credentials.trim(), NOARK5_SCOPE, &audience).await {
                Ok(principal) => {
                    let asker = Asker::Client { orgnr: &principal.orgnr, scopes: &principal.scopes };
                    if !policy::decide(&asker, Action::CallApi, &Resource::Api { scope: NOARK5_SCOPE }).allowed() {
                        return Err(feil(StatusCode::FORBIDDEN, "Tokenet mangler scope allmenning:noark5"));
                    }
                    let name = format!("{} ({})", principal.client_id, principal.orgnr);
                    Ok(NoarkUser { actor: Actor { id: principal.client_id.clone(), name }, may_manage: true })
                }
                Err(AccessTokenError::InsufficientScope(_)) => {
                    Err(feil(StatusCode::FORBIDDEN, "Tokenet mangler scope allmenning:noark5"))
                }
                Err(_) => Err(unauthorized(state, "Tokenet godtas ikke")),
            };
        }
        if scheme.eq_ignore_ascii_case("basic") && state.config.demo {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(credentials.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok());
            let Some((user, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
                return Err(unauthorized(state, "Ugyldig Basic-innlogging"));
            };
            if password != DEMO_PASSWORD {
                return Err(unauthorized(state, "Feil brukernavn eller passord"));
            }
            return match employees.by_subject(user).await {
                Ok(Some(employee)) if employee.active => as_employee(&employee),
                Ok(_) => Err(unauthorized(state, "Feil brukernavn eller passord")),
                Err(error) => {
                    tracing::error!(error = %error, "employee lookup failed");
                    Err(feil(StatusCode::INTERNAL_SERVER_ERROR, "Innloggingen svarte ikke"))
                }
            };
        }
        return Err(unauthorized(state, "Innloggingsmåten støttes ikke her"));
    }
    if let Some(user) = &session
        && let Principal::Employee(id) = &user.session.principal
    {
        return match employees.get(id).await {
            Ok(Some(employee)) if employee.active => as_employee(&employee),
            Ok(_) => Err(feil(StatusCode::FORBIDDEN, "Arkivet er for arkivarer")),
            Err(error) => {
                tracing::error!(error = %error, "employee lookup failed");
                Err(feil(StatusCode::INTERNAL_SERVER_ERROR, "Innloggingen svarte ikke"))
            }
        };
    }
    Err(unauthorized(state, "Logg inn for å bruke arkivet"))
}
