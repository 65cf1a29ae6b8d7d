//! The visitor's language: chosen on the language switch and remembered in a cookie.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::extract::cookie::CookieJar;
use kernel::Language;

/// The name of the cookie that remembers the language.
pub const LANGUAGE_COOKIE: &str = "lang";

/// The visitor's language, from the `lang` cookie; bokmål when there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lang(pub Language);

impl Lang {
    /// The language the request's cookies choose.
    pub(crate) fn from_cookies(cookies: &CookieJar) -> Self {
        Lang(cookies.get(LANGUAGE_COOKIE).and_then(|c| c.value().parse().ok()).unwrap_or_default())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // The request context has put it there; a request that did not pass it (none does)
        // is in bokmål.
        Ok(parts.extensions.get::<Lang>().copied().unwrap_or_default())
    }
}
