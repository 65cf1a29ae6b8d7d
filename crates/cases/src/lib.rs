//! Case handling: an application becomes a case — a saksmappe in the archive with the
//! submission as an incoming journalpost (PDF/A) — that a unit's caseworkers queue, assign,
//! annotate, ask about and decide, or that the service's rules decide at once; the decision
//! goes out through `post` as an outgoing journalpost, and a klage opens a linked case.
//! Inquiries (henvendelser) are a light case type beside them ([`inquiries`]).
//!
//! Every state change writes a row of `case_history` and a CloudEvent in the same transaction,
//! and every letter is sent from a job enqueued in that transaction, exactly once through its
//! external reference. Every caseworker's view of a case asks `identity::policy::decide` first
//! and is in the access log; a refused view reads no personal data.
#![forbid(unsafe_code)]

mod engine;
pub mod inquiries;
mod model;

pub use engine::{Cases, CasesConfig, jobs};
pub use inquiries::{
    Channel, Inquiry, InquiryFilter, InquiryStatistics, InquiryStatus, NewInquiry, WRONG_REGISTER_FACT,
};
pub use model::{
    Attachment, AutomatedOutcome, Case, CaseSummary, CaseView, Decided, Decision, DecisionMode, FiredRule,
    HistoryEntry, InformationRequest, LetterText, NewAppeal, NewApplication, NewDecision, Note, Outcome, Party,
    QueueFilter, RuleResult, ServiceInfo, Status, Submitted,
};

use store::{Migration, Migrations, StoreError};

/// The case context's tables.
pub static MIGRATIONS: Migrations = Migrations {
    context: "cases",
    builds_on: &["archive", "post"],
    tables: &["cases", "case_history", "case_notes", "case_information_requests", "case_decisions", "case_inquiries"],
    municipal_tables: &[
        "cases",
        "case_history",
        "case_notes",
        "case_information_requests",
        "case_decisions",
        "case_inquiries",
    ],
    migrations: &[Migration {
        version: 1,
        description: "cases, decisions and inquiries",
        sqlite: include_str!("../migrations/sqlite/0001_cases.sql"),
        postgres: include_str!("../migrations/postgres/0001_cases.sql"),
        legacy_version: None,
    }],
};

/// The CloudEvents type of a case's (or an inquiry's) change of status.
pub const STATUS_EVENT: &str = "no.allmenning.cases.case.status.v1";

/// Why a case operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// The input broke a rule; the text names the field. Nothing was stored.
    #[error("{0}")]
    Invalid(String),
    /// No such case (or request, or inquiry) in this municipality.
    #[error("not found")]
    NotFound,
    /// The policy said no (the text is for logs, never shown with personal data).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The case is not in a state that allows this (decided already, answered already).
    #[error("{0}")]
    Conflict(String),
    /// The submission could not be rendered.
    #[error("render: {0}")]
    Render(String),
    /// Post refused or failed.
    #[error("post: {0}")]
    Post(#[from] post::PostError),
    /// The archive refused or failed.
    #[error("archive: {0}")]
    Archive(#[from] archive::ArchiveError),
    /// The access log refused or failed.
    #[error("access log: {0}")]
    Audit(#[from] audit::AuditError),
    /// The database failed.
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// A stored row does not read back.
    #[error("stored case data is malformed: {0}")]
    Malformed(String),
}

impl CaseError {
    /// The shared error kind, for mapping to a response.
    pub fn kind(&self) -> kernel::ErrorKind {
        use kernel::ErrorKind;
        match self {
            CaseError::Invalid(_) => ErrorKind::Invalid,
            CaseError::NotFound => ErrorKind::NotFound,
            CaseError::Forbidden(_) => ErrorKind::Forbidden,
            CaseError::Conflict(_) => ErrorKind::Conflict,
            CaseError::Post(error) => match error {
                post::PostError::Invalid(_)
                | post::PostError::Document { .. }
                | post::PostError::Template(_)
                | post::PostError::UnknownRecipient(_) => ErrorKind::Invalid,
                post::PostError::NotFound => ErrorKind::NotFound,
                post::PostError::Archive(error) => error.kind(),
                post::PostError::Store(error) => error.kind(),
                post::PostError::Register(_) => ErrorKind::Other,
            },
            CaseError::Archive(error) => error.kind(),
            CaseError::Audit(audit::AuditError::Invalid { .. }) => ErrorKind::Invalid,
            CaseError::Audit(_) => ErrorKind::Other,
            CaseError::Store(error) => error.kind(),
            CaseError::Render(_) | CaseError::Malformed(_) => ErrorKind::Other,
        }
    }
}
