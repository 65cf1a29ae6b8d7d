//! [`Visit`]: what every page handler needs about its request, in one extractor.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use kernel::{Kommunenummer, Language};

use super::{CurrentUser, Lang, Municipality};
use crate::error::PageError;

/// A visit to a page: the municipality (by host name; 421 for a host that belongs to none),
/// the visitor's language, who is logged in (if anyone) and the address of this page (path
/// and query), which the language switch returns to.
#[derive(Debug, Clone)]
pub struct Visit {
    /// The municipality whose site this is.
    pub kommune: Kommunenummer,
    /// The visitor's language.
    pub language: Language,
    /// Who is logged in, if anyone.
    pub user: Option<CurrentUser>,
    /// This page's path and query.
    pub here: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Visit {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Municipality(kommune) = Municipality::from_request_parts(parts, state).await?;
        let Ok(Lang(language)) = Lang::from_request_parts(parts, state).await;
        Ok(Visit {
            kommune,
            language,
            user: parts.extensions.get::<CurrentUser>().cloned(),
            here: parts.uri.path_and_query().map_or("/", |pq| pq.as_str()).to_owned(),
        })
    }
}
