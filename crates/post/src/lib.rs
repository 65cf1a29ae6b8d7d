//! Digital post: a letter leaves the municipality through the channel KRR decides — the
//! resident's digital mailbox, the Min side inbox with an e-mail or SMS notice, or paper — and
//! is delivered exactly once.
//!
//! - [`routing`] decides the channel from the registers' facts, with a recorded reason.
//! - [`Post::send`] checks, journals (the exact PDF, once, as an outgoing journalpost) and
//!   routes a letter in one transaction; jobs then move it along ([`engine::jobs`]).
//! - [`adapters`] are the channels, each with a simulator in [`simulators`].

pub mod adapters;
pub mod engine;
pub mod letters;
pub mod pdf;
pub mod routing;
pub mod simulators;
#[doc(hidden)]
pub mod testing;

pub use engine::{
    Channels, Document, NewLetter, Post, PostConfig, PostError, Recipient, ResolvedRecipient, Sender, Sent, Task,
};
pub use letters::{LetterRow, Status, StatusEntry, StoredDocument};

use store::{Migration, Migrations};

/// The post context's tables.
pub static MIGRATIONS: Migrations = Migrations {
    context: "post",
    builds_on: &["archive", "registers"],
    tables: &["post_letters", "post_status_log", "post_deliveries", "post_print_batches", "post_tasks"],
    municipal_tables: &["post_letters", "post_status_log", "post_deliveries", "post_print_batches", "post_tasks"],
    migrations: &[Migration {
        version: 1,
        description: "digital post",
        sqlite: include_str!("../migrations/sqlite/0001_post.sql"),
        postgres: include_str!("../migrations/postgres/0001_post.sql"),
        legacy_version: None,
    }],
};
