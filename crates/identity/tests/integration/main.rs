//! The identity crate's integration tests, one binary, each test on its own database (SQLite,
//! or PostgreSQL when `ALLMENNING_TEST_POSTGRES_URL` is set).

mod authorization;
mod maskinporten;
mod oidc;
mod sessions;
