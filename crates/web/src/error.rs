//! Errors as the outside world sees them: `application/problem+json` (RFC 9457) with a stable
//! `code` under `/api`, a friendly page in the visitor's language everywhere else. Internal
//! details are logged once, here, and never sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::ErrorKind;
use serde::Serialize;
use store::StoreError;
use utoipa::ToSchema;

/// One broken rule on one field, as the API reports it: `{"field": "message", "rule": "required"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name as in the form and the API body.
    pub field: &'static str,
    /// The rule it broke, e.g. `required`, `too_long`, `invalid_email`.
    pub rule: &'static str,
}

impl From<content::FeedbackError> for FieldError {
    fn from(error: content::FeedbackError) -> Self {
        Self { field: error.field.name(), rule: error.rule.code() }
    }
}

/// A problem details body (RFC 9457), extended with a stable `code` and field `errors`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type; `urn:allmenning:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short, human-readable summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A stable, machine-readable code, e.g. `malformed_json`.
    pub code: String,
    /// The request id, for support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Field errors, for `validation_failed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<FieldError>,
}

impl Problem {
    /// A problem with `status`, `code`, `title` and optional `detail`.
    pub fn new(status: StatusCode, code: &str, title: &str, detail: Option<String>) -> Self {
        Self {
            problem_type: format!("urn:allmenning:problem:{code}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            code: code.to_owned(),
            request_id: None,
            errors: Vec::new(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(self)).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        response
    }
}

/// An error from a JSON API handler.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not valid JSON, or not the expected shape.
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// The query string does not fit the operation's parameters.
    #[error("malformed query string: {0}")]
    MalformedQuery(String),
    /// The body is not JSON at all.
    #[error("expected a JSON body")]
    UnsupportedMediaType,
    /// The body is larger than allowed.
    #[error("body too large")]
    PayloadTooLarge,
    /// One or more fields broke a rule.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// Nothing here.
    #[error("not found")]
    NotFound,
    /// The host name belongs to no municipality.
    #[error("unknown host")]
    UnknownHost,
    /// Not ready to serve.
    #[error("not ready: {0}")]
    Unavailable(String),
    /// Too many requests from this address; try again later.
    #[error("too many requests")]
    TooManyRequests,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<content::ContentError> for ApiError {
    fn from(error: content::ContentError) -> Self {
        match error {
            content::ContentError::Store(store) => ApiError::Store(store),
            other => ApiError::Store(StoreError::Malformed(other.to_string())),
        }
    }
}

impl ApiError {
    /// The problem this error is shown as.
    pub fn problem(&self) -> Problem {
        match self {
            ApiError::MalformedJson(detail) => Problem::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "The request body is not valid JSON of the expected shape",
                Some(detail.clone()),
            ),
            ApiError::MalformedQuery(detail) => Problem::new(
                StatusCode::BAD_REQUEST,
                "malformed_query",
                "The query string does not fit the operation's parameters",
                Some(detail.clone()),
            ),
            ApiError::UnsupportedMediaType => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "The request body must be JSON",
                Some("send Content-Type: application/json".to_owned()),
            ),
            ApiError::PayloadTooLarge => {
                Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "The request body is too large", None)
            }
            ApiError::Validation(errors) => {
                let mut problem = Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    "One or more fields are invalid",
                    Some(format!("{} field(s) broke a rule; see errors", errors.len())),
                );
                problem.errors = errors.clone();
                problem
            }
            ApiError::NotFound => Problem::new(StatusCode::NOT_FOUND, "not_found", "Not found", None),
            ApiError::UnknownHost => Problem::new(
                StatusCode::MISDIRECTED_REQUEST,
                "unknown_host",
                "This host name belongs to no municipality on this deployment",
                None,
            ),
            ApiError::TooManyRequests => Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "Too many requests",
                Some("too many requests from this address; try again in a minute".to_owned()),
            ),
            ApiError::Unavailable(detail) => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Not ready", Some(detail.clone()))
            }
            ApiError::Store(error) => match error.kind() {
                ErrorKind::NotFound => Problem::new(StatusCode::NOT_FOUND, "not_found", "Not found", None),
                ErrorKind::Conflict => Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", None),
                _ => internal_problem(),
            },
        }
    }
}

fn internal_problem() -> Problem {
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "Internal server error", None)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Store(error) = &self
            && error.kind() == ErrorKind::Other
        {
            tracing::error!(error = %error, "store error in API handler");
        }
        self.problem().into_response()
    }
}

/// An error from an HTML handler. Its response carries an [`ErrorPage`] marker that the
/// error-page layer turns into a page in the visitor's language (it knows the language and the
/// municipality; the handler's error does not need to).
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// No such page.
    #[error("not found")]
    NotFound,
    /// The request body was larger than allowed.
    #[error("too large")]
    TooLarge,
    /// The host name belongs to no municipality.
    #[error("unknown host")]
    UnknownHost,
    /// The form or request cannot be taken (a missing or wrong CSRF token, say).
    #[error("bad request")]
    BadRequest,
    /// Logged in, but not allowed.
    #[error("forbidden")]
    Forbidden,
    /// A login was refused.
    #[error("login failed")]
    LoginFailed,
    /// The identity provider cannot be reached.
    #[error("login unavailable")]
    LoginUnavailable,
    /// Too many attempts.
    #[error("too many requests")]
    TooManyRequests,
    /// The request's body did not arrive in time.
    #[error("request timeout")]
    Timeout,
    /// Something broke; logged, shown as a 500 page.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> Self {
        match error.kind() {
            ErrorKind::NotFound => PageError::NotFound,
            _ => PageError::Internal(error.to_string()),
        }
    }
}

impl From<content::ContentError> for PageError {
    fn from(error: content::ContentError) -> Self {
        match error.kind() {
            ErrorKind::NotFound => PageError::NotFound,
            _ => PageError::Internal(error.to_string()),
        }
    }
}

impl From<minijinja::Error> for PageError {
    fn from(error: minijinja::Error) -> Self {
        PageError::Internal(format!("template: {error:#}"))
    }
}

/// Marks a response whose body the error-page layer must render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorPage {
    /// The status to answer with.
    pub status: StatusCode,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = match &self {
            PageError::NotFound => StatusCode::NOT_FOUND,
            PageError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            PageError::UnknownHost => StatusCode::MISDIRECTED_REQUEST,
            PageError::BadRequest => StatusCode::BAD_REQUEST,
            PageError::Forbidden => StatusCode::FORBIDDEN,
            PageError::LoginFailed => StatusCode::UNAUTHORIZED,
            PageError::LoginUnavailable => StatusCode::BAD_GATEWAY,
            PageError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            PageError::Timeout => StatusCode::REQUEST_TIMEOUT,
            PageError::Internal(detail) => {
                tracing::error!(error = %detail, "error in page handler");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let mut response = status.into_response();
        response.extensions_mut().insert(ErrorPage { status });
        response
    }
}

/// The problem for a bare status (a panic, an unmatched API route), by status.
pub fn problem_for_status(status: StatusCode) -> Problem {
    match status {
        StatusCode::NOT_FOUND => ApiError::NotFound.problem(),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge.problem(),
        StatusCode::MISDIRECTED_REQUEST => ApiError::UnknownHost.problem(),
        StatusCode::REQUEST_TIMEOUT => Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            "Request timeout",
            Some("the request body did not arrive in time".to_owned()),
        ),
        _ => internal_problem(),
    }
}
