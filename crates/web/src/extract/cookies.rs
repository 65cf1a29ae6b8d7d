//! The cookies this site sets, all built one way: for the whole site, not readable by
//! scripts, sent on top-level navigation from elsewhere (`SameSite=Lax`, which the login
//! callback needs), and `Secure` when the site is served over TLS. Reading is axum-extra's
//! `CookieJar`.

use axum_extra::extract::cookie::{Cookie, SameSite};
use time::Duration;

use crate::AppState;

/// A cookie `name=value`, kept for `max_age` (for the browser session when `None`).
pub fn build(state: &AppState, name: &'static str, value: String, max_age: Option<Duration>) -> Cookie<'static> {
    let mut cookie = Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.secure_cookies)
        .build();
    if let Some(age) = max_age {
        cookie.set_max_age(age);
    }
    cookie
}

/// What removes cookie `name` from the browser.
pub fn removal(state: &AppState, name: &'static str) -> Cookie<'static> {
    let mut cookie = build(state, name, String::new(), None);
    cookie.make_removal();
    cookie
}
