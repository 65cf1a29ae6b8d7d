//! The identity crate's integration tests, one binary, each test on its own database (SQLite,
//! or PostgreSQL when `ALLMENNING_TEST_POSTGRES_URL` is set).

mod authorization;
mod maskinporten;
mod oidc;
mod sessions;

/// The contexts identity runs on, in floor order.
pub fn schema() -> store::Schema {
    store::Schema::new(&[&audit::MIGRATIONS, &registers::MIGRATIONS, &identity::MIGRATIONS]).expect("schema")
}
