//! Notices and feedback on both engines (PostgreSQL when `ALLMENNING_TEST_POSTGRES_URL` is set).

use std::time::Duration;

use content::{Feedback, FeedbackError, FeedbackField, FeedbackRule};
use kernel::{Kommunenummer, Language};
use store::testing::TestDatabase;
use store::{Db, Position, Schema, StoreError};

fn k(number: &str) -> Kommunenummer {
    Kommunenummer::parse(number).expect("valid kommunenummer")
}

async fn database() -> (TestDatabase, Db) {
    TestDatabase::migrated(Schema::new(&[&content::MIGRATIONS]).expect("schema")).await.expect("database")
}

#[tokio::test]
async fn one_municipality_never_sees_another_municipalitys_notices_or_feedback() {
    let (_guard, db) = database().await;
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
    // The tables are municipal: a national query is refused.
    assert!(matches!(db.execute("DELETE FROM notices", &[]).await, Err(StoreError::Unscoped(_))));
}

#[tokio::test]
async fn feedback_its_job_and_its_event_commit_together_and_carry_no_content() {
    let (_guard, db) = database().await;
    let bergen = k("4601");
    let feedback = Feedback::parse(Some("Skjemaet mangler etiketter"), None, None, Language::Bokmal).expect("valid");
    let id = content::record_feedback(&db, bergen, &feedback).await.expect("record");

    let counts = db.job_counts_of(content::FEEDBACK_NOTIFY_JOB).await.expect("counts");
    assert_eq!(counts.queued, 1);
    let events = db.committed_events_after(Position::START, Duration::from_secs(10)).await.expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event.event_type, "no.allmenning.feedback.received");
    assert_eq!(events[0].event.subject.as_deref(), Some(id.to_string().as_str()));
    assert_eq!(events[0].event.kommunenummer.as_deref(), Some("4601"));
    assert!(!serde_json::to_string(&events[0].event).expect("json").contains("etiketter"));

    let mut handlers = store::jobs::Handlers::new();
    content::register_jobs(&mut handlers);
    let report = store::jobs::Worker::new(db.clone(), handlers, Default::default()).drain().await.expect("drain");
    assert_eq!(report.completed, 1);
}

#[test]
fn every_broken_rule_is_reported_in_the_contexts_own_terms() {
    let errors = Feedback::parse(Some(" "), Some(&"x".repeat(501)), Some("nei"), Language::English).expect_err("bad");
    assert_eq!(
        errors,
        [
            FeedbackError { field: FeedbackField::Message, rule: FeedbackRule::Required },
            FeedbackError { field: FeedbackField::Page, rule: FeedbackRule::TooLong },
            FeedbackError { field: FeedbackField::ContactEmail, rule: FeedbackRule::InvalidEmail },
        ]
    );
    assert_eq!(
        errors.iter().map(|e| (e.field.name(), e.rule.code())).collect::<Vec<_>>(),
        [("message", "required"), ("page", "too_long"), ("contact_email", "invalid_email")]
    );
}
