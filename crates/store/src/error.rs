use kernel::ErrorKind;

use crate::schema::SchemaError;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names a scheme we do not speak.
    #[error("unsupported database URL scheme {0:?}: use sqlite:// or postgres://")]
    UnknownScheme(String),
    /// The database could not be reached or opened.
    #[error("could not connect to the database: {0}")]
    Connect(String),
    /// The contexts' migrations do not fit together, or applying them failed.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// A query touched a municipal table without being scoped to a municipality.
    #[error("query is not scoped to a municipality: {0}")]
    Unscoped(String),
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// The write conflicts with an existing row.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A worker's claim on a job is no longer its own (its lease ran out and the job was claimed
    /// again), so its result was refused.
    #[error("stale claim: {0}")]
    StaleClaim(String),
    /// Another process held the database's write lock for too long.
    #[error("the database is busy: {0}")]
    Busy(String),
    /// Any other database error, with the engine's message.
    #[error("database error: {0}")]
    Database(String),
    /// A stored value could not be (de)serialised, or a statement was malformed.
    #[error("stored value is malformed: {0}")]
    Malformed(String),
    /// The blob store failed.
    #[error("blob store error: {0}")]
    Blob(String),
}

impl StoreError {
    /// The shared error kind, for mapping to a response.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::NotFound => ErrorKind::NotFound,
            StoreError::Conflict(_) | StoreError::StaleClaim(_) => ErrorKind::Conflict,
            _ => ErrorKind::Other,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(db.message().to_owned()),
            _ => StoreError::Database(error.to_string()),
        }
    }
}
