//! Local stand-ins for what cannot run here, speaking the real services' published API shapes
//! over HTTP so that the real service can be configured in their place.

pub mod integrasjonspunkt;
pub mod print_vendor;
pub mod sms;
