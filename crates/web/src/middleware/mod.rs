//! What runs around every handler: the request context (municipality, language, and error
//! markers turned into pages or problems), the session layer, the security headers, caught
//! panics, and the metrics.

pub(crate) mod edge;
pub(crate) mod metrics;
pub(crate) mod session;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use tower_http::request_id::RequestId;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;
use crate::error::{ErrorPage, PageError, problem_for_status};
use crate::extract::{Lang, Municipality};

fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// Ties the request to its municipality and language, and turns error markers (from handlers,
/// the fallback and caught panics) into a page or a problem.
pub(crate) async fn request_context(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
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
    let Lang(language) = Lang::from_cookies(&CookieJar::from_headers(request.headers()));
    request.extensions_mut().insert(Lang(language));
    let path = request.uri().path().to_owned();
    let request_id =
        request.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).map(str::to_owned);

    // The edge checks run here rather than as layers of their own: each layer boxes the rest of
    // the stack on every request.
    let response = match edge::check(&state, request).await {
        Ok(request) => next.run(request).await,
        Err(refusal) => refusal,
    };
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
    match crate::view::render_error_page(&state, language, municipality, marker.status, request_id.as_deref()) {
        Ok(page) => page,
        Err(error) => {
            tracing::error!(error = %error, "could not render the error page");
            (marker.status, "Error").into_response()
        }
    }
}

pub(crate) async fn fallback() -> PageError {
    PageError::NotFound
}

pub(crate) fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
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

pub(crate) fn security_headers<S: Clone + Send + Sync + 'static>(router: Router<S>, over_https: bool) -> Router<S> {
    let headers: [(&str, &str); 6] = [
        (
            "content-security-policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; font-src 'self'; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        ("cross-origin-opener-policy", "same-origin"),
        ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()"),
        ("cache-control", "no-store"),
    ];
    // `X-Frame-Options: DENY` for browsers that predate `frame-ancestors`, except on a response
    // whose own policy allows a framer (front-channel logout): two rules that disagree would
    // leave the outcome to the browser.
    let router = router.layer(axum::middleware::map_response(|mut response: Response| async move {
        let framable = response
            .headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|csp| csp.contains("frame-ancestors") && !csp.contains("frame-ancestors 'none'"));
        if !framable {
            response.headers_mut().entry(header::X_FRAME_OPTIONS).or_insert(HeaderValue::from_static("DENY"));
        }
        response
    }));
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
