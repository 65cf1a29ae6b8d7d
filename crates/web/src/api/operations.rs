//! Operations: liveness (`/healthz`), readiness (`/readyz`) and the Prometheus metrics.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::ClientAddress;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

/// The Prometheus metrics, for a scraper on this machine or one that sends the configured
/// token. Anyone else gets 404: the metrics name every route and count every request.
async fn metrics(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let local = address.is_none_or(|a| a.is_loopback());
    let with_token = state.config.metrics_token.as_deref().is_some_and(|token| {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|sent| identity::sessions::constant_time_eq(sent.trim(), token))
    });
    if !(local || with_token) {
        return Err(ApiError::NotFound);
    }
    Ok(crate::middleware::metrics::render(State(state)).await)
}

/// This module's part of the OpenAPI description.
#[derive(OpenApi)]
#[openapi(
    paths(healthz, readyz),
    components(schemas(Health)),
    tags((name = "operations", description = "Health and readiness")),
)]
pub(super) struct Fragment;

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
    // What went wrong is logged; the answer says only which part is not ready.
    state.db.ping().await.map_err(|error| {
        tracing::warn!(error = %error, "not ready: the database does not answer");
        ApiError::Unavailable("the database does not answer".to_owned())
    })?;
    let migrations = state.db.migration_status().await.map_err(|error| {
        tracing::warn!(error = %error, "not ready: the migrations cannot be read");
        ApiError::Unavailable("the database migrations cannot be read".to_owned())
    })?;
    if !migrations.is_current() {
        return Err(ApiError::Unavailable("database migrations are not applied".to_owned()));
    }
    Ok(Json(Health { status: "ready" }))
}
