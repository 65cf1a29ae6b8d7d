//! The Noark 5 archive, a context of its own: arkivstruktur and sakarkiv objects, gap-free
//! journal and case numbers per municipality and year, files in the blob store that are never
//! overwritten, an endringslogg of every change, OData search, and the arkivuttrekk.
//!
//! The model is data ([`model`]): every entity, attribute and code list of the standard's
//! chapter 7. Objects are stored as their JSON body, exactly as a client sent them, beside the
//! columns the archive itself needs (tree, order, version, journal date) — see
//! `docs/ARCHITECTURE.md` ("The archive").
#![forbid(unsafe_code)]

pub mod access;
pub mod demo;
pub mod export;
pub mod external;
pub mod extract;
pub mod finish;
pub mod journaling;
pub mod model;
pub mod odata;
pub mod public;
pub mod records;
pub mod uploads;
pub mod validate;
pub mod vsm;

pub use external::{Credentials, ExternalArchive};
pub use journaling::{
    Address, Archive, Avskrivningsmaate, CaseRef, Correspondent, CorrespondentKind, CorrespondentRole, DocumentRef,
    DocumentRole, JournalRef, JournalpostType, NewCase, NewDocument, NewJournalpost, Party, PartyKind, Screening,
    WriteOff,
};
pub use records::{Actor, Change, FileInfo, Noark, Object};

use store::{Migration, Migrations, StoreError};

/// The tables this context owns, and their migrations.
pub static MIGRATIONS: Migrations = Migrations {
    context: "archive",
    builds_on: &[],
    tables: &[
        "archive_objects",
        "archive_numbers",
        "archive_changes",
        "archive_files",
        "archive_uploads",
        "archive_codes",
        "archive_vsm",
        "archive_access_requests",
    ],
    municipal_tables: &[
        "archive_objects",
        "archive_numbers",
        "archive_changes",
        "archive_files",
        "archive_uploads",
        "archive_codes",
        "archive_vsm",
        "archive_access_requests",
    ],
    migrations: &[
        Migration {
            version: 1,
            description: "the Noark 5 archive",
            sqlite: include_str!("../migrations/sqlite/0001_archive.sql"),
            postgres: include_str!("../migrations/postgres/0001_archive.sql"),
            legacy_version: None,
        },
        Migration {
            version: 2,
            description: "requests for access (innsynskrav)",
            sqlite: include_str!("../migrations/sqlite/0002_access_requests.sql"),
            postgres: include_str!("../migrations/postgres/0002_access_requests.sql"),
            legacy_version: None,
        },
    ],
};

/// Why the archive refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The database or the blob store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No such object (or code list, or value) in this municipality's archive.
    #[error("not found")]
    NotFound,
    /// A field broke a rule of the model.
    #[error("{field}: {message}")]
    Invalid {
        /// The field, as a path (`skjerming.skjermingshjemmel`).
        field: String,
        /// What is wrong, in English.
        message: String,
    },
    /// The object cannot be created under that parent.
    #[error("a {child} cannot be created under {parent}")]
    WrongParent {
        /// What the parent is.
        parent: String,
        /// What was to be created.
        child: String,
    },
    /// The parent is finished (avsluttet): nothing new goes under it.
    #[error("the {0} is finished (avsluttet)")]
    Closed(String),
    /// The object changed since the client read it (a stale ETag).
    #[error("the object has changed since it was read")]
    Conflict,
    /// The object still holds others.
    #[error("the object still holds a {0}")]
    HasChildren(String),
    /// The dokumentobjekt already has its file; a stored file is never replaced.
    #[error("the dokumentobjekt already has its file")]
    FileExists,
    /// The file does not match what the dokumentobjekt states.
    #[error("{field}: {message}")]
    FileMismatch {
        /// The field that disagrees.
        field: String,
        /// How.
        message: String,
    },
    /// The file is larger than allowed.
    #[error("the file is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// A stored row does not read back.
    #[error("stored archive data is malformed: {0}")]
    Malformed(String),
}

impl ArchiveError {
    /// The shared error kind, for mapping to a response.
    pub fn kind(&self) -> kernel::ErrorKind {
        match self {
            ArchiveError::Store(error) => error.kind(),
            ArchiveError::NotFound => kernel::ErrorKind::NotFound,
            ArchiveError::Invalid { .. }
            | ArchiveError::WrongParent { .. }
            | ArchiveError::Closed(_)
            | ArchiveError::HasChildren(_)
            | ArchiveError::FileMismatch { .. }
            | ArchiveError::TooLarge { .. } => kernel::ErrorKind::Invalid,
            ArchiveError::Conflict | ArchiveError::FileExists => kernel::ErrorKind::Conflict,
            ArchiveError::Malformed(_) => kernel::ErrorKind::Other,
        }
    }
}
