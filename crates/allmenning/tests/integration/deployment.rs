//! A database serves only the mode it was first started in: a demo never runs on a production
//! database (its test login lets anyone be anyone), and production never serves the demo's
//! synthetic people.

use allmenning::Application;
use allmenning::config::Mode;
use store::Db;

use crate::helpers::test_settings;

async fn count(db: &Db, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) AS n FROM {table}");
    db.fetch_optional::<(i64,)>(&sql, &[]).await.expect("count").map(|(n,)| n).expect("a number")
}

#[tokio::test]
async fn a_demo_refuses_a_production_database_and_writes_nothing_to_it() {
    let mut settings = test_settings(Mode::Production).await;
    let production = Application::build(&settings.settings).await.expect("production starts");
    let db = production.db().clone();
    let (persons, keys) = (count(&db, "persons").await, count(&db, "platform_keys").await);
    assert_eq!(persons, 0, "production seeds no people");

    settings.settings.mode = Mode::Demo;
    let Err(refused) = Application::build(&settings.settings).await else { panic!("the demo must be refused") };
    let message = format!("{refused:#}");
    assert!(message.contains("set up for production") && message.contains("--data-dir"), "{message}");
    assert_eq!(count(&db, "persons").await, persons, "no synthetic people");
    assert_eq!(count(&db, "platform_keys").await, keys, "no test provider key");

    // The same mode again starts as before.
    settings.settings.mode = Mode::Production;
    Application::build(&settings.settings).await.expect("production starts again");
}

#[tokio::test]
async fn production_refuses_a_demo_database() {
    let mut settings = test_settings(Mode::Demo).await;
    let demo = Application::build(&settings.settings).await.expect("the demo starts");
    assert!(count(demo.db(), "persons").await > 0, "the demo has its synthetic people");

    settings.settings.mode = Mode::Production;
    let Err(refused) = Application::build(&settings.settings).await else { panic!("production must be refused") };
    let message = format!("{refused:#}");
    assert!(message.contains("the demo's synthetic people") && message.contains("database.url"), "{message}");

    settings.settings.mode = Mode::Demo;
    Application::build(&settings.settings).await.expect("the demo starts again");
}
