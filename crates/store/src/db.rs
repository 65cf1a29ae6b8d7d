//! One handle over SQLite or PostgreSQL.
//!
//! Most SQL is portable: both engines accept `$1`-style placeholders, `RETURNING`, and
//! `ON CONFLICT`. Where the dialects differ (job claiming, the event feed) the caller asks
//! [`Db::backend`] and keeps the two statements side by side.
//!
//! SQLite runs through rusqlite on the calling thread, with one writer and group commit
//! (see [`crate::sqlite`]); PostgreSQL through sqlx's connection pool. Rows decode through serde
//! on both ([`Record`]).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use kernel::{Kommunenummer, Timestamp};
use serde::de::DeserializeOwned;
use sqlx::Transaction;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};

use crate::StoreError;
use crate::row::{OwnedCell, OwnedRow};
use crate::schema::Schema;
use crate::sqlite::{self, Engine, SqliteOptions};

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

/// A row type that decodes on both engines: any `#[derive(serde::Deserialize)]` struct whose
/// fields are named like the selected columns, or a tuple of the columns in order.
pub trait Record: DeserializeOwned + Send {}
impl<T> Record for T where T: DeserializeOwned + Send {}

/// Binds an optional leading municipality and then `params` to a PostgreSQL query.
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

/// A PostgreSQL row's cells, converted by column type.
fn pg_cells(row: &PgRow) -> Result<Vec<OwnedCell>, StoreError> {
    use sqlx::{Column, Row, TypeInfo, ValueRef};
    let mut cells = Vec::with_capacity(row.len());
    for (index, column) in row.columns().iter().enumerate() {
        if row.try_get_raw(index)?.is_null() {
            cells.push(OwnedCell::Null);
            continue;
        }
        let cell = match column.type_info().name() {
            "INT8" => OwnedCell::Int(row.try_get::<i64, _>(index)?),
            "INT4" => OwnedCell::Int(i64::from(row.try_get::<i32, _>(index)?)),
            "INT2" => OwnedCell::Int(i64::from(row.try_get::<i16, _>(index)?)),
            "BOOL" => OwnedCell::Bool(row.try_get::<bool, _>(index)?),
            "FLOAT8" => OwnedCell::Real(row.try_get::<f64, _>(index)?),
            "FLOAT4" => OwnedCell::Real(f64::from(row.try_get::<f32, _>(index)?)),
            "BYTEA" => OwnedCell::Blob(row.try_get::<Vec<u8>, _>(index)?),
            _ => OwnedCell::Text(row.try_get::<String, _>(index).map_err(|_| {
                StoreError::Malformed(format!(
                    "column `{}` has the type {}, which the store does not read; cast it to text",
                    column.name(),
                    column.type_info().name()
                ))
            })?),
        };
        cells.push(cell);
    }
    Ok(cells)
}

fn pg_decode<T: Record>(rows: &[PgRow]) -> Result<Vec<T>, StoreError> {
    use sqlx::{Column, Row};
    let Some(first) = rows.first() else { return Ok(Vec::new()) };
    let names: Vec<String> = first.columns().iter().map(|c| c.name().to_owned()).collect();
    rows.iter().map(|row| crate::row::decode(&OwnedRow { names: &names, cells: pg_cells(row)? })).collect()
}

async fn pg_execute(
    conn: &mut PgConnection,
    sql: &str,
    first: Option<&str>,
    params: &[Param],
) -> Result<u64, StoreError> {
    Ok(bound!(sqlx::query(sql), first, params).execute(conn).await?.rows_affected())
}

async fn pg_fetch<T: Record>(
    conn: &mut PgConnection,
    sql: &str,
    first: Option<&str>,
    params: &[Param],
) -> Result<Vec<T>, StoreError> {
    pg_decode(&bound!(sqlx::query(sql), first, params).fetch_all(conn).await?)
}

fn identifiers(sql: &str) -> impl Iterator<Item = &str> {
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|t| !t.is_empty())
}

/// Refuses SQL that names a municipal table: such tables are only reachable through a
/// municipal scope.
fn check_national(schema: &Schema, sql: &str) -> Result<(), StoreError> {
    for token in identifiers(sql) {
        if schema.is_municipal(token) {
            return Err(StoreError::Unscoped(format!(
                "`{}` belongs to a municipality; query it through Db::municipal or Tx::municipal",
                token.to_ascii_lowercase()
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
pub(crate) enum Pools {
    Sqlite(Arc<Engine>),
    Postgres(PgPool),
}

/// How a [`Db`] connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbOptions {
    /// The most PostgreSQL connections in the pool.
    pub max_connections: u32,
    /// How SQLite commits.
    pub sqlite: SqliteOptions,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self { max_connections: 10, sqlite: SqliteOptions::default() }
    }
}

/// A handle to SQLite or PostgreSQL, chosen by URL scheme, with the schema of the contexts it
/// serves. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    pub(crate) pools: Pools,
    schema: Arc<Schema>,
}

impl Db {
    /// Connects to `url` (`sqlite://path`, `sqlite::memory:`, `postgres://...`) with default
    /// options. For SQLite the file and its directory are created if missing.
    pub async fn connect(url: &str, schema: Schema) -> Result<Db, StoreError> {
        Self::connect_with(url, schema, &DbOptions::default()).await
    }

    /// Connects to `url` with `options` and checks that the database answers.
    pub async fn connect_with(url: &str, schema: Schema, options: &DbOptions) -> Result<Db, StoreError> {
        let scheme = url.split(':').next().unwrap_or_default();
        let pools = match scheme {
            "sqlite" => {
                let path = sqlite::path_of(url);
                let sqlite_options = options.sqlite;
                let engine = tokio::task::spawn_blocking(move || Engine::open(path, sqlite_options))
                    .await
                    .map_err(|e| StoreError::Connect(format!("open thread: {e}")))??;
                Pools::Sqlite(engine)
            }
            "postgres" | "postgresql" => {
                let connect = PgConnectOptions::from_str(url).map_err(|e| StoreError::Connect(e.to_string()))?;
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections.max(2))
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(connect)
                    .await
                    .map_err(|e| StoreError::Connect(e.to_string()))?;
                Pools::Postgres(pool)
            }
            other => return Err(StoreError::UnknownScheme(other.chars().take(32).collect())),
        };
        Ok(Db { pools, schema: Arc::new(schema) })
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite(_) => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// The contexts this handle serves.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Closes every connection; on SQLite, commits what is open and folds the write-ahead log
    /// back into the file.
    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite(engine) => engine.close().await,
            Pools::Postgres(pool) => pool.close().await,
        }
    }

    /// Checks that the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.fetch_optional::<(i64,)>("SELECT 1 AS one", &[]).await.map(|_| ())
    }

    pub(crate) fn sqlite_engine(&self) -> Option<&Arc<Engine>> {
        match &self.pools {
            Pools::Sqlite(engine) => Some(engine),
            Pools::Postgres(_) => None,
        }
    }

    pub(crate) fn postgres_pool(&self) -> Option<&PgPool> {
        match &self.pools {
            Pools::Postgres(pool) => Some(pool),
            Pools::Sqlite(_) => None,
        }
    }

    /// On SQLite, how many transactions and physical commits there have been, and how many
    /// transactions wait for the writer now; `None` on PostgreSQL.
    pub fn write_stats(&self) -> Option<sqlite::WriteStats> {
        self.sqlite_engine().map(|engine| engine.stats())
    }

    /// Whether [`Db::load_in_bulk`] can run here: everywhere but an in-memory SQLite database.
    pub fn supports_bulk(&self) -> bool {
        !matches!(&self.pools, Pools::Sqlite(engine) if engine.path().is_none())
    }

    async fn execute_inner(&self, sql: &str, first: Option<&str>, params: &[Param]) -> Result<u64, StoreError> {
        match &self.pools {
            Pools::Sqlite(engine) if is_read(sql) => {
                engine.read(|conn| sqlite::execute(conn, sql, first, params)).await
            }
            Pools::Sqlite(engine) => {
                let mut tx = engine.begin().await?;
                let changed = tx.execute(sql, first, params)?;
                tx.commit().await?;
                Ok(changed)
            }
            Pools::Postgres(pool) => Ok(bound!(sqlx::query(sql), first, params).execute(pool).await?.rows_affected()),
        }
    }

    async fn fetch_inner<T: Record>(
        &self,
        sql: &str,
        first: Option<&str>,
        params: &[Param],
        limit: usize,
    ) -> Result<Vec<T>, StoreError> {
        match &self.pools {
            Pools::Sqlite(engine) if is_read(sql) => {
                engine.read(|conn| sqlite::query(conn, sql, first, params, limit)).await
            }
            Pools::Sqlite(engine) => {
                let mut tx = engine.begin().await?;
                let rows = tx.query(sql, first, params, limit)?;
                tx.commit().await?;
                Ok(rows)
            }
            Pools::Postgres(pool) => {
                let rows = bound!(sqlx::query(sql), first, params).fetch_all(pool).await?;
                let mut decoded = pg_decode(&rows)?;
                decoded.truncate(limit);
                Ok(decoded)
            }
        }
    }

    /// Runs a statement on national (non-municipal) tables; returns the rows affected. A write
    /// is a transaction of its own.
    pub async fn execute(&self, sql: &str, params: &[Param]) -> Result<u64, StoreError> {
        check_national(&self.schema, sql)?;
        self.execute_inner(sql, None, params).await
    }

    /// Fetches every row of a query on national tables.
    pub async fn fetch_all<T: Record>(&self, sql: &str, params: &[Param]) -> Result<Vec<T>, StoreError> {
        check_national(&self.schema, sql)?;
        self.fetch_inner(sql, None, params, usize::MAX).await
    }

    /// Fetches at most one row of a query on national tables.
    pub async fn fetch_optional<T: Record>(&self, sql: &str, params: &[Param]) -> Result<Option<T>, StoreError> {
        check_national(&self.schema, sql)?;
        Ok(self.fetch_inner(sql, None, params, 1).await?.into_iter().next())
    }

    /// Runs a script of several statements in one transaction, on national tables: for tools
    /// and tests that set a database up by hand (migrations have their own runner).
    pub async fn execute_script(&self, sql: &str) -> Result<(), StoreError> {
        check_national(&self.schema, sql)?;
        match &self.pools {
            Pools::Sqlite(engine) => {
                let guard = engine.exclusive().await?;
                let conn = guard.conn();
                conn.execute_batch("BEGIN IMMEDIATE").map_err(sqlite::sqlite_error)?;
                match conn.execute_batch(sql) {
                    Ok(()) => conn.execute_batch("COMMIT").map_err(sqlite::sqlite_error),
                    Err(error) => {
                        let _ = conn.execute_batch("ROLLBACK");
                        Err(sqlite::sqlite_error(error))
                    }
                }
            }
            Pools::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::raw_sql(sql).execute(&mut *tx).await?;
                Ok(tx.commit().await?)
            }
        }
    }

    /// Starts a transaction. On SQLite it holds the single writer until it ends.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let inner = match &self.pools {
            Pools::Sqlite(engine) => TxInner::Sqlite(engine.begin().await?),
            Pools::Postgres(pool) => TxInner::Postgres(pool.begin().await?, None),
        };
        Ok(Tx { inner, schema: self.schema.clone() })
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
        self.db.fetch_inner(sql, Some(self.kommunenummer.as_str()), params, usize::MAX).await
    }

    /// Fetches at most one row; `$1` is the kommunenummer, `params` start at `$2`.
    pub async fn fetch_optional<T: Record>(&self, sql: &str, params: &[Param]) -> Result<Option<T>, StoreError> {
        check_municipal(sql)?;
        Ok(self.db.fetch_inner(sql, Some(self.kommunenummer.as_str()), params, 1).await?.into_iter().next())
    }
}

enum TxInner {
    Sqlite(sqlite::Transaction),
    /// With the first error, if a statement failed: PostgreSQL then aborts the whole
    /// transaction, and its `COMMIT` would quietly roll back.
    Postgres(Transaction<'static, sqlx::Postgres>, Option<String>),
}

/// An open transaction. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    inner: TxInner,
    schema: Arc<Schema>,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx").field("backend", &self.backend().name()).finish()
    }
}

impl Tx {
    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(..) => Backend::Postgres,
        }
    }

    async fn execute_inner(&mut self, sql: &str, first: Option<&str>, params: &[Param]) -> Result<u64, StoreError> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => tx.execute(sql, first, params),
            TxInner::Postgres(tx, failed) => {
                let result = pg_execute(tx, sql, first, params).await;
                note_failure(failed, &result);
                result
            }
        }
    }

    async fn fetch_inner<T: Record>(
        &mut self,
        sql: &str,
        first: Option<&str>,
        params: &[Param],
        limit: usize,
    ) -> Result<Vec<T>, StoreError> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => tx.query(sql, first, params, limit),
            TxInner::Postgres(tx, failed) => {
                let result = pg_fetch(tx, sql, first, params).await;
                note_failure(failed, &result);
                let mut rows = result?;
                rows.truncate(limit);
                Ok(rows)
            }
        }
    }

    /// Runs a statement on national tables.
    pub async fn execute(&mut self, sql: &str, params: &[Param]) -> Result<u64, StoreError> {
        check_national(&self.schema, sql)?;
        self.execute_inner(sql, None, params).await
    }

    /// Fetches every row of a query on national tables.
    pub async fn fetch_all<T: Record>(&mut self, sql: &str, params: &[Param]) -> Result<Vec<T>, StoreError> {
        check_national(&self.schema, sql)?;
        self.fetch_inner(sql, None, params, usize::MAX).await
    }

    /// Fetches at most one row of a query on national tables.
    pub async fn fetch_optional<T: Record>(&mut self, sql: &str, params: &[Param]) -> Result<Option<T>, StoreError> {
        check_national(&self.schema, sql)?;
        Ok(self.fetch_inner(sql, None, params, 1).await?.into_iter().next())
    }

    /// The view of one municipality's records inside this transaction.
    pub fn municipal(&mut self, kommunenummer: Kommunenummer) -> MunicipalTx<'_> {
        MunicipalTx { tx: self, kommunenummer }
    }

    /// Makes every change of the transaction durable. On SQLite a commit may be shared with
    /// transactions committing at the same time; it returns when the shared commit is done.
    /// On PostgreSQL, where a failed statement aborts the whole transaction, a transaction in
    /// which a statement failed is rolled back and the commit returns an error.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.commit().await,
            TxInner::Postgres(tx, None) => Ok(tx.commit().await?),
            TxInner::Postgres(tx, Some(error)) => {
                tx.rollback().await?;
                Err(StoreError::Database(format!("the transaction was rolled back after an earlier error: {error}")))
            }
        }
    }

    /// Discards every change of the transaction.
    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.inner {
            TxInner::Sqlite(tx) => {
                tx.rollback();
                Ok(())
            }
            TxInner::Postgres(tx, _) => Ok(tx.rollback().await?),
        }
    }
}

fn note_failure<T>(failed: &mut Option<String>, result: &Result<T, StoreError>) {
    if let Err(error) = result
        && failed.is_none()
    {
        *failed = Some(error.to_string());
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
        self.tx.execute_inner(sql, Some(kommunenummer.as_str()), params).await
    }

    /// Fetches every row; `$1` is the kommunenummer, `params` start at `$2`.
    pub async fn fetch_all<T: Record>(&mut self, sql: &str, params: &[Param]) -> Result<Vec<T>, StoreError> {
        check_municipal(sql)?;
        let kommunenummer = self.kommunenummer;
        self.tx.fetch_inner(sql, Some(kommunenummer.as_str()), params, usize::MAX).await
    }

    /// Fetches at most one row; `$1` is the kommunenummer, `params` start at `$2`.
    pub async fn fetch_optional<T: Record>(&mut self, sql: &str, params: &[Param]) -> Result<Option<T>, StoreError> {
        check_municipal(sql)?;
        let kommunenummer = self.kommunenummer;
        Ok(self.tx.fetch_inner(sql, Some(kommunenummer.as_str()), params, 1).await?.into_iter().next())
    }

    /// The whole transaction, for national tables, jobs and events.
    pub fn tx(&mut self) -> &mut Tx {
        self.tx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Migrations;

    static TOWN: Migrations = Migrations {
        context: "town",
        builds_on: &[],
        tables: &["notes", "memos"],
        municipal_tables: &["notes", "memos"],
        migrations: &[],
    };

    #[test]
    fn national_queries_may_not_name_municipal_tables() {
        let schema = Schema::new(&[&TOWN]).expect("schema");
        assert!(check_national(&schema, "SELECT * FROM jobs WHERE id = $1").is_ok());
        assert!(check_national(&schema, "SELECT * FROM notes").is_err());
        assert!(check_national(&schema, "select n.title from jobs j join MEMOS f on 1=1").is_err());
        // A column that merely contains a table name as a substring is fine.
        assert!(check_national(&schema, "SELECT notes_count FROM jobs").is_ok());
        // Tables are municipal only where a context says so.
        assert!(check_national(&Schema::store_only(), "SELECT * FROM notes").is_ok());
    }

    #[test]
    fn municipal_queries_must_filter_on_the_bound_kommunenummer() {
        assert!(check_municipal("SELECT * FROM notes WHERE kommunenummer = $1").is_ok());
        assert!(check_municipal("SELECT * FROM notes WHERE kommunenummer   =\n $1 AND id = $2").is_ok());
        assert!(check_municipal("INSERT INTO notes (id, kommunenummer) VALUES ($2, $1)").is_ok());
        assert!(check_municipal("SELECT * FROM notes").is_err());
        assert!(check_municipal("SELECT * FROM notes WHERE kommunenummer = $2").is_err());
        assert!(check_municipal("DELETE FROM notes WHERE id = $1").is_err());
        assert!(check_municipal("INSERT INTO notes (id, title) VALUES ($1, $2)").is_err());
    }

    #[test]
    fn unknown_schemes_are_refused() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let result = runtime.block_on(Db::connect("mysql://localhost/x", Schema::store_only()));
        assert!(matches!(result, Err(StoreError::UnknownScheme(s)) if s == "mysql"));
    }
}
