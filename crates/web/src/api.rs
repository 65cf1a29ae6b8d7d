//! The JSON API under `/api/v1`, health and readiness, metrics, and the OpenAPI description
//! generated from these handlers.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use content::Feedback;
use kernel::Language;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::AppState;
use crate::error::{ApiError, FieldError, Problem};
use crate::tenancy::Municipality;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::render))
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/v1/municipality", get(municipality))
        .route("/api/v1/notices", get(notices))
        .route("/api/v1/feedback", post(submit_feedback))
}

/// A JSON body whose rejections are problem+json like every other API error.
#[derive(Debug)]
pub struct AppJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(AppJson(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::UnsupportedMediaType),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::PayloadTooLarge),
            Err(rejection) => Err(ApiError::MalformedJson(rejection.body_text())),
        }
    }
}

/// Process status.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is up", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The database answers and every migration this binary carries is applied.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "Not ready", body = Problem, content_type = "application/problem+json"),
    ))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.db.ping().await.map_err(|e| ApiError::Unavailable(format!("database: {e}")))?;
    let migrations =
        state.db.migration_status().await.map_err(|e| ApiError::Unavailable(format!("migrations: {e}")))?;
    if !migrations.is_current() {
        return Err(ApiError::Unavailable("database migrations are not applied".to_owned()));
    }
    Ok(Json(Health { status: "ready" }))
}

/// The municipality a request was served for.
#[derive(Debug, Serialize, ToSchema)]
pub struct MunicipalityInfo {
    /// Kommunenummer, four digits.
    #[schema(example = "4601")]
    pub kommunenummer: String,
    /// Official name.
    #[schema(example = "Bergen")]
    pub name: String,
    /// County number.
    #[schema(example = "46")]
    pub county_number: String,
    /// County name.
    #[schema(example = "Vestland")]
    pub county_name: String,
}

/// Which municipality this host name serves.
#[utoipa::path(get, path = "/api/v1/municipality", tag = "municipality",
    responses(
        (status = 200, description = "The municipality", body = MunicipalityInfo),
        (status = 421, description = "The host belongs to no municipality", body = Problem, content_type = "application/problem+json"),
    ))]
async fn municipality(Municipality(kommune): Municipality) -> Json<MunicipalityInfo> {
    let info = kommune.kommune();
    Json(MunicipalityInfo {
        kommunenummer: kommune.to_string(),
        name: info.navn.to_owned(),
        county_number: info.fylkesnummer.to_owned(),
        county_name: info.fylkesnavn.to_owned(),
    })
}

/// One notice.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeItem {
    /// Id.
    pub id: String,
    /// Language of the text: `nb`, `nn` or `en`.
    pub language: String,
    /// Headline.
    pub title: String,
    /// Body text.
    pub body: String,
    /// Publication time, RFC 3339.
    pub published_at: String,
}

/// A page of notices.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeList {
    /// Newest first.
    pub items: Vec<NoticeItem>,
}

/// Paging of the notice list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct NoticeQuery {
    /// At most this many (1–100, default 20).
    limit: Option<u32>,
}

/// The municipality's current service notices (driftsmeldinger), newest first.
#[utoipa::path(get, path = "/api/v1/notices", tag = "municipality", params(NoticeQuery),
    responses((status = 200, description = "Notices", body = NoticeList)))]
async fn notices(
    State(state): State<AppState>,
    Municipality(kommune): Municipality,
    Query(query): Query<NoticeQuery>,
) -> Result<Json<NoticeList>, ApiError> {
    let limit = query.limit.unwrap_or(20).clamp(1, 100);
    let items = content::notices(state.db.municipal(kommune), limit)
        .await?
        .into_iter()
        .map(|n| NoticeItem {
            id: n.id,
            language: n.language.tag().to_owned(),
            title: n.title,
            body: n.body,
            published_at: n.published_at.to_rfc3339(),
        })
        .collect();
    Ok(Json(NoticeList { items }))
}

/// Feedback on accessibility.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackBody {
    /// What did not work (1–5000 characters).
    pub message: String,
    /// Which page it concerns (at most 500 characters).
    #[serde(default)]
    pub page: Option<String>,
    /// Where to answer, if an answer is wanted.
    #[serde(default)]
    pub contact_email: Option<String>,
    /// The language of the message: `nb` (default), `nn` or `en`.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "nb")]
    pub language: Option<Language>,
}

/// The id of stored feedback.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackReceipt {
    /// Id.
    pub id: String,
}

/// Sends feedback on accessibility to the municipality.
#[utoipa::path(post, path = "/api/v1/feedback", tag = "municipality", request_body = FeedbackBody,
    responses(
        (status = 201, description = "Stored", body = FeedbackReceipt),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field broke a rule", body = Problem, content_type = "application/problem+json"),
    ))]
async fn submit_feedback(
    State(state): State<AppState>,
    Municipality(kommune): Municipality,
    AppJson(body): AppJson<FeedbackBody>,
) -> Result<Response, ApiError> {
    let feedback = Feedback::parse(
        Some(&body.message),
        body.page.as_deref(),
        body.contact_email.as_deref(),
        body.language.unwrap_or_default(),
    )
    .map_err(|errors| ApiError::Validation(errors.into_iter().map(FieldError::from).collect()))?;
    let id = content::record_feedback(&state.db, kommune, &feedback).await?;
    Ok((StatusCode::CREATED, Json(FeedbackReceipt { id: id.to_string() })).into_response())
}

/// The OpenAPI description of this API.
#[derive(OpenApi)]
#[openapi(
    info(title = "allmenning", description = "The JSON API of allmenning, a digital public sector for a Norwegian municipality.", license(name = "EUPL-1.2")),
    paths(healthz, readyz, municipality, notices, submit_feedback, crate::machine::organisation),
    components(schemas(Problem, Health, MunicipalityInfo, NoticeList, NoticeItem, FeedbackBody, FeedbackReceipt, crate::machine::OrganisationView)),
    modifiers(&MaskinportenSecurity),
    tags(
        (name = "operations", description = "Health and readiness"),
        (name = "municipality", description = "The municipality a host name serves"),
        (name = "registers", description = "Base-register data for other agencies' systems, with Maskinporten tokens"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

/// Describes the bearer tokens machine clients send: Maskinporten access tokens (JWT).
#[derive(Debug)]
struct MaskinportenSecurity;

impl utoipa::Modify for MaskinportenSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "maskinporten",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A Maskinporten access token with the scope the operation names"))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document as JSON text, with a stable version (so the snapshot only changes when
/// the API does).
pub fn openapi_document() -> serde_json::Value {
    let mut doc = ApiDoc::openapi();
    doc.info.version = "1".to_owned();
    serde_json::to_value(doc).unwrap_or_default()
}

async fn openapi_json() -> Json<serde_json::Value> {
    Json(openapi_document())
}
