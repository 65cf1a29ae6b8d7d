//! The service catalogue: what the municipality offers, as reviewed definition files, and
//! everything about a service short of the case it becomes.
//!
//! - [`catalog`] loads the definitions (compiled in, plus a municipality's own directories)
//!   and stops with an error naming file, line and field when one is wrong.
//! - [`definition`] is a definition's shape and its checks; [`facts`] the register facts it
//!   may use; [`value`] the typed answers.
//! - [`form`] validates a submitted page into typed answers or field errors.
//! - [`prefill`] reads the bound facts from the registers, each read in the access log under
//!   the binding's purpose and legal basis.
//! - [`rules`] decides by the definition's rules and explains in three languages.
//! - [`summary`] lays the answers out for the check page and the submission PDF.
//! - [`cpsv`] exports the catalogue as CPSV-AP-NO (Turtle) for Felles datakatalog.
//! - [`drafts`] keeps unfinished applications, and purges them after a retention.
//! - [`apply`] takes a person from a draft to a case: pages saved, files kept, the registers
//!   read again at submission, the rules evaluated, the case made by `cases`.
//!
//! Invariants: a catalogue that loaded has only sound definitions (every text in nb, nn and
//! en; every condition and rule reads known names; every binding has a purpose and legal
//! basis); answers accepted by [`form::validate`] hold only fields of their service, shown by
//! their conditions and not prefilled.
#![forbid(unsafe_code)]

pub mod apply;
pub mod catalog;
pub mod cpsv;
pub mod definition;
pub mod drafts;
pub mod facts;
pub mod form;
pub mod prefill;
pub mod rules;
pub mod summary;
pub mod value;

pub use catalog::{Catalog, DefinitionError, Located, Sources};
pub use definition::{Applicant, DecisionMode, Service, Text};
pub use drafts::{Draft, DraftError, Drafts, NewDraft, subject_key};
pub use facts::Fact;
pub use form::{ErrorCode, FieldError, NoScan, Scope, Upload, VirusScanner};
pub use prefill::{Prefill, PrefillError, PrefillRequest, PrefilledValue, prefill};
pub use rules::{Decision, FiredRule, Outcome, evaluate};
pub use value::{Answers, Value};

use store::{Migration, Migrations};

/// The services context's tables: drafts.
pub static MIGRATIONS: Migrations = Migrations {
    context: "services",
    builds_on: &[],
    tables: &["service_drafts"],
    municipal_tables: &["service_drafts"],
    migrations: &[Migration {
        version: 1,
        description: "drafts of applications",
        sqlite: include_str!("../migrations/sqlite/0001_services.sql"),
        postgres: include_str!("../migrations/postgres/0001_services.sql"),
        legacy_version: None,
    }],
};
