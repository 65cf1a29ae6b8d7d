//! The national base registers — Folkeregisteret (persons), Enhetsregisteret (organisations),
//! Matrikkelen (property) and Kontakt- og reservasjonsregisteret (KRR) — as first-class data
//! sources: a local implementation in the platform's database, adapters to the real services'
//! APIs, HTTP simulators of those APIs over the local data ([`simulators`], dev-only), a change
//! feed, and the synthetic population the demo runs on.
//!
//! Invariants:
//! - A protected address (fortrolig / strengt fortrolig) is a [`model::ProtectedAddress`], not an
//!   [`model::Address`]; it comes out only with a [`model::ProtectedAddressGrant`], which only a
//!   [`Caller`] holding the permission gets.
//! - Every change is written with its CloudEvent in one transaction.
//! - Lookups are batched at most [`MAX_BATCH`] at a time, as the real APIs allow.
//! - Outside this crate, registers are read only through [`Registers`], which writes every read
//!   to the access log (who, for whom, why, on what basis) before it returns the data.
#![forbid(unsafe_code)]

pub mod adapters;
pub mod local;
pub mod model;
pub mod select;
pub mod simulate;
pub mod simulators;
pub mod source;
pub mod synthetic;

pub use local::LocalRegisters;
pub use select::{Registers, RegistersConfig};
pub use source::{ContactSource, OrganisationSource, PersonSource, PropertySource};

use std::time::Duration;

use model::ProtectedAddressGrant;

/// The local registers' tables and their migrations. National tables: no row belongs to one
/// municipality.
pub static MIGRATIONS: store::Migrations = store::Migrations {
    context: "registers",
    builds_on: &["audit"],
    tables: &[
        "persons",
        "organisations",
        "organisation_roles",
        "properties",
        "property_owners",
        "contacts",
        "register_clock",
    ],
    municipal_tables: &[],
    migrations: &[
        store::Migration {
            version: 1,
            description: "base registers",
            sqlite: include_str!("../migrations/sqlite/0001_registers.sql"),
            postgres: include_str!("../migrations/postgres/0001_registers.sql"),
            legacy_version: Some(2),
        },
        store::Migration {
            version: 2,
            description: "a person is one row",
            sqlite: include_str!("../migrations/sqlite/0002_person_rows.sql"),
            postgres: include_str!("../migrations/postgres/0002_person_rows.sql"),
            legacy_version: Some(3),
        },
    ],
};

/// The most identifiers one batch lookup may carry (KRR and Folkeregisteret's bulk lookups).
pub const MAX_BATCH: usize = 1000;

/// One of the national registers, to name it in errors and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Register {
    /// Folkeregisteret (Skatteetaten).
    Folkeregisteret,
    /// Enhetsregisteret (Brønnøysundregistrene).
    Enhetsregisteret,
    /// Kontakt- og reservasjonsregisteret (Digdir).
    Krr,
    /// Matrikkelen (Kartverket).
    Matrikkelen,
}

impl Register {
    /// The register's name as logs and errors write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Register::Folkeregisteret => "folkeregisteret",
            Register::Enhetsregisteret => "enhetsregisteret",
            Register::Krr => "krr",
            Register::Matrikkelen => "matrikkelen",
        }
    }
}

impl std::fmt::Display for Register {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a register lookup failed.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The register has no such entry.
    #[error("not found in the register")]
    NotFound,
    /// The entry existed but is gone (410, e.g. a deleted organisation).
    #[error("the entry is gone from the register")]
    Gone,
    /// The register asked us to slow down (429) on every attempt.
    #[error(
        "rate limited by {register}; it asked for a pause of {retry_after:?}, and we wait at most {longest_wait:?} \
         between attempts (HttpConfig::max_backoff) so that no caller is held for longer"
    )]
    RateLimited {
        /// Which register.
        register: Register,
        /// How long the register asked us to wait the last time (its `Retry-After`, read in the
        /// register's unit), if it said.
        retry_after: Option<Duration>,
        /// The longest we wait between attempts, whatever the register asks.
        longest_wait: Duration,
    },
    /// The register is down or answered with a server error.
    #[error("the register is unavailable: {0}")]
    Unavailable(String),
    /// Data we cannot read: a row in the local store, or a value that breaks a rule of the
    /// platform's own (an answer from a real register is [`RegisterError::Unreadable`]).
    #[error("the register's answer is malformed: {0}")]
    Malformed(String),
    /// A real register answered something we cannot read: HTML (typically a firewall's or
    /// proxy's refusal page), an error body in no shape the register documents, a field of the
    /// wrong type, or a value outside the register's code list. Names the register and the
    /// field, never a value, so it can be logged. Never read as "not found".
    #[error("{register} answered something we cannot read at `{field}`: {problem}")]
    Unreadable {
        /// Which register.
        register: Register,
        /// Where in the answer, e.g. `oppslag[2].folkeregisterperson.navn[0].fornavn`, or `body`.
        field: String,
        /// What is wrong with it, without the value.
        problem: String,
    },
    /// We refused the request.
    #[error("the request was refused by the register: {0}")]
    Refused(String),
    /// A batch larger than the register allows.
    #[error("at most {MAX_BATCH} identifiers per lookup, got {0}")]
    TooManyInBatch(usize),
    /// The configured register cannot answer this kind of question.
    #[error("the configured register does not offer {0}")]
    Unsupported(&'static str),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The access log refused or failed, so nothing was read.
    #[error("the read was not logged, so it was not done: {0}")]
    Audit(#[from] audit::AuditError),
}

/// Who is asking, why, and what they may see. Built by the identity layer from a login (or by a
/// job for its own work); the registers only read it. Every read through [`Registers`] is
/// written to the access log with the caller's purpose and legal basis first.
#[derive(Debug, Clone)]
pub struct Caller {
    access: audit::AccessContext,
    may_see_protected_addresses: bool,
}

impl Caller {
    /// A caller who may not see protected addresses (everyone, by default).
    pub fn new(access: audit::AccessContext) -> Self {
        Self { access, may_see_protected_addresses: false }
    }

    /// The same caller, holding the permission to see protected addresses (e.g. a caseworker
    /// in a service with that legal basis). The identity layer decides who that is.
    pub fn with_protected_address_permission(mut self) -> Self {
        self.may_see_protected_addresses = true;
        self
    }

    /// The platform itself reading for a named job or rule, e.g. the demo's checks or a
    /// proactive offer; `purpose` and `legal_basis` are shown to the person read about.
    pub fn system(name: &'static str, purpose: &str, legal_basis: &str) -> Result<Self, RegisterError> {
        Ok(Self::new(audit::AccessContext {
            actor: audit::Actor::System(name),
            acting_for: None,
            purpose: audit::Purpose::parse(purpose)?,
            legal_basis: audit::LegalBasis::parse(legal_basis)?,
        }))
    }

    /// Who, for whom, why, on what basis.
    pub fn access(&self) -> &audit::AccessContext {
        &self.access
    }

    /// The grant that opens a [`model::ProtectedAddress`], for callers that hold the permission.
    pub fn protected_address_grant(&self) -> Option<ProtectedAddressGrant> {
        self.may_see_protected_addresses.then_some(ProtectedAddressGrant { _private: () })
    }
}
