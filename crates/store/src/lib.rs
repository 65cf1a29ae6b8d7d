//! The database (SQLite or PostgreSQL), the contexts' migrations, the event outbox and its
//! consumers, the job queue and the blob store. The store knows no context's tables but its
//! own: each context declares its tables and migrations ([`Migrations`]) and the binary lists
//! them in floor order ([`Schema`]).
//!
//! Invariants:
//! - Every query runs through [`Db`], [`Tx`] or their municipal scopes; nothing outside this
//!   crate holds a connection or a pool.
//! - A table whose rows belong to a municipality has a `kommunenummer NOT NULL` column and is
//!   declared municipal by the context that owns it; it can only be queried through
//!   [`Db::municipal`] or [`Tx::municipal`], which bind the municipality as `$1` and refuse SQL
//!   that does not filter on it.
//! - Jobs and events are written in the same transaction as the change that caused them; the
//!   event feed is read in commit order on both engines; a job's outcome is recorded only under
//!   the claim that ran it.
#![forbid(unsafe_code)]

pub mod backup;
pub mod blobs;
pub mod bulk;
pub mod consumers;
mod db;
mod error;
pub mod events;
pub mod jobs;
pub mod retention;
mod row;
mod schema;
mod sqlite;
pub mod testing;

pub use blobs::{BlobConfig, BlobRef, BlobStore};
pub use bulk::{BulkOptions, BulkReport, Rows, Table, Value};
pub(crate) use db::Pools;
pub use db::{Backend, Db, DbOptions, MunicipalDb, MunicipalTx, Param, Record, Tx};
pub use error::StoreError;
pub use events::{Position, StoredEvent};
/// The store's own tables and migrations, always first in a [`Schema`].
pub use schema::MIGRATIONS;
pub use schema::{KommunenummerColumn, Migration, MigrationStatus, Migrations, Schema, SchemaError};
pub use sqlite::{SqliteOptions, Synchronous, WriteStats};
