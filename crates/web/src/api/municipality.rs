//! The municipality's own API: which municipality a host serves, its notices, and feedback on
//! accessibility.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use content::Feedback;
use kernel::Language;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::AppState;
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{AppJson, ClientAddress, Municipality};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/municipality", get(municipality))
        .route("/api/v1/notices", get(notices))
        .route("/api/v1/feedback", post(submit_feedback))
}

/// This module's part of the OpenAPI description.
#[derive(OpenApi)]
#[openapi(
    paths(municipality, notices, submit_feedback),
    components(schemas(MunicipalityInfo, NoticeList, NoticeItem, FeedbackBody, FeedbackReceipt)),
    tags((name = "municipality", description = "The municipality a host name serves")),
)]
pub(super) struct Fragment;

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
        (status = 400, description = "Malformed JSON, or text with control characters", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field broke a rule", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too much feedback from this address; try again in a minute", body = Problem, content_type = "application/problem+json"),
    ))]
async fn submit_feedback(
    State(state): State<AppState>,
    Municipality(kommune): Municipality,
    ClientAddress(address): ClientAddress,
    AppJson(body): AppJson<FeedbackBody>,
) -> Result<Response, ApiError> {
    if !state.limiters.feedback.allow(address) {
        return Err(ApiError::TooManyRequests);
    }
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
