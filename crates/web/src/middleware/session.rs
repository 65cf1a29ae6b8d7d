//! The session layer: loads the session the cookie names, checks it belongs to this
//! municipality and that whom it acts for still holds, and puts a [`CurrentUser`] in the
//! request for the extractors in `extract::user`.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use identity::{ActingAs, IdentityError, Principal, acting};

use crate::AppState;
use crate::error::PageError;
use crate::extract::{CurrentUser, Municipality};
use crate::login::SESSION_COOKIE;

/// Loads the session named by the cookie, checks it belongs here and that whom it acts as
/// still holds, and puts a [`CurrentUser`] in the request.
pub(crate) async fn load_session(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let cookie = CookieJar::from_headers(request.headers()).get(SESSION_COOKIE).map(|c| c.value().to_owned());
    if let Some(cookie) = cookie {
        match current_user(&state, &cookie, request.extensions().get::<Municipality>().copied()).await {
            Ok(Some(user)) => {
                request.extensions_mut().insert(user);
            }
            Ok(None) => {}
            Err(error) => return PageError::from(error).into_response(),
        }
    }
    next.run(request).await
}

async fn current_user(
    state: &AppState,
    cookie: &str,
    municipality: Option<Municipality>,
) -> Result<Option<CurrentUser>, IdentityError> {
    let Some(mut session) = state.identity.sessions.find(cookie).await? else { return Ok(None) };
    // An employee session belongs to the municipality it logged in to.
    if matches!(session.principal, Principal::Employee(_)) && session.kommunenummer != municipality.map(|m| m.0) {
        return Ok(None);
    }
    let mut user = CurrentUser { session: session.clone(), fullmakt_areas: vec![], acting_ended: false };
    if let Principal::Person(me) = &session.principal {
        match acting::still_valid(&state.identity.fullmakter, me, &session.acting_as, kernel::time::today_in_norway())
            .await?
        {
            acting::Check::Valid { fullmakt_areas } => user.fullmakt_areas = fullmakt_areas,
            acting::Check::Ended => {
                state.identity.sessions.set_acting_as(&session, &ActingAs::Myself, None).await?;
                session.acting_as = ActingAs::Myself;
                session.acting_name = None;
                user = CurrentUser { session, fullmakt_areas: vec![], acting_ended: true };
            }
        }
    }
    Ok(Some(user))
}
