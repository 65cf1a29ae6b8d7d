//! `allmenning backup` and `allmenning restore` as an operator runs them: a backup taken from
//! another process while the server keeps acknowledging writes holds every write acknowledged
//! before it began, with the blobs those writes refer to, and restores into a deployment that
//! starts; the refusals say what to do instead. On PostgreSQL the commands refuse.

use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use allmenning::Application;
use allmenning::config::{Mode, Settings};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use bytes::Bytes;
use store::testing::TestDatabase;
use store::{Backend, BlobConfig, BlobRef, BlobStore};
use tower::ServiceExt;

use crate::cli::allmenning;
use crate::helpers::{kommune, open_db, spawn_app_with_db, test_settings};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `allmenning <args>` on the data directory `data_dir` (with its default SQLite database
/// unless `database_url` names one).
fn run(args: &[&str], dir: &Path, data_dir: &Path, database_url: Option<&str>) -> Output {
    let mut command = allmenning();
    command.args(args).arg(dir).env("ALLMENNING__DATA_DIR", data_dir);
    if let Some(url) = database_url {
        command.env("ALLMENNING__DATABASE__URL", url);
    }
    command.output().expect("runs")
}

/// An acknowledged write: feedback whose message names the blob written just before it.
#[derive(Debug, Clone)]
struct Acknowledged {
    id: String,
    key: String,
}

fn blob_message(key: &str, content: &[u8]) -> String {
    format!("blob {key} {} {}", content.len(), store::blobs::sha256_hex(content))
}

fn blob_of_message(message: &str) -> BlobRef {
    let parts: Vec<&str> = message.split(' ').collect();
    assert_eq!(parts.len(), 4, "{message}");
    BlobRef { key: parts[1].to_owned(), size: parts[2].parse().expect("size"), sha256: parts[3].to_owned() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_restores_every_write_acknowledged_before_it() {
    let settings = test_settings(Mode::Production).await;
    let database_url = settings.database.url.clone();
    let data_dir = settings.settings.data_dir.clone();
    let backup_dir = tempfile::tempdir().expect("tempdir");
    let target = backup_dir.path().join("backup");
    if TestDatabase::backend() == Backend::Postgres {
        let refused = run(&["backup"], &target, &data_dir, Some(&database_url));
        assert_eq!(refused.status.code(), Some(1));
        assert!(stderr(&refused).contains("pg_dump") && stderr(&refused).contains("docs/OPERATIONS.md"));
        assert!(!target.exists());
        return;
    }
    let BlobConfig::Local { path: blob_dir } = settings.settings.blob_config() else { panic!("local blobs") };
    let (server, _db) = spawn_app_with_db(settings).await;
    let blobs = BlobStore::open(&BlobConfig::Local { path: blob_dir }).expect("blobs");

    // Writers that keep going until told to stop: each writes a blob, then the feedback that
    // refers to it, as a context stores a document before the row that names it.
    let acknowledged: Arc<Mutex<Vec<Acknowledged>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for writer in 0..4 {
        let (client, url, blobs) = (server.client.clone(), server.url("/api/v1/feedback"), blobs.clone());
        let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            // Bounded, in case the test never says stop.
            for n in 0..20_000 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let key = format!("4601/test/{writer}-{n}.bin");
                let content: Vec<u8> = format!("{writer}:{n};").repeat(200).into_bytes();
                blobs.put(&key, Bytes::from(content.clone())).await.expect("blob");
                let body = serde_json::json!({ "message": blob_message(&key, &content) });
                let response = client.post(&url).json(&body).send().await.expect("the server answers");
                assert_eq!(response.status(), 201);
                let receipt: serde_json::Value = response.json().await.expect("receipt");
                let id = receipt["id"].as_str().expect("id").to_owned();
                acknowledged.lock().expect("lock").push(Acknowledged { id, key });
            }
        }));
    }
    let count = || acknowledged.lock().expect("lock").len();
    while count() < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }

    let before: Vec<Acknowledged> = acknowledged.lock().expect("lock").clone();
    let (target_for_backup, data_for_backup, url_for_backup) = (target.clone(), data_dir.clone(), database_url.clone());
    let output = tokio::task::spawn_blocking(move || {
        run(&["backup"], &target_for_backup, &data_for_backup, Some(&url_for_backup))
    })
    .await
    .expect("join");
    let after = count();
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.await.expect("writer");
    }
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("backup written to"), "{}", stdout(&output));
    assert!(after > before.len(), "the server kept acknowledging writes while the backup ran");
    server.stop().await;

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(target.join("manifest.json")).expect("manifest")).expect("json");
    assert_eq!(manifest["allmenning_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["migrations"]["current"], true);
    let files = manifest["files"].as_array().expect("files");
    assert_eq!(files[0]["path"], "allmenning.db");
    assert!(files.len() > before.len(), "the database and at least every acknowledged write's blob");
    assert!(files.iter().all(|f| f["sha256"].as_str().is_some_and(|s| s.len() == 64) && f["size"].is_u64()));

    // Restore into a fresh data directory, with its default database.
    let fresh = tempfile::tempdir().expect("tempdir");
    let restored_dir = fresh.path().join("data");
    let output = run(&["restore"], &target, &restored_dir, None);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("restored"), "{}", stdout(&output));
    let restored_database = restored_dir.join("allmenning.db");

    let sqlite = rusqlite::Connection::open(&restored_database).expect("open");
    let verdict: String = sqlite.query_row("PRAGMA integrity_check", [], |row| row.get(0)).expect("check");
    assert_eq!(verdict, "ok");
    drop(sqlite);

    let db = open_db(&format!("sqlite://{}", restored_database.display())).await;
    assert!(db.migration_status().await.expect("status").is_current());
    let rows: Vec<(String, String)> = db
        .municipal(kommune("4601"))
        .fetch_all("SELECT id, message FROM feedback WHERE kommunenummer = $1", &[])
        .await
        .expect("feedback");
    let ids: std::collections::HashSet<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
    let missing: Vec<&Acknowledged> = before.iter().filter(|a| !ids.contains(a.id.as_str())).collect();
    assert!(missing.is_empty(), "acknowledged before the backup began, and missing: {missing:?}");
    // Every row in the copy, acknowledged before the backup or during it, has its blob, byte
    // for byte.
    let restored_blobs = BlobStore::open(&BlobConfig::Local { path: restored_dir.join("blobs") }).expect("blobs");
    for (_, message) in &rows {
        let reference = blob_of_message(message);
        restored_blobs.get(&reference).await.unwrap_or_else(|e| panic!("blob {}: {e}", reference.key));
    }
    assert!(before.iter().all(|a| rows.iter().any(|(_, m)| m.contains(&a.key))));
    db.close().await;

    // The restored deployment starts and is ready.
    let mut settings = Settings { mode: Mode::Production, data_dir: restored_dir.clone(), ..Settings::default() };
    settings.server.bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let app = Application::build(&settings).await.expect("the restored deployment starts");
    let ready = app.router().oneshot(Request::get("/readyz").body(Body::empty()).expect("request")).await;
    assert_eq!(ready.expect("answer").status(), StatusCode::OK);
}

/// A data directory with a migrated database and one blob, and a backup of it.
fn backed_up(root: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let data_dir = root.join("data");
    let migrated = allmenning().arg("migrate").env("ALLMENNING__DATA_DIR", &data_dir).output().expect("runs");
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    std::fs::create_dir_all(data_dir.join("blobs/4601")).expect("dir");
    std::fs::write(data_dir.join("blobs/4601/brev.pdf"), b"%PDF-1.7 brev").expect("blob");
    let target = root.join("backup");
    let output = run(&["backup"], &target, &data_dir, None);
    assert!(output.status.success(), "{}", stderr(&output));
    (data_dir, target)
}

#[test]
fn backup_refuses_a_directory_that_is_not_empty_and_a_missing_database() {
    let root = tempfile::tempdir().expect("tempdir");
    let (data_dir, target) = backed_up(root.path());
    // The same directory again: it now holds a backup.
    let again = run(&["backup"], &target, &data_dir, None);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("is not empty"), "{}", stderr(&again));

    let nowhere = root.path().join("nowhere");
    let missing = run(&["backup"], &root.path().join("other"), &nowhere, None);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("there is no database"), "{}", stderr(&missing));
    assert!(!nowhere.exists(), "backing up creates no database");
}

#[test]
fn postgresql_and_s3_are_refused_with_their_own_tools_named() {
    let root = tempfile::tempdir().expect("tempdir");
    let target = root.path().join("backup");
    for command in ["backup", "restore"] {
        // Port 1 refuses connections; the refusal comes before any connection is tried.
        let output = run(&[command], &target, root.path(), Some("postgres://app:secret-pw@127.0.0.1:1/allmenning"));
        assert_eq!(output.status.code(), Some(1));
        let text = stderr(&output);
        assert!(text.contains("pg_dump") && text.contains("docs/OPERATIONS.md"), "{text}");
        assert!(!text.contains("secret-pw"));
    }
    let s3 = allmenning()
        .arg("backup")
        .arg(&target)
        .env("ALLMENNING__DATA_DIR", root.path())
        .env("ALLMENNING__BLOBS__BACKEND", "s3")
        .env("ALLMENNING__BLOBS__BUCKET", "dokumenter")
        .output()
        .expect("runs");
    assert_eq!(s3.status.code(), Some(1));
    assert!(stderr(&s3).contains("versioning") && stderr(&s3).contains("docs/OPERATIONS.md"), "{}", stderr(&s3));
    assert!(!target.exists());
}

#[test]
fn a_tampered_backup_is_refused_and_nothing_is_put_in_place() {
    let root = tempfile::tempdir().expect("tempdir");
    let (_, target) = backed_up(root.path());
    let mut database = std::fs::read(target.join("allmenning.db")).expect("copy");
    let last = database.len() - 1;
    database[last] ^= 0xff;
    std::fs::write(target.join("allmenning.db"), database).expect("tamper");
    let fresh = root.path().join("fresh");
    let output = run(&["restore"], &target, &fresh, None);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("allmenning.db") && text.contains("does not match its manifest"), "{text}");
    assert!(!fresh.join("allmenning.db").exists() && !fresh.join("blobs").exists());
}

#[test]
fn an_existing_database_is_replaced_only_with_force_and_then_kept_aside() {
    let root = tempfile::tempdir().expect("tempdir");
    let (data_dir, target) = backed_up(root.path());
    let before = std::fs::read(data_dir.join("allmenning.db")).expect("database");

    let refused = run(&["restore"], &target, &data_dir, None);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("already exists") && stderr(&refused).contains("--force"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(std::fs::read(data_dir.join("allmenning.db")).expect("database"), before);

    let forced = run(&["restore", "--force"], &target, &data_dir, None);
    assert!(forced.status.success(), "{}", stderr(&forced));
    let aside: Vec<String> =
        stdout(&forced).lines().filter_map(|line| line.strip_prefix("moved aside: ")).map(str::to_owned).collect();
    let old_database = aside.iter().find(|p| p.contains("allmenning.db.before-restore-")).expect("the old database");
    assert_eq!(std::fs::read(old_database).expect("kept"), before);
    let old_blobs = aside.iter().find(|p| p.contains("blobs.before-restore-")).expect("the old blobs");
    assert!(Path::new(old_blobs).join("4601/brev.pdf").is_file());
    assert_eq!(std::fs::read(data_dir.join("blobs/4601/brev.pdf")).expect("restored"), b"%PDF-1.7 brev");
    let migrated = allmenning().arg("migrate").env("ALLMENNING__DATA_DIR", &data_dir).output().expect("runs");
    assert!(migrated.status.success(), "the restored database opens: {}", stderr(&migrated));
}
