//! The store's integration tests. They run on SQLite by default and on PostgreSQL when
//! `ALLMENNING_TEST_POSTGRES_URL` is set; the test script runs them both ways.

mod backup;
mod blobs;
mod consumers;
mod events;
mod jobs;
mod schema;
mod scoping;
mod writes;

use store::testing::TestDatabase;
use store::{Db, Migration, Migrations, Schema};

/// A context of the tests' own, with one municipal table and one national one.
pub static TOWN: Migrations = Migrations {
    context: "town",
    builds_on: &[],
    tables: &["notes", "tally"],
    municipal_tables: &["notes"],
    migrations: &[Migration {
        version: 1,
        description: "notes and a tally",
        sqlite: "CREATE TABLE notes (id TEXT PRIMARY KEY, kommunenummer TEXT NOT NULL, body TEXT NOT NULL);
                 CREATE TABLE tally (name TEXT PRIMARY KEY, n INTEGER NOT NULL);",
        postgres: "CREATE TABLE notes (id TEXT PRIMARY KEY, kommunenummer TEXT NOT NULL, body TEXT NOT NULL);
                   CREATE TABLE tally (name TEXT PRIMARY KEY, n BIGINT NOT NULL);",
        legacy_version: None,
    }],
};

/// The store's tables and the tests' own.
pub fn schema() -> Schema {
    Schema::new(&[&TOWN]).expect("the test schema fits")
}

/// A fresh, migrated database with the test schema.
pub async fn database() -> (TestDatabase, Db) {
    TestDatabase::migrated(schema()).await.expect("database")
}
