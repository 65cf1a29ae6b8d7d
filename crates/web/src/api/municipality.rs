//! The municipality's own API: which municipality a host serves, its notices, and feedback on
//! accessibility.

use axum::extract::State;
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
use crate::extract::{AppJson, AppQuery, ClientAddress, Municipality};

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
    #[schema(example = "4601", pattern = "^[0-9]{4}$")]
    pub kommunenummer: String,
    /// Official name.
    #[schema(example = "Bergen")]
    pub name: String,
    /// County number.
    #[schema(example = "46", pattern = "^[0-9]{2}$")]
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
    #[schema(format = "uuid")]
    pub id: String,
    /// Language of the text: `nb`, `nn` or `en`.
    #[schema(schema_with = language_tag)]
    pub language: String,
    /// Headline.
    pub title: String,
    /// Body text.
    pub body: String,
    /// Publication time, RFC 3339.
    #[schema(format = DateTime)]
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
#[into_params(parameter_in = Query)]
pub struct NoticeQuery {
    /// At most this many (1–100, default 20).
    #[param(value_type = u32, required = false, minimum = 1, maximum = 100)]
    limit: Option<NoticeLimit>,
}

/// How many notices a page holds: 1 to 100. Anything else is refused rather than quietly
/// clamped, so a client learns that it asked for something the API does not give.
#[derive(Debug, Clone, Copy)]
struct NoticeLimit(u32);

impl NoticeLimit {
    const DEFAULT: u32 = 20;
    const MAX: u32 = 100;
}

impl<'de> Deserialize<'de> for NoticeLimit {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A query string holds text; reading it as text lets the message name the rule.
        let text = String::deserialize(deserializer)?;
        text.parse::<u32>()
            .ok()
            .filter(|n| (1..=Self::MAX).contains(n))
            .map(NoticeLimit)
            .ok_or_else(|| serde::de::Error::custom(format!("must be a whole number from 1 to {}", Self::MAX)))
    }
}

/// The municipality's current service notices (driftsmeldinger), newest first.
#[utoipa::path(get, path = "/api/v1/notices", tag = "municipality", params(NoticeQuery),
    responses(
        (status = 200, description = "Notices", body = NoticeList),
        (status = 400, description = "A query parameter broke its rule (`malformed_query`), or the query string holds control characters", body = Problem, content_type = "application/problem+json"),
        (status = 421, description = "The host belongs to no municipality", body = Problem, content_type = "application/problem+json"),
    ))]
async fn notices(
    State(state): State<AppState>,
    Municipality(kommune): Municipality,
    AppQuery(query): AppQuery<NoticeQuery>,
) -> Result<Json<NoticeList>, ApiError> {
    let limit = query.limit.map_or(NoticeLimit::DEFAULT, |NoticeLimit(n)| n);
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

// The text rules of feedback, each as one pattern. White space at either end is trimmed
// before the length is counted, so a pattern says "so many characters from the first to the
// last that is not white space" rather than a `maxLength` (which would count the white space
// too). White space is Unicode's (what Rust's `trim` removes), written out, since `\s`
// differs between regex dialects. Control characters but tab, line feed and carriage return are
// refused at the edge with 400 (`middleware::edge`).
//
// message: blank around, then 1–5000 characters that start and end with a visible one.
// page: blank (taken as no page), or as message with at most 500.
// contact_email: blank (no address), or printable ASCII: 1–64 characters, `@`, and a domain of
// at most 189 with a dot inside (at most 254 in all). The server (`content::Feedback::parse`)
// takes a little more — any characters but white space, 254 bytes in all — so what this
// pattern allows is always taken; a length in characters cannot be added as `maxLength`
// beside it without counting the trimmed white space.

/// Feedback on accessibility.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackBody {
    /// What did not work: 1–5000 characters once white space at either end is trimmed; no
    /// control characters but tab, line feed and carriage return.
    #[schema(
        pattern = r"^[\t\n\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000](?:[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]{0,4998}[^\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?[\t\n\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
        example = "Knappen «Send» mangler synlig fokus."
    )]
    pub message: String,
    /// Which page it concerns: at most 500 characters once trimmed; blank is the same as none.
    #[serde(default)]
    #[schema(
        pattern = r"^[\t\n\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*(?:[^\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000](?:[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]{0,498}[^\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?[\t\n\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*)?$",
        example = "/tilgjengelighet"
    )]
    pub page: Option<String>,
    /// Where to answer, if an answer is wanted: an e-mail address of printable ASCII, 1–64
    /// characters, `@`, and a domain of at most 189 with a dot inside; blank is the same as
    /// none. (The server takes any address with one `@`, a dot inside the domain and no white
    /// space of at most 254 bytes; this is the part of that a client can rely on.)
    #[serde(default)]
    #[schema(
        pattern = r"^[\t\n\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*(?:[!-?A-~]{1,64}@[!-\-/-?A-~][!-?A-~]{0,93}\.[!-?A-~]{0,93}[!-\-/-?A-~][\t\n\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*)?$",
        example = "kari.nordmann@example.no"
    )]
    pub contact_email: Option<String>,
    /// The language of the message: `nb` (default), `nn` or `en`.
    #[serde(default)]
    #[schema(schema_with = optional_language_tag)]
    pub language: Option<Language>,
}

/// The schema of a language tag: `nb`, `nn` or `en` (a generated schema has no enum, since
/// `kernel::Language` is no API type).
fn language_tag() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(Language::ALL.map(Language::tag)))
        .description(Some("Language of the text: `nb` (bokmål), `nn` (nynorsk) or `en` (English)."))
        .build()
}

/// The schema of a language tag or `null`, which is bokmål.
fn optional_language_tag() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{SchemaType, Type};
    let values = Language::ALL.iter().map(|l| serde_json::Value::from(l.tag())).chain([serde_json::Value::Null]);
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(values))
        .description(Some("The language of the message: `nb` (bokmål, the default), `nn` (nynorsk) or `en` (English)."))
        .examples([serde_json::Value::from("nb")])
        .build()
}

/// The id of stored feedback.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackReceipt {
    /// Id.
    #[schema(format = "uuid")]
    pub id: String,
}

/// Sends feedback on accessibility to the municipality.
#[utoipa::path(post, path = "/api/v1/feedback", tag = "municipality", request_body = FeedbackBody,
    responses(
        (status = 201, description = "Stored", body = FeedbackReceipt),
        (status = 400, description = "Malformed JSON, JSON of another shape (an unknown field, a wrong type, a language other than `nb`, `nn` or `en`), or text with control characters", body = Problem, content_type = "application/problem+json"),
        (status = 408, description = "The body did not arrive in time", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 421, description = "The host belongs to no municipality", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field broke a rule (`validation_failed`; `errors` names each field and rule: `required`, `too_long`, `invalid_email`)", body = Problem, content_type = "application/problem+json"),
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
