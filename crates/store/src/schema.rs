//! Each context owns its tables and ships its own migrations; the store runs them.
//!
//! A context crate declares a [`Migrations`]: its name, the contexts it builds on, the tables
//! it owns (and which of them belong to a municipality), and its migrations, numbered 1, 2, …
//! within the context, each with its SQL for both engines. The binary (or a test) lists the
//! contexts it runs in floor order in a [`Schema`]; [`Schema::new`] refuses a list out of floor
//! order and two contexts that claim one table, naming both. The store's own tables are always
//! first.
//!
//! Applied migrations are recorded per context and version in `schema_migrations` with a
//! SHA-256 of the SQL that ran, so a migration changed after its release is refused rather than
//! silently skipped. Migrations are embedded in the binary, applied at start and by
//! `allmenning migrate`, and never edited once released.
//!
//! Before each context owned its migrations, one list (versions 1–6, run by sqlx) served them
//! all. A migration that was part of that list says which version it was
//! ([`Migration::legacy_version`]); a database migrated by the old list is taken over by
//! recording those migrations as applied, so nothing runs twice.

use sha2::{Digest, Sha256};

use crate::sqlite::sqlite_error;
use crate::{Backend, Db, Pools, StoreError, params};

/// One migration of one context, in both dialects.
#[derive(Debug)]
pub struct Migration {
    /// 1, 2, … within the context.
    pub version: i64,
    /// What it does, in a few words.
    pub description: &'static str,
    /// The SQL for SQLite.
    pub sqlite: &'static str,
    /// The SQL for PostgreSQL.
    pub postgres: &'static str,
    /// Its version in the single list every context shared before (1–6), if it was one.
    pub legacy_version: Option<i64>,
}

impl Migration {
    fn sql(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }
}

/// A context's tables and migrations.
#[derive(Debug)]
pub struct Migrations {
    /// The context's name, e.g. `audit`.
    pub context: &'static str,
    /// The contexts whose tables this one's migrations may refer to; they must come first.
    pub builds_on: &'static [&'static str],
    /// Every table the context's migrations create. No other context names them.
    pub tables: &'static [&'static str],
    /// The tables whose rows belong to one municipality (`kommunenummer TEXT NOT NULL`):
    /// reachable only through [`Db::municipal`] and [`crate::Tx::municipal`].
    pub municipal_tables: &'static [&'static str],
    /// The migrations, in version order.
    pub migrations: &'static [Migration],
}

/// The store's own tables: the job queue, the event outbox, the event consumers' cursors, and
/// the migration bookkeeping.
pub static MIGRATIONS: Migrations = Migrations {
    context: "store",
    builds_on: &[],
    tables: &["jobs", "outbox_events", "event_consumers", "schema_migrations"],
    municipal_tables: &[],
    migrations: &[
        Migration {
            version: 1,
            description: "job queue and event outbox",
            sqlite: include_str!("../migrations/sqlite/0001_jobs_and_outbox.sql"),
            postgres: include_str!("../migrations/postgres/0001_jobs_and_outbox.sql"),
            legacy_version: Some(1),
        },
        Migration {
            version: 2,
            description: "events in commit order, consumers, retention",
            sqlite: include_str!("../migrations/sqlite/0002_event_feed.sql"),
            postgres: include_str!("../migrations/postgres/0002_event_feed.sql"),
            legacy_version: None,
        },
    ],
};

/// Why a set of migrations was refused or could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A context is listed before one it builds on.
    #[error(
        "the migrations of `{context}` are registered before those of `{needs}`, which it builds on; \
         register the contexts in floor order"
    )]
    OutOfOrder {
        /// The context listed too early.
        context: &'static str,
        /// The context it builds on.
        needs: &'static str,
    },
    /// Two contexts claim the same table.
    #[error("the contexts `{first}` and `{second}` both claim the table `{table}`")]
    TableClaimedTwice {
        /// The table.
        table: &'static str,
        /// The context that claimed it first.
        first: &'static str,
        /// The context that claimed it again.
        second: &'static str,
    },
    /// A context is listed twice.
    #[error("the context `{0}` is registered twice")]
    ContextTwice(&'static str),
    /// A context's declaration does not hold together.
    #[error("the migrations of `{context}`: {problem}")]
    Invalid {
        /// The context.
        context: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// An applied migration's SQL is not what this binary carries.
    #[error(
        "migration {context} {version} was changed after it was applied (its checksum differs); \
         released migrations are never edited: add a new one"
    )]
    Changed {
        /// The context.
        context: String,
        /// The version.
        version: i64,
    },
    /// The database has a migration this binary does not know.
    #[error("the database has migration {context} {version}, which this binary does not carry (a newer allmenning?)")]
    Unknown {
        /// The context.
        context: String,
        /// The version.
        version: i64,
    },
    /// The database was migrated by the old single list, with a version this binary cannot map.
    #[error(
        "the database was migrated by an older allmenning up to migration {0} of its single list, which this binary does not know"
    )]
    UnknownLegacy(i64),
    /// A migration failed; nothing of it was applied.
    #[error("migration {context} {version} ({description}) failed: {message}")]
    Failed {
        /// The context.
        context: &'static str,
        /// The version.
        version: i64,
        /// What it does.
        description: &'static str,
        /// The engine's message.
        message: String,
    },
}

/// The contexts one binary (or test) runs, in floor order, checked to fit together.
#[derive(Debug, Clone)]
pub struct Schema {
    contexts: Vec<&'static Migrations>,
    /// Every municipal table, flattened once: every statement is checked against it.
    municipal: Vec<&'static str>,
}

impl Schema {
    /// The store's tables, then `contexts` in the order given. Refuses a context listed before
    /// one it builds on, a context listed twice, two contexts claiming one table, a municipal
    /// table a context does not own, and versions that are not 1, 2, 3, ….
    pub fn new(contexts: &[&'static Migrations]) -> Result<Schema, SchemaError> {
        let mut all: Vec<&'static Migrations> = vec![&MIGRATIONS];
        for context in contexts {
            if context.context == MIGRATIONS.context {
                continue;
            }
            all.push(context);
        }
        let mut owners: Vec<(&'static str, &'static str)> = Vec::new();
        for (position, set) in all.iter().enumerate() {
            let earlier = &all[..position];
            if earlier.iter().any(|e| e.context == set.context) {
                return Err(SchemaError::ContextTwice(set.context));
            }
            for needed in set.builds_on {
                if !earlier.iter().any(|e| e.context == *needed) {
                    return Err(SchemaError::OutOfOrder { context: set.context, needs: needed });
                }
            }
            for table in set.tables {
                if let Some((_, first)) = owners.iter().find(|(t, _)| t == table) {
                    return Err(SchemaError::TableClaimedTwice { table, first, second: set.context });
                }
                owners.push((table, set.context));
            }
            if let Some(table) = set.municipal_tables.iter().find(|t| !set.tables.contains(t)) {
                return Err(SchemaError::Invalid {
                    context: set.context,
                    problem: format!("the municipal table `{table}` is not among its own tables"),
                });
            }
            for (index, migration) in set.migrations.iter().enumerate() {
                if migration.version != i64::try_from(index).unwrap_or(i64::MAX) + 1 {
                    return Err(SchemaError::Invalid {
                        context: set.context,
                        problem: format!("migration {} should be numbered {}", migration.version, index + 1),
                    });
                }
            }
        }
        Ok(Schema::of(all))
    }

    fn of(contexts: Vec<&'static Migrations>) -> Schema {
        let municipal = contexts.iter().flat_map(|c| c.municipal_tables.iter().copied()).collect();
        Schema { contexts, municipal }
    }

    /// Only the store's own tables: for a connection that runs no context (an admin connection,
    /// the store's own tests).
    pub fn store_only() -> Schema {
        Schema::of(vec![&MIGRATIONS])
    }

    /// The contexts, in the order their migrations run.
    pub fn contexts(&self) -> &[&'static Migrations] {
        &self.contexts
    }

    /// Every municipal table of every context.
    pub fn municipal_tables(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.municipal.iter().copied()
    }

    /// Whether `name` is a municipal table.
    pub fn is_municipal(&self, name: &str) -> bool {
        self.municipal.iter().any(|t| t.len() == name.len() && t.eq_ignore_ascii_case(name))
    }

    /// The context that owns `table`.
    pub fn owner_of(&self, table: &str) -> Option<&'static str> {
        self.contexts.iter().find(|c| c.tables.iter().any(|t| t.eq_ignore_ascii_case(table))).map(|c| c.context)
    }
}

/// How far the database is migrated, compared to what this binary carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// (context, version) of every migration this binary carries, in the order they run.
    pub known: Vec<(String, i64)>,
    /// (context, version) of every migration recorded as applied, ordered the same way where
    /// known.
    pub applied: Vec<(String, i64)>,
}

impl MigrationStatus {
    /// True when every migration this binary knows is applied.
    pub fn is_current(&self) -> bool {
        self.known.iter().all(|v| self.applied.contains(v))
    }
}

#[derive(serde::Deserialize)]
struct Applied {
    context: String,
    version: i64,
    checksum: String,
}

#[derive(serde::Deserialize)]
struct LegacyVersion {
    version: i64,
}

const BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
     context TEXT NOT NULL, version BIGINT NOT NULL, description TEXT NOT NULL, \
     checksum TEXT NOT NULL, applied_at BIGINT NOT NULL, PRIMARY KEY (context, version))";

/// The advisory lock PostgreSQL migrations hold (any constant will do; this one spells
/// "allm" in ASCII).
const MIGRATION_LOCK: i64 = 0x616c_6c6d;

fn checksum(sql: &str) -> String {
    Sha256::digest(sql.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn now_millis() -> i64 {
    kernel::Timestamp::now().millis()
}

/// Up to where [`Db::migrate_until`] goes.
#[derive(Debug, Clone, Copy)]
struct Until<'a> {
    context: &'a str,
    version: i64,
}

impl Db {
    /// Applies every pending migration of the schema this handle was opened with. Safe to run
    /// from several processes at once: an advisory lock on PostgreSQL, the write lock on SQLite.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.apply_migrations(None).await
    }

    /// Applies the migrations of the contexts before `context`, and `context`'s own up to and
    /// including `version`: for tests that check a migration carries existing rows over.
    pub async fn migrate_until(&self, context: &str, version: i64) -> Result<(), StoreError> {
        self.apply_migrations(Some(Until { context, version })).await
    }

    /// The migrations still to run, in order.
    fn pending(
        &self,
        applied: &[Applied],
        until: Option<Until<'_>>,
    ) -> Result<Vec<(&'static Migrations, &'static Migration)>, StoreError> {
        let backend = self.backend();
        for row in applied {
            let known = self
                .schema()
                .contexts()
                .iter()
                .find(|c| c.context == row.context)
                .and_then(|c| c.migrations.iter().find(|m| m.version == row.version));
            match known {
                Some(migration) if checksum(migration.sql(backend)) != row.checksum => {
                    return Err(SchemaError::Changed { context: row.context.clone(), version: row.version }.into());
                }
                Some(_) => {}
                // A context this binary does not run (a test schema on a fuller database) is
                // left alone; a newer version of one it runs is refused.
                None if self.schema().contexts().iter().any(|c| c.context == row.context) => {
                    return Err(SchemaError::Unknown { context: row.context.clone(), version: row.version }.into());
                }
                None => {}
            }
        }
        let mut pending = Vec::new();
        for set in self.schema().contexts() {
            for migration in set.migrations {
                if let Some(until) = until
                    && until.context == set.context
                    && migration.version > until.version
                {
                    return Ok(pending);
                }
                if !applied.iter().any(|a| a.context == set.context && a.version == migration.version) {
                    pending.push((*set, migration));
                }
            }
        }
        Ok(pending)
    }

    /// The migrations recorded for a database migrated by the old single list, by its versions.
    fn adopted(&self, legacy: &[i64]) -> Result<Vec<(&'static Migrations, &'static Migration)>, StoreError> {
        let mut adopted = Vec::new();
        for version in legacy {
            let matching: Vec<_> = self
                .schema()
                .contexts()
                .iter()
                .flat_map(|set| set.migrations.iter().map(move |m| (*set, m)))
                .filter(|(_, m)| m.legacy_version == Some(*version))
                .collect();
            if matching.is_empty() {
                return Err(SchemaError::UnknownLegacy(*version).into());
            }
            adopted.extend(matching);
        }
        Ok(adopted)
    }

    async fn apply_migrations(&self, until: Option<Until<'_>>) -> Result<(), StoreError> {
        match &self.pools {
            Pools::Sqlite(engine) => {
                let guard = engine.exclusive().await?;
                let conn = guard.conn();
                // Another process (`allmenning migrate` beside a server) may hold the lock.
                conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(sqlite_error)?;
                let result = self.migrate_sqlite(conn, until);
                conn.busy_timeout(std::time::Duration::ZERO).map_err(sqlite_error)?;
                result
            }
            Pools::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                sqlx::query("SELECT pg_advisory_lock($1)").bind(MIGRATION_LOCK).execute(&mut *conn).await?;
                let result = self.migrate_postgres(&mut conn, until).await;
                let unlocked =
                    sqlx::query("SELECT pg_advisory_unlock($1)").bind(MIGRATION_LOCK).execute(&mut *conn).await;
                if unlocked.is_err() {
                    // Never hand a connection that may still hold the lock back to the pool.
                    conn.detach();
                }
                result
            }
        }
    }

    fn migrate_sqlite(&self, conn: &rusqlite::Connection, until: Option<Until<'_>>) -> Result<(), StoreError> {
        use crate::sqlite::{execute, query};
        conn.execute_batch(BOOKKEEPING).map_err(sqlite_error)?;
        let legacy_table = !query::<(String,)>(
            conn,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            None,
            &[],
            1,
        )?
        .is_empty();
        if legacy_table {
            conn.execute_batch("BEGIN IMMEDIATE").map_err(sqlite_error)?;
            let result = (|| {
                let legacy: Vec<LegacyVersion> = query(
                    conn,
                    "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
                    None,
                    &[],
                    usize::MAX,
                )?;
                let versions: Vec<i64> = legacy.into_iter().map(|l| l.version).collect();
                for (set, migration) in self.adopted(&versions)? {
                    execute(conn, RECORD, None, &record_params(set, migration, Backend::Sqlite))?;
                }
                conn.execute_batch("DROP TABLE _sqlx_migrations").map_err(sqlite_error)
            })();
            finish_sqlite(conn, result)?;
        }
        loop {
            conn.execute_batch("BEGIN IMMEDIATE").map_err(sqlite_error)?;
            let step = (|| {
                let applied: Vec<Applied> =
                    query(conn, "SELECT context, version, checksum FROM schema_migrations", None, &[], usize::MAX)?;
                let Some((set, migration)) = self.pending(&applied, until)?.into_iter().next() else {
                    return Ok(false);
                };
                conn.execute_batch(migration.sqlite).map_err(|e| SchemaError::Failed {
                    context: set.context,
                    version: migration.version,
                    description: migration.description,
                    message: e.to_string(),
                })?;
                execute(conn, RECORD, None, &record_params(set, migration, Backend::Sqlite))?;
                Ok(true)
            })();
            if !finish_sqlite(conn, step)? {
                return Ok(());
            }
        }
    }

    async fn migrate_postgres(
        &self,
        conn: &mut sqlx::PgConnection,
        until: Option<Until<'_>>,
    ) -> Result<(), StoreError> {
        use sqlx::Connection as _;
        sqlx::raw_sql(BOOKKEEPING).execute(&mut *conn).await?;
        let legacy_table: Option<(String,)> = sqlx::query_as(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
        )
        .fetch_optional(&mut *conn)
        .await?;
        if legacy_table.is_some() {
            let mut tx = conn.begin().await?;
            let versions: Vec<(i64,)> =
                sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                    .fetch_all(&mut *tx)
                    .await?;
            let versions: Vec<i64> = versions.into_iter().map(|v| v.0).collect();
            for (set, migration) in self.adopted(&versions)? {
                record_postgres(&mut tx, set, migration).await?;
            }
            sqlx::raw_sql("DROP TABLE _sqlx_migrations").execute(&mut *tx).await?;
            tx.commit().await?;
        }
        let applied: Vec<(String, i64, String)> =
            sqlx::query_as("SELECT context, version, checksum FROM schema_migrations").fetch_all(&mut *conn).await?;
        let applied: Vec<Applied> =
            applied.into_iter().map(|(context, version, checksum)| Applied { context, version, checksum }).collect();
        for (set, migration) in self.pending(&applied, until)? {
            let mut tx = conn.begin().await?;
            sqlx::raw_sql(migration.postgres).execute(&mut *tx).await.map_err(|e| SchemaError::Failed {
                context: set.context,
                version: migration.version,
                description: migration.description,
                message: e.to_string(),
            })?;
            record_postgres(&mut tx, set, migration).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Which migrations are applied. A database never migrated has none.
    pub async fn migration_status(&self) -> Result<MigrationStatus, StoreError> {
        let known: Vec<(String, i64)> = self
            .schema()
            .contexts()
            .iter()
            .flat_map(|set| set.migrations.iter().map(|m| (set.context.to_owned(), m.version)))
            .collect();
        if !self.table_exists("schema_migrations").await? {
            return Ok(MigrationStatus { known, applied: Vec::new() });
        }
        let rows: Vec<Applied> =
            self.fetch_all("SELECT context, version, checksum FROM schema_migrations", &[]).await?;
        let mut applied: Vec<(String, i64)> = rows.into_iter().map(|r| (r.context, r.version)).collect();
        applied.sort_by_key(|a| (known.iter().position(|k| k == a).unwrap_or(usize::MAX), a.clone()));
        Ok(MigrationStatus { known, applied })
    }

    /// Whether the database has a table of this name.
    pub async fn table_exists(&self, name: &str) -> Result<bool, StoreError> {
        let sql = match self.backend() {
            Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name = $1",
            Backend::Postgres => {
                "SELECT table_name::text AS name FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = $1"
            }
        };
        Ok(self.fetch_optional::<(String,)>(sql, &params![name]).await?.is_some())
    }

    /// Every table in the database, sorted, for the check that each is owned by one context.
    pub async fn tables(&self) -> Result<Vec<String>, StoreError> {
        let sql = match self.backend() {
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            }
            Backend::Postgres => {
                "SELECT table_name::text AS name FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
            }
        };
        Ok(self.fetch_all::<(String,)>(sql, &[]).await?.into_iter().map(|(name,)| name).collect())
    }

    /// Every table that has a `kommunenummer` column, for the check that the municipal table
    /// list matches the schema.
    pub async fn kommunenummer_columns(&self) -> Result<Vec<KommunenummerColumn>, StoreError> {
        let sql = match self.backend() {
            Backend::Sqlite => {
                "SELECT m.name AS table_name, p.\"notnull\" = 1 AS not_null \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND p.name = 'kommunenummer' ORDER BY m.name"
            }
            Backend::Postgres => {
                "SELECT table_name::text AS table_name, is_nullable = 'NO' AS not_null \
                 FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND column_name = 'kommunenummer' ORDER BY table_name"
            }
        };
        self.fetch_all(sql, &[]).await
    }
}

const RECORD: &str = "INSERT INTO schema_migrations (context, version, description, checksum, applied_at) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (context, version) DO NOTHING";

fn record_params(set: &Migrations, migration: &Migration, backend: Backend) -> [crate::Param; 5] {
    params![set.context, migration.version, migration.description, checksum(migration.sql(backend)), now_millis()]
}

async fn record_postgres(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    set: &Migrations,
    migration: &Migration,
) -> Result<(), StoreError> {
    sqlx::query(RECORD)
        .bind(set.context)
        .bind(migration.version)
        .bind(migration.description)
        .bind(checksum(migration.postgres))
        .bind(now_millis())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Commits after a step that worked, rolls back after one that failed.
fn finish_sqlite<T>(conn: &rusqlite::Connection, result: Result<T, StoreError>) -> Result<T, StoreError> {
    match result {
        Ok(value) => {
            conn.execute_batch("COMMIT").map_err(sqlite_error)?;
            Ok(value)
        }
        Err(error) => {
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            Err(error)
        }
    }
}

/// A table with a `kommunenummer` column, and whether that column is `NOT NULL`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct KommunenummerColumn {
    /// The table.
    pub table_name: String,
    /// True when the column may not be NULL.
    pub not_null: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    static BELOW: Migrations =
        Migrations { context: "below", builds_on: &[], tables: &["a"], municipal_tables: &["a"], migrations: &[] };
    static ABOVE: Migrations =
        Migrations { context: "above", builds_on: &["below"], tables: &["b"], municipal_tables: &[], migrations: &[] };
    static GREEDY: Migrations =
        Migrations { context: "greedy", builds_on: &[], tables: &["c", "a"], municipal_tables: &[], migrations: &[] };
    static STRAY: Migrations =
        Migrations { context: "stray", builds_on: &[], tables: &["d"], municipal_tables: &["e"], migrations: &[] };
    static GAPPY: Migrations = Migrations {
        context: "gappy",
        builds_on: &[],
        tables: &[],
        municipal_tables: &[],
        migrations: &[Migration { version: 2, description: "x", sqlite: "", postgres: "", legacy_version: None }],
    };

    #[test]
    fn contexts_in_floor_order_fit_together() {
        let schema = Schema::new(&[&BELOW, &ABOVE]).expect("fits");
        let names: Vec<_> = schema.contexts().iter().map(|c| c.context).collect();
        assert_eq!(names, ["store", "below", "above"]);
        assert!(schema.is_municipal("A"));
        assert_eq!(schema.owner_of("b"), Some("above"));
        assert_eq!(schema.owner_of("jobs"), Some("store"));
    }

    #[test]
    fn out_of_order_and_doubly_claimed_tables_name_both_parties() {
        let error = Schema::new(&[&ABOVE, &BELOW]).expect_err("out of order");
        assert!(matches!(error, SchemaError::OutOfOrder { context: "above", needs: "below" }), "{error}");
        assert!(error.to_string().contains("`above`") && error.to_string().contains("`below`"));
        let error = Schema::new(&[&BELOW, &GREEDY]).expect_err("claimed twice");
        assert!(
            matches!(error, SchemaError::TableClaimedTwice { table: "a", first: "below", second: "greedy" }),
            "{error}"
        );
        assert!(matches!(Schema::new(&[&BELOW, &BELOW]), Err(SchemaError::ContextTwice("below"))));
        assert!(matches!(Schema::new(&[&STRAY]), Err(SchemaError::Invalid { context: "stray", .. })));
        assert!(matches!(Schema::new(&[&GAPPY]), Err(SchemaError::Invalid { context: "gappy", .. })));
    }
}
