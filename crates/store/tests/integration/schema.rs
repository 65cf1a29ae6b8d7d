use store::testing::TestDatabase;
use store::{Db, Migration, Migrations, Schema, SchemaError, StoreError};

const NOTES_SQLITE: &str = "CREATE TABLE notes (id TEXT PRIMARY KEY, kommunenummer TEXT NOT NULL, body TEXT NOT NULL);
     CREATE TABLE tally (name TEXT PRIMARY KEY, n INTEGER NOT NULL);";
const NOTES_POSTGRES: &str =
    "CREATE TABLE notes (id TEXT PRIMARY KEY, kommunenummer TEXT NOT NULL, body TEXT NOT NULL);
     CREATE TABLE tally (name TEXT PRIMARY KEY, n BIGINT NOT NULL);";

/// The tests' `town` context with its first migration edited after release.
static EDITED: Migrations = Migrations {
    context: "town",
    builds_on: &[],
    tables: &["notes", "tally"],
    municipal_tables: &["notes"],
    migrations: &[Migration {
        version: 1,
        description: "notes and a tally",
        sqlite: "CREATE TABLE notes (id TEXT PRIMARY KEY, kommunenummer TEXT NOT NULL);",
        postgres: "CREATE TABLE notes (id TEXT PRIMARY KEY, kommunenummer TEXT NOT NULL);",
        legacy_version: None,
    }],
};

/// `town` with a second migration whose second statement fails.
static BROKEN: Migrations = Migrations {
    context: "town",
    builds_on: &[],
    tables: &["notes", "tally", "drafts"],
    municipal_tables: &["notes"],
    migrations: &[
        Migration {
            version: 1,
            description: "notes and a tally",
            sqlite: NOTES_SQLITE,
            postgres: NOTES_POSTGRES,
            legacy_version: None,
        },
        Migration {
            version: 2,
            description: "drafts",
            sqlite: "CREATE TABLE drafts (id TEXT PRIMARY KEY); INSERT INTO no_such_table VALUES (1);",
            postgres: "CREATE TABLE drafts (id TEXT PRIMARY KEY); INSERT INTO no_such_table VALUES (1);",
            legacy_version: None,
        },
    ],
};

#[tokio::test]
async fn a_migration_changed_after_it_was_applied_is_refused() {
    let (guard, _db) = crate::database().await;
    assert_eq!(
        NOTES_SQLITE,
        crate::TOWN.migrations[0].sqlite.replace("\n                 ", "\n     "),
        "the constants here are the tests' town context"
    );
    let edited = Db::connect(&guard.url, Schema::new(&[&EDITED]).expect("schema")).await.expect("connect");
    let result = edited.migrate().await;
    assert!(
        matches!(&result, Err(StoreError::Schema(SchemaError::Changed { context, version: 1 })) if context == "town"),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_database_migrated_further_than_the_binary_knows_is_refused() {
    let guard = TestDatabase::create().await.expect("database");
    // BROKEN's first migration is the same as TOWN's; record a second one by hand, as a newer
    // binary would have.
    let db = Db::connect(&guard.url, crate::schema()).await.expect("connect");
    db.migrate().await.expect("migrate");
    db.execute(
        "INSERT INTO schema_migrations (context, version, description, checksum, applied_at) \
         VALUES ('town', 2, 'from the future', 'x', 0)",
        &[],
    )
    .await
    .expect("record");
    let result = db.migrate().await;
    assert!(matches!(result, Err(StoreError::Schema(SchemaError::Unknown { version: 2, .. }))), "{result:?}");
}

#[tokio::test]
async fn a_failing_migration_names_itself_and_leaves_nothing_behind() {
    let guard = TestDatabase::create().await.expect("database");
    let db = Db::connect(&guard.url, Schema::new(&[&BROKEN]).expect("schema")).await.expect("connect");
    let result = db.migrate().await;
    let Err(StoreError::Schema(error @ SchemaError::Failed { context: "town", version: 2, .. })) = &result else {
        panic!("expected migration town 2 to fail: {result:?}");
    };
    assert!(error.to_string().contains("town 2 (drafts)"), "{error}");
    assert!(db.table_exists("notes").await.expect("exists"), "migration 1 stays applied");
    assert!(!db.table_exists("drafts").await.expect("exists"), "migration 2 left nothing behind");
    let status = db.migration_status().await.expect("status");
    assert!(status.applied.contains(&("town".to_owned(), 1)));
    assert!(!status.applied.contains(&("town".to_owned(), 2)));
}

#[tokio::test]
async fn migrating_until_a_version_stops_there_and_concurrent_runs_apply_once() {
    let guard = TestDatabase::create().await.expect("database");
    let db = Db::connect(&guard.url, crate::schema()).await.expect("connect");
    db.migrate_until("town", 0).await.expect("until town 0");
    assert!(db.table_exists("jobs").await.expect("exists"));
    assert!(!db.table_exists("notes").await.expect("exists"));
    let other = Db::connect(&guard.url, crate::schema()).await.expect("connect");
    let (a, b) = tokio::join!(db.migrate(), other.migrate());
    a.expect("first");
    b.expect("second");
    assert!(db.migration_status().await.expect("status").is_current());
}
