//! What handlers take from a request, each in one place: the municipality (by host name), the
//! language, who is logged in, all three together as a [`Visit`], the client's real address,
//! the CSRF check, form bodies whose fields repeat, and JSON bodies refused as problem+json.

mod client;
pub mod cookies;
mod csrf;
mod form;
mod json;
mod language;
mod municipality;
mod user;
mod visit;

pub use client::{ClientAddress, client_address};
pub(crate) use csrf::CsrfForm;
pub use csrf::check_csrf;
pub use form::MultiForm;
pub use json::AppJson;
pub use language::{LANGUAGE_COOKIE, Lang};
pub use municipality::{Municipalities, Municipality, MunicipalitySetting, TenancyError, api_audience};
pub use user::{Citizen, CurrentUser, MaybeUser, Staff, UserHeader};
pub use visit::Visit;
