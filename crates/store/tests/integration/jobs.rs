use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use kernel::Timestamp;
use store::StoreError;
use store::jobs::{self, DrainError, Handlers, NewJob, Worker, WorkerConfig};
use store::retention::Retention;

fn quick_config() -> WorkerConfig {
    WorkerConfig {
        concurrency: 2,
        poll_interval: Duration::from_millis(10),
        base_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        ..WorkerConfig::default()
    }
}

#[tokio::test]
async fn a_job_enqueued_in_a_rolled_back_transaction_does_not_exist() {
    let (_guard, db) = crate::database().await;
    let mut tx = db.begin().await.expect("begin");
    tx.enqueue(&NewJob::new("x", serde_json::json!({}))).await.expect("enqueue");
    tx.rollback().await.expect("rollback");
    assert_eq!(db.job_counts().await.expect("counts").queued, 0);

    let mut tx = db.begin().await.expect("begin");
    tx.enqueue(&NewJob::new("x", serde_json::json!({}))).await.expect("enqueue");
    tx.commit().await.expect("commit");
    assert_eq!(db.job_counts().await.expect("counts").queued, 1);
}

#[tokio::test]
async fn the_same_idempotency_key_yields_one_job() {
    let (_guard, db) = crate::database().await;
    let job = NewJob::new("letter.send", serde_json::json!({"letter": 1})).idempotency_key("letter:1");
    let first = db.enqueue(&job).await.expect("first");
    let second = db.enqueue(&job).await.expect("second");
    assert_eq!(first, second);
    assert_eq!(db.job_counts().await.expect("counts").queued, 1);
}

#[tokio::test]
async fn drain_runs_every_job_with_its_payload() {
    let (_guard, db) = crate::database().await;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut handlers = Handlers::new();
    let sink = seen.clone();
    handlers.register("collect", move |job| {
        let sink = sink.clone();
        async move {
            let n = job.payload["n"].as_i64().ok_or("no n")?;
            sink.lock().map_err(|_| "poisoned")?.push(n);
            Ok(())
        }
    });
    for n in 0..25 {
        db.enqueue(&NewJob::new("collect", serde_json::json!({ "n": n }))).await.expect("enqueue");
    }
    let worker = Worker::new(db.clone(), handlers, quick_config());
    let report = worker.drain().await.expect("drain");
    assert_eq!(report.completed, 25);
    let mut values = seen.lock().expect("lock").clone();
    values.sort_unstable();
    assert_eq!(values, (0..25).collect::<Vec<i64>>());
    assert_eq!(db.job_counts().await.expect("counts").done, 25);
}

#[tokio::test]
async fn a_failing_job_is_retried_then_dead_lettered_with_its_last_error() {
    let (_guard, db) = crate::database().await;
    let attempts = Arc::new(AtomicU32::new(0));
    let counter = attempts.clone();
    let mut handlers = Handlers::new();
    handlers.register("flaky", move |job| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            Err(format!("mailbox provider said no on attempt {}", job.attempt))
        }
    });
    db.enqueue(&NewJob::new("flaky", serde_json::json!({})).max_attempts(3)).await.expect("enqueue");
    let worker = Worker::new(db.clone(), handlers, quick_config());
    let report = worker.run_until_idle().await.expect("run");
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    assert_eq!(report.failed_attempts, 3);
    assert_eq!(report.dead_lettered, 1);
    let dead = db.dead_jobs().await.expect("dead");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 3);
    assert_eq!(dead[0].last_error.as_deref(), Some("mailbox provider said no on attempt 3"));
    assert_eq!(worker.stats().dead_lettered.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn a_job_that_succeeds_on_retry_is_done() {
    let (_guard, db) = crate::database().await;
    let mut handlers = Handlers::new();
    handlers.register("second-time-lucky", |job| async move {
        if job.attempt < 2 { Err("temporarily unavailable".to_owned()) } else { Ok(()) }
    });
    db.enqueue(&NewJob::new("second-time-lucky", serde_json::json!({}))).await.expect("enqueue");
    let worker = Worker::new(db.clone(), handlers, quick_config());
    let report = worker.drain().await.expect("drain");
    assert_eq!((report.completed, report.failed_attempts), (1, 1));
}

#[tokio::test]
async fn a_panicking_job_is_dead_lettered_without_blocking_the_queue() {
    let (_guard, db) = crate::database().await;
    let mut handlers = Handlers::new();
    handlers.register("explode", |_job| async move {
        #[allow(clippy::panic)]
        if true {
            panic!("boom in handler");
        }
        Ok(())
    });
    handlers.register("fine", |_job| async move { Ok(()) });
    db.enqueue(&NewJob::new("explode", serde_json::json!({})).max_attempts(2)).await.expect("enqueue");
    for _ in 0..3 {
        db.enqueue(&NewJob::new("fine", serde_json::json!({}))).await.expect("enqueue");
    }
    let worker = Worker::new(db.clone(), handlers, quick_config());
    let report = worker.run_until_idle().await.expect("run");
    assert_eq!(report.completed, 3);
    assert_eq!(report.dead_lettered, 1);
    let dead = db.dead_jobs().await.expect("dead");
    assert_eq!(dead[0].kind, "explode");
    assert!(dead[0].last_error.as_deref().is_some_and(|e| e.contains("boom in handler")), "{dead:?}");

    // drain() treats the dead-lettered job as left behind.
    match worker.drain().await {
        Err(DrainError::Left { counts, dead }) => {
            assert_eq!(counts.dead, 1);
            assert_eq!(dead.len(), 1);
        }
        other => panic!("expected drain to fail, got {other:?}"),
    }
}

#[tokio::test]
async fn a_job_without_a_handler_is_dead_lettered_with_a_clear_error() {
    let (_guard, db) = crate::database().await;
    db.enqueue(&NewJob::new("nobody.knows", serde_json::json!({})).max_attempts(1)).await.expect("enqueue");
    let worker = Worker::new(db.clone(), Handlers::new(), quick_config());
    worker.run_until_idle().await.expect("run");
    let dead = db.dead_jobs().await.expect("dead");
    assert!(dead[0].last_error.as_deref().is_some_and(|e| e.contains("no handler registered")));
}

#[tokio::test]
async fn concurrent_claims_never_hand_out_the_same_job_twice() {
    let (_guard, db) = crate::database().await;
    for n in 0..60 {
        db.enqueue(&NewJob::new("x", serde_json::json!({ "n": n }))).await.expect("enqueue");
    }
    let now = Timestamp::now();
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let batch =
                    jobs::claim(&db, &format!("w{worker}"), 5, now, Duration::from_secs(60)).await.expect("claim");
                if batch.is_empty() {
                    break;
                }
                ids.extend(batch.into_iter().map(|j| j.id));
            }
            ids
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("task"));
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 60);
    assert_eq!(unique.len(), 60);
}

#[tokio::test]
async fn a_job_whose_worker_died_is_claimed_again_after_its_lease() {
    let (_guard, db) = crate::database().await;
    db.enqueue(&NewJob::new("x", serde_json::json!({}))).await.expect("enqueue");
    let now = Timestamp::now();
    let first = jobs::claim(&db, "dies", 10, now, Duration::from_secs(30)).await.expect("claim");
    assert_eq!(first.len(), 1);
    // Within the lease nobody else gets it.
    let during = jobs::claim(&db, "other", 10, now.plus_millis(29_000), Duration::from_secs(30)).await.expect("claim");
    assert!(during.is_empty());
    // After the lease it is handed on, as attempt 2.
    let after = jobs::claim(&db, "other", 10, now.plus_millis(31_000), Duration::from_secs(30)).await.expect("claim");
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].id, first[0].id);
    assert_eq!(after[0].attempt, 2);
}

#[tokio::test]
async fn a_retry_waits_for_its_backoff() {
    let (_guard, db) = crate::database().await;
    db.enqueue(&NewJob::new("x", serde_json::json!({}))).await.expect("enqueue");
    let now = Timestamp::now();
    let claimed = jobs::claim(&db, "w", 1, now, Duration::from_secs(60)).await.expect("claim");
    let retry_at = now.plus_millis(10_000);
    let dead = jobs::fail(&db, &claimed[0], "later", retry_at).await.expect("fail");
    assert!(!dead);
    assert!(jobs::claim(&db, "w", 1, now.plus_millis(9_000), Duration::from_secs(60)).await.expect("claim").is_empty());
    assert_eq!(
        jobs::claim(&db, "w", 1, now.plus_millis(10_000), Duration::from_secs(60)).await.expect("claim").len(),
        1
    );
}

#[test]
fn backoff_doubles_and_is_capped() {
    let base = Duration::from_secs(2);
    let cap = Duration::from_secs(60);
    let first = jobs::backoff(1, base, cap);
    let third = jobs::backoff(3, base, cap);
    assert!(first >= base && first <= base.mul_f64(1.1), "{first:?}");
    assert!(third >= base * 4 && third <= (base * 4).mul_f64(1.1), "{third:?}");
    assert!(jobs::backoff(40, base, cap) <= cap.mul_f64(1.1));
}

#[tokio::test]
async fn a_running_worker_processes_jobs_and_stops_when_asked() {
    let (_guard, db) = crate::database().await;
    let done = Arc::new(tokio::sync::Notify::new());
    let count = Arc::new(AtomicU32::new(0));
    let mut handlers = Handlers::new();
    let (notify, counter) = (done.clone(), count.clone());
    handlers.register("tick", move |_job| {
        let (notify, counter) = (notify.clone(), counter.clone());
        async move {
            if counter.fetch_add(1, Ordering::SeqCst) + 1 == 10 {
                notify.notify_one();
            }
            Ok(())
        }
    });
    for _ in 0..10 {
        db.enqueue(&NewJob::new("tick", serde_json::json!({}))).await.expect("enqueue");
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = Worker::new(db.clone(), handlers, quick_config());
    let task = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    done.notified().await;
    let _ = stop.send(());
    task.await.expect("worker stops");
    assert_eq!(count.load(Ordering::SeqCst), 10);
    let counts = db.job_counts().await.expect("counts");
    assert_eq!((counts.done, counts.queued, counts.running), (10, 0, 0));
}

#[tokio::test]
async fn a_stale_workers_completion_is_refused_and_changes_nothing() {
    let (_guard, db) = crate::database().await;
    db.enqueue(&NewJob::new("letter.send", serde_json::json!({}))).await.expect("enqueue");
    let now = Timestamp::now();
    let lease = Duration::from_secs(30);
    let stale = jobs::claim(&db, "slow", 1, now, lease).await.expect("claim").remove(0);
    // The slow worker's lease runs out; another worker claims the job and is still at it.
    let fresh = jobs::claim(&db, "fresh", 1, now.plus_millis(31_000), lease).await.expect("claim").remove(0);
    assert_eq!((fresh.id, fresh.attempt), (stale.id, 2));

    let completed = jobs::complete(&db, &stale).await;
    assert!(matches!(completed, Err(StoreError::StaleClaim(_))), "{completed:?}");
    let failed = jobs::fail(&db, &stale, "too late", now).await;
    assert!(matches!(failed, Err(StoreError::StaleClaim(_))), "{failed:?}");
    let counts = db.job_counts().await.expect("counts");
    assert_eq!((counts.running, counts.done, counts.queued), (1, 0, 0), "the fresh claim still holds the job");

    // The fresh worker's outcome is the one recorded, once.
    jobs::complete(&db, &fresh).await.expect("fresh completes");
    assert_eq!(db.job_counts().await.expect("counts").done, 1);
    assert!(matches!(jobs::complete(&db, &fresh).await, Err(StoreError::StaleClaim(_))), "not twice");
}

#[tokio::test]
async fn a_worker_whose_claim_ran_out_counts_its_outcome_as_stale() {
    let (_guard, db) = crate::database().await;
    db.enqueue(&NewJob::new("slow", serde_json::json!({}))).await.expect("enqueue");
    let (started, release) = (Arc::new(tokio::sync::Notify::new()), Arc::new(tokio::sync::Notify::new()));
    let mut handlers = Handlers::new();
    let (started_in, release_in) = (started.clone(), release.clone());
    handlers.register("slow", move |_job| {
        let (started, release) = (started_in.clone(), release_in.clone());
        async move {
            started.notify_one();
            release.notified().await;
            Ok(())
        }
    });
    let worker = Worker::new(db.clone(), handlers, WorkerConfig { lease: Duration::from_millis(1), ..quick_config() });
    let running = tokio::spawn({
        let worker = worker.clone();
        async move { worker.run_once(Timestamp::now()).await }
    });
    started.notified().await;
    // While the handler runs past its lease, another worker takes the job over.
    let taken = jobs::claim(&db, "other", 1, Timestamp::now().plus_millis(1_000), Duration::from_secs(60))
        .await
        .expect("claim");
    assert_eq!(taken.len(), 1);
    release.notify_one();
    let report = running.await.expect("task").expect("run");
    assert_eq!((report.completed, report.stale_outcomes), (0, 1));
    assert_eq!(worker.stats().stale_outcomes.load(Ordering::Relaxed), 1);
    jobs::complete(&db, &taken[0]).await.expect("the new claim completes");
}

#[tokio::test]
async fn retention_purges_old_finished_jobs_and_schedules_itself_once_per_interval() {
    let (_guard, db) = crate::database().await;
    for n in 0..3 {
        db.enqueue(&NewJob::new("x", serde_json::json!({ "n": n }))).await.expect("enqueue");
    }
    db.enqueue(&NewJob::new("doomed", serde_json::json!({})).max_attempts(1)).await.expect("enqueue");
    let mut handlers = Handlers::new();
    handlers.register("x", |_job| async { Ok(()) });
    handlers.register("doomed", |_job| async { Err("no".to_owned()) });
    Worker::new(db.clone(), handlers, quick_config()).run_until_idle().await.expect("run");
    let counts = db.job_counts().await.expect("counts");
    assert_eq!((counts.done, counts.dead), (3, 1));

    let retention = Retention {
        done_jobs: Some(Duration::from_secs(3600)),
        dead_jobs: Some(Duration::from_secs(7200)),
        ..Retention::default()
    };
    // Nothing is old enough yet.
    let purged = retention.purge(&db, Timestamp::now()).await.expect("purge");
    assert_eq!(purged.jobs, 0);
    // Two hours on, the done jobs are past their hour; the dead one is kept two hours.
    let later = Timestamp::now().plus_millis(2 * 3600 * 1000 - 60_000);
    assert_eq!(retention.purge(&db, later).await.expect("purge").jobs, 3);
    assert_eq!(db.job_counts().await.expect("counts").dead, 1);
    assert_eq!(retention.purge(&db, later.plus_millis(120_000)).await.expect("purge").jobs, 1);

    // However many instances schedule it, one job per interval; running it schedules the next.
    let first = retention.schedule(&db).await.expect("schedule");
    assert_eq!(retention.schedule(&db).await.expect("again"), first);
    let mut handlers = Handlers::new();
    retention.register(&mut handlers, db.clone());
    let report = Worker::new(db.clone(), handlers, quick_config()).run_once(Timestamp::now()).await.expect("run");
    assert_eq!(report.completed, 1);
    let counts = db.job_counts().await.expect("counts");
    assert_eq!((counts.done, counts.queued), (1, 1), "the next interval's run waits");
}
