//! One handle over SQLite or PostgreSQL.
//!
//! Most SQL is portable: both engines accept `$1`-style placeholders, `RETURNING`, and
//! `ON CONFLICT`. Where the dialects differ (job claiming, for instance) the caller asks
//! [`Db::backend`] and keeps the two statements side by side.
//!
//! SQLite allows one writer at a time. Rather than letting writers spin on `SQLITE_BUSY`, every
//! write on SQLite first takes an in-process writer lock and then `BEGIN IMMEDIATE`, so writes
//! queue fairly and reads carry on in parallel (WAL).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use kernel::{Kommunenummer, Timestamp};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{FromRow, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::StoreError;

/// Tables whose rows belong to one municipality. Each has `kommunenummer TEXT NOT NULL`; a test
/// checks this list against the migrated schema on both backends.
pub const MUNICIPAL_TABLES: &[&str] = &["notices", "feedback", "staff", "org_units", "staff_roles"];

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, the embedded default.
    Sqlite,
    /// PostgreSQL, for production and scaling out.
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A value bound to a `$n` placeholder. Kept to the types both engines agree on.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// Text.
    Text(String),
    /// Text or NULL.
    OptText(Option<String>),
    /// A 64-bit integer.
    Int(i64),
    /// A 64-bit integer or NULL.
    OptInt(Option<i64>),
    /// A boolean.
    Bool(bool),
}

impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Param::Text(v.to_owned())
    }
}
impl From<String> for Param {
    fn from(v: String) -> Self {
        Param::Text(v)
    }
}
impl From<&String> for Param {
    fn from(v: &String) -> Self {
        Param::Text(v.clone())
    }
}
impl From<Option<String>> for Param {
    fn from(v: Option<String>) -> Self {
        Param::OptText(v)
    }
}
impl From<Option<&str>> for Param {
    fn from(v: Option<&str>) -> Self {
        Param::OptText(v.map(str::to_owned))
    }
}
impl From<i64> for Param {
    fn from(v: i64) -> Self {
        Param::Int(v)
    }
}
impl From<Option<i64>> for Param {
    fn from(v: Option<i64>) -> Self {
        Param::OptInt(v)
    }
}
impl From<bool> for Param {
    fn from(v: bool) -> Self {
        Param::Bool(v)
    }
}
impl From<Timestamp> for Param {
    fn from(v: Timestamp) -> Self {
        Param::Int(v.millis())
    }
}
impl From<Kommunenummer> for Param {
    fn from(v: Kommunenummer) -> Self {
        Param::Text(v.as_str().to_owned())
    }
}
impl From<Option<Kommunenummer>> for Param {
    fn from(v: Option<Kommunenummer>) -> Self {
        Param::OptText(v.map(|k| k.as_str().to_owned()))
    }
}

/// Builds an array of [`Param`] from values of mixed types: `&params![id, "text", 3_i64]`.
#[macro_export]
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        [$($crate::Param::from($value)),*]
    };
}

/// A row type that decodes on both engines; derive `sqlx::FromRow` to get it.
pub trait Record: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Record for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

/// Binds an optional leading municipality and then `params` to a query.
macro_rules! bound {
    ($query:expr, $first:expr, $params:expr) => {{
        let mut query = $query;
        if let Some(first) = $first {
            query = query.bind(first);
        }
        for param in $params {
            query = match param {
                Param::Text(v) => query.bind(v.as_str()),
                Param::OptText(v) => query.bind(v.as_deref()),
                Param::Int(v) => query.bind(*v),
                Param::OptInt(v) => query.bind(*v),
                Param::Bool(v) => query.bind(*v),
            };
        }
        query
    }};
}

/// Where a statement runs: a pool or an open transaction, on either engine.
enum Exec<'c> {
    SqlitePool(&'c SqlitePool),
    PgPool(&'c PgPool),
    SqliteConn(&'c mut SqliteConnection),
    PgConn(&'c mut PgConnection),
}

impl Exec<'_> {
    async fn execute(self, sql: &str, first: Option<&str>, params: &[Param]) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Exec::SqlitePool(p) => bound!(sqlx::query(sql), first, params).execute(p).await?.rows_affected(),
            Exec::PgPool(p) => bound!(sqlx::query(sql), first, params).execute(p).await?.rows_affected(),
            Exec::SqliteConn(c) => bound!(sqlx::query(sql), first, params).execute(c).await?.rows_affected(),
            Exec::PgConn(c) => bound!(sqlx::query(sql), first, params).execute(c).await?.rows_affected(),
        })
    }

    async fn fetch_all<T: Record>(
        self,
        sql: &str,
        first: Option<&str>,
        params: &[Param],
    ) -> Result<Vec<T>, sqlx::Error> {
        match self {
            Exec::SqlitePool(p) => bound!(sqlx::query_as::<_, T>(sql), first, params).fetch_all(p).await,
            Exec::PgPool(p) => bound!(sqlx::query_as::<_, T>(sql), first, params).fetch_all(p).await,
            Exec::SqliteConn(c) => bound!(sqlx::query_as::<_, T>(sql), first, params).fetch_all(c).await,
            Exec::PgConn(c) => bound!(sqlx::query_as::<_, T>(sql), first, params).fetch_all(c).await,
        }
    }

    async fn fetch_optional<T: Record>(
        self,
        sql: &str,
        first: Option<&str>,
        params: &[Param],
    ) -> Result<Option<T>, sqlx::Error> {
        match self {
            Exec::SqlitePool(p) => bound!(sqlx::query_as::<_, T>(sql), first, params).fetch_optional(p).await,
            Exec::PgPool(p) => bound!(sqlx::query_as::<_, T>(sql), first, params).fetch_optional(p).await,
            Exec::SqliteConn(c) => bound!(sqlx::query_as::<_, T>(sql), first, params).fetch_optional(c).await,
            Exec::PgConn(c) => bound!(sqlx::query_as::<_, T>(sql), first, params).fetch_optional(c).await,
        }
    }
}

fn identifiers(sql: &str) -> impl Iterator<Item = &str> {
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|t| !t.is_empty())
}

/// Refuses SQL that names a municipal table: such tables are only reachable through a
/// municipal scope.
fn check_national(sql: &str) -> Result<(), StoreError> {
    for token in identifiers(sql) {
        if let Some(table) = MUNICIPAL_TABLES.iter().find(|t| token.eq_ignore_ascii_case(t)) {
            return Err(StoreError::Unscoped(format!(
                "`{table}` belongs to a municipality; query it through Db::municipal or Tx::municipal"
            )));
        }
    }
    Ok(())
}

/// Refuses municipal SQL that does not tie every row to the scope's municipality, bound as
/// `$1`: reads, updates and deletes must say `kommunenummer = $1`; inserts must write the
/// `kommunenummer` column from `$1`.
fn check_municipal(sql: &str) -> Result<(), StoreError> {
    let normalised: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let lower = normalised.to_ascii_lowercase();
    let scoped = if lower.starts_with("insert") {
        identifiers(&lower).any(|t| t == "kommunenummer") && lower.contains("$1")
    } else {
        lower.contains("kommunenummer = $1")
    };
    if scoped {
        Ok(())
    } else {
        Err(StoreError::Unscoped("municipal SQL must filter on `kommunenummer = $1` (or insert it from $1)".to_owned()))
    }
}

fn is_read(sql: &str) -> bool {
    let head = sql.trim_start().get(..6).unwrap_or("").to_ascii_lowercase();
    head == "select"
}

#[derive(Debug, Clone)]
enum Pools {
    Sqlite {
        pool: SqlitePool,
        writer: Arc<Mutex<()>>,
        /// The database file; `None` for an in-memory database, which only sqlx can reach.
        file: Option<Arc<SqliteFile>>,
    },
    Postgres(PgPool),
}

/// A SQLite database file, with the direct connections used for point lookups and bulk loads.
struct SqliteFile {
    path: std::path::PathBuf,
    readers: std::sync::Mutex<Vec<rusqlite::Connection>>,
}

impl std::fmt::Debug for SqliteFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteFile").field("path", &self.path).finish_non_exhaustive()
    }
}

/// How many idle direct read connections are kept.
const IDLE_READERS: usize = 8;

impl SqliteFile {
    /// Runs `read` on a direct read-only connection, borrowed from the idle ones or opened.
    fn read<R>(&self, read: impl FnOnce(&rusqlite::Connection) -> Result<R, rusqlite::Error>) -> Result<R, StoreError> {
        let idle = self.readers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let conn = crate::bulk::open_sqlite(&self.path)?;
                conn.execute_batch("PRAGMA query_only = ON")
                    .map_err(|e| StoreError::Malformed(format!("SQLite: {e}")))?;
                conn
            }
        };
        let result = read(&conn).map_err(|e| StoreError::Malformed(format!("SQLite: {e}")));
        let mut readers = self.readers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if readers.len() < IDLE_READERS {
            readers.push(conn);
        }
        result
    }
}

/// Binds `params` to a prepared statement and reads every row's columns as optional text.
fn read_texts(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[Param],
    limit: usize,
) -> Result<Vec<Vec<Option<String>>>, rusqlite::Error> {
    use rusqlite::types::Value as V;
    let mut statement = conn.prepare_cached(&sqlite_placeholders(sql))?;
    for (index, param) in params.iter().enumerate() {
        let value = match param {
            Param::Text(t) | Param::OptText(Some(t)) => V::Text(t.clone()),
            Param::Int(i) | Param::OptInt(Some(i)) => V::Integer(*i),
            Param::Bool(b) => V::Integer(i64::from(*b)),
            Param::OptText(None) | Param::OptInt(None) => V::Null,
        };
        statement.raw_bind_parameter(index + 1, value)?;
    }
    let width = statement.column_count();
    let mut rows = statement.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut columns = Vec::with_capacity(width);
        for column in 0..width {
            columns.push(row.get::<_, Option<String>>(column)?);
        }
        out.push(columns);
        if out.len() == limit {
            break;
        }
    }
    Ok(out)
}

/// `$1` becomes `?1`: rusqlite numbers parameters the same way under another sigil.
fn sqlite_placeholders(sql: &str) -> std::borrow::Cow<'_, str> {
    if sql.contains('$') { std::borrow::Cow::Owned(sql.replace('$', "?")) } else { std::borrow::Cow::Borrowed(sql) }
}

/// A connection pool to SQLite or PostgreSQL, chosen by URL scheme. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    pools: Pools,
}

impl Db {
    /// Connects to `url` (`sqlite://path`, `sqlite::memory:`, `postgres://...`) and checks that
    /// the database answers. For SQLite the file and its directory are created if missing.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, StoreError> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(StoreError::Connect)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true);
                let file = options.get_filename().to_owned();
                if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty())
                    && !url.contains(":memory:")
                {
                    std::fs::create_dir_all(parent).map_err(|e| StoreError::Connect(sqlx::Error::Io(e)))?;
                }
                let pool = SqlitePoolOptions::new()
                    .max_connections(max_connections.max(2))
                    // A local file does not drop connections; a ping per acquire only costs.
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(StoreError::Connect)?;
                let file = (!url.contains(":memory:") && !url.contains("mode=memory"))
                    .then(|| Arc::new(SqliteFile { path: file, readers: std::sync::Mutex::new(Vec::new()) }));
                Ok(Db { pools: Pools::Sqlite { pool, writer: Arc::new(Mutex::new(())), file } })
            }
            "postgres" | "postgresql" => {
                let options = PgConnectOptions::from_str(url).map_err(StoreError::Connect)?;
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections.max(2))
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(StoreError::Connect)?;
                Ok(Db { pools: Pools::Postgres(pool) })
            }
            other => Err(StoreError::UnknownScheme(other.chars().take(32).collect())),
        }
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes every connection; waits for checked-out ones to come back.
    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { pool, file, .. } => {
                if let Some(file) = file {
                    file.readers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
                }
                pool.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }

    /// Checks that the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        #[derive(sqlx::FromRow)]
        struct One {
            #[allow(dead_code)]
            one: i32,
        }
        self.fetch_optional::<One>("SELECT 1 AS one", &[]).await.map(|_| ())
    }

    pub(crate) fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match &self.pools {
            Pools::Sqlite { pool, .. } => Some(pool),
            Pools::Postgres(_) => None,
        }
    }

    /// The SQLite file and its writer lock, when this is a SQLite file database.
    pub(crate) fn sqlite_file(&self) -> Option<(std::path::PathBuf, Arc<Mutex<()>>)> {
        match &self.pools {
            Pools::Sqlite { writer, file: Some(file), .. } => Some((file.path.clone(), writer.clone())),
            _ => None,
        }
    }

    /// Whether [`Db::load_in_bulk`] can run here: everywhere but an in-memory SQLite database.
    pub fn supports_bulk(&self) -> bool {
        !matches!(self.pools, Pools::Sqlite { file: None, .. })
    }

    /// A point lookup: the first row of a read on national tables, every column as optional
    /// text (select only text columns). On a SQLite file it runs on a direct connection with a
    /// cached prepared statement, on the calling thread: a primary-key lookup takes
    /// microseconds, less than handing it to another thread would. Elsewhere it goes through
    /// the pool like any query.
    pub async fn lookup_texts(&self, sql: &str, params: &[Param]) -> Result<Option<Vec<Option<String>>>, StoreError> {
        check_national(sql)?;
        if !is_read(sql) {
            return Err(StoreError::Malformed("lookup_texts only reads".into()));
        }
        if let Pools::Sqlite { file: Some(file), .. } = &self.pools {
            return Ok(file.read(|conn| read_texts(conn, sql, params, 1))?.into_iter().next());
        }
        Ok(self.fetch_texts_pooled(sql, params).await?.into_iter().next())
    }

    /// Every row of a read on national tables, every column as optional text. On a SQLite file
    /// it runs on a direct connection on the blocking thread pool.
    pub async fn fetch_texts(&self, sql: &str, params: &[Param]) -> Result<Vec<Vec<Option<String>>>, StoreError> {
        check_national(sql)?;
        if !is_read(sql) {
            return Err(StoreError::Malformed("fetch_texts only reads".into()));
        }
        if let Pools::Sqlite { file: Some(file), .. } = &self.pools {
            let (file, sql, params) = (file.clone(), sql.to_owned(), params.to_vec());
            return tokio::task::spawn_blocking(move || file.read(|conn| read_texts(conn, &sql, &params, usize::MAX)))
                .await
                .map_err(|e| StoreError::Malformed(format!("read thread: {e}")))?;
        }
        self.fetch_texts_pooled(sql, params).await
    }

    async fn fetch_texts_pooled(&self, sql: &str, params: &[Param]) -> Result<Vec<Vec<Option<String>>>, StoreError> {
        use sqlx::Row as _;
        let rows = match self.exec() {
            Exec::SqlitePool(pool) => {
                let rows = bound!(sqlx::query(sql), None::<&str>, params)
                    .fetch_all(pool)
                    .await
                    .map_err(StoreError::Database)?;
                rows.iter()
                    .map(|row| (0..row.len()).map(|i| row.try_get::<Option<String>, _>(i)).collect())
                    .collect::<Result<Vec<Vec<_>>, _>>()
            }
            Exec::PgPool(pool) => {
                let rows = bound!(sqlx::query(sql), None::<&str>, params)
                    .fetch_all(pool)
                    .await
                    .map_err(StoreError::Database)?;
                rows.iter()
                    .map(|row| (0..row.len()).map(|i| row.try_get::<Option<String>, _>(i)).collect())
                    .collect::<Result<Vec<Vec<_>>, _>>()
            }
            _ => return Err(StoreError::Malformed("a pool was expected".into())),
        };
        rows.map_err(StoreError::Database)
    }

    pub(crate) fn postgres_pool(&self) -> Option<&PgPool> {
        match &self.pools {
            Pools::Postgres(pool) => Some(pool),
            Pools::Sqlite { .. } => None,
        }
    }

    async fn writer_lock(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.pools {
            Pools::Sqlite { writer, .. } => Some(writer.clone().lock_owned().await),
            Pools::Postgres(_) => None,
        }
    }

    fn exec(&self) -> Exec<'_> {
        match &self.pools {
            Pools::Sqlite { pool, .. } => Exec::SqlitePool(pool),
            Pools::Postgres(pool) => Exec::PgPool(pool),
        }
    }

    async fn execute_inner(&self, sql: &str, first: Option<&str>, params: &[Param]) -> Result<u64, StoreError> {
        let _writer = if is_read(sql) { None } else { self.writer_lock().await };
        Ok(self.exec().execute(sql, first, params).await?)
    }

    /// Runs a statement on national (non-municipal) tables; returns the rows affected.
    pub async fn execute(&self, sql: &str, params: &[Param]) -> Result<u64, StoreError> {
        check_national(sql)?;
        self.execute_inner(sql, None, params).await
    }

    /// Fetches every row of a query on national tables.
    pub async fn fetch_all<T: Record>(&self, sql: &str, params: &[Param]) -> Result<Vec<T>, StoreError> {
        check_national(sql)?;
        let _writer = if is_read(sql) { None } else { self.writer_lock().await };
        Ok(self.exec().fetch_all(sql, None, params).await?)
    }

    /// Fetches at most one row of a query on national tables.
    pub async fn fetch_optional<T: Record>(&self, sql: &str, params: &[Param]) -> Result<Option<T>, StoreError> {
        check_national(sql)?;
        let _writer = if is_read(sql) { None } else { self.writer_lock().await };
        Ok(self.exec().fetch_optional(sql, None, params).await?)
    }

    /// Starts a transaction. On SQLite it holds the single writer lock until it ends.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let inner = match &self.pools {
            Pools::Sqlite { pool, writer, .. } => {
                let guard = writer.clone().lock_owned().await;
                let tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                TxInner::Sqlite { tx, _writer: guard }
            }
            Pools::Postgres(pool) => TxInner::Postgres(pool.begin().await?),
        };
        Ok(Tx { inner })
    }

    /// The view of one municipality's records.
    pub fn municipal(&self, kommunenummer: Kommunenummer) -> MunicipalDb<'_> {
        MunicipalDb { db: self, kommunenummer }
    }
}

/// The records of one municipality. Every statement gets the kommunenummer bound as `$1`,
/// and statements that do not filter on it are refused.
#[derive(Debug, Clone, Copy)]
pub struct MunicipalDb<'a> {
    db: &'a Db,
    kommunenummer: Kommunenummer,
}

impl MunicipalDb<'_> {
    /// The municipality this view is scoped to.
    pub fn kommunenummer(&self) -> Kommunenummer {
        self.kommunenummer
    }

    /// Runs a statement; `$1` is the kommunenummer, `params` start at `$2`.
    pub async fn execute(&self, sql: &str, params: &[Param]) -> Result<u64, StoreError> {
        check_municipal(sql)?;
        self.db.execute_inner(sql, Some(self.kommunenummer.as_str()), params).await
    }

    /// Fetches every row; `$1` is the kommunenummer, `params` start at `$2`.
    pub async fn fetch_all<T: Record>(&self, sql: &str, params: &[Param]) -> Result<Vec<T>, StoreError> {
        check_municipal(sql)?;
        let _writer = if is_read(sql) { None } else { self.db.writer_lock().await };
        Ok(self.db.exec().fetch_all(sql, Some(self.kommunenummer.as_str()), params).await?)
    }

    /// Fetches at most one row; `$1` is the kommunenummer, `params` start at `$2`.
    pub async fn fetch_optional<T: Record>(&self, sql: &str, params: &[Param]) -> Result<Option<T>, StoreError> {
        check_municipal(sql)?;
        let _writer = if is_read(sql) { None } else { self.db.writer_lock().await };
        Ok(self.db.exec().fetch_optional(sql, Some(self.kommunenummer.as_str()), params).await?)
    }
}

enum TxInner {
    Sqlite { tx: Transaction<'static, sqlx::Sqlite>, _writer: OwnedMutexGuard<()> },
    Postgres(Transaction<'static, sqlx::Postgres>),
}

/// An open transaction. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    inner: TxInner,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match self.inner {
            TxInner::Sqlite { .. } => "sqlite",
            TxInner::Postgres(_) => "postgres",
        };
        f.debug_struct("Tx").field("backend", &backend).finish()
    }
}

impl Tx {
    fn exec(&mut self) -> Exec<'_> {
        match &mut self.inner {
            TxInner::Sqlite { tx, .. } => Exec::SqliteConn(tx),
            TxInner::Postgres(tx) => Exec::PgConn(tx),
        }
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite { .. } => Backend::Sqlite,
            TxInner::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs a statement on national tables.
    pub async fn execute(&mut self, sql: &str, params: &[Param]) -> Result<u64, StoreError> {
        check_national(sql)?;
        Ok(self.exec().execute(sql, None, params).await?)
    }

    /// Fetches every row of a query on national tables.
    pub async fn fetch_all<T: Record>(&mut self, sql: &str, params: &[Param]) -> Result<Vec<T>, StoreError> {
        check_national(sql)?;
        Ok(self.exec().fetch_all(sql, None, params).await?)
    }

    /// Fetches at most one row of a query on national tables.
    pub async fn fetch_optional<T: Record>(&mut self, sql: &str, params: &[Param]) -> Result<Option<T>, StoreError> {
        check_national(sql)?;
        Ok(self.exec().fetch_optional(sql, None, params).await?)
    }

    /// The view of one municipality's records inside this transaction.
    pub fn municipal(&mut self, kommunenummer: Kommunenummer) -> MunicipalTx<'_> {
        MunicipalTx { tx: self, kommunenummer }
    }

    /// Makes every change of the transaction durable.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.inner {
            TxInner::Sqlite { tx, _writer } => tx.commit().await?,
            TxInner::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    /// Discards every change of the transaction.
    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.inner {
            TxInner::Sqlite { tx, _writer } => tx.rollback().await?,
            TxInner::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

/// One municipality's records inside a transaction; the same rules as [`MunicipalDb`].
#[derive(Debug)]
pub struct MunicipalTx<'t> {
    tx: &'t mut Tx,
    kommunenummer: Kommunenummer,
}

impl MunicipalTx<'_> {
    /// The municipality this view is scoped to.
    pub fn kommunenummer(&self) -> Kommunenummer {
        self.kommunenummer
    }

    /// Runs a statement; `$1` is the kommunenummer, `params` start at `$2`.
    pub async fn execute(&mut self, sql: &str, params: &[Param]) -> Result<u64, StoreError> {
        check_municipal(sql)?;
        let kommunenummer = self.kommunenummer;
        Ok(self.tx.exec().execute(sql, Some(kommunenummer.as_str()), params).await?)
    }

    /// Fetches every row; `$1` is the kommunenummer, `params` start at `$2`.
    pub async fn fetch_all<T: Record>(&mut self, sql: &str, params: &[Param]) -> Result<Vec<T>, StoreError> {
        check_municipal(sql)?;
        let kommunenummer = self.kommunenummer;
        Ok(self.tx.exec().fetch_all(sql, Some(kommunenummer.as_str()), params).await?)
    }

    /// The whole transaction, for national tables, jobs and events.
    pub fn tx(&mut self) -> &mut Tx {
        self.tx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_queries_may_not_name_municipal_tables() {
        assert!(check_national("SELECT * FROM jobs WHERE id = $1").is_ok());
        assert!(check_national("SELECT * FROM notices").is_err());
        assert!(check_national("select n.title from jobs j join FEEDBACK f on 1=1").is_err());
        // A column that merely contains a table name as a substring is fine.
        assert!(check_national("SELECT notices_count FROM jobs").is_ok());
    }

    #[test]
    fn municipal_queries_must_filter_on_the_bound_kommunenummer() {
        assert!(check_municipal("SELECT * FROM notices WHERE kommunenummer = $1").is_ok());
        assert!(check_municipal("SELECT * FROM notices WHERE kommunenummer   =\n $1 AND id = $2").is_ok());
        assert!(check_municipal("INSERT INTO notices (id, kommunenummer) VALUES ($2, $1)").is_ok());
        assert!(check_municipal("SELECT * FROM notices").is_err());
        assert!(check_municipal("SELECT * FROM notices WHERE kommunenummer = $2").is_err());
        assert!(check_municipal("DELETE FROM notices WHERE id = $1").is_err());
        assert!(check_municipal("INSERT INTO notices (id, title) VALUES ($1, $2)").is_err());
    }

    #[test]
    fn unknown_schemes_are_refused() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let result = runtime.block_on(Db::connect("mysql://localhost/x", 2));
        assert!(matches!(result, Err(StoreError::UnknownScheme(s)) if s == "mysql"));
    }
}
