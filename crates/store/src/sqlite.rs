//! SQLite through rusqlite, on the calling thread.
//!
//! A statement on SQLite takes microseconds, less than handing it to another thread and back
//! (which is what a connection pool with a worker thread per connection does, at about a dozen
//! context switches per statement). So every statement here runs on the task that asks for it:
//!
//! - **Writes** go through the one writer connection, behind an async mutex: SQLite allows one
//!   writer at a time, and queueing for the mutex is fairer and cheaper than spinning on
//!   `SQLITE_BUSY`. A transaction holds the mutex from `begin` to `commit`.
//! - **Reads** outside a transaction run on direct read-only connections (WAL lets them run
//!   beside the writer), kept idle between uses.
//! - **Group commit.** When a transaction commits while other transactions are queued for the
//!   writer, it may leave its work in the open SQLite transaction and let the next one join it
//!   inside a `SAVEPOINT`: the batch commits once, and every member's `commit` returns only
//!   when that commit is done (or returns its error). A member's rollback only rolls back its
//!   savepoint. So concurrent writers share one commit (one fsync under `synchronous = FULL`),
//!   while a lone writer commits at once. A batch is closed after 32 members or 5 ms.
//! - **Checkpoints** run on a thread of their own under `synchronous = normal`
//!   (`wal_autocheckpoint` is off on the writer), so no commit pays for folding the write-ahead
//!   log back into the database file. Under `full` SQLite's own checkpoint at commit is kept.
//! - **Durable commits** (`synchronous = full`) wait for the disk inside `block_in_place`, so
//!   the worker thread's other tasks move on while it waits.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rusqlite::{CachedStatement, Connection};
use serde::de::DeserializeOwned;
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

use crate::{Param, StoreError};

/// How durable a commit is on SQLite (`PRAGMA synchronous`, in WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// A commit is written to the write-ahead log but not flushed to disk; checkpoints flush.
    /// A killed process loses nothing committed; a power cut or an operating-system crash can
    /// lose the last commits (the database stays consistent).
    Normal,
    /// Every commit flushes the write-ahead log to disk before it returns: nothing committed is
    /// lost, even to a power cut. Concurrent writers share the flush (group commit).
    Full,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        }
    }
}

/// How the SQLite engine behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteOptions {
    /// Durability of a commit.
    pub synchronous: Synchronous,
    /// Whether concurrent writers share commits.
    pub group_commit: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self { synchronous: Synchronous::Normal, group_commit: true }
    }
}

/// The most transactions one shared commit carries.
const MAX_MEMBERS: u32 = 32;
/// The longest a shared commit stays open for more members.
const MAX_BATCH_AGE: Duration = Duration::from_millis(5);
/// How long a member waits for the next writer to settle its batch before settling it itself
/// (the next writer may have been cancelled while it queued).
const HAND_OFF_WAIT: Duration = Duration::from_millis(2);
/// How long a writer waits for another process's write lock.
const BUSY_WAIT: Duration = Duration::from_secs(10);
/// Commits between two nudges to the checkpoint thread.
const CHECKPOINT_EVERY: u64 = 1000;
/// Idle read connections kept.
const IDLE_READERS: usize = 8;

type Outcome = Option<Result<(), Arc<str>>>;

/// An open SQLite transaction shared by the members that have committed into it.
struct Batch {
    members: u32,
    opened: Instant,
    outcome: Option<watch::Sender<Outcome>>,
}

impl Batch {
    fn new() -> Self {
        Self { members: 0, opened: Instant::now(), outcome: None }
    }

    fn subscribe(&mut self) -> watch::Receiver<Outcome> {
        self.outcome.get_or_insert_with(|| watch::channel(None).0).subscribe()
    }

    fn finish(self, result: &Result<(), StoreError>) {
        if let Some(sender) = self.outcome {
            let outcome = result.as_ref().copied().map_err(|e| Arc::from(e.to_string()));
            sender.send_replace(Some(outcome));
        }
    }
}

/// The writer connection and the batch open on it, if any.
pub(crate) struct Writer {
    conn: Connection,
    batch: Option<Batch>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("batch_open", &self.batch.is_some()).finish_non_exhaustive()
    }
}

impl Writer {
    /// The connection, for exclusive use: no batch is open while the caller holds the guard.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// What the writer has done, for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Transactions committed.
    pub transactions: u64,
    /// SQLite commits (one for several transactions when they shared it).
    pub commits: u64,
    /// Transactions waiting for the writer now.
    pub waiting: u64,
}

/// One SQLite database: its writer, its idle readers and its checkpoint thread.
pub(crate) struct Engine {
    transactions: AtomicU64,
    commits: AtomicU64,
    path: Option<PathBuf>,
    writer: Arc<Mutex<Writer>>,
    /// Transactions queued for the writer: a committing member hands its batch on only when
    /// someone is there to take it.
    queued: AtomicUsize,
    readers: std::sync::Mutex<Vec<Connection>>,
    options: SqliteOptions,
    checkpointer: Option<Checkpointer>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("path", &self.path).field("options", &self.options).finish_non_exhaustive()
    }
}

/// Parses `sqlite://path`, `sqlite:path` and `sqlite::memory:` (with an optional `?query`,
/// ignored). `None` is an in-memory database.
pub(crate) fn path_of(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    let rest = rest.split('?').next().unwrap_or(rest);
    if rest.is_empty() || rest == ":memory:" || url.contains("mode=memory") { None } else { Some(PathBuf::from(rest)) }
}

/// Opens a read-write connection to the file, as every connection here is opened.
pub(crate) fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|e| StoreError::Connect(e.to_string()))?;
    conn.busy_timeout(BUSY_WAIT).map_err(sqlite_error)?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

impl Engine {
    /// Opens (and creates) the database at `path`, or an in-memory one.
    pub(crate) fn open(path: Option<PathBuf>, options: SqliteOptions) -> Result<Arc<Engine>, StoreError> {
        let conn = match &path {
            Some(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|e| StoreError::Connect(e.to_string()))?;
                }
                open(path)?
            }
            None => {
                let conn = Connection::open_in_memory().map_err(|e| StoreError::Connect(e.to_string()))?;
                conn.set_prepared_statement_cache_capacity(128);
                conn
            }
        };
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| StoreError::Connect(e.to_string()))?;
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {}; PRAGMA foreign_keys = ON; PRAGMA journal_size_limit = 67108864;",
            options.synchronous.pragma()
        ))
        .map_err(|e| StoreError::Connect(e.to_string()))?;
        // Under `synchronous = normal` checkpoints run on a thread of their own, so no commit
        // waits for one. Under `full` a checkpoint's flushes would queue beside every commit's,
        // so SQLite's own checkpoint at commit (every 1,000 pages) is kept: measured, it is the
        // faster of the two there.
        let checkpointer = match path.as_ref().filter(|_| options.synchronous == Synchronous::Normal) {
            Some(path) => {
                conn.execute_batch("PRAGMA wal_autocheckpoint = 0").map_err(sqlite_error)?;
                Some(Checkpointer::start(path.clone())?)
            }
            None => None,
        };
        // Another process's write lock is waited for without blocking this thread (see `begin`).
        conn.busy_timeout(Duration::ZERO).map_err(sqlite_error)?;
        Ok(Arc::new(Engine {
            transactions: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            path,
            writer: Arc::new(Mutex::new(Writer { conn, batch: None })),
            queued: AtomicUsize::new(0),
            readers: std::sync::Mutex::new(Vec::new()),
            options,
            checkpointer,
        }))
    }

    pub(crate) fn stats(&self) -> WriteStats {
        WriteStats {
            transactions: self.transactions.load(Ordering::Acquire),
            commits: self.commits.load(Ordering::Acquire),
            waiting: self.queued.load(Ordering::Acquire) as u64,
        }
    }

    /// The database file; `None` in memory.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Takes the writer in the queue of transactions.
    async fn queue_for_writer(&self) -> OwnedMutexGuard<Writer> {
        struct Queued<'a>(&'a AtomicUsize);
        impl Drop for Queued<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        self.queued.fetch_add(1, Ordering::AcqRel);
        let _queued = Queued(&self.queued);
        self.writer.clone().lock_owned().await
    }

    /// The writer for exclusive use (migrations, reads of an in-memory database): any open
    /// batch is committed first.
    pub(crate) async fn exclusive(&self) -> Result<OwnedMutexGuard<Writer>, StoreError> {
        let mut guard = self.writer.clone().lock_owned().await;
        self.settle_inline(&mut guard)?;
        Ok(guard)
    }

    /// The writer for exclusive use from a thread outside the async runtime (bulk loads).
    pub(crate) fn exclusive_blocking(&self) -> Result<tokio::sync::MutexGuard<'_, Writer>, StoreError> {
        let mut guard = self.writer.blocking_lock();
        self.settle_inline(&mut guard)?;
        Ok(guard)
    }

    /// Starts a transaction: joins the open batch in a savepoint, or opens one.
    pub(crate) async fn begin(self: &Arc<Self>) -> Result<Transaction, StoreError> {
        let mut guard = self.queue_for_writer().await;
        let joined = guard.batch.is_some();
        if joined {
            run_simple(&guard.conn, "SAVEPOINT member")?;
        } else {
            begin_immediate(&mut guard).await?;
            guard.batch = Some(Batch::new());
        }
        Ok(Transaction { engine: self.clone(), guard: Some(guard), joined, broken: None })
    }

    /// Commits the open batch, if any, on this thread; tells its members how it went.
    fn settle_inline(&self, writer: &mut Writer) -> Result<(), StoreError> {
        let Some(batch) = writer.batch.take() else { return Ok(()) };
        let result = commit(&writer.conn);
        self.committed(&batch, &result);
        batch.finish(&result);
        result
    }

    /// Commits the open batch and releases the writer. Under `synchronous = FULL` the commit
    /// waits for the disk, so on a multi-threaded runtime the worker thread hands its other
    /// tasks on while it waits (`block_in_place`); elsewhere it commits where it is.
    async fn settle(&self, mut guard: OwnedMutexGuard<Writer>) -> Result<(), StoreError> {
        let multi_threaded = tokio::runtime::Handle::try_current()
            .is_ok_and(|handle| handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if self.options.synchronous == Synchronous::Full && multi_threaded {
            tokio::task::block_in_place(|| self.settle_inline(&mut guard))
        } else {
            self.settle_inline(&mut guard)
        }
    }

    fn committed(&self, batch: &Batch, result: &Result<(), StoreError>) {
        if result.is_err() || batch.members == 0 {
            return;
        }
        self.transactions.fetch_add(u64::from(batch.members), Ordering::AcqRel);
        self.commits.fetch_add(1, Ordering::AcqRel);
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.nudge();
        }
    }

    /// Waits until the batch a member committed into has been settled.
    async fn wait_for(&self, mut outcome: watch::Receiver<Outcome>) -> Result<(), StoreError> {
        loop {
            if let Some(result) = outcome.borrow_and_update().clone() {
                return result.map_err(|e| StoreError::Database(format!("the shared commit failed: {e}")));
            }
            match tokio::time::timeout(HAND_OFF_WAIT, outcome.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => {
                    // Nobody has settled it yet (a queued writer may have gone away): take the
                    // writer and do it. Batches settle in order, so an open one is ours.
                    let guard = self.queue_for_writer().await;
                    if let Some(result) = outcome.borrow().clone() {
                        return result.map_err(|e| StoreError::Database(format!("the shared commit failed: {e}")));
                    }
                    if guard.batch.is_none() {
                        return Err(StoreError::Database("the shared commit was abandoned".into()));
                    }
                    return self.settle(guard).await;
                }
            }
        }
    }

    /// Runs `read` on an idle direct read connection (or a new one), on this thread. An
    /// in-memory database has only its writer connection, so reads take it.
    pub(crate) async fn read<R>(
        &self,
        read: impl FnOnce(&Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let Some(path) = &self.path else {
            let guard = self.exclusive().await?;
            return read(&guard.conn);
        };
        let idle = self.readers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let conn = open(path)?;
                conn.execute_batch("PRAGMA query_only = ON").map_err(sqlite_error)?;
                conn
            }
        };
        let result = read(&conn);
        let mut readers = self.readers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if readers.len() < IDLE_READERS {
            readers.push(conn);
        }
        result
    }

    /// Commits what is open, stops the checkpoint thread, folds the log back into the file and
    /// drops the idle readers.
    pub(crate) async fn close(&self) {
        self.readers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.stop();
        }
        if let Ok(guard) = self.exclusive().await
            && self.path.is_some()
        {
            let _ = guard.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
    }
}

/// `BEGIN IMMEDIATE`, waiting without blocking the thread while another process writes.
async fn begin_immediate(writer: &mut Writer) -> Result<(), StoreError> {
    let deadline = Instant::now() + BUSY_WAIT;
    let mut pause = Duration::from_millis(1);
    loop {
        match run_simple(&writer.conn, "BEGIN IMMEDIATE") {
            Err(StoreError::Busy(_)) if Instant::now() < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

fn commit(conn: &Connection) -> Result<(), StoreError> {
    let result = run_simple(conn, "COMMIT");
    if result.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    result
}

fn run_simple(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql).and_then(|mut statement| statement.raw_execute()).map(|_| ()).map_err(sqlite_error)
}

/// A transaction on the writer: a batch of its own, or a savepoint in another's.
pub(crate) struct Transaction {
    engine: Arc<Engine>,
    guard: Option<OwnedMutexGuard<Writer>>,
    joined: bool,
    /// Set when SQLite rolled the whole transaction back under it (a full disk, an I/O error).
    broken: Option<String>,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction").field("joined", &self.joined).field("broken", &self.broken).finish()
    }
}

impl Transaction {
    fn conn(&self) -> Result<&Connection, StoreError> {
        if let Some(reason) = &self.broken {
            return Err(StoreError::Database(format!("the transaction was rolled back: {reason}")));
        }
        self.guard.as_ref().map(|guard| &guard.conn).ok_or_else(|| StoreError::Database("transaction ended".into()))
    }

    /// After a failed statement: if SQLite ended the whole transaction, the batch and every
    /// member in it failed, and nothing more may run in this one (it would autocommit).
    fn check<T>(&mut self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(error) = &result
            && let Some(guard) = self.guard.as_mut()
            && guard.conn.is_autocommit()
        {
            if let Some(batch) = guard.batch.take() {
                batch.finish(&Err(StoreError::Database(error.to_string())));
            }
            self.broken = Some(error.to_string());
        }
        result
    }

    /// Runs a statement; returns the rows changed.
    pub(crate) fn execute(&mut self, sql: &str, first: Option<&str>, params: &[Param]) -> Result<u64, StoreError> {
        let result = self.conn().and_then(|conn| execute(conn, sql, first, params));
        self.check(result)
    }

    /// Runs a query; returns at most `limit` rows.
    pub(crate) fn query<T: DeserializeOwned>(
        &mut self,
        sql: &str,
        first: Option<&str>,
        params: &[Param],
        limit: usize,
    ) -> Result<Vec<T>, StoreError> {
        let result = self.conn().and_then(|conn| query(conn, sql, first, params, limit));
        self.check(result)
    }

    /// Commits: at once when nobody else is waiting for the writer, otherwise together with
    /// the transactions that are. Returns when the work is committed, or with its error.
    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        if let Some(reason) = self.broken.take() {
            return Err(StoreError::Database(format!("the transaction was rolled back: {reason}")));
        }
        if self.joined {
            let released = self.conn().and_then(|conn| run_simple(conn, "RELEASE member"));
            // On failure, dropping `self` rolls the savepoint back.
            self.check(released)?;
        }
        let Some(mut guard) = self.guard.take() else {
            return Err(StoreError::Database("transaction ended".into()));
        };
        let engine = self.engine.clone();
        let Some(batch) = guard.batch.as_mut() else {
            return Err(StoreError::Database("the shared commit was abandoned".into()));
        };
        batch.members += 1;
        let share = engine.options.group_commit
            && engine.queued.load(Ordering::Acquire) > 0
            && batch.members < MAX_MEMBERS
            && batch.opened.elapsed() < MAX_BATCH_AGE;
        if !share {
            return engine.settle(guard).await;
        }
        let outcome = batch.subscribe();
        drop(guard);
        engine.wait_for(outcome).await
    }

    /// Rolls back this transaction's own work (its savepoint, or the batch it opened and nobody
    /// joined yet), and commits the batch for the members before it if nobody else will.
    fn abandon(&mut self) {
        let Some(mut guard) = self.guard.take() else { return };
        if self.broken.is_some() {
            if !guard.conn.is_autocommit() {
                let _ = guard.conn.execute_batch("ROLLBACK");
            }
            return;
        }
        if self.joined {
            if run_simple(&guard.conn, "ROLLBACK TO member")
                .and_then(|()| run_simple(&guard.conn, "RELEASE member"))
                .is_err()
                && guard.conn.is_autocommit()
                && let Some(batch) = guard.batch.take()
            {
                batch.finish(&Err(StoreError::Database("the shared transaction was lost in a rollback".into())));
            }
            if guard.batch.is_some() && self.engine.queued.load(Ordering::Acquire) == 0 {
                let _ = self.engine.settle_inline(&mut guard);
            }
        } else {
            // The opener: nobody has committed into the batch yet, so all of it is ours.
            let _ = guard.conn.execute_batch("ROLLBACK");
            guard.batch = None;
        }
    }

    /// Discards this transaction's work.
    pub(crate) fn rollback(mut self) {
        self.abandon();
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        self.abandon();
    }
}

/// Folds the write-ahead log back into the database file, on a thread of its own: every
/// 1,000 commits, and every 100 ms when there were any.
struct Checkpointer {
    commits: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Checkpointer {
    fn start(path: PathBuf) -> Result<Self, StoreError> {
        let conn = open(&path)?;
        let commits = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopping) = (commits.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                let mut last = 0;
                while !stopping.load(Ordering::Acquire) {
                    std::thread::park_timeout(Duration::from_millis(100));
                    let now = seen.load(Ordering::Acquire);
                    if now != last {
                        last = now;
                        // PASSIVE never waits for the writer or the readers.
                        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    }
                }
            })
            .map_err(|e| StoreError::Connect(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Self { commits, stop, thread: std::sync::Mutex::new(Some(thread)) })
    }

    fn nudge(&self) {
        let commits = self.commits.fetch_add(1, Ordering::AcqRel) + 1;
        if commits.is_multiple_of(CHECKPOINT_EVERY)
            && let Some(thread) = self.thread.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref()
        {
            thread.thread().unpark();
        }
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        let thread = self.thread.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        if let Some(thread) = thread {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref() {
            thread.thread().unpark();
        }
    }
}

/// `$1` becomes `?1` outside quoted text: rusqlite numbers parameters the same way under
/// another sigil (SQLite would read `$1` as a *named* parameter, numbered by first use).
pub(crate) fn placeholders(sql: &str) -> std::borrow::Cow<'_, str> {
    if !sql.contains('$') {
        return std::borrow::Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '$') if chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push('?');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    std::borrow::Cow::Owned(out)
}

impl rusqlite::ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Param::Text(t) | Param::OptText(Some(t)) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Param::Int(i) | Param::OptInt(Some(i)) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Param::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*b))),
            Param::OptText(None) | Param::OptInt(None) => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

/// Prepares (from the connection's cache) and binds a statement; the parameter count must match.
fn prepare<'c>(
    conn: &'c Connection,
    sql: &str,
    first: Option<&str>,
    params: &[Param],
) -> Result<CachedStatement<'c>, StoreError> {
    let mut statement = conn.prepare_cached(&placeholders(sql)).map_err(sqlite_error)?;
    let given = params.len() + usize::from(first.is_some());
    let expected = statement.parameter_count();
    if expected != given {
        return Err(StoreError::Malformed(format!("the statement takes {expected} parameters; {given} were given")));
    }
    let mut index = 1;
    if let Some(first) = first {
        statement.raw_bind_parameter(index, first).map_err(sqlite_error)?;
        index += 1;
    }
    for param in params {
        statement.raw_bind_parameter(index, param).map_err(sqlite_error)?;
        index += 1;
    }
    Ok(statement)
}

/// Runs a statement and returns the rows it changed (a statement with `RETURNING` is stepped
/// to its end).
pub(crate) fn execute(conn: &Connection, sql: &str, first: Option<&str>, params: &[Param]) -> Result<u64, StoreError> {
    let mut statement = prepare(conn, sql, first, params)?;
    if statement.column_count() == 0 {
        return statement.raw_execute().map(|n| n as u64).map_err(sqlite_error);
    }
    let mut rows = statement.raw_query();
    while rows.next().map_err(sqlite_error)?.is_some() {}
    drop(rows);
    Ok(conn.changes())
}

/// Runs a query and decodes at most `limit` rows.
pub(crate) fn query<T: DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    first: Option<&str>,
    params: &[Param],
    limit: usize,
) -> Result<Vec<T>, StoreError> {
    let mut statement = prepare(conn, sql, first, params)?;
    let mut rows = statement.raw_query();
    let mut out = Vec::new();
    while out.len() < limit {
        match rows.next().map_err(sqlite_error)? {
            Some(row) => out.push(crate::row::decode(row)?),
            None => break,
        }
    }
    Ok(out)
}

/// A rusqlite error as a store error: unique and primary-key violations are conflicts, a
/// locked database is busy, the rest carry SQLite's message.
pub(crate) fn sqlite_error(error: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match &error {
        rusqlite::Error::SqliteFailure(code, message)
            if code.code == ErrorCode::ConstraintViolation
                && matches!(
                    code.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
        {
            StoreError::Conflict(message.clone().unwrap_or_else(|| error.to_string()))
        }
        rusqlite::Error::SqliteFailure(code, _)
            if matches!(code.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) =>
        {
            StoreError::Busy(error.to_string())
        }
        _ => StoreError::Database(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_change_outside_quotes_only() {
        assert_eq!(
            placeholders("SELECT a FROM t WHERE b = $1 AND c = $12"),
            "SELECT a FROM t WHERE b = ?1 AND c = ?12"
        );
        assert_eq!(placeholders("SELECT '$1', \"$2\" FROM t WHERE x = $3"), "SELECT '$1', \"$2\" FROM t WHERE x = ?3");
        assert_eq!(placeholders("SELECT 'it''s $1' WHERE a = $1"), "SELECT 'it''s $1' WHERE a = ?1");
        assert_eq!(placeholders("SELECT 1"), "SELECT 1");
    }

    #[tokio::test]
    async fn a_member_whose_batch_nobody_takes_over_settles_it_itself() {
        let dir = tempfile::tempdir().expect("dir");
        let engine = Engine::open(Some(dir.path().join("t.db")), SqliteOptions::default()).expect("open");
        let mut tx = engine.begin().await.expect("begin");
        tx.execute("CREATE TABLE t (x INTEGER)", None, &[]).expect("create");
        tx.commit().await.expect("commit");
        // A writer that queued and then went away before it got the writer: the committing
        // transaction hands its batch on to nobody.
        engine.queued.fetch_add(1, Ordering::AcqRel);
        let mut tx = engine.begin().await.expect("begin");
        tx.execute("INSERT INTO t (x) VALUES (1)", None, &[]).expect("insert");
        tx.commit().await.expect("the member settles its own batch");
        engine.queued.fetch_sub(1, Ordering::AcqRel);
        let rows: Vec<(i64,)> =
            engine.read(|conn| query(conn, "SELECT count(*) FROM t", None, &[], 1)).await.expect("read");
        assert_eq!(rows, [(1,)]);
        assert_eq!(engine.stats().transactions, 2);
    }

    #[tokio::test]
    async fn an_in_memory_database_reads_through_its_writer() {
        let engine = Engine::open(None, SqliteOptions::default()).expect("open");
        let mut tx = engine.begin().await.expect("begin");
        tx.execute("CREATE TABLE t (x INTEGER)", None, &[]).expect("create");
        tx.execute("INSERT INTO t (x) VALUES (7)", None, &[]).expect("insert");
        tx.commit().await.expect("commit");
        let rows: Vec<(i64,)> = engine.read(|conn| query(conn, "SELECT x FROM t", None, &[], 9)).await.expect("read");
        assert_eq!(rows, [(7,)]);
    }

    #[test]
    fn urls_name_a_file_or_memory() {
        assert_eq!(path_of("sqlite://./data/a.db"), Some(PathBuf::from("./data/a.db")));
        assert_eq!(path_of("sqlite:///tmp/a.db?mode=rwc"), Some(PathBuf::from("/tmp/a.db")));
        assert_eq!(path_of("sqlite:a.db"), Some(PathBuf::from("a.db")));
        assert_eq!(path_of("sqlite::memory:"), None);
    }
}
