//! The only crate that serves HTTP: HTML pages, the JSON API under `/api/v1`, its OpenAPI
//! description, health and metrics, and static assets.
//!
//! Layout — a page is found by its area:
//! - `offentlig/`: pages anyone may see (front page, accessibility statement, language switch);
//! - `login/`: login, logout and the built-in test provider;
//! - `minside/`: the resident's own pages;
//! - `tjenester/`: the service catalogue (pages, JSON, CPSV-AP-NO) and applying for a service;
//! - `ansatt/`: the employees' pages (and later cases, archive, governance);
//! - `api/`: the JSON API, one OpenAPI fragment per module;
//! - `extract/`: what handlers take from a request ([`extract::Visit`]: municipality, language
//!   and user together); `view/`: rendering (templates, translations, assets);
//!   `middleware/`: what runs around every handler.
//!
//! Templates (`templates/<area>/`) and translations (`locales/<language>/<area>.ftl`) mirror
//! the areas.
//!
//! Invariants:
//! - Handlers extract, authorise, call a domain crate and render; no SQL, no business rules.
//! - Every request is tied to exactly one municipality (by host name) before a handler runs.
//! - Errors leave as problem+json under `/api` and as a page in the visitor's language
//!   elsewhere; internal details are logged once and never sent.
//! - Logs carry the route template and the request id, never a query string or a body.
#![forbid(unsafe_code)]

pub mod ansatt;
pub mod api;
pub mod error;
pub mod extract;
pub mod login;
pub mod middleware;
pub mod minside;
pub mod noark5;
pub mod offentlig;
pub mod tjenester;
pub mod view;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::HeaderName;
use store::jobs::JobStats;
use store::{BlobStore, Db};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use crate::extract::{Municipalities, MunicipalitySetting, api_audience};
pub use crate::login::IdentityServices;
pub use crate::login::test_idp::DEMO_EMPLOYEES;
pub use ipnet::IpNet;

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
    /// The largest file a dokumentobjekt may hold, in bytes.
    pub max_archive_file_bytes: u64,
    /// Proxies trusted to say, in `X-Forwarded-For`, where a request came from (addresses or
    /// networks). Empty: the connection's peer is the client.
    pub trusted_proxies: Vec<IpNet>,
    /// The municipalities this deployment serves.
    pub municipalities: Vec<MunicipalitySetting>,
    /// Limits on anonymous traffic per client address, per instance.
    pub limits: WebLimits,
    /// A token that lets a scraper read `/metrics` from elsewhere (`Authorization: Bearer …`).
    /// Without it, only clients on this machine (loopback) may read them.
    pub metrics_token: Option<String>,
}

/// Limits on what anyone may do without logging in, per client address and instance: each is a
/// burst of that many, refilled evenly over `window`.
#[derive(Debug, Clone, Copy)]
pub struct WebLimits {
    /// Feedback sent (form or API).
    pub feedback: u32,
    /// Fullmakt holders looked up, per person and hour (not per window).
    pub fullmakt_lookups_per_hour: u32,
    /// Refused access tokens written to the access log (more are refused, not logged).
    pub logged_refusals: u32,
    /// The window.
    pub window: std::time::Duration,
}

impl Default for WebLimits {
    fn default() -> Self {
        Self {
            feedback: 10,
            fullmakt_lookups_per_hour: 20,
            logged_refusals: 30,
            window: std::time::Duration::from_secs(60),
        }
    }
}

/// The rate limiters of [`WebLimits`].
#[derive(Debug)]
pub struct Limiters {
    /// Feedback sent.
    pub feedback: identity::ratelimit::RateLimiter,
    /// Fullmakt holders looked up, keyed by the person looking.
    pub fullmakt_lookups: identity::ratelimit::RateLimiter,
    /// Refused tokens logged.
    pub logged_refusals: identity::ratelimit::RateLimiter,
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
    pub i18n: Arc<view::i18n::I18n>,
    /// Templates.
    pub templates: Arc<view::templates::Templates>,
    /// Static assets.
    pub assets: Arc<view::assets::Assets>,
    /// HTTP metrics.
    pub metrics: Arc<middleware::metrics::Metrics>,
    /// The job workers' counters.
    pub job_stats: Arc<JobStats>,
    /// Login, sessions, acting for others, machine clients.
    pub identity: Arc<IdentityServices>,
    /// Limits on anonymous traffic.
    pub limiters: Arc<Limiters>,
    /// The Noark 5 archive.
    pub archive: archive::Noark,
    /// Digital post.
    pub post: post::Post,
    /// Case handling: queues, cases, decisions, inquiries.
    pub cases: cases::Cases,
    /// Applying for services: the catalogue, drafts, prefill and submission.
    pub applications: services::apply::Applications,
}

/// Why the web layer could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The municipality list is not usable.
    #[error(transparent)]
    Tenancy(#[from] extract::TenancyError),
    /// A translation file is malformed.
    #[error(transparent)]
    I18n(#[from] view::i18n::I18nError),
    /// A template is malformed.
    #[error("template error: {0}")]
    Template(#[from] minijinja::Error),
}

impl AppState {
    /// Builds the state from its parts: `applications` carries the catalogue and the case
    /// engine whose jobs the application's worker runs.
    pub fn new(
        db: Db,
        blobs: BlobStore,
        config: WebConfig,
        job_stats: Arc<JobStats>,
        identity: IdentityServices,
        post: post::Post,
        applications: services::apply::Applications,
    ) -> Result<Self, BuildError> {
        let municipalities = Arc::new(Municipalities::new(&config.municipalities)?);
        let i18n = Arc::new(view::i18n::I18n::load()?);
        let assets = Arc::new(view::assets::Assets::load());
        let templates = Arc::new(view::templates::Templates::load(i18n.clone(), assets.clone())?);
        let limits = config.limits;
        let limiters = Arc::new(Limiters {
            feedback: identity::ratelimit::RateLimiter::new(limits.feedback, limits.window),
            fullmakt_lookups: identity::ratelimit::RateLimiter::new(
                limits.fullmakt_lookups_per_hour,
                std::time::Duration::from_secs(60 * 60),
            ),
            logged_refusals: identity::ratelimit::RateLimiter::new(limits.logged_refusals, limits.window),
        });
        // The archive the post context journals in, with this deployment's file limit.
        let archive = post.archive().clone().with_max_file_bytes(config.max_archive_file_bytes);
        let cases = applications.cases().clone();
        Ok(Self {
            cases,
            applications,
            archive,
            post,
            db,
            blobs,
            municipalities,
            config: Arc::new(config),
            i18n,
            templates,
            assets,
            metrics: Arc::new(middleware::metrics::Metrics::new()),
            job_stats,
            identity: Arc::new(identity),
            limiters,
        })
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
        .merge(offentlig::routes(state.config.demo))
        .merge(login::routes(state.config.demo))
        .merge(minside::routes())
        .merge(tjenester::routes())
        .merge(ansatt::routes())
        .merge(api::routes(state.config.demo))
        .merge(noark5::routes())
        .merge(extra)
        .route("/assets/{*name}", axum::routing::get(view::assets::serve))
        .fallback(middleware::fallback)
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::session::load_session))
        .layer(DefaultBodyLimit::max(max_body));
    let x_request_id = HeaderName::from_static("x-request-id");
    // From the inside out: a caught panic becomes an error marker; the request context refuses
    // at the edge (hosts of no municipality, text with control characters) and turns markers
    // into pages or problems; and the security headers go on every response, those pages
    // included.
    let routes = routes
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::request_context));
    let routes = middleware::security_headers(routes, state.config.secure_cookies)
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::metrics::track))
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
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .layer(axum::middleware::from_fn(middleware::edge::drop_malformed_request_id));
    routes.with_state(state)
}

/// How the server treats slow and many clients.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// A request's headers must arrive within this; a connection that sends them slower (or
    /// stalls between requests) is closed.
    pub header_timeout: std::time::Duration,
    /// A request's body must arrive within this (408 otherwise).
    pub body_timeout: std::time::Duration,
    /// At most this many connections are served at once; more wait to be accepted.
    pub max_connections: usize,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            header_timeout: std::time::Duration::from_secs(10),
            body_timeout: std::time::Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting and lets
/// in-flight requests finish. A client that sends its headers or body too slowly is cut off,
/// and no more than `limits.max_connections` connections are served at once (a slow-loris
/// client holds one connection for at most the header timeout, not a worker for ever).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::server::graceful::GracefulShutdown;
    use tower::ServiceExt;

    let router = router.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(limits.body_timeout));
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.map_err(std::io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // A connection that failed before it was accepted (reset, out of descriptors):
                // the next one may do better.
                Err(error) => {
                    tracing::warn!(error = %error, "could not accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: axum::http::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that goes away or breaks the protocol ends only its own connection.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
