//! Each context owns its tables: every table in the database is declared by exactly one
//! context, no crate's code names another context's tables, and a database migrated by the old
//! single list of migrations is taken over without running anything twice.

use std::collections::BTreeSet;
use std::path::Path;

use store::testing::TestDatabase;
use store::{Backend, Db, Position, Schema};

use crate::helpers::{open_db, repository_root};

fn schema() -> Schema {
    allmenning::app::schema().expect("the binary's contexts fit together")
}

async fn migrated() -> (TestDatabase, Db) {
    TestDatabase::migrated(schema()).await.expect("database")
}

#[tokio::test]
async fn every_table_is_owned_by_exactly_one_context() {
    let (_guard, db) = migrated().await;
    let in_database: BTreeSet<String> = db.tables().await.expect("tables").into_iter().collect();
    let declared: BTreeSet<String> =
        schema().contexts().iter().flat_map(|c| c.tables.iter().map(|t| (*t).to_owned())).collect();
    assert_eq!(in_database, declared, "tables in the database against tables the contexts declare");

    let columns = db.kommunenummer_columns().await.expect("columns");
    let not_null: BTreeSet<&str> = columns.iter().filter(|c| c.not_null).map(|c| c.table_name.as_str()).collect();
    let municipal: BTreeSet<&str> = db.schema().municipal_tables().collect();
    assert_eq!(not_null, municipal, "a table with kommunenummer NOT NULL must be declared municipal, and vice versa");
}

/// The tables a piece of source names in its string literals after FROM, JOIN, INTO, UPDATE or
/// TABLE.
fn tables_named(source: &str) -> Vec<String> {
    let mut literals = Vec::new();
    let mut chars = source.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        match c {
            '/' if chars.peek().map(|(_, n)| *n) == Some('/') => {
                // A comment, to the end of the line.
                for (_, n) in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
            }
            '\'' => {
                // A char literal or a lifetime: skip a quoted character if there is one.
                let rest: String = chars.clone().take(3).map(|(_, n)| n).collect();
                if rest.chars().nth(1) == Some('\'') || rest.starts_with('\\') {
                    for (_, n) in chars.by_ref() {
                        if n == '\'' {
                            break;
                        }
                    }
                }
            }
            '"' => {
                let mut literal = String::new();
                while let Some((_, n)) = chars.next() {
                    match n {
                        '\\' => {
                            chars.next();
                            literal.push(' ');
                        }
                        '"' => break,
                        other => literal.push(other),
                    }
                }
                literals.push(literal);
            }
            _ => {}
        }
    }
    let mut named = Vec::new();
    for literal in literals {
        let words: Vec<&str> =
            literal.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
        for pair in words.windows(2) {
            if ["from", "join", "into", "update", "table"].iter().any(|k| pair[0].eq_ignore_ascii_case(k)) {
                named.push(pair[1].to_ascii_lowercase());
            }
        }
    }
    named
}

fn rust_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn no_crate_names_another_contexts_tables() {
    let schema = schema();
    // Which context each crate is; crates that own no tables may name none.
    let crates = [
        ("kernel", None),
        ("store", Some("store")),
        ("audit", Some("audit")),
        ("registers", Some("registers")),
        ("identity", Some("identity")),
        ("content", Some("content")),
        ("archive", Some("archive")),
        ("post", Some("post")),
        ("cases", Some("cases")),
        ("services", Some("services")),
        ("render", None),
        ("web", None),
        ("allmenning", Some("deployment")),
    ];
    let root = repository_root().join("crates");
    let mut on_disk: Vec<String> = std::fs::read_dir(&root)
        .expect("crates")
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = crates.iter().map(|(name, _)| (*name).to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "a new crate needs a line here saying which context it is");
    let mut trespasses = Vec::new();
    for (name, context) in crates {
        let mut files = Vec::new();
        rust_files(&root.join(name).join("src"), &mut files);
        for file in files {
            let source = std::fs::read_to_string(&file).expect("source");
            for table in tables_named(&source) {
                if let Some(owner) = schema.owner_of(&table)
                    && Some(owner) != context
                {
                    trespasses.push(format!("{} names `{table}`, which belongs to {owner}", file.display()));
                }
            }
        }
    }
    assert!(trespasses.is_empty(), "{trespasses:#?}");
    // The scan itself finds tables: store's code names its own.
    let jobs = std::fs::read_to_string(root.join("store/src/jobs.rs")).expect("jobs.rs");
    assert!(tables_named(&jobs).contains(&"jobs".to_owned()));
    assert_eq!(tables_named("let x = \"SELECT a FROM persons p JOIN contacts c\";"), ["persons", "contacts"]);
}

/// The tables, columns and indexes of a database, to compare two of them.
async fn describe(db: &Db) -> Vec<String> {
    let (columns, indexes) = match db.backend() {
        Backend::Sqlite => (
            "SELECT m.name || '.' || p.name || ' ' || p.type || ' ' || p.\"notnull\" || ' ' || \
             COALESCE(p.dflt_value, '-') || ' ' || p.pk AS d \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY m.name, p.cid",
            "SELECT m.name || ' on ' || m.tbl_name || ' (' || group_concat(i.name, ', ') || ')' AS d \
             FROM sqlite_master m JOIN pragma_index_info(m.name) i WHERE m.type = 'index' \
             GROUP BY m.name ORDER BY m.name",
        ),
        Backend::Postgres => (
            "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || \
             COALESCE(column_default, '-') AS d FROM information_schema.columns \
             WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
            "SELECT indexdef AS d FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname",
        ),
    };
    let mut described = Vec::new();
    for sql in [columns, indexes] {
        let rows: Vec<(String,)> = db.fetch_all(sql, &[]).await.expect("describe");
        described.extend(rows.into_iter().map(|(d,)| d).filter(|d| !d.contains("schema_migrations")));
    }
    described
}

#[tokio::test]
async fn a_database_migrated_by_the_old_single_list_is_taken_over() {
    let guard = TestDatabase::create().await.expect("database");
    let bare = Db::connect(&guard.url, Schema::store_only()).await.expect("connect");
    let backend = bare.backend();
    // The old list, 0001–0006, as sqlx ran it: each context's migration that was one of them.
    for legacy in 1..=6 {
        for context in schema().contexts() {
            for migration in context.migrations.iter().filter(|m| m.legacy_version == Some(legacy)) {
                let sql = if backend == Backend::Sqlite { migration.sqlite } else { migration.postgres };
                bare.execute_script(sql).await.expect("legacy migration");
            }
        }
    }
    let (blob, boolean) = if backend == Backend::Sqlite { ("BLOB", "1") } else { ("BYTEA", "TRUE") };
    bare.execute_script(&format!(
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
         installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, \
         checksum {blob} NOT NULL, execution_time BIGINT NOT NULL); \
         INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES \
         (1, 'foundation', {boolean}, '', 1), (2, 'registers', {boolean}, '', 1), \
         (3, 'person rows', {boolean}, '', 1), (4, 'audit', {boolean}, '', 1), \
         (5, 'identity', {boolean}, '', 1), (6, 'deployment', {boolean}, '', 1); \
         INSERT INTO outbox_events (id, event_type, source, time, data) \
         VALUES ('old', 'no.allmenning.test', '/test', '2026-11-01T00:00:00Z', '{{}}');"
    ))
    .await
    .expect("legacy bookkeeping");
    bare.close().await;

    let db = open_db(&guard.url).await;
    assert!(!db.migration_status().await.expect("status").is_current());
    db.migrate().await.expect("the old database is taken over");
    let status = db.migration_status().await.expect("status");
    assert!(status.is_current(), "{status:?}");
    assert!(!db.table_exists("_sqlx_migrations").await.expect("exists"), "the old bookkeeping is gone");
    // The event from before the feed had positions comes first.
    let old = db.events_after(Position::START, 10).await.expect("feed");
    assert_eq!(old.iter().map(|e| e.event.id.as_str()).collect::<Vec<_>>(), ["old"]);

    let (_fresh_guard, fresh) = migrated().await;
    assert_eq!(describe(&db).await, describe(&fresh).await, "the taken-over database has the fresh schema");
    db.migrate().await.expect("and migrating again does nothing");
}
