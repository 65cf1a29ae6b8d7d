//! Checks at the edge, before any handler: text with control characters is refused (a NUL
//! byte would otherwise reach PostgreSQL, which cannot store it, as a 500), a request for a host
//! that belongs to no municipality gets nothing but the operations endpoints, and a client's
//! `X-Request-Id` is kept only when it is well formed.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;

use crate::AppState;
use crate::error::{ApiError, PageError};
use crate::extract::Municipality;

/// A control character no text field may hold: C0 but tab, line feed and carriage return, and
/// DEL.
fn is_forbidden(c: char) -> bool {
    (c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{7f}'
}

/// Whether a form body or query string holds a forbidden character in a name or a value.
fn form_has_control(bytes: &[u8]) -> bool {
    form_urlencoded::parse(bytes).any(|(name, value)| name.chars().any(is_forbidden) || value.chars().any(is_forbidden))
}

/// Whether a JSON document holds a forbidden character in a string or a key. A body that is
/// not JSON passes: the handler's extractor refuses it with its own message.
fn json_has_control(bytes: &[u8]) -> bool {
    fn walk(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::String(text) => text.chars().any(is_forbidden),
            serde_json::Value::Array(items) => items.iter().any(walk),
            serde_json::Value::Object(map) => map.iter().any(|(key, v)| key.chars().any(is_forbidden) || walk(v)),
            _ => false,
        }
    }
    serde_json::from_slice::<serde_json::Value>(bytes).is_ok_and(|value| walk(&value))
}

/// Whether reading a body failed because its time ran out.
fn is_timeout(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if current.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        source = current.source();
    }
    false
}

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// The refusal of a control character: in the address (`in_url`) or in the body.
fn refused(path: &str, in_url: bool) -> Response {
    let detail = "text may not contain control characters".to_owned();
    if is_api(path) && in_url {
        ApiError::MalformedQuery(detail).into_response()
    } else if is_api(path) {
        ApiError::MalformedJson(detail).into_response()
    } else {
        PageError::BadRequest.into_response()
    }
}

/// The request, or the answer refusing it: 421 on a host that belongs to no municipality (but
/// for what any host may reach), 400 for a control character in the path, query string, form
/// body or JSON body (the page in the visitor's language, or a problem under `/api`). Bodies are
/// read up to the configured limit; a larger one is 413, as the handler would have answered,
/// and one that stalls past the body timeout is 408. Runs inside the request context, which
/// turns the refusals into pages.
pub(crate) async fn check(state: &AppState, request: Request) -> Result<Request, Response> {
    if request.extensions().get::<Municipality>().is_none() && !serves_any_host(request.uri().path()) {
        return Err(PageError::UnknownHost.into_response());
    }
    refuse_control_characters(state, request).await
}

async fn refuse_control_characters(state: &AppState, request: Request) -> Result<Request, Response> {
    let path = request.uri().path().to_owned();
    if percent_decode_str(&path).decode_utf8_lossy().chars().any(is_forbidden)
        || request.uri().query().is_some_and(|q| form_has_control(q.as_bytes()))
    {
        return Err(refused(&path, true));
    }
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let form = content_type.starts_with("application/x-www-form-urlencoded");
    let json = content_type.starts_with("application/json") || content_type.contains("+json");
    if !(form || json) {
        return Ok(request);
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, state.config.max_body_bytes).await {
        Ok(bytes) => bytes,
        // The client stopped sending before the body timeout (`serve`'s limits).
        Err(error) if is_timeout(&error) => return Err(PageError::Timeout.into_response()),
        Err(_) if is_api(&path) => return Err(ApiError::PayloadTooLarge.into_response()),
        Err(_) => return Err(PageError::TooLarge.into_response()),
    };
    if (form && form_has_control(&bytes)) || (json && json_has_control(&bytes)) {
        return Err(refused(&path, false));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// What a host that belongs to no municipality may still reach: the operations endpoints a
/// load balancer asks, the assets its error page uses, and — in demo mode only, where they
/// exist — the stand-ins for the national providers (`/test-idp`, `/maskinporten`), which live
/// at the server's own address as the real ones live at theirs.
fn serves_any_host(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
        || ["/assets/", "/test-idp/", "/maskinporten/"].iter().any(|prefix| path.starts_with(prefix))
}

/// The most characters a client's request id may have.
const MAX_REQUEST_ID: usize = 64;

/// Keeps a client's `X-Request-Id` only when it is 1–64 letters, digits, `-`, `_` or `.`;
/// otherwise it is dropped and the server makes one. Log lines carry the id, so a client must
/// not be able to write into them.
pub(crate) async fn drop_malformed_request_id(mut request: Request, next: Next) -> Response {
    let well_formed = |value: &HeaderValue| {
        let bytes = value.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID
            && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    let headers = request.headers_mut();
    if headers.get_all("x-request-id").iter().count() > 1
        || headers.get("x-request-id").is_some_and(|v| !well_formed(v))
    {
        headers.remove("x-request-id");
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_found_in_forms_and_json_but_line_breaks_pass() {
        assert!(form_has_control(b"message=a%00b"));
        assert!(form_has_control(b"a%07=b"));
        assert!(form_has_control(b"x=%7F"));
        assert!(!form_has_control(b"message=line%0D%0Aand%09tab&page=%C3%B8"));
        assert!(json_has_control(br#"{"message":"a\u0000b"}"#));
        assert!(json_has_control(br#"{"a":[{"b\u001b":1}]}"#));
        assert!(!json_has_control(br#"{"message":"line\nbreak\ttab \\u0000 as text"}"#));
        assert!(!json_has_control(b"not json \x00"), "left to the extractor");
    }
}
