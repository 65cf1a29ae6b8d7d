//! The CSRF check every state-changing form makes: the form carries the session's token.

use identity::sessions::constant_time_eq;
use serde::Deserialize;

use super::CurrentUser;
use crate::error::PageError;

/// A form that carries nothing but the CSRF token.
#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    pub csrf: Option<String>,
}

/// Refuses a form whose CSRF token is not the session's.
pub fn check_csrf(user: &CurrentUser, token: Option<&str>) -> Result<(), PageError> {
    match token {
        Some(token) if constant_time_eq(token, &user.session.csrf_token) => Ok(()),
        _ => Err(PageError::BadRequest),
    }
}
