//! Bulk loading: millions of rows into the registers' tables at the speed of the engine, for
//! the synthetic population and for a first import from a real register.
//!
//! The ordinary write path commits every transaction durably and keeps every index up to date
//! row by row. Here:
//! - **SQLite**: one dedicated connection with prepared statements, `synchronous = OFF` and a
//!   large page cache, one transaction per item under the same writer lock every other write
//!   takes;
//! - **PostgreSQL**: `COPY ... FROM STDIN` in text format, one transaction per item;
//! - both: the items are produced (and, for PostgreSQL, encoded) on their own thread while the
//!   previous one is written, and secondary indexes named by the caller are dropped first and
//!   rebuilt once at the end, which is far cheaper than maintaining them row by row.
//!
//! Rows are written through [`Rows::insert`] by one function that serves both engines, so the
//! caller's mapping from its types to columns exists once.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{Backend, Db, StoreError};

/// A value for one column of a bulk row. Borrowed, so that writing a row allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// NULL.
    Null,
    /// Text.
    Text(&'a str),
    /// A 64-bit integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(v)
    }
}
impl<'a> From<&'a String> for Value<'a> {
    fn from(v: &'a String) -> Self {
        Value::Text(v)
    }
}
impl<'a> From<Option<&'a str>> for Value<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(Value::Null, Value::Text)
    }
}
impl<'a> From<&'a Option<String>> for Value<'a> {
    fn from(v: &'a Option<String>) -> Self {
        v.as_deref().map_or(Value::Null, Value::Text)
    }
}
impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<Value<'_>> for crate::Param {
    fn from(v: Value<'_>) -> Self {
        match v {
            Value::Null => crate::Param::OptText(None),
            Value::Text(text) => crate::Param::Text(text.to_owned()),
            Value::Int(int) => crate::Param::Int(int),
            Value::Bool(b) => crate::Param::Bool(b),
        }
    }
}

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            Value::Null => ValueRef::Null,
            Value::Text(text) => ValueRef::Text(text.as_bytes()),
            Value::Int(int) => ValueRef::Integer(int),
            Value::Bool(b) => ValueRef::Integer(i64::from(b)),
        }))
    }
}

/// A table and the columns a bulk row fills, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// The table's name.
    pub name: &'static str,
    /// Its columns, in the order [`Rows::insert`] gets the values.
    pub columns: &'static [&'static str],
}

impl Table {
    fn insert_sql(&self) -> String {
        let marks: Vec<String> = (1..=self.columns.len()).map(|i| format!("?{i}")).collect();
        format!("INSERT INTO {} ({}) VALUES ({})", self.name, self.columns.join(", "), marks.join(", "))
    }

    fn copy_sql(&self) -> String {
        format!("COPY {} ({}) FROM STDIN", self.name, self.columns.join(", "))
    }
}

/// Where the rows of one item go: owned rows for SQLite's writer thread, COPY text for
/// PostgreSQL. Either way they are encoded on the source's thread, so the writer only writes.
pub struct Rows<'c> {
    sink: Sink<'c>,
    count: u64,
}

enum Sink<'c> {
    Owned(&'c mut OwnedRows),
    Copy(&'c mut CopyBuffers),
}

impl std::fmt::Debug for Rows<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rows").field("count", &self.count).finish_non_exhaustive()
    }
}

impl Rows<'_> {
    /// Adds one row to `table`; `values` follow `table.columns`.
    pub fn insert(&mut self, table: &Table, values: &[Value<'_>]) -> Result<(), StoreError> {
        if values.len() != table.columns.len() {
            return Err(StoreError::Malformed(format!(
                "{} values for the {} columns of {}",
                values.len(),
                table.columns.len(),
                table.name
            )));
        }
        match &mut self.sink {
            Sink::Owned(rows) => rows.row(table, values)?,
            Sink::Copy(buffers) => buffers.row(table, values),
        }
        self.count += 1;
        Ok(())
    }

    /// Rows written so far.
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// One value of an owned row: text lives in its table's arena.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Null,
    Int(i64),
    Text { start: usize, end: usize },
}

/// The rows of one item per table, for SQLite: values in a flat list, text in one arena, so an
/// item of a hundred thousand rows is a handful of allocations.
#[derive(Debug, Default)]
pub(crate) struct OwnedRows {
    tables: Vec<(Table, String, Vec<Slot>)>,
}

impl OwnedRows {
    fn row(&mut self, table: &Table, values: &[Value<'_>]) -> Result<(), StoreError> {
        let index = match self.tables.iter().position(|(t, _, _)| t.name == table.name) {
            Some(index) => index,
            None => {
                self.tables.push((*table, String::with_capacity(1 << 16), Vec::with_capacity(1 << 12)));
                self.tables.len() - 1
            }
        };
        let (_, text, slots) = &mut self.tables[index];
        for value in values {
            slots.push(match *value {
                Value::Null => Slot::Null,
                Value::Int(int) => Slot::Int(int),
                Value::Bool(b) => Slot::Int(i64::from(b)),
                Value::Text(t) => {
                    let start = text.len();
                    text.push_str(t);
                    Slot::Text { start, end: text.len() }
                }
            });
        }
        Ok(())
    }

    /// Inserts every row with one prepared statement per table.
    fn write(&self, conn: &rusqlite::Connection) -> Result<(), StoreError> {
        for (table, text, slots) in &self.tables {
            let mut statement = conn.prepare_cached(&table.insert_sql()).map_err(sqlite_error)?;
            for row in slots.chunks(table.columns.len()) {
                for (index, slot) in row.iter().enumerate() {
                    let value = match *slot {
                        Slot::Null => Value::Null,
                        Slot::Int(int) => Value::Int(int),
                        Slot::Text { start, end } => Value::Text(text.get(start..end).unwrap_or_default()),
                    };
                    statement.raw_bind_parameter(index + 1, value).map_err(sqlite_error)?;
                }
                statement.raw_execute().map_err(sqlite_error)?;
            }
        }
        Ok(())
    }
}

/// COPY text-format data per table, for one item.
#[derive(Debug, Default)]
pub(crate) struct CopyBuffers {
    tables: Vec<(Table, String)>,
}

impl CopyBuffers {
    fn row(&mut self, table: &Table, values: &[Value<'_>]) {
        let index = match self.tables.iter().position(|(t, _)| t.name == table.name) {
            Some(index) => index,
            None => {
                self.tables.push((*table, String::with_capacity(1 << 16)));
                self.tables.len() - 1
            }
        };
        let buffer = &mut self.tables[index].1;
        for (column, value) in values.iter().enumerate() {
            if column > 0 {
                buffer.push('\t');
            }
            copy_value(buffer, value);
        }
        buffer.push('\n');
    }
}

/// Writes one value in COPY's text format: `\N` for NULL, backslash escapes for the
/// characters that delimit rows and columns.
fn copy_value(buffer: &mut String, value: &Value<'_>) {
    use std::fmt::Write as _;
    match *value {
        Value::Null => buffer.push_str("\\N"),
        Value::Int(int) => {
            let _ = write!(buffer, "{int}");
        }
        Value::Bool(b) => buffer.push(if b { 't' } else { 'f' }),
        Value::Text(text) => {
            for c in text.chars() {
                match c {
                    '\\' => buffer.push_str("\\\\"),
                    '\t' => buffer.push_str("\\t"),
                    '\n' => buffer.push_str("\\n"),
                    '\r' => buffer.push_str("\\r"),
                    other => buffer.push(other),
                }
            }
        }
    }
}

fn sqlite_error(error: rusqlite::Error) -> StoreError {
    match error {
        rusqlite::Error::SqliteFailure(code, _) if code.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Conflict(error.to_string())
        }
        other => crate::sqlite::sqlite_error(other),
    }
}

/// What a bulk load did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkReport {
    /// Items taken from the source.
    pub items: u64,
    /// Rows written.
    pub rows: u64,
    /// Time spent producing items (on their own thread, overlapping the writes).
    pub producing: Duration,
    /// Time spent inside the write transactions (SQLite; on PostgreSQL the COPYs).
    pub writing: Duration,
    /// Time from start to the last commit, indexes not included.
    pub loading: Duration,
    /// Time spent rebuilding the deferred indexes.
    pub indexing: Duration,
}

/// How a bulk load treats the tables' indexes, and what a failure leaves behind.
#[derive(Debug, Clone, Default)]
pub struct BulkOptions {
    /// Indexes to drop before the load and build once after it, by name; unique ones too, in
    /// which case a duplicate is found when the index is built. Only sensible when the tables
    /// start empty or small. The indexes are rebuilt whatever happens.
    pub deferred_indexes: Vec<&'static str>,
    /// Tables emptied again if the load fails (including a unique index that cannot be built):
    /// for a load into empty tables that must be all or nothing. Without it, the items
    /// committed before the failure stay and the failed one leaves nothing.
    pub empty_on_failure: Vec<&'static str>,
}

/// Opens a SQLite connection to the database file for bulk writes.
fn open_sqlite(path: &Path) -> Result<rusqlite::Connection, StoreError> {
    crate::sqlite::open(path)
}

/// Starts a named thread (the name shows in profilers and `top -H`). Spawning only fails
/// when the system is out of threads; that is not something a load can recover from.
fn spawn_named<R: Send + 'static>(name: &str, work: impl FnOnce() -> R + Send + 'static) -> std::thread::JoinHandle<R> {
    match std::thread::Builder::new().name(name.to_owned()).spawn(work) {
        Ok(handle) => handle,
        Err(error) => panic!("cannot start the {name} thread: {error}"),
    }
}

/// One item with its rows encoded for the engine, how many rows, and how long producing and
/// encoding it took.
type Encoded<T, B> = Result<(T, B, u64, Duration), StoreError>;

/// Rows encoded for one engine: owned rows for SQLite, COPY text for PostgreSQL.
trait Encoding: Default + Send + 'static {
    fn sink(&mut self) -> Sink<'_>;
}

impl Encoding for OwnedRows {
    fn sink(&mut self) -> Sink<'_> {
        Sink::Owned(self)
    }
}

impl Encoding for CopyBuffers {
    fn sink(&mut self) -> Sink<'_> {
        Sink::Copy(self)
    }
}

/// Runs `source` on a thread of its own, encoding each item's rows with `write`, and hands each
/// to `send`. Stops at the end of the source, after sending a failure, or when `send` says the
/// other side has gone.
fn spawn_source<T, B, I, W>(
    source: I,
    write: W,
    mut send: impl FnMut(Encoded<T, B>) -> bool + Send + 'static,
) -> std::thread::JoinHandle<()>
where
    T: Send + 'static,
    B: Encoding,
    I: Iterator<Item = T> + Send + 'static,
    W: Fn(&T, &mut Rows<'_>) -> Result<(), StoreError> + Send + Sync + 'static,
{
    spawn_named("bulk-source", move || {
        let mut source = source;
        loop {
            let started = Instant::now();
            let Some(item) = source.next() else { break };
            let mut encoded = B::default();
            let mut rows = Rows { sink: encoded.sink(), count: 0 };
            let written = write(&item, &mut rows);
            let count = rows.count;
            let message = written.map(|()| (item, encoded, count, started.elapsed()));
            let failed = message.is_err();
            if !send(message) || failed {
                break;
            }
        }
    })
}

impl Db {
    /// Loads everything `source` yields, item by item, each in its own transaction, writing
    /// its rows with `write`; calls `after_each` with every item once it is committed. The
    /// source runs on its own thread while the previous item is written.
    pub async fn load_in_bulk<T, I, W>(
        &self,
        source: I,
        write: W,
        options: &BulkOptions,
        mut after_each: impl FnMut(&T),
    ) -> Result<BulkReport, StoreError>
    where
        T: Send + 'static,
        I: Iterator<Item = T> + Send + 'static,
        W: Fn(&T, &mut Rows<'_>) -> Result<(), StoreError> + Send + Sync + 'static,
    {
        let deferred = self.drop_indexes(&options.deferred_indexes).await?;
        let started = Instant::now();
        let loaded = match self.sqlite_engine() {
            Some(engine) if engine.path().is_some() => {
                load_sqlite(engine.clone(), source, write, &mut after_each).await
            }
            Some(_) => Err(StoreError::Malformed("a bulk load needs a SQLite file, not an in-memory database".into())),
            None => self.load_postgres(source, write, &mut after_each).await,
        };
        let loading = started.elapsed();
        let indexing_started = Instant::now();
        if loaded.is_err() {
            self.empty_tables(&options.empty_on_failure).await?;
        }
        let mut rebuilt = self.create_indexes(&deferred).await;
        if let Err((built, _)) = &rebuilt
            && !options.empty_on_failure.is_empty()
        {
            // A unique index found duplicates: take the load back out and build the rest.
            self.empty_tables(&options.empty_on_failure).await?;
            let built = *built;
            let retried = self.create_indexes(&deferred[built..]).await;
            rebuilt = match (rebuilt, retried) {
                (Err((_, first)), Ok(())) => Err((built, first)),
                (_, Err(again)) => Err(again),
                (Ok(()), Ok(())) => Ok(()),
            };
        }
        let indexing = indexing_started.elapsed();
        if let Some(path) = self.sqlite_engine().and_then(|engine| engine.path()) {
            // Fold the write-ahead log back into the file so it does not stay gigabytes large.
            let path = path.to_owned();
            tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
                let conn = open_sqlite(&path)?;
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map_err(sqlite_error)?;
                conn.execute_batch("PRAGMA optimize").map_err(sqlite_error)
            })
            .await
            .map_err(|e| StoreError::Malformed(format!("checkpoint thread: {e}")))??;
        }
        let Counts { items, rows, producing, writing } = loaded?;
        rebuilt.map_err(|(_, error)| error)?;
        Ok(BulkReport { items, rows, producing, writing, loading, indexing })
    }

    async fn empty_tables(&self, tables: &[&'static str]) -> Result<(), StoreError> {
        for table in tables {
            self.execute(&format!("DELETE FROM {table}"), &[]).await?;
        }
        Ok(())
    }

    /// Drops the named indexes, returning the statements that recreate them.
    async fn drop_indexes(&self, names: &[&'static str]) -> Result<Vec<String>, StoreError> {
        #[derive(serde::Deserialize)]
        struct Definition {
            definition: String,
        }
        let mut definitions = Vec::new();
        for name in names {
            let sql = match self.backend() {
                Backend::Sqlite => "SELECT sql AS definition FROM sqlite_master WHERE type = 'index' AND name = $1",
                Backend::Postgres => {
                    "SELECT indexdef AS definition FROM pg_indexes WHERE schemaname = current_schema() AND indexname = $1"
                }
            };
            let Some(found) = self.fetch_optional::<Definition>(sql, &crate::params![*name]).await? else {
                return Err(StoreError::Malformed(format!("no index named {name} to defer")));
            };
            definitions.push(found.definition);
        }
        for name in names {
            self.execute(&format!("DROP INDEX {name}"), &[]).await?;
        }
        Ok(definitions)
    }

    /// Builds the indexes in order; on failure says how many were built before it. On SQLite
    /// they are built on a direct connection that may sort with a helper thread.
    async fn create_indexes(&self, definitions: &[String]) -> Result<(), (usize, StoreError)> {
        if let Some(engine) = self.sqlite_engine().filter(|engine| engine.path().is_some()).cloned() {
            let definitions = definitions.to_vec();
            return tokio::task::spawn_blocking(move || {
                let path = engine.path().ok_or((0, StoreError::Malformed("no SQLite file".into())))?;
                let conn = open_sqlite(path).map_err(|e| (0, e))?;
                conn.execute_batch("PRAGMA threads = 2; PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY;")
                    .map_err(|e| (0, sqlite_error(e)))?;
                for (built, definition) in definitions.iter().enumerate() {
                    let _guard = engine.exclusive_blocking().map_err(|e| (built, e))?;
                    conn.execute_batch(definition).map_err(|e| (built, sqlite_error(e)))?;
                }
                Ok(())
            })
            .await
            .map_err(|e| (0, StoreError::Malformed(format!("index thread: {e}"))))?;
        }
        for (built, definition) in definitions.iter().enumerate() {
            self.execute(definition, &[]).await.map_err(|error| (built, error))?;
        }
        Ok(())
    }

    async fn load_postgres<T, I, W>(
        &self,
        source: I,
        write: W,
        after_each: &mut impl FnMut(&T),
    ) -> Result<Counts, StoreError>
    where
        T: Send + 'static,
        I: Iterator<Item = T> + Send + 'static,
        W: Fn(&T, &mut Rows<'_>) -> Result<(), StoreError> + Send + Sync + 'static,
    {
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Encoded<T, CopyBuffers>>(2);
        let producer = spawn_source(source, write, move |message| sender.blocking_send(message).is_ok());
        let (mut items, mut rows, mut producing, mut writing) = (0, 0, Duration::ZERO, Duration::ZERO);
        let result = async {
            while let Some(message) = receiver.recv().await {
                let (item, buffers, count, took) = message?;
                producing += took;
                let started = Instant::now();
                self.copy_in(&buffers).await?;
                writing += started.elapsed();
                items += 1;
                rows += count;
                after_each(&item);
            }
            Ok(())
        }
        .await;
        drop(receiver);
        let joined = tokio::task::spawn_blocking(move || producer.join().is_ok()).await.unwrap_or(false);
        if !joined {
            return Err(StoreError::Malformed("the bulk source panicked".into()));
        }
        result.map(|()| Counts { items, rows, producing, writing })
    }

    async fn copy_in(&self, buffers: &CopyBuffers) -> Result<(), StoreError> {
        let Some(pool) = self.postgres_pool() else {
            return Err(StoreError::Malformed("COPY needs PostgreSQL".into()));
        };
        let mut tx = pool.begin().await?;
        for (table, data) in &buffers.tables {
            let mut copy = tx.copy_in_raw(&table.copy_sql()).await?;
            if let Err(error) = copy.send(data.as_bytes()).await {
                let _ = copy.abort("send failed").await;
                return Err(error.into());
            }
            copy.finish().await.map_err(|e| copy_error(table, e))?;
        }
        Ok(tx.commit().await?)
    }
}

fn copy_error(table: &Table, error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error
        && db.is_unique_violation()
    {
        return StoreError::Conflict(format!("{}: {}", table.name, db.message()));
    }
    error.into()
}

async fn load_sqlite<T, I, W>(
    engine: Arc<crate::sqlite::Engine>,
    source: I,
    write: W,
    after_each: &mut impl FnMut(&T),
) -> Result<Counts, StoreError>
where
    T: Send + 'static,
    I: Iterator<Item = T> + Send + 'static,
    W: Fn(&T, &mut Rows<'_>) -> Result<(), StoreError> + Send + Sync + 'static,
{
    // source thread -> writer thread -> this task, each hand-off bounded so memory stays flat.
    // The source thread also encodes the rows, so the writer thread only writes.
    let (to_writer, from_source) = std::sync::mpsc::sync_channel::<Encoded<T, OwnedRows>>(2);
    let (to_caller, mut from_writer) =
        tokio::sync::mpsc::channel::<Result<(T, u64, Duration, Duration), StoreError>>(2);
    let producer = spawn_source(source, write, move |message| to_writer.send(message).is_ok());
    let path: PathBuf = engine.path().map(Path::to_owned).unwrap_or_default();
    // The write-ahead log is folded back into the file by a thread of its own, on the core the
    // writer does not use, instead of by the writer after every commit.
    let checkpointing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let checkpointer = {
        let (path, running) = (path.clone(), checkpointing.clone());
        spawn_named("bulk-checkpoint", move || {
            let Ok(conn) = open_sqlite(&path) else { return };
            while running.load(std::sync::atomic::Ordering::Relaxed) {
                // PASSIVE never waits for the writer; a busy or failed attempt is tried again.
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let writer_thread = spawn_named("bulk-writer", move || {
        let result = (|| -> Result<(), StoreError> {
            let conn = open_sqlite(&path)?;
            // Durability is the file's once the load has finished and the log is checkpointed;
            // a load that dies halfway is started again on a fresh database.
            conn.execute_batch(
                "PRAGMA synchronous = OFF; PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY; \
                 PRAGMA wal_autocheckpoint = 0;",
            )
            .map_err(sqlite_error)?;
            for message in from_source {
                let (item, owned, count, took) = message?;
                let writing = Instant::now();
                {
                    let _guard = engine.exclusive_blocking()?;
                    conn.execute_batch("BEGIN IMMEDIATE").map_err(sqlite_error)?;
                    if let Err(error) = owned.write(&conn) {
                        let _ = conn.execute_batch("ROLLBACK");
                        return Err(error);
                    }
                    conn.execute_batch("COMMIT").map_err(sqlite_error)?;
                }
                let writing = writing.elapsed();
                drop(owned);
                if to_caller.blocking_send(Ok((item, count, took, writing))).is_err() {
                    break;
                }
            }
            Ok(())
        })();
        if let Err(error) = result {
            let _ = to_caller.blocking_send(Err(error));
        }
    });
    let (mut items, mut rows, mut producing, mut writing) = (0, 0, Duration::ZERO, Duration::ZERO);
    let mut outcome = Ok(());
    while let Some(message) = from_writer.recv().await {
        match message {
            Ok((item, count, took, wrote)) => {
                items += 1;
                rows += count;
                producing += took;
                writing += wrote;
                after_each(&item);
            }
            Err(error) => {
                outcome = Err(error);
                break;
            }
        }
    }
    drop(from_writer);
    let joined = tokio::task::spawn_blocking(move || {
        let writer = writer_thread.join();
        let producer = producer.join();
        checkpointing.store(false, std::sync::atomic::Ordering::Relaxed);
        let checkpointer = checkpointer.join();
        writer.is_ok() && producer.is_ok() && checkpointer.is_ok()
    })
    .await
    .unwrap_or(false);
    if !joined {
        return Err(StoreError::Malformed("a bulk load thread panicked".into()));
    }
    outcome.map(|()| Counts { items, rows, producing, writing })
}

/// What the load loop counted.
struct Counts {
    items: u64,
    rows: u64,
    producing: Duration,
    writing: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_delimiters_and_marks_null() {
        let mut buffers = CopyBuffers::default();
        let table = Table { name: "t", columns: &["a", "b", "c", "d"] };
        buffers.row(&table, &[Value::Text("tab\there\\ and\nnewline"), Value::Null, Value::Int(-7), Value::Bool(true)]);
        assert_eq!(buffers.tables[0].1, "tab\\there\\\\ and\\nnewline\t\\N\t-7\tt\n");
    }

    #[test]
    fn statements_name_every_column() {
        let table = Table { name: "people", columns: &["fnr", "name"] };
        assert_eq!(table.insert_sql(), "INSERT INTO people (fnr, name) VALUES (?1, ?2)");
        assert_eq!(table.copy_sql(), "COPY people (fnr, name) FROM STDIN");
    }
}
