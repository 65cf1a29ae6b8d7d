//! The store's integration tests. They run on SQLite by default and on PostgreSQL when
//! `ALLMENNING_TEST_POSTGRES_URL` is set; the test script runs them both ways.

mod blobs;
mod jobs;
mod scoping;
