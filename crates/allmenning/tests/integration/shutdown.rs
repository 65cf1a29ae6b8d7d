//! Stopped under load, gracefully (SIGTERM) or killed (SIGKILL): every request the server
//! acknowledged is kept, with its job.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use store::jobs::Worker;
use store::testing::TestDatabase;

use crate::helpers::{kommune, server_command, start_server};

/// The longest any one wait in these tests may take; past it the test fails and says what it
/// was waiting for, instead of hanging the suite.
const DEADLINE: Duration = Duration::from_secs(60);

/// `future`, or a failure that names `what` once [`DEADLINE`] has passed.
async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, future)
        .await
        .unwrap_or_else(|_| panic!("{what} took more than {} seconds", DEADLINE.as_secs()))
}

#[tokio::test]
async fn sigterm_under_load_loses_no_accepted_job() {
    stopped_under_load("TERM", "full").await;
}

/// With `synchronous = normal` a commit reaches the operating system, not the disk: a process
/// that is killed outright loses nothing it acknowledged (a power cut could).
#[tokio::test]
async fn a_killed_server_loses_no_acknowledged_write() {
    stopped_under_load("KILL", "normal").await;
}

async fn stopped_under_load(signal: &str, synchronous: &str) {
    let database = TestDatabase::create().await.expect("database");
    let data_dir = tempfile::tempdir().expect("tempdir");
    let mut command = server_command(std::path::Path::new(env!("CARGO_BIN_EXE_allmenning")));
    command
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(data_dir.path())
        .env("ALLMENNING__DATABASE__URL", &database.url)
        .env("ALLMENNING__JOBS__POLL_INTERVAL_MS", "5")
        // The load comes from one address; it is not about the feedback limit.
        .env("ALLMENNING__RATE_LIMITS__FEEDBACK_PER_WINDOW", "1000000")
        .env("ALLMENNING__DATABASE__SQLITE_SYNCHRONOUS", synchronous);
    let (mut child, base) = within("the server's start", start_server(command)).await;

    let accepted = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicBool::new(false));
    let client = reqwest::Client::new();
    let mut senders = Vec::new();
    for sender in 0..8 {
        let (client, base, accepted, refused) = (client.clone(), base.clone(), accepted.clone(), refused.clone());
        senders.push(tokio::spawn(async move {
            // Bounded: at most 300 requests per sender.
            for n in 0..300 {
                let body = serde_json::json!({ "message": format!("melding {sender}-{n}") });
                match client.post(format!("{base}/api/v1/feedback")).json(&body).send().await {
                    Ok(response) if response.status() == 201 => {
                        accepted.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(response) => panic!("unexpected status {}", response.status()),
                    Err(_) => {
                        refused.store(true, Ordering::SeqCst);
                        break;
                    }
                }
            }
        }));
    }
    let started = Instant::now();
    while accepted.load(Ordering::SeqCst) < 100 {
        assert!(
            started.elapsed() < DEADLINE,
            "only {} of 100 requests were accepted in {} seconds",
            accepted.load(Ordering::SeqCst),
            DEADLINE.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let status = Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    for sender in senders {
        within("a sender after the stop", sender).await.expect("sender");
    }
    let stopping = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        if stopping.elapsed() >= DEADLINE {
            let _ = child.kill();
            panic!("the server did not exit within {} seconds of SIG{signal}", DEADLINE.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    if signal == "TERM" {
        assert!(exit.success(), "graceful exit, got {exit:?}");
    }
    assert!(refused.load(Ordering::SeqCst), "the load outlasted the server");

    let accepted = i64::try_from(accepted.load(Ordering::SeqCst)).expect("count");
    let db = crate::helpers::open_db(&database.url).await;
    let stored = content::feedback_count(db.municipal(kommune("4601"))).await.expect("count");
    if signal == "TERM" {
        assert_eq!(stored, accepted, "a graceful stop answers everything it stored");
    } else {
        // A killed server may have committed a request it had no time to answer; it never
        // answered one it had not committed.
        assert!(stored >= accepted, "{stored} stored, {accepted} acknowledged");
    }
    let accepted = stored;
    let counts = db.job_counts_of(content::FEEDBACK_NOTIFY_JOB).await.expect("counts");
    assert_eq!(counts.queued + counts.running + counts.done, accepted, "{counts:?}");
    assert_eq!(counts.dead, 0);
    // Whatever was left queued or in flight runs to the end on the next start.
    let worker = Worker::new(
        db.clone(),
        allmenning::app::job_handlers(&db, &allmenning::config::Settings::default()),
        Default::default(),
    );
    within("draining the jobs left behind", worker.drain()).await.expect("every accepted job completes");
    assert_eq!(db.job_counts_of(content::FEEDBACK_NOTIFY_JOB).await.expect("counts").done, accepted);
}
