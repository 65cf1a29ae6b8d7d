use kernel::Kommunenummer;
use store::testing::TestDatabase;
use store::{Db, Schema, StoreError, params};

use crate::database;

fn k(number: &str) -> Kommunenummer {
    Kommunenummer::parse(number).expect("valid kommunenummer")
}

async fn add_note(db: &Db, kommune: Kommunenummer, id: &str, body: &str) {
    db.municipal(kommune)
        .execute("INSERT INTO notes (kommunenummer, id, body) VALUES ($1, $2, $3)", &params![id, body])
        .await
        .expect("insert note");
}

#[tokio::test]
async fn migrations_apply_once_and_are_reported_current() {
    let (_guard, db) = database().await;
    assert_eq!(db.backend(), TestDatabase::backend());
    // A second run is a no-op, not an error.
    db.migrate().await.expect("migrate again");
    let status = db.migration_status().await.expect("status");
    assert!(status.is_current(), "{status:?}");
    assert_eq!(status.applied, status.known);
    assert!(status.known.contains(&("town".to_owned(), 1)));
}

#[tokio::test]
async fn a_fresh_database_is_not_current() {
    let guard = TestDatabase::create().await.expect("database");
    let db = Db::connect(&guard.url, crate::schema()).await.expect("connect");
    let status = db.migration_status().await.expect("status");
    assert!(!status.is_current());
    assert!(status.applied.is_empty());
}

#[tokio::test]
async fn the_municipal_tables_declared_match_the_schema() {
    let (_guard, db) = database().await;
    let columns = db.kommunenummer_columns().await.expect("columns");
    let mut not_null: Vec<&str> = columns.iter().filter(|c| c.not_null).map(|c| c.table_name.as_str()).collect();
    not_null.sort_unstable();
    let mut declared: Vec<&str> = db.schema().municipal_tables().collect();
    declared.sort_unstable();
    assert_eq!(not_null, declared, "a table with kommunenummer NOT NULL must be declared municipal and vice versa");
    // Infrastructure tables carry an optional kommunenummer.
    assert!(columns.iter().any(|c| c.table_name == "jobs" && !c.not_null));
}

#[tokio::test]
async fn unscoped_queries_on_municipal_tables_are_refused_and_change_nothing() {
    let (_guard, db) = database().await;
    let bergen = k("4601");
    add_note(&db, bergen, "a", "Tekst").await;

    let national = db.execute("DELETE FROM notes", &[]).await;
    assert!(matches!(national, Err(StoreError::Unscoped(_))), "{national:?}");

    let unfiltered = db.municipal(bergen).execute("DELETE FROM notes WHERE id <> $2", &params!["x"]).await;
    assert!(matches!(unfiltered, Err(StoreError::Unscoped(_))), "{unfiltered:?}");

    let mut tx = db.begin().await.expect("begin");
    let in_tx = tx.execute("UPDATE notes SET body = 'x'", &[]).await;
    assert!(matches!(in_tx, Err(StoreError::Unscoped(_))));
    tx.rollback().await.expect("rollback");

    let notes: Vec<(String,)> =
        db.municipal(bergen).fetch_all("SELECT body FROM notes WHERE kommunenummer = $1", &[]).await.expect("read");
    assert_eq!(notes, [("Tekst".to_owned(),)]);
}

#[tokio::test]
async fn one_municipality_never_sees_another_municipalitys_records() {
    let (_guard, db) = database().await;
    let (bergen, stavanger) = (k("4601"), k("1103"));
    add_note(&db, bergen, "b", "Bergen").await;
    add_note(&db, stavanger, "s", "Stavanger").await;
    let read = async |kommune| {
        db.municipal(kommune)
            .fetch_all::<(String,)>("SELECT body FROM notes WHERE kommunenummer = $1", &[])
            .await
            .expect("read")
    };
    assert_eq!(read(bergen).await, [("Bergen".to_owned(),)]);
    assert_eq!(read(stavanger).await, [("Stavanger".to_owned(),)]);
    let mut tx = db.begin().await.expect("begin");
    let changed = tx
        .municipal(stavanger)
        .execute("DELETE FROM notes WHERE kommunenummer = $1 AND id = $2", &params!["b"])
        .await
        .expect("delete");
    assert_eq!(changed, 0, "Stavanger cannot delete Bergen's note by its id");
    tx.commit().await.expect("commit");
    assert_eq!(read(bergen).await.len(), 1);
}

#[tokio::test]
async fn a_statement_with_the_wrong_number_of_parameters_is_refused() {
    let (_guard, db) = database().await;
    let result = db.execute("INSERT INTO tally (name, n) VALUES ($1, $2)", &params!["only one"]).await;
    // SQLite would bind NULL to a missing parameter; the store refuses first. PostgreSQL refuses
    // by itself.
    assert!(matches!(result, Err(StoreError::Malformed(_) | StoreError::Database(_))), "{result:?}");
    let duplicate = async |n: i64| db.execute("INSERT INTO tally (name, n) VALUES ($1, $2)", &params!["x", n]).await;
    duplicate(1).await.expect("first");
    assert!(matches!(duplicate(2).await, Err(StoreError::Conflict(_))));
    let tally: Option<(String, i64)> =
        db.fetch_optional("SELECT name, n FROM tally WHERE name = $1", &params!["x"]).await.expect("read");
    assert_eq!(tally, Some(("x".to_owned(), 1)));
}

#[tokio::test]
async fn a_handle_knows_only_the_municipal_tables_of_its_schema() {
    let (guard, _db) = database().await;
    // A handle opened with the store's tables alone does not know `notes` is municipal, which
    // is why every binary and test opens its database with the contexts it runs.
    let bare = Db::connect(&guard.url, Schema::store_only()).await.expect("connect");
    assert!(bare.fetch_all::<(String,)>("SELECT id FROM notes", &[]).await.is_ok());
    let scoped = Db::connect(&guard.url, crate::schema()).await.expect("connect");
    assert!(matches!(scoped.fetch_all::<(String,)>("SELECT id FROM notes", &[]).await, Err(StoreError::Unscoped(_))));
}
