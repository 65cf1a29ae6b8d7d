//! Backups of a deployment on one machine: the SQLite database and the local blob directory,
//! copied while the server keeps serving, and put back with the server stopped. The store owns
//! no table for this; it copies files and reads `schema_migrations` from the copy.
//!
//! - **The database first, in one snapshot.** `VACUUM INTO` writes a consistent copy of the
//!   database as it was when its read transaction began. It only reads the live database, and
//!   in WAL mode a reader never blocks the writer, so the server keeps committing while it runs.
//!   (SQLite's online backup API, the alternative, copies pages in steps and starts over
//!   whenever another connection writes between two steps: against a server that writes all
//!   the time it would have to copy in a single step, which leaves it nothing over one
//!   statement. `VACUUM INTO` also leaves a compact file with no write-ahead log beside it.)
//! - **Then the blobs.** A blob is written before the row that refers to it commits, and its
//!   key is never reused, so every blob a row in the snapshot refers to is already on disk when
//!   the blobs are copied after it. Blobs written after the snapshot are copied too, and are
//!   harmless: nothing in the restored database refers to them. (A blob *deleted* between the
//!   snapshot and its copy would be missing; nothing deletes blobs yet.)
//! - **The manifest last.** `manifest.json` lists every file with its size and SHA-256, the
//!   version that made the backup and the migrations applied in the copy. It is written when
//!   everything else is on disk, so a directory without one is not a backup. A restore checks
//!   every file against it before anything is put in place, and moves what it replaces aside
//!   rather than deleting it.
//!
//! PostgreSQL and S3-compatible storage have their own tools (pg_dump or pg_basebackup, bucket
//! versioning or replication): asked to back them up, this module refuses and says so.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use kernel::Timestamp;
use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{BlobConfig, Schema, StoreError};

/// The manifest's file name inside a backup directory.
pub const MANIFEST: &str = "manifest.json";
/// The manifest format this code writes and reads.
pub const MANIFEST_FORMAT: u32 = 1;
/// The database file's name inside a backup directory.
pub const DATABASE_FILE: &str = "allmenning.db";
/// The blob directory's name inside a backup directory.
pub const BLOB_DIR: &str = "blobs";

const POSTGRES_REFUSAL: &str = "`allmenning backup` and `restore` copy a SQLite database; this deployment runs on \
     PostgreSQL: back it up with pg_dump or pg_basebackup (see docs/OPERATIONS.md)";
const S3_REFUSAL: &str = "`allmenning backup` and `restore` copy a local blob directory; this deployment keeps its \
     blobs in S3-compatible storage: protect the bucket with versioning or replication (see docs/OPERATIONS.md)";
/// How long the snapshot waits for a lock SQLite holds only briefly (WAL recovery).
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(30);
/// The copy buffer.
const CHUNK: usize = 1024 * 1024;

/// Why a backup or a restore was refused or failed. Nothing is put in place or moved aside
/// unless every file of the backup matched its manifest.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The deployment keeps its data where these tools do not reach (PostgreSQL, S3, memory).
    #[error("{0}")]
    Unsupported(String),
    /// The configuration or the command asks for something that cannot work.
    #[error("{0}")]
    Invalid(String),
    /// The backup directory already holds something.
    #[error("the backup directory {0} is not empty: give a new or an empty directory")]
    TargetNotEmpty(PathBuf),
    /// There is no database file to back up.
    #[error("there is no database at {0} to back up")]
    NoDatabase(PathBuf),
    /// The directory holds no complete backup.
    #[error("{0} holds no complete backup: there is no {MANIFEST} (a backup that was interrupted has none)")]
    NoManifest(PathBuf),
    /// The manifest cannot be read or does not hold together.
    #[error("the backup's {MANIFEST} is not usable: {0}")]
    Malformed(String),
    /// A file of the backup is missing or differs from the manifest.
    #[error("{path} in the backup does not match its manifest ({problem}): the backup is damaged or was changed")]
    Checksum {
        /// The file, relative to the backup directory.
        path: String,
        /// How it differs.
        problem: String,
    },
    /// The restore would replace existing data and was not told to.
    #[error("{0} already exists: a restore replaces existing data only when forced, and then moves it aside")]
    Exists(PathBuf),
    /// The backup's database has migrations this binary does not carry.
    #[error(
        "the backup holds migration {context} {version}, which this binary does not carry: it was made by \
         allmenning {made_by}; restore it with that version or a newer one"
    )]
    Newer {
        /// The context.
        context: String,
        /// The version.
        version: i64,
        /// The version that made the backup.
        made_by: String,
    },
    /// The copy of the database is not sound.
    #[error("the copy of the database failed its check: {0}")]
    Damaged(String),
    /// A file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, naming the path.
        what: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn io(what: impl FnOnce() -> String) -> impl FnOnce(std::io::Error) -> BackupError {
    move |source| BackupError::Io { what: what(), source }
}

fn sqlite(error: rusqlite::Error) -> BackupError {
    BackupError::Store(crate::sqlite::sqlite_error(error))
}

/// Where a deployment on one machine keeps its data: a SQLite file and a blob directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalData {
    /// The SQLite database file.
    pub database: PathBuf,
    /// The local blob directory.
    pub blobs: PathBuf,
}

impl LocalData {
    /// The data a database URL and a blob configuration name; refuses PostgreSQL, an in-memory
    /// database, S3 and in-memory blobs, and a database file inside the blob directory.
    pub fn from_config(database_url: &str, blobs: &BlobConfig) -> Result<LocalData, BackupError> {
        match database_url.split(':').next().unwrap_or_default() {
            "sqlite" => {}
            "postgres" | "postgresql" => return Err(BackupError::Unsupported(POSTGRES_REFUSAL.to_owned())),
            other => return Err(StoreError::UnknownScheme(other.chars().take(32).collect()).into()),
        }
        let Some(database) = crate::sqlite::path_of(database_url) else {
            return Err(BackupError::Unsupported("an in-memory database has nothing to back up".to_owned()));
        };
        let blobs = match blobs {
            BlobConfig::Local { path } => path.clone(),
            BlobConfig::S3 { .. } => return Err(BackupError::Unsupported(S3_REFUSAL.to_owned())),
            BlobConfig::Memory => {
                return Err(BackupError::Unsupported("blobs kept in memory have nothing to back up".to_owned()));
            }
        };
        // Without a trailing `/`, so that names made beside them stay beside them.
        let data = LocalData { database: database.components().collect(), blobs: blobs.components().collect() };
        if absolute(&data.database)?.starts_with(absolute(&data.blobs)?) {
            return Err(BackupError::Invalid(format!(
                "the database {} lies inside the blob directory {}: give the blobs a directory of their own",
                data.database.display(),
                data.blobs.display()
            )));
        }
        Ok(data)
    }
}

/// One file of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Relative to the backup directory, with `/` between components.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
}

/// One applied migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliedMigration {
    /// The context that owns it.
    pub context: String,
    /// Its version within the context.
    pub version: i64,
}

/// How far the backed-up database was migrated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrationsInBackup {
    /// Every migration recorded as applied in the copy.
    pub applied: Vec<AppliedMigration>,
    /// Whether every migration the binary that made the backup carries was applied.
    pub current: bool,
}

/// What a backup holds, written into it as `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The manifest format, [`MANIFEST_FORMAT`].
    pub format: u32,
    /// The version of allmenning that made the backup.
    pub allmenning_version: String,
    /// When the database snapshot was taken (RFC 3339, UTC): the backup holds every write
    /// acknowledged before this.
    pub created_at: String,
    /// When the backup was complete.
    pub finished_at: String,
    /// The database engine: `sqlite`.
    pub backend: String,
    /// The migrations applied in the copy.
    pub migrations: MigrationsInBackup,
    /// Every file: the database ([`DATABASE_FILE`]) first, then the blobs under [`BLOB_DIR`],
    /// sorted.
    pub files: Vec<FileEntry>,
}

impl Manifest {
    /// The total size of the files.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// How many blobs the backup holds.
    pub fn blob_count(&self) -> usize {
        self.files.iter().filter(|f| f.path != DATABASE_FILE).count()
    }
}

/// Copies the database and the blob directory of `data` into `target` (created if missing,
/// readable by its owner only; refused if not empty) while the server may keep writing, and
/// writes the manifest last. `schema` is the binary's, to tell whether the copy is fully
/// migrated; `version` is the binary's version, recorded in the manifest.
pub async fn backup(data: &LocalData, schema: &Schema, target: &Path, version: &str) -> Result<Manifest, BackupError> {
    let known = known_migrations(schema);
    let (data, target, version) = (data.clone(), target.to_owned(), version.to_owned());
    tokio::task::spawn_blocking(move || backup_blocking(&data, &known, &target, &version))
        .await
        .map_err(|e| BackupError::Invalid(format!("the backup thread failed: {e}")))?
}

fn known_migrations(schema: &Schema) -> Vec<(String, i64)> {
    schema
        .contexts()
        .iter()
        .flat_map(|set| set.migrations.iter().map(|m| (set.context.to_owned(), m.version)))
        .collect()
}

fn backup_blocking(
    data: &LocalData,
    known: &[(String, i64)],
    target: &Path,
    version: &str,
) -> Result<Manifest, BackupError> {
    if !data.database.is_file() {
        return Err(BackupError::NoDatabase(data.database.clone()));
    }
    prepare_target(data, target)?;

    let created_at = Timestamp::now();
    let copy = target.join(DATABASE_FILE);
    snapshot(&data.database, &copy)?;
    let applied = check_copy(&copy)?;
    let mut files = vec![digest_and_sync(&copy, DATABASE_FILE)?];

    let blob_target = target.join(BLOB_DIR);
    fs::create_dir(&blob_target).map_err(io(|| format!("cannot create {}", blob_target.display())))?;
    if data.blobs.is_dir() {
        copy_tree(&data.blobs, &blob_target, BLOB_DIR, &mut files)?;
    }
    sync_dir(&blob_target)?;

    let current =
        known.iter().all(|(context, version)| applied.iter().any(|a| &a.context == context && a.version == *version));
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        allmenning_version: version.to_owned(),
        created_at: created_at.to_rfc3339(),
        finished_at: Timestamp::now().to_rfc3339(),
        backend: "sqlite".to_owned(),
        migrations: MigrationsInBackup { applied, current },
        files,
    };
    write_manifest(target, &manifest)?;
    Ok(manifest)
}

/// Refuses a backup directory inside the blob directory (it would copy itself), then creates
/// it (readable by its owner only) or checks that it is empty.
fn prepare_target(data: &LocalData, target: &Path) -> Result<(), BackupError> {
    let resolved = |path: &Path| -> Result<PathBuf, BackupError> {
        let path = absolute(path)?;
        Ok(fs::canonicalize(&path).unwrap_or(path))
    };
    if resolved(target)?.starts_with(resolved(&data.blobs)?) {
        return Err(BackupError::Invalid(format!(
            "the backup directory {} lies inside the blob directory {}: put backups elsewhere",
            target.display(),
            data.blobs.display()
        )));
    }
    if target.exists() {
        if !is_empty_dir(target)? {
            return Err(BackupError::TargetNotEmpty(target.to_owned()));
        }
    } else {
        // The backup holds everything the database does: only its owner may read it.
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(target).map_err(io(|| format!("cannot create {}", target.display())))?;
    }
    Ok(())
}

fn absolute(path: &Path) -> Result<PathBuf, BackupError> {
    std::path::absolute(path).map_err(io(|| format!("cannot resolve {}", path.display())))
}

/// Writes a consistent copy of the live database to `copy` with `VACUUM INTO`, on a connection
/// of its own: one read transaction, which never blocks the server's writer.
fn snapshot(database: &Path, copy: &Path) -> Result<(), BackupError> {
    let conn =
        Connection::open_with_flags(database, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(sqlite)?;
    conn.busy_timeout(BUSY_WAIT).map_err(sqlite)?;
    let copy = copy
        .to_str()
        .ok_or_else(|| BackupError::Invalid(format!("the backup path {} is not valid UTF-8", copy.display())))?;
    conn.execute("VACUUM INTO ?1", [copy]).map_err(sqlite)?;
    Ok(())
}

/// Checks the copy's structure (`PRAGMA quick_check`) and reads its applied migrations.
fn check_copy(copy: &Path) -> Result<Vec<AppliedMigration>, BackupError> {
    let conn = Connection::open_with_flags(copy, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(sqlite)?;
    let verdict: String = conn.query_row("PRAGMA quick_check", [], |row| row.get(0)).map_err(sqlite)?;
    if verdict != "ok" {
        return Err(BackupError::Damaged(verdict));
    }
    let has_bookkeeping: bool = conn
        .query_row(
            "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
            [],
            |row| row.get(0),
        )
        .map_err(sqlite)?;
    if !has_bookkeeping {
        return Ok(Vec::new());
    }
    let mut statement =
        conn.prepare("SELECT context, version FROM schema_migrations ORDER BY context, version").map_err(sqlite)?;
    let applied = statement
        .query_map([], |row| Ok(AppliedMigration { context: row.get(0)?, version: row.get(1)? }))
        .map_err(sqlite)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sqlite)?;
    Ok(applied)
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hashes a file the backup wrote by other means (`VACUUM INTO` does not flush its output) and
/// flushes it to disk.
fn digest_and_sync(path: &Path, name: &str) -> Result<FileEntry, BackupError> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io(|| format!("cannot open {}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; CHUNK];
    let mut size = 0u64;
    loop {
        let read = file.read(&mut buffer).map_err(io(|| format!("cannot read {}", path.display())))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    file.sync_all().map_err(io(|| format!("cannot flush {}", path.display())))?;
    Ok(FileEntry { path: name.to_owned(), size, sha256: hex(&hasher.finalize()) })
}

/// Copies `from` to the new file `to`, hashing on the way, and flushes it.
fn copy_hashed(from: &Path, to: &Path) -> Result<(u64, String), BackupError> {
    let mut input = File::open(from).map_err(io(|| format!("cannot open {}", from.display())))?;
    let mut output = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)
        .map_err(io(|| format!("cannot create {}", to.display())))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; CHUNK];
    let mut size = 0u64;
    loop {
        let read = input.read(&mut buffer).map_err(io(|| format!("cannot read {}", from.display())))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        output.write_all(&buffer[..read]).map_err(io(|| format!("cannot write {}", to.display())))?;
        size += read as u64;
    }
    output.sync_all().map_err(io(|| format!("cannot flush {}", to.display())))?;
    Ok((size, hex(&hasher.finalize())))
}

fn sync_dir(path: &Path) -> Result<(), BackupError> {
    File::open(path)
        .and_then(|dir| dir.sync_all())
        .map_err(io(|| format!("cannot flush the directory {}", path.display())))
}

/// Whether a file name is one of the blob store's uploads in progress: it writes `key#N` and
/// renames it to `key` when complete (object_store's local store, which also never lists such
/// names). Such a file belongs to no committed row.
fn is_upload_in_progress(name: &str) -> bool {
    match name.rsplit_once('#') {
        Some((_, suffix)) => !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

/// Copies every blob under `from` into `to`, sorted, adding each to `files` under `prefix`.
fn copy_tree(from: &Path, to: &Path, prefix: &str, files: &mut Vec<FileEntry>) -> Result<(), BackupError> {
    let mut entries: Vec<(String, PathBuf)> = Vec::new();
    for entry in fs::read_dir(from).map_err(io(|| format!("cannot read {}", from.display())))? {
        let entry = entry.map_err(io(|| format!("cannot read {}", from.display())))?;
        let name = entry.file_name().into_string().map_err(|name| {
            BackupError::Invalid(format!("the blob {} has a name that is not UTF-8", from.join(name).display()))
        })?;
        entries.push((name, entry.path()));
    }
    entries.sort();
    for (name, path) in entries {
        // An upload in progress is renamed to its key when complete, perhaps between the
        // listing and now: it is skipped by its name, before anything reads it.
        if is_upload_in_progress(&name) {
            continue;
        }
        // Follows links, as the blob store does when it reads.
        let metadata = fs::metadata(&path).map_err(io(|| format!("cannot read {}", path.display())))?;
        let relative = format!("{prefix}/{name}");
        if metadata.is_dir() {
            let dir = to.join(&name);
            fs::create_dir(&dir).map_err(io(|| format!("cannot create {}", dir.display())))?;
            copy_tree(&path, &dir, &relative, files)?;
            sync_dir(&dir)?;
        } else if metadata.is_file() {
            let (size, sha256) = copy_hashed(&path, &to.join(&name))?;
            files.push(FileEntry { path: relative, size, sha256 });
        }
    }
    Ok(())
}

fn write_manifest(target: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let text = serde_json::to_string_pretty(manifest).map_err(|e| BackupError::Malformed(e.to_string()))?;
    let partial = target.join(format!("{MANIFEST}.partial"));
    let mut file = File::create(&partial).map_err(io(|| format!("cannot create {}", partial.display())))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(io(|| format!("cannot write {}", partial.display())))?;
    let path = target.join(MANIFEST);
    fs::rename(&partial, &path).map_err(io(|| format!("cannot write {}", path.display())))?;
    sync_dir(target)
}

/// Reads and checks the manifest of the backup in `dir`: its format, and that every path is
/// a plain relative path inside the backup, named once, with the database among them.
pub fn read_manifest(dir: &Path) -> Result<Manifest, BackupError> {
    let path = dir.join(MANIFEST);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(BackupError::NoManifest(dir.to_owned()));
        }
        Err(source) => return Err(BackupError::Io { what: format!("cannot read {}", path.display()), source }),
    };
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| BackupError::Malformed(e.to_string()))?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(BackupError::Malformed(format!(
            "format {} is not the format {MANIFEST_FORMAT} this binary reads",
            manifest.format
        )));
    }
    if manifest.backend != "sqlite" {
        return Err(BackupError::Malformed(format!("backend {:?} is not sqlite", manifest.backend)));
    }
    let mut seen = BTreeSet::new();
    for file in &manifest.files {
        let relative = Path::new(&file.path);
        let plain = !file.path.is_empty() && relative.components().all(|c| matches!(c, Component::Normal(_)));
        let placed = file.path == DATABASE_FILE || file.path.starts_with(&format!("{BLOB_DIR}/"));
        if !plain || !placed {
            return Err(BackupError::Malformed(format!("the path {:?} is not a file of a backup", file.path)));
        }
        if !seen.insert(file.path.as_str()) {
            return Err(BackupError::Malformed(format!("the path {:?} is listed twice", file.path)));
        }
    }
    if !seen.contains(DATABASE_FILE) {
        return Err(BackupError::Malformed(format!("it lists no {DATABASE_FILE}")));
    }
    Ok(manifest)
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The backup's manifest.
    pub manifest: Manifest,
    /// What was there before and was moved aside (never deleted).
    pub moved_aside: Vec<PathBuf>,
}

/// Puts the backup in `source` in place of `data`, with the server stopped. Checks the manifest
/// first: every file against its size and SHA-256, and that the binary (`schema`) carries every
/// migration the backup's database has. Existing data (the database file with its write-ahead
/// log, or a non-empty blob directory) is refused unless `force`, and then moved aside beside
/// itself with a `.before-restore-<time>` suffix. Blobs are put in place before the database.
pub async fn restore(source: &Path, data: &LocalData, schema: &Schema, force: bool) -> Result<Restored, BackupError> {
    let runs: Vec<&'static str> = schema.contexts().iter().map(|c| c.context).collect();
    let known = known_migrations(schema);
    let (source, data) = (source.to_owned(), data.clone());
    tokio::task::spawn_blocking(move || restore_blocking(&source, &data, &runs, &known, force))
        .await
        .map_err(|e| BackupError::Invalid(format!("the restore thread failed: {e}")))?
}

/// The database file and the files SQLite keeps beside it.
fn database_files(database: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| {
            let mut name = database.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        })
        .collect()
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn is_empty_dir(path: &Path) -> Result<bool, BackupError> {
    Ok(fs::read_dir(path).map_err(io(|| format!("cannot read {}", path.display())))?.next().is_none())
}

fn restore_blocking(
    source: &Path,
    data: &LocalData,
    runs: &[&str],
    known: &[(String, i64)],
    force: bool,
) -> Result<Restored, BackupError> {
    let manifest = read_manifest(source)?;
    // The binary would refuse to start on such a database; refuse before touching anything.
    for applied in &manifest.migrations.applied {
        let carried = known.iter().any(|(c, v)| *c == applied.context && *v == applied.version);
        if runs.contains(&applied.context.as_str()) && !carried {
            return Err(BackupError::Newer {
                context: applied.context.clone(),
                version: applied.version,
                made_by: manifest.allmenning_version.clone(),
            });
        }
    }
    let existing_database: Vec<PathBuf> = database_files(&data.database).into_iter().filter(|p| p.exists()).collect();
    let blobs_in_use = data.blobs.exists() && !is_empty_dir(&data.blobs)?;
    if !force {
        if let Some(first) = existing_database.first() {
            return Err(BackupError::Exists(first.clone()));
        }
        if blobs_in_use {
            return Err(BackupError::Exists(data.blobs.clone()));
        }
    }

    // Copy everything into place beside its destination (so the final moves are renames on
    // one file system), checking each file on the way.
    let database_staging = with_suffix(&data.database, ".restoring");
    let blob_staging = with_suffix(&data.blobs, ".restoring");
    for staging in [&database_staging, &blob_staging] {
        if staging.exists() {
            return Err(BackupError::Invalid(format!(
                "{} is left from an interrupted restore: remove it and restore again",
                staging.display()
            )));
        }
    }
    for parent in [data.database.parent(), data.blobs.parent()].into_iter().flatten() {
        if !parent.as_os_str().is_empty() {
            fs::create_dir_all(parent).map_err(io(|| format!("cannot create {}", parent.display())))?;
        }
    }
    let staged = stage(source, &manifest, &database_staging, &blob_staging);
    if let Err(error) = staged {
        // Only what this restore created goes; nothing that was there is touched.
        let _ = fs::remove_file(&database_staging);
        let _ = fs::remove_dir_all(&blob_staging);
        return Err(error);
    }

    let mut moved_aside = Vec::new();
    let suffix = format!(".before-restore-{}", Timestamp::now().to_rfc3339().replace(':', "-"));
    for path in existing_database {
        let aside = with_suffix(&path, &suffix);
        fs::rename(&path, &aside).map_err(io(|| format!("cannot move {} aside", path.display())))?;
        moved_aside.push(aside);
    }
    if blobs_in_use {
        let aside = with_suffix(&data.blobs, &suffix);
        fs::rename(&data.blobs, &aside).map_err(io(|| format!("cannot move {} aside", data.blobs.display())))?;
        moved_aside.push(aside);
    } else if data.blobs.exists() {
        // Empty (a server that started once creates it): nothing to keep.
        fs::remove_dir(&data.blobs).map_err(io(|| format!("cannot replace {}", data.blobs.display())))?;
    }
    fs::rename(&blob_staging, &data.blobs).map_err(io(|| format!("cannot put {} in place", data.blobs.display())))?;
    fs::rename(&database_staging, &data.database)
        .map_err(io(|| format!("cannot put {} in place", data.database.display())))?;
    for parent in [data.database.parent(), data.blobs.parent()].into_iter().flatten() {
        sync_dir(if parent.as_os_str().is_empty() { Path::new(".") } else { parent })?;
    }
    Ok(Restored { manifest, moved_aside })
}

/// Copies the backup's files to the staging paths, checking each against the manifest.
fn stage(source: &Path, manifest: &Manifest, database: &Path, blobs: &Path) -> Result<(), BackupError> {
    fs::create_dir(blobs).map_err(io(|| format!("cannot create {}", blobs.display())))?;
    let mut directories = BTreeSet::new();
    for file in &manifest.files {
        let from = source.join(&file.path);
        let to = if file.path == DATABASE_FILE {
            database.to_owned()
        } else {
            let inside = &file.path[BLOB_DIR.len() + 1..];
            let to = blobs.join(inside);
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent).map_err(io(|| format!("cannot create {}", parent.display())))?;
                directories.insert(parent.to_owned());
            }
            to
        };
        if !from.is_file() {
            return Err(BackupError::Checksum { path: file.path.clone(), problem: "it is missing".to_owned() });
        }
        let (size, sha256) = copy_hashed(&from, &to)?;
        if size != file.size || sha256 != file.sha256 {
            return Err(BackupError::Checksum {
                path: file.path.clone(),
                problem: format!(
                    "{size} bytes with SHA-256 {sha256}, listed as {} bytes with {}",
                    file.size, file.sha256
                ),
            });
        }
    }
    for directory in directories.iter().rev() {
        sync_dir(directory)?;
    }
    sync_dir(blobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_in_progress_are_recognised_by_their_numbered_suffix() {
        assert!(is_upload_in_progress("a.pdf#1"));
        assert!(is_upload_in_progress("a.pdf#12"));
        assert!(!is_upload_in_progress("a.pdf"));
        assert!(!is_upload_in_progress("a#b.pdf"));
        assert!(!is_upload_in_progress("a.pdf#"));
    }

    #[test]
    fn postgres_s3_and_memory_are_refused_with_the_way_to_go() {
        let local = BlobConfig::Local { path: PathBuf::from("/srv/data/blobs") };
        let refused = LocalData::from_config("postgres://u:p@db/allmenning", &local).expect_err("postgres");
        assert!(refused.to_string().contains("pg_dump") && refused.to_string().contains("docs/OPERATIONS.md"));
        let s3 = BlobConfig::S3 {
            bucket: "b".into(),
            endpoint: None,
            region: "r".into(),
            access_key_id: "a".into(),
            secret_access_key: "s".into(),
            allow_http: false,
        };
        let refused = LocalData::from_config("sqlite:///srv/data/allmenning.db", &s3).expect_err("s3");
        assert!(refused.to_string().contains("versioning") && refused.to_string().contains("docs/OPERATIONS.md"));
        assert!(LocalData::from_config("sqlite::memory:", &local).is_err());
        let inside = LocalData::from_config("sqlite:///srv/data/blobs/allmenning.db", &local).expect_err("inside");
        assert!(inside.to_string().contains("inside the blob directory"), "{inside}");
        let fine = LocalData::from_config("sqlite:///srv/data/allmenning.db", &local).expect("sqlite and local");
        assert_eq!(fine.database, PathBuf::from("/srv/data/allmenning.db"));
    }
}
