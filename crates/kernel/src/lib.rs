//! Shared vocabulary of allmenning, with no I/O: identifiers, the event envelope, time,
//! paging, languages and error kinds. Everything here is parsed once at the edge and then
//! passed around as a typed value.
#![forbid(unsafe_code)]

pub mod error;
pub mod event;
pub mod id;
pub mod kommune;
pub mod language;
pub mod paging;
pub mod time;

pub use error::ErrorKind;
pub use event::CloudEvent;
pub use id::{EventId, JobId, RequestId};
pub use kommune::{Kommune, Kommunenummer, KommunenummerError};
pub use language::Language;
pub use paging::Page;
pub use time::Timestamp;
