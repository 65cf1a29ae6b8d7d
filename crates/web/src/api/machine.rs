//! Machine clients: the demo token endpoint in the Maskinporten style (`/maskinporten/...`,
//! demo mode only), and the bearer check for scoped API areas. A production deployment trusts
//! the real Maskinporten's tokens instead (`[maskinporten] issuer`).

use axum::Router;
use axum::extract::{Form, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use identity::maskinporten::{AccessTokenError, MachinePrincipal};
use identity::policy::{self, Action, Asker, Resource};
use kernel::OrgNr;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::AppState;
use crate::error::Problem;

/// This module's part of the OpenAPI description.
#[derive(OpenApi)]
#[openapi(
    paths(organisation),
    components(schemas(OrganisationView)),
    tags((name = "registers", description = "Base-register data for other agencies' systems, with Maskinporten tokens")),
)]
pub(super) struct Fragment;

/// The scope the organisation API requires.
pub const ORGANISATIONS_SCOPE: &str = "allmenning:enhetsregisteret.read";

pub(crate) fn routes(demo: bool) -> Router<AppState> {
    let router = Router::new().route("/api/v1/organisations/{orgnr}", get(organisation));
    if demo {
        router
            .route("/maskinporten/.well-known/oauth-authorization-server", get(metadata))
            .route("/maskinporten/jwks", get(jwks))
            .route("/maskinporten/token", post(token))
    } else {
        router
    }
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response =
        (status, axum::Json(serde_json::json!({ "error": error, "error_description": description }))).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn metadata(State(state): State<AppState>) -> Response {
    match &state.identity.maskinporten {
        Some(maskinporten) => axum::Json(maskinporten.metadata()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn jwks(State(state): State<AppState>) -> Response {
    match &state.identity.maskinporten {
        Some(maskinporten) => axum::Json(maskinporten.jwks()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    assertion: Option<String>,
}

/// The jwt-bearer grant (RFC 7523) with Maskinporten's rules.
async fn token(
    State(state): State<AppState>,
    crate::extract::ClientAddress(address): crate::extract::ClientAddress,
    form: Result<Form<TokenRequest>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(maskinporten) = &state.identity.maskinporten else { return StatusCode::NOT_FOUND.into_response() };
    if !state.identity.token_limiter.allow(address) {
        return oauth_error(StatusCode::TOO_MANY_REQUESTS, "slow_down", "too many token requests; try again later");
    }
    let Ok(Form(form)) = form else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "the body must be a form");
    };
    match maskinporten.grant(form.grant_type.as_deref(), form.assertion.as_deref()).await {
        Ok(token) => {
            let mut response = axum::Json(token).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => {
            let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
            oauth_error(status, error.error, &error.description)
        }
    }
}

/// A machine client with a valid access token, as the API sees it.
#[derive(Debug, Clone)]
pub struct MachineClient(pub MachinePrincipal);

fn unauthorized(detail: &str) -> Response {
    let mut response = Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "A valid access token is required",
        Some(detail.to_owned()),
    )
    .into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Checks the bearer token against the trusted issuers, `scope` and the audience of the
/// host's municipality (a token is good for one municipality's API only), and asks the policy.
pub(super) async fn authorize(parts: &Parts, state: &AppState, scope: &str) -> Result<MachineClient, Response> {
    let Some(bearer) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
    else {
        return Err(unauthorized("send Authorization: Bearer <access token>"));
    };
    let Some(crate::extract::Municipality(kommune)) = parts.extensions.get::<crate::extract::Municipality>().copied()
    else {
        return Err(unauthorized("this host serves no municipality"));
    };
    let audience = state.municipalities.api_audience(kommune);
    match state.identity.access_tokens.verify(bearer.trim(), scope, &audience).await {
        Ok(principal) => {
            let asker = Asker::Client { orgnr: &principal.orgnr, scopes: &principal.scopes };
            if policy::decide(&asker, Action::CallApi, &Resource::Api { scope }).allowed() {
                Ok(MachineClient(principal))
            } else {
                Err(Problem::new(
                    StatusCode::FORBIDDEN,
                    "insufficient_scope",
                    "The token lacks the scope",
                    Some(scope.to_owned()),
                )
                .into_response())
            }
        }
        Err(AccessTokenError::InsufficientScope(_)) => Err(Problem::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "The token lacks the scope this API needs",
            Some(format!("required scope: {scope}")),
        )
        .into_response()),
        Err(AccessTokenError::Unauthenticated(reason)) => {
            // Each refusal is in the access log, up to a limit per address: past it, refusals
            // are still answered but no longer logged one by one, so nobody can grow the hash
            // chain at will by sending garbage.
            let crate::extract::ClientAddress(address) = crate::extract::ClientAddress::of(parts, state);
            if !state.limiters.logged_refusals.allow(address) {
                tracing::warn!("refused access token not logged: over the limit for this address");
                return Err(unauthorized(&reason));
            }
            if let Err(error) = identity::record(
                &state.db,
                audit::Actor::System("api"),
                None,
                identity::actions::TOKEN_REFUSED,
                None,
                Some("api"),
            )
            .await
            {
                tracing::error!(error = %error, "could not log a refused token");
            }
            Err(unauthorized(&reason))
        }
    }
}

/// The bearer check for the organisation API.
#[derive(Debug)]
pub struct OrganisationsReader(pub MachineClient);

impl FromRequestParts<AppState> for OrganisationsReader {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        authorize(parts, state, ORGANISATIONS_SCOPE).await.map(OrganisationsReader)
    }
}

/// An organisation as the API shows it (no roles: they name persons).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationView {
    /// The organisasjonsnummer, nine digits.
    #[schema(pattern = "^[0-9]{9}$", example = "974760673")]
    pub orgnr: String,
    /// The name.
    pub name: String,
    /// The organisational form code (AS, ENK, FLI, ...).
    pub form: String,
    /// The industry code (NACE), when known.
    pub industry_code: Option<String>,
    /// The number of employees.
    pub employees: u32,
    /// Whether it is bankrupt.
    pub bankrupt: bool,
}

/// One organisation from Enhetsregisteret; needs a token with the scope
/// `allmenning:enhetsregisteret.read`.
#[utoipa::path(
    get,
    path = "/api/v1/organisations/{orgnr}",
    params(("orgnr" = String, Path, pattern = "^[0-9]{9}$", example = "974760673",
        description = "Organisasjonsnummer: nine digits, the last a modulus 11 check digit")),
    security(("maskinporten" = ["allmenning:enhetsregisteret.read"])),
    responses(
        (status = 200, description = "The organisation", body = OrganisationView),
        (status = 400, description = "Not a valid organisasjonsnummer (`invalid_orgnr`: the check digit does not match), or control characters in the path", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
        (status = 421, description = "The host belongs to no municipality", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The register could not be read", body = Problem, content_type = "application/problem+json"),
    ),
    tag = "registers"
)]
pub async fn organisation(
    State(state): State<AppState>,
    OrganisationsReader(MachineClient(client)): OrganisationsReader,
    Path(orgnr): Path<String>,
) -> Response {
    let orgnr = match OrgNr::parse(&orgnr) {
        Ok(orgnr) => orgnr,
        Err(error) => {
            return Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_orgnr",
                "Not a valid organisasjonsnummer",
                Some(error.to_string()),
            )
            .into_response();
        }
    };
    let Ok(caller) = identity::callers::machine_client(client.orgnr, ORGANISATIONS_SCOPE) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    match state.identity.registers.organisation(&caller, &orgnr).await {
        Ok(Some(organisation)) => axum::Json(OrganisationView {
            orgnr: organisation.orgnr.as_digits(),
            name: organisation.name,
            form: organisation.form,
            industry_code: organisation.industry_code,
            employees: organisation.employees,
            bankrupt: organisation.bankrupt,
        })
        .into_response(),
        Ok(None) | Err(registers::RegisterError::NotFound | registers::RegisterError::Gone) => {
            Problem::new(StatusCode::NOT_FOUND, "not_found", "No such organisation", None).into_response()
        }
        Err(error) => {
            tracing::error!(error = %error, "organisation lookup failed");
            Problem::new(StatusCode::BAD_GATEWAY, "register_unavailable", "The register could not be read", None)
                .into_response()
        }
    }
}
