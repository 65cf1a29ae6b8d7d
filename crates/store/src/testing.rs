//! Fresh databases for tests: a SQLite file in a temporary directory by default, or a new
//! PostgreSQL database when `ALLMENNING_TEST_POSTGRES_URL` names a server (an admin URL such
//! as `postgres://postgres@127.0.0.1:55432/postgres`). Every test gets its own database, so
//! tests run in parallel without seeing each other's rows.

use std::path::PathBuf;

use crate::{Backend, Db, Schema, StoreError};

/// The environment variable that points the tests at a PostgreSQL server.
pub const POSTGRES_ENV: &str = "ALLMENNING_TEST_POSTGRES_URL";

/// A database that exists for one test. The SQLite directory is removed on drop; PostgreSQL
/// test databases live in the throwaway cluster the test script deletes.
#[derive(Debug)]
pub struct TestDatabase {
    /// The URL to connect to.
    pub url: String,
    /// The temporary directory (SQLite only).
    pub dir: Option<PathBuf>,
}

impl TestDatabase {
    /// Creates an empty database on the backend the environment chooses.
    pub async fn create() -> Result<TestDatabase, StoreError> {
        let name = format!("allmenning_test_{}", uuid::Uuid::now_v7().simple());
        match std::env::var(POSTGRES_ENV) {
            Ok(admin_url) if !admin_url.is_empty() => {
                let admin = Db::connect(&admin_url, Schema::store_only()).await?;
                admin.execute(&format!("CREATE DATABASE {name}"), &[]).await?;
                admin.close().await;
                let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
                Ok(TestDatabase { url: format!("{base}/{name}"), dir: None })
            }
            _ => {
                let dir = std::env::temp_dir().join(name);
                std::fs::create_dir_all(&dir).map_err(|e| StoreError::Connect(e.to_string()))?;
                Ok(TestDatabase { url: format!("sqlite://{}", dir.join("test.db").display()), dir: Some(dir) })
            }
        }
    }

    /// Creates a database, connects with `schema` and migrates it.
    pub async fn migrated(schema: Schema) -> Result<(TestDatabase, Db), StoreError> {
        let database = Self::create().await?;
        let db = Db::connect(&database.url, schema).await?;
        db.migrate().await?;
        Ok((database, db))
    }

    /// The backend the environment chooses.
    pub fn backend() -> Backend {
        match std::env::var(POSTGRES_ENV) {
            Ok(url) if !url.is_empty() => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
