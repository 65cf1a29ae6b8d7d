//! Backups of SQLite and a local blob directory: a copy taken while a writer keeps committing
//! holds everything committed before it began, and a restore checks every file before it puts
//! anything in place. On PostgreSQL the tools refuse, which is all there is to test.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use bytes::Bytes;
use store::backup::{self, BackupError, LocalData};
use store::testing::TestDatabase;
use store::{Backend, BlobConfig, BlobRef, BlobStore, Db, Migration, Migrations, Schema, params};

use crate::{TOWN, database, schema};

fn local(url: &str, blobs: &Path) -> Result<LocalData, BackupError> {
    LocalData::from_config(url, &BlobConfig::Local { path: blobs.to_owned() })
}

/// A database with the test schema and a blob directory beside it, or `None` on PostgreSQL
/// after checking that the tools refuse it.
async fn sqlite_deployment() -> Option<(TestDatabase, Db, LocalData, tempfile::TempDir)> {
    let (guard, db) = database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = local(&guard.url, &dir.path().join("blobs"));
    if db.backend() == Backend::Postgres {
        let refused = data.expect_err("PostgreSQL is refused");
        assert!(matches!(refused, BackupError::Unsupported(_)), "{refused}");
        assert!(refused.to_string().contains("pg_dump"), "{refused}");
        return None;
    }
    Some((guard, db, data.expect("SQLite and a local directory"), dir))
}

async fn tally(db: &Db) -> Vec<(String, i64)> {
    db.fetch_all("SELECT name, n FROM tally ORDER BY name", &[]).await.expect("tally")
}

#[tokio::test]
async fn a_backup_taken_while_writing_holds_every_commit_from_before_it_and_restores() {
    let Some((_guard, db, data, dir)) = sqlite_deployment().await else { return };
    let blobs = BlobStore::open(&BlobConfig::Local { path: data.blobs.clone() }).expect("blobs");
    let mut references = Vec::new();
    for n in 0..5 {
        let reference = blobs.put(&format!("4601/letters/{n}.pdf"), Bytes::from(vec![n as u8; 1000 + n])).await;
        references.push(reference.expect("put"));
    }
    // A writer that commits one row after another until told to stop.
    let committed = Arc::new(AtomicI64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, committed, stop) = (db.clone(), committed.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0_i64;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                db.execute("INSERT INTO tally (name, n) VALUES ($1, $2)", &params![format!("row-{n:06}"), n])
                    .await
                    .expect("insert");
                committed.store(n, Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
        })
    };
    while committed.load(Ordering::SeqCst) < 50 {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let before = committed.load(Ordering::SeqCst);
    let target = dir.path().join("backup");
    let manifest = backup::backup(&data, &schema(), &target, "9.9.9").await.expect("backup");
    let during = committed.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    writer.await.expect("writer");

    assert_eq!(manifest.allmenning_version, "9.9.9");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&target).expect("target").permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "only the owner may read a backup");
    }
    assert!(manifest.migrations.current, "{:?}", manifest.migrations);
    assert_eq!(manifest.files[0].path, "allmenning.db");
    assert_eq!(manifest.blob_count(), 5);
    assert_eq!(backup::read_manifest(&target).expect("the manifest reads back"), manifest);

    let restored = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", restored.path().join("data/allmenning.db").display());
    let into = local(&url, &restored.path().join("data/blobs")).expect("local");
    let report = backup::restore(&target, &into, &schema(), false).await.expect("restore");
    assert!(report.moved_aside.is_empty());

    let copy = Db::connect(&url, schema()).await.expect("open the restored database");
    let rows = tally(&copy).await;
    let highest = rows.iter().map(|(_, n)| *n).max().unwrap_or(0);
    assert!(highest >= before, "every commit from before the backup is there: {highest} < {before}");
    assert!(highest <= during, "nothing from after the backup is");
    assert_eq!(rows.len() as i64, highest, "and the rows before it are all there, with no gap");
    assert!(copy.migration_status().await.expect("status").is_current());
    let restored_blobs = BlobStore::open(&BlobConfig::Local { path: into.blobs.clone() }).expect("blobs");
    for reference in &references {
        assert_eq!(restored_blobs.get(reference).await.expect("blob"), blobs.get(reference).await.expect("blob"));
    }
}

#[tokio::test]
async fn a_backup_refuses_a_non_empty_directory_and_one_inside_the_blobs() {
    let Some((_guard, _db, data, dir)) = sqlite_deployment().await else { return };
    let target = dir.path().join("taken");
    std::fs::create_dir_all(&target).expect("dir");
    std::fs::write(target.join("notes.txt"), "mine").expect("file");
    let refused = backup::backup(&data, &schema(), &target, "0").await.expect_err("refused");
    assert!(matches!(refused, BackupError::TargetNotEmpty(_)), "{refused}");
    assert_eq!(std::fs::read_to_string(target.join("notes.txt")).expect("untouched"), "mine");
    assert_eq!(std::fs::read_dir(&target).expect("dir").count(), 1);

    let inside = data.blobs.join("backup");
    let refused = backup::backup(&data, &schema(), &inside, "0").await.expect_err("refused");
    assert!(refused.to_string().contains("inside the blob directory"), "{refused}");
    assert!(!inside.exists());
}

async fn backed_up() -> Option<(TestDatabase, Db, LocalData, tempfile::TempDir, std::path::PathBuf)> {
    let (guard, db, data, dir) = sqlite_deployment().await?;
    db.execute("INSERT INTO tally (name, n) VALUES ('a', 1)", &[]).await.expect("insert");
    let blobs = BlobStore::open(&BlobConfig::Local { path: data.blobs.clone() }).expect("blobs");
    blobs.put("4601/a.pdf", Bytes::from_static(b"%PDF a")).await.expect("put");
    let target = dir.path().join("backup");
    backup::backup(&data, &schema(), &target, "0").await.expect("backup");
    Some((guard, db, data, dir, target))
}

#[tokio::test]
async fn a_changed_or_missing_file_is_refused_before_anything_is_put_in_place() {
    let Some((_guard, _db, _data, dir, target)) = backed_up().await else { return };
    let into =
        local(&format!("sqlite://{}", dir.path().join("new/allmenning.db").display()), &dir.path().join("new/blobs"))
            .expect("local");
    std::fs::write(target.join("blobs/4601/a.pdf"), b"%PDF b").expect("tamper");
    let refused = backup::restore(&target, &into, &schema(), false).await.expect_err("refused");
    assert!(matches!(&refused, BackupError::Checksum { path, .. } if path == "blobs/4601/a.pdf"), "{refused}");
    assert!(!into.database.exists() && !into.blobs.exists(), "nothing is put in place");
    assert_eq!(std::fs::read_dir(dir.path().join("new")).expect("dir").count(), 0, "nothing is left behind");

    std::fs::remove_file(target.join("blobs/4601/a.pdf")).expect("remove");
    let refused = backup::restore(&target, &into, &schema(), false).await.expect_err("refused");
    assert!(refused.to_string().contains("missing"), "{refused}");

    std::fs::remove_file(target.join("manifest.json")).expect("remove");
    let refused = backup::restore(&target, &into, &schema(), false).await.expect_err("refused");
    assert!(matches!(refused, BackupError::NoManifest(_)), "{refused}");
}

#[tokio::test]
async fn a_manifest_naming_a_path_outside_the_backup_is_refused() {
    let Some((_guard, _db, _data, dir, target)) = backed_up().await else { return };
    let text = std::fs::read_to_string(target.join("manifest.json")).expect("manifest");
    let changed = text.replace("\"blobs/4601/a.pdf\"", "\"blobs/../../outside.pdf\"");
    assert_ne!(text, changed);
    std::fs::write(target.join("manifest.json"), changed).expect("write");
    let into =
        local(&format!("sqlite://{}", dir.path().join("new/allmenning.db").display()), &dir.path().join("new/blobs"))
            .expect("local");
    let refused = backup::restore(&target, &into, &schema(), false).await.expect_err("refused");
    assert!(matches!(refused, BackupError::Malformed(_)), "{refused}");
    assert!(!dir.path().join("outside.pdf").exists());
}

/// `town` with a migration this binary does not carry yet.
static TOWN_LATER: Migrations = Migrations {
    context: "town",
    builds_on: &[],
    tables: &["notes", "tally", "later"],
    municipal_tables: &["notes"],
    migrations: &[
        Migration {
            version: 1,
            description: "notes and a tally",
            // The very SQL `town` 1 has, so its checksum matches.
            sqlite: TOWN.migrations[0].sqlite,
            postgres: TOWN.migrations[0].postgres,
            legacy_version: None,
        },
        Migration {
            version: 2,
            description: "later",
            sqlite: "CREATE TABLE later (id TEXT PRIMARY KEY);",
            postgres: "",
            legacy_version: None,
        },
    ],
};

#[tokio::test]
async fn a_backup_from_a_newer_binary_is_refused() {
    let Some((guard, db, data, dir)) = sqlite_deployment().await else { return };
    db.close().await;
    let newer = Db::connect(&guard.url, Schema::new(&[&TOWN_LATER]).expect("schema")).await.expect("connect");
    newer.migrate().await.expect("migrate");
    newer.close().await;
    let target = dir.path().join("backup");
    let manifest =
        backup::backup(&data, &Schema::new(&[&TOWN_LATER]).expect("schema"), &target, "2.0.0").await.expect("backup");
    assert!(manifest.migrations.applied.iter().any(|m| m.context == "town" && m.version == 2));
    let into =
        local(&format!("sqlite://{}", dir.path().join("new/allmenning.db").display()), &dir.path().join("new/blobs"))
            .expect("local");
    let refused =
        backup::restore(&target, &into, &Schema::new(&[&TOWN]).expect("schema"), false).await.expect_err("refused");
    assert!(
        matches!(&refused, BackupError::Newer { context, version: 2, made_by } if context == "town" && made_by == "2.0.0"),
        "{refused}"
    );
    assert!(!into.database.exists());
}

#[tokio::test]
async fn existing_data_is_refused_unless_forced_and_then_moved_aside_never_deleted() {
    let Some((guard, db, data, _dir, target)) = backed_up().await else { return };
    // A change after the backup, which the restore takes back.
    db.execute("INSERT INTO tally (name, n) VALUES ('b', 2)", &[]).await.expect("insert");
    db.close().await;
    drop(db);
    let before = std::fs::read(&data.database).expect("database");

    let refused = backup::restore(&target, &data, &schema(), false).await.expect_err("refused");
    assert!(matches!(&refused, BackupError::Exists(path) if *path == data.database), "{refused}");
    assert_eq!(std::fs::read(&data.database).expect("database"), before, "untouched");

    // The server's write-ahead log must not be laid over the restored database: it goes aside
    // with the file it belongs to.
    std::fs::write(format!("{}-wal", data.database.display()), b"not ours").expect("wal");
    let restored = backup::restore(&target, &data, &schema(), true).await.expect("forced");
    let aside = |suffix: &str| {
        restored
            .moved_aside
            .iter()
            .find(|p| p.to_string_lossy().contains(&format!("{suffix}.before-restore-")))
            .cloned()
    };
    assert_eq!(std::fs::read(aside(".db").expect("the old database")).expect("kept"), before);
    assert_eq!(std::fs::read(aside(".db-wal").expect("its log")).expect("kept"), b"not ours");
    assert!(aside("/blobs").expect("the old blobs").join("4601/a.pdf").is_file());
    assert!(!Path::new(&format!("{}-wal", data.database.display())).exists());

    let copy = Db::connect(&guard.url, schema()).await.expect("open");
    assert_eq!(tally(&copy).await, [("a".to_owned(), 1)]);
    let blobs = BlobStore::open(&BlobConfig::Local { path: data.blobs.clone() }).expect("blobs");
    let reference = BlobRef { key: "4601/a.pdf".into(), size: 6, sha256: store::blobs::sha256_hex(b"%PDF a") };
    assert_eq!(blobs.get(&reference).await.expect("blob"), Bytes::from_static(b"%PDF a"));
}
