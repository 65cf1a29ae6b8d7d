//! The database (SQLite or PostgreSQL), its migrations, the event outbox, the job queue and
//! the blob store.
//!
//! Invariants:
//! - Every query runs through [`Db`], [`Tx`] or their municipal scopes; nothing outside this
//!   crate holds a raw pool.
//! - A table whose rows belong to a municipality has a `kommunenummer NOT NULL` column and is
//!   listed in [`MUNICIPAL_TABLES`]; it can only be queried through [`Db::municipal`] or
//!   [`Tx::municipal`], which bind the municipality as `$1` and refuse SQL that does not
//!   filter on it.
//! - Jobs and events are written in the same transaction as the change that caused them.
#![forbid(unsafe_code)]

pub mod blobs;
pub mod bulk;
pub mod content;
mod db;
mod error;
pub mod events;
pub mod jobs;
mod migrate;
pub mod testing;

pub use blobs::{BlobConfig, BlobRef, BlobStore};
pub use bulk::{BulkOptions, BulkReport, Rows, Table, Value};
pub use db::{Backend, Db, MUNICIPAL_TABLES, MunicipalDb, MunicipalTx, Param, Record, Tx};
pub use error::StoreError;
pub use migrate::MigrationStatus;
