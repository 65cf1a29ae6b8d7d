//! Shared vocabulary of allmenning, with no I/O: identifiers (fødselsnummer and d-nummer,
//! organisasjonsnummer, kommunenummer, matrikkelnummer, postnummer), the event envelope, time,
//! paging, languages and error kinds. Everything here is parsed once at the edge and then
//! passed around as a typed value.
#![forbid(unsafe_code)]

pub mod calendar;
pub mod error;
pub mod event;
pub mod fnr;
pub mod id;
pub mod identify;
pub mod kommune;
pub mod language;
pub mod matrikkel;
pub mod orgnr;
pub mod paging;
pub mod time;

pub use error::ErrorKind;
pub use event::CloudEvent;
pub use fnr::{ControlRule, Fnr, FnrError, FnrKind};
pub use id::{EventId, JobId, RequestId};
pub use kommune::{Kommune, Kommunenummer, KommunenummerError};
pub use language::Language;
pub use matrikkel::{Matrikkelnummer, MatrikkelnummerError, Postnummer, PostnummerError};
pub use orgnr::{OrgNr, OrgNrError};
pub use paging::Page;
pub use time::Timestamp;
