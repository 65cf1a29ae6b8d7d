//! The only crate that serves HTTP: HTML pages, the JSON API under `/api/v1`, its OpenAPI
//! description, health and metrics, and static assets.
//!
//! Invariants:
//! - Handlers extract, authorise, call a domain crate and render; no SQL, no business rules.
//! - Every request is tied to exactly one municipality (by host name) before a handler runs.
//! - Errors leave as problem+json under `/api` and as a page in the visitor's language
//!   elsewhere; internal details are logged once and never sent.
//! - Logs carry the route template and the request id, never a query string or a body.
#![forbid(unsafe_code)]

pub mod api;
pub mod assets;
pub mod auth;
pub mod error;
pub mod forms;
pub mod i18n;
pub mod machine;
pub mod metrics;
pub mod minside;
pub mod pages;
pub mod staff;
pub mod templates;
pub mod tenancy;
pub mod test_idp;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use kernel::Language;
use store::jobs::JobStats;
use store::{BlobStore, Db};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::error::{ErrorPage, PageError, problem_for_status};
use crate::tenancy::{Municipalities, Municipality};

pub use crate::tenancy::MunicipalitySetting;

/// What the web layer needs to know from the configuration.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Demo mode: shows the demo banner and the demo-only pages.
    pub demo: bool,
    /// Served over TLS, directly or behind a proxy: cookies are marked `Secure` and responses
    /// carry `Strict-Transport-Security`.
    pub secure_cookies: bool,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The `dist` folder of the `@digdir/designsystemet-css` npm package.
    pub designsystemet_dir: PathBuf,
    /// The municipalities this deployment serves.
    pub municipalities: Vec<MunicipalitySetting>,
}

/// Everything a handler may use. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The blob store.
    pub blobs: BlobStore,
    /// Host name → municipality.
    pub municipalities: Arc<Municipalities>,
    /// Settings.
    pub config: Arc<WebConfig>,
    /// Translations.
    pub i18n: Arc<i18n::I18n>,
    /// Templates.
    pub templates: Arc<templates::Templates>,
    /// Static assets.
    pub assets: Arc<assets::Assets>,
    /// HTTP metrics.
    pub metrics: Arc<metrics::Metrics>,
    /// The job workers' counters.
    pub job_stats: Arc<JobStats>,
    /// Login, sessions, acting for others, machine clients.
    pub identity: Arc<auth::IdentityServices>,
}

/// Why the web layer could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The municipality list is not usable.
    #[error(transparent)]
    Tenancy(#[from] tenancy::TenancyError),
    /// A translation file is malformed.
    #[error(transparent)]
    I18n(#[from] i18n::I18nError),
    /// A template is malformed.
    #[error("template error: {0}")]
    Template(#[from] minijinja::Error),
}

impl AppState {
    /// Builds the state from its parts.
    pub fn new(
        db: Db,
        blobs: BlobStore,
        config: WebConfig,
        job_stats: Arc<JobStats>,
        identity: auth::IdentityServices,
    ) -> Result<Self, BuildError> {
        let municipalities = Arc::new(Municipalities::new(&config.municipalities)?);
        let i18n = Arc::new(i18n::I18n::load()?);
        let assets = Arc::new(assets::Assets::load(&config.designsystemet_dir));
        let templates = Arc::new(templates::Templates::load(i18n.clone(), assets.clone())?);
        Ok(Self {
            db,
            blobs,
            municipalities,
            config: Arc::new(config),
            i18n,
            templates,
            assets,
            metrics: Arc::new(metrics::Metrics::new()),
            job_stats,
            identity: Arc::new(identity),
        })
    }
}

/// The visitor's language, from the `lang` cookie; bokmål when there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lang(pub Language);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Lang>().copied().unwrap_or_default())
    }
}

/// The name of the cookie that remembers the language.
pub const LANGUAGE_COOKIE: &str = "lang";

fn language_from_cookies(request: &Request) -> Language {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == LANGUAGE_COOKIE)
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or_default()
}

fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// Ties the request to its municipality and language, and turns error markers (from handlers,
/// the fallback and caught panics) into a page or a problem.
async fn request_context(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    let municipality = state.municipalities.resolve(host.as_deref());
    if let Some(kommunenummer) = municipality {
        request.extensions_mut().insert(Municipality(kommunenummer));
    }
    let language = language_from_cookies(&request);
    request.extensions_mut().insert(Lang(language));
    let path = request.uri().path().to_owned();
    let request_id =
        request.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).map(str::to_owned);

    let response = next.run(request).await;
    let marker = match response.extensions().get::<ErrorPage>().copied() {
        Some(marker) => marker,
        None if !is_api_path(&path) => match extractor_rejection(&response) {
            Some(status) => ErrorPage { status },
            None => return response,
        },
        None => return response,
    };
    if is_api_path(&path) {
        let mut problem = problem_for_status(marker.status);
        problem.request_id = request_id;
        return problem.into_response();
    }
    match pages::render_error_page(&state, language, municipality, marker.status, request_id.as_deref()) {
        Ok(page) => page,
        Err(error) => {
            tracing::error!(error = %error, "could not render the error page");
            (marker.status, "Error").into_response()
        }
    }
}

async fn fallback() -> PageError {
    PageError::NotFound
}

fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    PageError::Internal("handler panicked".to_owned()).into_response()
}

/// An extractor's own refusal of a request to a page (a body that is not a form, one over
/// the size limit): axum answers those in plain English text. They get the error page in the
/// visitor's language instead, with the status they would have had (415 and 422 as 400).
fn extractor_rejection(response: &Response) -> Option<StatusCode> {
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    match response.status() {
        _ if !plain => None,
        StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE | StatusCode::UNPROCESSABLE_ENTITY => {
            Some(StatusCode::BAD_REQUEST)
        }
        StatusCode::PAYLOAD_TOO_LARGE => Some(StatusCode::PAYLOAD_TOO_LARGE),
        _ => None,
    }
}

fn security_headers<S: Clone + Send + Sync + 'static>(router: Router<S>, over_https: bool) -> Router<S> {
    let headers: [(&str, &str); 7] = [
        (
            "content-security-policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; font-src 'self'; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
        ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()"),
        ("cache-control", "no-store"),
    ];
    let router = headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ))
    });
    // Served over HTTPS: browsers are told to come back only that way, for a year. Not for
    // subdomains, which the municipality may serve otherwise.
    if over_https {
        router.layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ))
    } else {
        router
    }
}

/// The whole application as one router; tests call it in-process, `serve` puts it on a socket.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// The application with `extra` routes inside every layer; for tests that need a route the
/// application does not have (one that panics, say).
pub fn router_with(state: AppState, extra: Router<AppState>) -> Router {
    let max_body = state.config.max_body_bytes;
    let routes = Router::new()
        .merge(pages::routes(state.config.demo))
        .merge(auth::routes(state.config.demo))
        .merge(minside::routes())
        .merge(staff::routes())
        .merge(machine::routes(state.config.demo))
        .merge(api::routes())
        .merge(extra)
        .route("/assets/{*name}", axum::routing::get(assets::serve))
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(state.clone(), auth::load_session))
        .layer(DefaultBodyLimit::max(max_body));
    let x_request_id = HeaderName::from_static("x-request-id");
    // From the inside out: a caught panic becomes an error marker, the request context turns
    // markers into pages or problems, and the security headers go on every response, those
    // pages included.
    let routes = routes
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn_with_state(state.clone(), request_context));
    let routes = security_headers(routes, state.config.secure_cookies)
        .layer(middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(CompressionLayer::new())
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<Body>| {
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or("unmatched", |p| p.as_str())
                    .to_owned();
                let request_id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                tracing::info_span!("request", http.method = %request.method(), http.route = %route, request.id = %request_id)
            }),
        )
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid));
    routes.with_state(state)
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting and lets
/// in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
