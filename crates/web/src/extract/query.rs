//! Query strings for the API, refused as problem+json like every other API error. axum's
//! `Query` answers a query string that does not fit in plain English text; a page needs no
//! wrapper, since the request context turns that text into the error page.

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A query string whose rejections are problem+json (400, `malformed_query`) with what was
/// wrong in `detail`. A parameter type that checks a rule says it in its `Deserialize` error.
#[derive(Debug)]
pub struct AppQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for AppQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(AppQuery(value)),
            // The parameter's name and its own message ("limit: must be ...", "duplicate field
            // `limit`"), without axum's sentence around them.
            Err(QueryRejection::FailedToDeserializeQueryString(error)) => Err(ApiError::MalformedQuery(
                std::error::Error::source(&error).map_or_else(|| error.body_text(), ToString::to_string),
            )),
            Err(rejection) => Err(ApiError::MalformedQuery(rejection.body_text())),
        }
    }
}
