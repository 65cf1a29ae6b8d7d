//! Migrations, embedded in the binary, one list per backend. Released migrations are never
//! edited: the checksum sqlx keeps refuses a changed file.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::{Backend, Db, StoreError};

/// (version, description, SQL) for SQLite.
const SQLITE: &[(i64, &str, &str)] = &[
    (1, "foundation", include_str!("../migrations/sqlite/0001_foundation.sql")),
    (2, "registers", include_str!("../migrations/sqlite/0002_registers.sql")),
    (3, "person rows", include_str!("../migrations/sqlite/0003_person_rows.sql")),
    (4, "audit", include_str!("../migrations/sqlite/0004_audit.sql")),
    (5, "identity", include_str!("../migrations/sqlite/0005_identity.sql")),
    (6, "deployment", include_str!("../migrations/sqlite/0006_deployment.sql")),
];

/// (version, description, SQL) for PostgreSQL; the same versions as SQLite.
const POSTGRES: &[(i64, &str, &str)] = &[
    (1, "foundation", include_str!("../migrations/postgres/0001_foundation.sql")),
    (2, "registers", include_str!("../migrations/postgres/0002_registers.sql")),
    (3, "person rows", include_str!("../migrations/postgres/0003_person_rows.sql")),
    (4, "audit", include_str!("../migrations/postgres/0004_audit.sql")),
    (5, "identity", include_str!("../migrations/postgres/0005_identity.sql")),
    (6, "deployment", include_str!("../migrations/postgres/0006_deployment.sql")),
];

fn migrator(backend: Backend) -> Migrator {
    migrator_up_to(backend, i64::MAX)
}

fn migrator_up_to(backend: Backend, last: i64) -> Migrator {
    let list = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    let migrations: Vec<Migration> = list
        .iter()
        .filter(|(version, _, _)| *version <= last)
        .map(|(version, description, sql)| {
            Migration::new(*version, Cow::Borrowed(*description), MigrationType::Simple, Cow::Borrowed(*sql), false)
        })
        .collect();
    Migrator { migrations: Cow::Owned(migrations), ignore_missing: false, locking: true, no_tx: false }
}

/// How far the database is migrated, compared to what this binary carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Versions this binary carries.
    pub known: Vec<i64>,
    /// Versions recorded as applied successfully in the database.
    pub applied: Vec<i64>,
}

impl MigrationStatus {
    /// True when every migration this binary knows is applied.
    pub fn is_current(&self) -> bool {
        self.known.iter().all(|v| self.applied.contains(v))
    }
}

#[derive(sqlx::FromRow)]
struct AppliedVersion {
    version: i64,
}

impl Db {
    /// Applies every pending migration. Safe to run from several processes at once: sqlx takes
    /// an advisory lock on PostgreSQL, and SQLite serialises writers.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = migrator(self.backend());
        if let Some(pool) = self.sqlite_pool() {
            migrator.run(pool).await?;
        } else if let Some(pool) = self.postgres_pool() {
            migrator.run(pool).await?;
        }
        Ok(())
    }

    /// Applies pending migrations up to and including `last`; for tests that check a
    /// migration carries existing rows over.
    pub async fn migrate_up_to(&self, last: i64) -> Result<(), StoreError> {
        let migrator = migrator_up_to(self.backend(), last);
        if let Some(pool) = self.sqlite_pool() {
            migrator.run(pool).await?;
        } else if let Some(pool) = self.postgres_pool() {
            migrator.run(pool).await?;
        }
        Ok(())
    }

    /// Which migrations are applied. A database never migrated has none.
    pub async fn migration_status(&self) -> Result<MigrationStatus, StoreError> {
        let known = migrator(self.backend()).migrations.iter().map(|m| m.version).collect();
        let applied = match self
            .fetch_all::<AppliedVersion>("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version", &[])
            .await
        {
            Ok(rows) => rows.into_iter().map(|r| r.version).collect(),
            // The bookkeeping table does not exist before the first migration.
            Err(StoreError::Database(_)) => Vec::new(),
            Err(other) => return Err(other),
        };
        Ok(MigrationStatus { known, applied })
    }
}

/// A table with a `kommunenummer` column, and whether that column is `NOT NULL`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KommunenummerColumn {
    /// The table.
    pub table_name: String,
    /// True when the column may not be NULL.
    pub not_null: bool,
}

impl Db {
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
