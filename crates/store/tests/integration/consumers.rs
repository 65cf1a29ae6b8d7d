use std::sync::{Arc, Mutex};
use std::time::Duration;

use kernel::{CloudEvent, Timestamp};
use store::consumers::{
    self, Consumer, ConsumerConfig, ConsumerDrainError, ConsumerFuture, Consumers, StartAt, purge_consumed_events,
};
use store::testing::TestDatabase;
use store::{Backend, Db, StoredEvent, Tx, params};

fn event(kind: &str, n: i64) -> CloudEvent {
    CloudEvent::new("/test", kind, None, Some(n.to_string()), serde_json::json!({ "n": n }))
}

async fn publish(db: &Db, kind: &str, n: i64) {
    let mut tx = db.begin().await.expect("begin");
    tx.publish(&event(kind, n)).await.expect("publish");
    tx.commit().await.expect("commit");
}

/// How long a test waits for PostgreSQL's feed to pass transactions of other tests running in
/// the same cluster.
const PATIENCE: Duration = Duration::from_secs(10);

fn quick() -> ConsumerConfig {
    ConsumerConfig {
        poll_interval: Duration::from_millis(5),
        base_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
        max_attempts: 3,
        ..ConsumerConfig::default()
    }
}

/// Counts each event it handles in `tally`, in the handler's transaction: a second handling of
/// the same event would be a duplicate key, and a rolled-back one leaves no row.
struct Counter {
    name: &'static str,
    seen: Arc<Mutex<Vec<i64>>>,
    fail_on: Option<i64>,
    only: Option<&'static str>,
}

impl Counter {
    fn new(name: &'static str) -> (Self, Arc<Mutex<Vec<i64>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        (Self { name, seen: seen.clone(), fail_on: None, only: None }, seen)
    }
}

impl Consumer for Counter {
    fn name(&self) -> &'static str {
        self.name
    }

    fn wants(&self, event: &StoredEvent) -> bool {
        self.only.is_none_or(|kind| event.event.event_type == kind)
    }

    fn handle<'a>(&'a self, tx: &'a mut Tx, event: &'a StoredEvent) -> ConsumerFuture<'a> {
        Box::pin(async move {
            let n = event.event.data["n"].as_i64().ok_or("no n")?;
            tx.execute("INSERT INTO tally (name, n) VALUES ($1, $2)", &params![format!("{}:{n}", self.name), n])
                .await
                .map_err(|e| e.to_string())?;
            if self.fail_on == Some(n) {
                return Err(format!("cannot take {n}"));
            }
            if n == 666 {
                panic!("the devil's own event");
            }
            self.seen.lock().map_err(|_| "poisoned")?.push(n);
            Ok(())
        })
    }
}

async fn tally(db: &Db, consumer: &str) -> Vec<i64> {
    let mut rows: Vec<(i64,)> = db
        .fetch_all("SELECT n FROM tally WHERE name LIKE $1 ORDER BY n", &params![format!("{consumer}:%")])
        .await
        .expect("tally");
    rows.sort_unstable();
    rows.into_iter().map(|(n,)| n).collect()
}

#[tokio::test]
async fn a_consumer_handles_every_event_once_in_order_and_resumes_where_it_stopped() {
    let (_guard, db) = crate::database().await;
    for n in 0..5 {
        publish(&db, "no.allmenning.test", n).await;
    }
    let (counter, seen) = Counter::new("counter");
    let mut runner = Consumers::new(db.clone(), quick());
    runner.add(counter);
    runner.register().await.expect("register");
    let report = runner.drain().await.expect("drain");
    assert_eq!(report.handled, 5);
    assert_eq!(*seen.lock().expect("lock"), [0, 1, 2, 3, 4]);

    // A new process with the same consumer starts at the stored position.
    for n in 5..7 {
        publish(&db, "no.allmenning.test", n).await;
    }
    let (counter, seen_again) = Counter::new("counter");
    let mut restarted = Consumers::new(db.clone(), quick());
    restarted.add(counter);
    restarted.drain().await.expect("drain");
    assert_eq!(*seen_again.lock().expect("lock"), [5, 6]);
    assert_eq!(tally(&db, "counter").await, [0, 1, 2, 3, 4, 5, 6]);
    let state = consumers::states(&db).await.expect("states").remove(0);
    assert_eq!((state.handled, state.is_parked()), (7, false));
}

/// The test: two transactions publish in one order and commit in the other, with the
/// consumer running between the commits. No event is skipped and none handled twice.
#[tokio::test]
async fn a_consumer_running_between_two_commits_in_reverse_order_skips_nothing() {
    if TestDatabase::backend() != Backend::Postgres {
        // SQLite has one writer: the second transaction cannot begin before the first ends
        // (shown in `events::a_reader_between_two_commits_in_reverse_order_skips_nothing`).
        return;
    }
    let (_guard, db) = crate::database().await;
    let (counter, seen) = Counter::new("between");
    let mut runner = Consumers::new(db.clone(), quick());
    runner.add(counter);
    runner.register().await.expect("register");

    let mut earlier = db.begin().await.expect("begin");
    earlier.publish(&event("no.allmenning.test", 1)).await.expect("publish 1");
    let mut later = db.begin().await.expect("begin");
    later.publish(&event("no.allmenning.test", 2)).await.expect("publish 2");
    later.commit().await.expect("commit 2");

    let between = runner.run_until_idle().await.expect("run between the commits");
    assert_eq!(between.handled, 0);
    earlier.commit().await.expect("commit 1");

    runner.drain().await.expect("drain");
    runner.drain().await.expect("drain again");
    assert_eq!(*seen.lock().expect("lock"), [1, 2]);
    assert_eq!(tally(&db, "between").await, [1, 2]);
}

#[tokio::test]
async fn a_failing_consumer_is_retried_then_parked_without_holding_up_another() {
    let (_guard, db) = crate::database().await;
    for n in 0..4 {
        publish(&db, "no.allmenning.test", n).await;
    }
    let (mut failing, failing_seen) = Counter::new("failing");
    failing.fail_on = Some(2);
    let (healthy, healthy_seen) = Counter::new("healthy");
    let mut runner = Consumers::new(db.clone(), quick());
    runner.add(failing).add(healthy);
    runner.register().await.expect("register");
    db.feed_caught_up(PATIENCE).await.expect("the feed hands out what was published");

    let report = runner.run_until_idle().await.expect("run");
    assert_eq!(report.failed_attempts, 3);
    assert_eq!(report.parked, 1);
    assert_eq!(*healthy_seen.lock().expect("lock"), [0, 1, 2, 3], "the healthy one went on");
    assert_eq!(*failing_seen.lock().expect("lock"), [0, 1]);
    // The failed attempts' writes were rolled back with them.
    assert_eq!(tally(&db, "failing").await, [0, 1]);
    let states = consumers::states(&db).await.expect("states");
    let parked = states.iter().find(|s| s.name == "failing").expect("failing");
    assert!(parked.is_parked());
    assert_eq!(parked.attempts, 3);
    assert_eq!(parked.last_error.as_deref(), Some("cannot take 2"));
    assert!(matches!(runner.drain().await, Err(ConsumerDrainError::Parked { name, .. }) if name == "failing"));

    // Resumed, it fails again on the same event (nothing was skipped); skipped by hand, it goes on.
    assert!(consumers::resume(&db, "failing").await.expect("resume"));
    assert!(!consumers::resume(&db, "failing").await.expect("not parked now"));
    runner.run_until_idle().await.expect("run");
    assert!(consumers::states(&db).await.expect("states").iter().any(|s| s.name == "failing" && s.is_parked()));
    let skipped = consumers::skip(&db, "failing").await.expect("skip").expect("an event");
    runner.drain().await.expect("drain after the skip");
    assert_eq!(*failing_seen.lock().expect("lock"), [0, 1, 3]);
    assert!(skipped.seq > 0);
}

#[tokio::test]
async fn a_panicking_handler_is_a_failed_attempt_and_events_not_wanted_are_passed_over() {
    let (_guard, db) = crate::database().await;
    publish(&db, "no.allmenning.wanted", 1).await;
    publish(&db, "no.allmenning.other", 2).await;
    publish(&db, "no.allmenning.wanted", 666).await;
    let (mut picky, seen) = Counter::new("picky");
    picky.only = Some("no.allmenning.wanted");
    let mut runner = Consumers::new(db.clone(), quick());
    runner.add(picky);
    runner.register().await.expect("register");
    db.feed_caught_up(PATIENCE).await.expect("the feed hands out what was published");
    let report = runner.run_until_idle().await.expect("run");
    assert_eq!((report.handled, report.failed_attempts, report.parked), (1, 3, 1));
    assert_eq!(*seen.lock().expect("lock"), [1]);
    let state = consumers::states(&db).await.expect("states").remove(0);
    assert!(state.last_error.as_deref().is_some_and(|e| e.contains("devil")), "{state:?}");
}

#[tokio::test]
async fn two_instances_of_one_consumer_handle_each_event_once() {
    let (_guard, db) = crate::database().await;
    for n in 0..40 {
        publish(&db, "no.allmenning.test", n).await;
    }
    let mut runners = Vec::new();
    for _ in 0..2 {
        let (counter, _) = Counter::new("shared");
        let mut runner = Consumers::new(db.clone(), quick());
        runner.add(counter);
        runner.register().await.expect("register");
        runners.push(runner);
    }
    let tasks: Vec<_> = runners
        .into_iter()
        .map(|runner| tokio::spawn(async move { runner.drain().await.map(|r| r.handled) }))
        .collect();
    let mut handled = 0;
    for task in tasks {
        handled += task.await.expect("task").expect("drain");
    }
    assert_eq!(handled, 40);
    assert_eq!(tally(&db, "shared").await, (0..40).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_running_consumer_follows_the_feed_and_stops_when_asked() {
    let (_guard, db) = crate::database().await;
    let (counter, seen) = Counter::new("live");
    let mut runner = Consumers::new(db.clone(), quick());
    runner.add(counter);
    runner.register().await.expect("register");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(runner.run(async move {
        let _ = stopped.await;
    }));
    for n in 0..3 {
        publish(&db, "no.allmenning.test", n).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while seen.lock().expect("lock").len() < 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _ = stop.send(());
    task.await.expect("stops");
    assert_eq!(*seen.lock().expect("lock"), [0, 1, 2]);
}

#[tokio::test]
async fn a_consumer_that_starts_at_the_end_skips_the_past_and_retention_keeps_what_is_unread() {
    struct Late;
    impl Consumer for Late {
        fn name(&self) -> &'static str {
            "late"
        }
        fn start_at(&self) -> StartAt {
            StartAt::End
        }
        fn handle<'a>(&'a self, _tx: &'a mut Tx, _event: &'a StoredEvent) -> ConsumerFuture<'a> {
            Box::pin(async { Ok(()) })
        }
    }
    let (_guard, db) = crate::database().await;
    for n in 0..3 {
        publish(&db, "no.allmenning.test", n).await;
    }
    let mut late = Consumers::new(db.clone(), quick());
    late.add(Late);
    late.register().await.expect("register");
    assert_eq!(late.drain().await.expect("drain").handled, 0);

    let (counter, _) = Counter::new("slow");
    let mut slow = Consumers::new(db.clone(), quick());
    slow.add(counter);
    slow.register().await.expect("register");
    // `slow` has read nothing, so nothing may go, however old.
    let tomorrow = Timestamp::now().plus_millis(24 * 3600 * 1000);
    assert_eq!(purge_consumed_events(&db, tomorrow).await.expect("purge"), 0);
    slow.drain().await.expect("drain");
    publish(&db, "no.allmenning.test", 3).await;
    // Every consumer has passed the first three; the fourth is still unread by both.
    assert_eq!(purge_consumed_events(&db, tomorrow).await.expect("purge"), 3);
    assert_eq!(purge_consumed_events(&db, Timestamp::now().plus_millis(-60_000)).await.expect("purge"), 0);
}
