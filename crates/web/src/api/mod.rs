//! The JSON API under `/api/v1`, health, readiness and metrics, and the OpenAPI description:
//! each module brings its routes and its own fragment of the description, merged here.

pub(crate) mod machine;
mod municipality;
mod operations;
mod post;

use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::AppState;
use crate::error::Problem;

pub(crate) fn routes(demo: bool) -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi_json))
        .merge(operations::routes())
        .merge(municipality::routes())
        .merge(machine::routes(demo))
        .merge(post::routes())
        .merge(crate::tjenester::api::routes())
}

/// The OpenAPI description of this API.
/// The root: what the whole API shares. Each module adds its own fragment.
#[derive(OpenApi)]
#[openapi(
    info(title = "allmenning", description = "The JSON API of allmenning, a digital public sector for a Norwegian municipality.", license(name = "EUPL-1.2")),
    components(schemas(Problem)),
    modifiers(&MaskinportenSecurity),
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
    for fragment in [
        operations::Fragment::openapi(),
        municipality::Fragment::openapi(),
        machine::Fragment::openapi(),
        post::Fragment::openapi(),
        crate::tjenester::api::Fragment::openapi(),
    ] {
        doc.merge(fragment);
    }
    doc.info.version = "1".to_owned();
    serde_json::to_value(doc).unwrap_or_default()
}

async fn openapi_json() -> Json<serde_json::Value> {
    Json(openapi_document())
}
