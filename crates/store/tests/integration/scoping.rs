use kernel::{CloudEvent, Kommunenummer, Language};
use store::content::{self, Feedback};
use store::testing::TestDatabase;
use store::{MUNICIPAL_TABLES, StoreError, params};

fn k(number: &str) -> Kommunenummer {
    Kommunenummer::parse(number).expect("valid kommunenummer")
}

#[tokio::test]
async fn migrations_apply_once_and_are_reported_current() {
    let (_guard, db) = TestDatabase::migrated().await.expect("database");
    assert_eq!(db.backend(), TestDatabase::backend());
    // A second run is a no-op, not an error.
    db.migrate().await.expect("migrate again");
    let status = db.migration_status().await.expect("status");
    assert!(status.is_current(), "{status:?}");
    assert_eq!(status.applied, status.known);
}

#[tokio::test]
async fn a_fresh_database_is_not_current() {
    let guard = TestDatabase::create().await.expect("database");
    let db = store::Db::connect(&guard.url, 2).await.expect("connect");
    let status = db.migration_status().await.expect("status");
    assert!(!status.is_current());
    assert!(status.applied.is_empty());
}

#[tokio::test]
async fn the_municipal_table_list_matches_the_schema() {
    let (_guard, db) = TestDatabase::migrated().await.expect("database");
    let columns = db.kommunenummer_columns().await.expect("columns");
    let mut not_null: Vec<&str> = columns.iter().filter(|c| c.not_null).map(|c| c.table_name.as_str()).collect();
    not_null.sort_unstable();
    let mut listed: Vec<&str> = MUNICIPAL_TABLES.to_vec();
    listed.sort_unstable();
    assert_eq!(not_null, listed, "a table with kommunenummer NOT NULL must be in MUNICIPAL_TABLES and vice versa");
    // Infrastructure tables carry an optional kommunenummer.
    assert!(columns.iter().any(|c| c.table_name == "jobs" && !c.not_null));
}

#[tokio::test]
async fn unscoped_queries_on_municipal_tables_are_refused_and_change_nothing() {
    let (_guard, db) = TestDatabase::migrated().await.expect("database");
    let bergen = k("4601");
    content::publish_notice(db.municipal(bergen), Language::Bokmal, "Tittel", "Tekst").await.expect("publish");

    let national = db.execute("DELETE FROM notices", &[]).await;
    assert!(matches!(national, Err(StoreError::Unscoped(_))), "{national:?}");

    let unfiltered = db.municipal(bergen).execute("DELETE FROM notices WHERE id <> $2", &params!["x"]).await;
    assert!(matches!(unfiltered, Err(StoreError::Unscoped(_))), "{unfiltered:?}");

    let mut tx = db.begin().await.expect("begin");
    let in_tx = tx.execute("UPDATE feedback SET message = 'x'", &[]).await;
    assert!(matches!(in_tx, Err(StoreError::Unscoped(_))));
    tx.rollback().await.expect("rollback");

    assert_eq!(content::notices(db.municipal(bergen), 10).await.expect("list").len(), 1);
}

#[tokio::test]
async fn one_municipality_never_sees_another_municipalitys_records() {
    let (_guard, db) = TestDatabase::migrated().await.expect("database");
    let (bergen, stavanger) = (k("4601"), k("1103"));
    content::publish_notice(db.municipal(bergen), Language::Bokmal, "Bergen", "b").await.expect("publish");
    content::publish_notice(db.municipal(stavanger), Language::Nynorsk, "Stavanger", "s").await.expect("publish");
    let feedback = Feedback::parse(Some("Lav kontrast"), None, None, Language::Bokmal).expect("valid");
    content::record_feedback(&db, bergen, &feedback).await.expect("feedback");

    let seen_by_bergen = content::notices(db.municipal(bergen), 10).await.expect("list");
    let seen_by_stavanger = content::notices(db.municipal(stavanger), 10).await.expect("list");
    assert_eq!(seen_by_bergen.iter().map(|n| n.title.as_str()).collect::<Vec<_>>(), ["Bergen"]);
    assert_eq!(seen_by_stavanger.iter().map(|n| n.title.as_str()).collect::<Vec<_>>(), ["Stavanger"]);
    assert_eq!(seen_by_stavanger[0].language, Language::Nynorsk);
    assert_eq!(content::feedback_count(db.municipal(bergen)).await.expect("count"), 1);
    assert_eq!(content::feedback_count(db.municipal(stavanger)).await.expect("count"), 0);
}

#[tokio::test]
async fn feedback_job_and_event_commit_together_with_the_record() {
    let (_guard, db) = TestDatabase::migrated().await.expect("database");
    let bergen = k("4601");
    let feedback = Feedback::parse(Some("Skjemaet mangler etiketter"), None, None, Language::Bokmal).expect("valid");
    let id = content::record_feedback(&db, bergen, &feedback).await.expect("record");

    let counts = db.job_counts().await.expect("counts");
    assert_eq!(counts.queued, 1);
    let events = db.events_after(0, 10).await.expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event.event_type, "no.allmenning.feedback.received");
    assert_eq!(events[0].event.subject.as_deref(), Some(id.to_string().as_str()));
    assert_eq!(events[0].event.kommunenummer.as_deref(), Some("4601"));
    // The event carries ids, never the message.
    assert!(!serde_json::to_string(&events[0].event).expect("json").contains("etiketter"));
}

#[tokio::test]
async fn events_replay_in_order_from_any_sequence_number_and_rollback_leaves_none() {
    let (_guard, db) = TestDatabase::migrated().await.expect("database");
    let mut sequence = Vec::new();
    for n in 0..5 {
        let mut tx = db.begin().await.expect("begin");
        let event =
            CloudEvent::new("/test", "no.allmenning.test", None, Some(n.to_string()), serde_json::json!({ "n": n }));
        sequence.push(tx.publish(&event).await.expect("publish"));
        tx.commit().await.expect("commit");
    }
    let mut rolled_back = db.begin().await.expect("begin");
    rolled_back
        .publish(&CloudEvent::new("/test", "no.allmenning.lost", None, None, serde_json::json!({})))
        .await
        .expect("publish");
    rolled_back.rollback().await.expect("rollback");

    assert!(sequence.windows(2).all(|w| w[0] < w[1]), "{sequence:?}");
    let all = db.events_after(0, 100).await.expect("all");
    assert_eq!(all.len(), 5);
    let tail = db.events_after(sequence[2], 100).await.expect("tail");
    assert_eq!(tail.iter().map(|e| e.event.data["n"].as_i64().unwrap_or(-1)).collect::<Vec<_>>(), [3, 4]);
    let page = db.events_after(0, 2).await.expect("page");
    assert_eq!(page.len(), 2);
}
