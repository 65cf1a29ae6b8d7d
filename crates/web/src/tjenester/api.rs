//! The catalogue as JSON: `/api/v1/tjenester` lists the services, `/api/v1/tjenester/{id}`
//! describes one, with texts in the language asked for (`?lang=nb|nn|en`, bokmål by default).

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use kernel::Language;
use serde::{Deserialize, Serialize};
use services::Service;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::catalog;
use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::AppQuery;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/tjenester", get(list)).route("/api/v1/tjenester/{id}", get(one))
}

/// This module's part of the OpenAPI description.
#[derive(OpenApi)]
#[openapi(
    paths(list, one),
    components(schemas(ServiceList, ServiceItem, ServiceFee)),
    tags((name = "tjenester", description = "The municipality's service catalogue")),
)]
pub(crate) struct Fragment;

/// The language of the texts.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LanguageQuery {
    /// `nb` (default), `nn` or `en`.
    #[param(pattern = "^(nb|nn|en)$")]
    pub lang: Option<String>,
}

/// The language of the texts, and the words to search for.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// `nb` (default), `nn` or `en`.
    #[param(pattern = "^(nb|nn|en)$")]
    pub lang: Option<String>,
    /// Only services whose name, description or criteria contain every word: at most 200
    /// characters, no control characters (a longer one is refused, not cut).
    #[param(max_length = 200, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$")]
    pub q: Option<String>,
}

/// The longest search text taken.
const MAX_SEARCH: usize = 200;

fn language(lang: Option<&str>) -> Result<Language, ApiError> {
    match lang {
        None => Ok(Language::Bokmal),
        Some(tag) => tag.parse().map_err(|_| ApiError::MalformedQuery("lang: expected nb, nn or en".to_owned())),
    }
}

/// The services.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceList {
    /// The services, in catalogue order.
    pub services: Vec<ServiceItem>,
}

/// One fee.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceFee {
    /// What it is for.
    pub description: String,
    /// The amount in kroner, when fixed.
    pub amount_nok: Option<i64>,
}

/// One service.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceItem {
    /// The stable id.
    #[schema(example = "barnehageplass")]
    pub id: String,
    /// The definition's version.
    pub version: u32,
    /// The name.
    pub name: String,
    /// What it is, in plain language.
    pub description: String,
    /// Who may get it.
    pub criteria: String,
    /// The handling unit's name.
    pub unit: String,
    /// LOS theme and word URIs.
    pub los: Vec<String>,
    /// The legal basis.
    pub legal_basis: String,
    /// The legal basis on Lovdata.
    pub legal_basis_url: String,
    /// Who may apply: `self`, `child`, `ward`, `organisation`.
    pub applicants: Vec<String>,
    /// `automatic`, `manual` or `automatic_with_review_of_rejections`.
    pub decision: String,
    /// The deadlines in plain language.
    pub deadline: String,
    /// The processing time in weeks.
    pub processing_weeks: Option<u32>,
    /// A yearly deadline, `MM-DD`.
    pub apply_by: Option<String>,
    /// The fees.
    pub fees: Vec<ServiceFee>,
    /// The page to apply on.
    pub url: String,
}

fn code<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn item(service: &Service, language: Language) -> ServiceItem {
    ServiceItem {
        id: service.id.clone(),
        version: service.version,
        name: service.name.get(language).to_owned(),
        description: service.description.get(language).to_owned(),
        criteria: service.criteria.get(language).to_owned(),
        unit: service.unit.name.get(language).to_owned(),
        los: service.los.clone(),
        legal_basis: service.legal_basis.text.clone(),
        legal_basis_url: service.legal_basis.url.clone(),
        applicants: service.applicants.iter().map(code).collect(),
        decision: code(&service.decision),
        deadline: service.deadline.text.get(language).to_owned(),
        processing_weeks: service.deadline.processing_weeks,
        apply_by: service.deadline.apply_by.clone(),
        fees: service
            .fees
            .iter()
            .map(|fee| ServiceFee { description: fee.description.get(language).to_owned(), amount_nok: fee.amount_nok })
            .collect(),
        url: format!("/tjenester/{}", service.id),
    }
}

/// The service catalogue.
#[utoipa::path(get, path = "/api/v1/tjenester", tag = "tjenester", params(SearchQuery),
    responses(
        (status = 200, description = "The services", body = ServiceList),
        (status = 400, description = "A malformed query: an unknown language, a search text over 200 characters or with control characters", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list(
    State(state): State<AppState>,
    AppQuery(query): AppQuery<SearchQuery>,
) -> Result<Json<ServiceList>, ApiError> {
    let language = language(query.lang.as_deref())?;
    let q = query.q.unwrap_or_default();
    if q.chars().count() > MAX_SEARCH {
        return Err(ApiError::MalformedQuery(format!("q: at most {MAX_SEARCH} characters")));
    }
    let services = catalog(&state).search(&q, language).into_iter().map(|s| item(s, language)).collect();
    Ok(Json(ServiceList { services }))
}

/// One service.
#[utoipa::path(get, path = "/api/v1/tjenester/{id}", tag = "tjenester", params(("id" = String, Path, description = "The service's id: lower-case letters, digits and hyphens", pattern = "^[a-z0-9][a-z0-9-]{0,99}$"), LanguageQuery),
    responses(
        (status = 200, description = "The service", body = ServiceItem),
        (status = 400, description = "A malformed query: an unknown language", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service", body = Problem, content_type = "application/problem+json"),
    ))]
async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    AppQuery(query): AppQuery<LanguageQuery>,
) -> Result<Json<ServiceItem>, ApiError> {
    let language = language(query.lang.as_deref())?;
    let service = catalog(&state).get(&id).ok_or(ApiError::NotFound)?;
    Ok(Json(item(service, language)))
}
