//! Who is calling: the session layer (`middleware::session`) puts a [`CurrentUser`] in the
//! request; handlers say whom they accept by the extractor they take — [`MaybeUser`] (anyone),
//! [`Citizen`] (a logged-in resident, others are sent to log in) or [`Staff`] (an active
//! employee of the request's municipality).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use identity::Principal;
use identity::employees::{Employee, Employees};
use identity::sessions::Session;
use kernel::Fnr;
use serde::Serialize;

use super::Municipality;
use crate::AppState;
use crate::error::PageError;

/// What the page header shows of whoever is logged in.
#[derive(Debug, Clone, Serialize)]
pub struct UserHeader {
    /// Their name.
    pub name: String,
    /// Whom they act as: `myself`, `child`, `ward`, `organisation` or `fullmakt`.
    pub acting_kind: &'static str,
    /// The name of whom they act for.
    pub acting_name: Option<String>,
    /// The CSRF token for the header's forms (log out).
    pub csrf: String,
    /// An employee's session.
    pub employee: bool,
    /// Acting for someone ended on this request.
    pub acting_ended: bool,
}

/// Who is logged in for this request, as the session layer found them.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The session.
    pub session: Session,
    /// When acting through a fullmakt: its service areas.
    pub fullmakt_areas: Vec<String>,
    /// The session went back to acting as oneself on this request (a fullmakt ended, a
    /// child came of age).
    pub acting_ended: bool,
}

impl CurrentUser {
    /// The person logged in, if a resident.
    pub fn person(&self) -> Option<&Fnr> {
        match &self.session.principal {
            Principal::Person(fnr) => Some(fnr),
            Principal::Employee(_) => None,
        }
    }

    /// What the page header shows.
    pub fn header(&self) -> UserHeader {
        UserHeader {
            name: self.session.display_name.clone(),
            acting_kind: self.session.acting_as.kind(),
            acting_name: self.session.acting_name.clone(),
            csrf: self.session.csrf_token.clone(),
            employee: matches!(self.session.principal, Principal::Employee(_)),
            acting_ended: self.acting_ended,
        }
    }
}

/// A handler that works with or without a login.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<CurrentUser>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeUser(parts.extensions.get::<CurrentUser>().cloned()))
    }
}

fn login_redirect(parts: &Parts, login_path: &str) -> Response {
    let here = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    Redirect::to(&format!("{login_path}?tilbake={}", crate::view::links::encode(here))).into_response()
}

/// A logged-in resident; anyone else is sent to log in.
#[derive(Debug, Clone)]
pub struct Citizen {
    /// The session.
    pub user: CurrentUser,
    /// The person.
    pub me: Fnr,
}

impl<S: Send + Sync> FromRequestParts<S> for Citizen {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<CurrentUser>() {
            Some(user) => match user.person() {
                Some(me) => Ok(Citizen { me: *me, user: user.clone() }),
                None => Err(PageError::Forbidden.into_response()),
            },
            None => Err(login_redirect(parts, "/logg-inn")),
        }
    }
}

/// A logged-in employee of the request's municipality, with their roles.
#[derive(Debug, Clone)]
pub struct Staff {
    /// The session.
    pub user: CurrentUser,
    /// The employee, with roles.
    pub employee: Employee,
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(user) = parts.extensions.get::<CurrentUser>().cloned() else {
            return Err(login_redirect(parts, "/ansatt/logg-inn"));
        };
        let Principal::Employee(id) = &user.session.principal else {
            return Err(PageError::Forbidden.into_response());
        };
        let Some(Municipality(kommune)) = parts.extensions.get::<Municipality>().copied() else {
            return Err(PageError::UnknownHost.into_response());
        };
        match Employees::new(state.db.clone(), kommune).get(id).await {
            Ok(Some(employee)) if employee.active => Ok(Staff { user, employee }),
            Ok(_) => Err(PageError::Forbidden.into_response()),
            Err(error) => Err(PageError::from(error).into_response()),
        }
    }
}
