//! Throughput of the job queue against a raw-insert baseline measured in the same run, on the
//! backend `TestDatabase` chooses (SQLite in a temporary directory, or a fresh PostgreSQL
//! database when `ALLMENNING_TEST_POSTGRES_URL` is set). `scripts/bench-jobs` runs it on both.
//!
//!   cargo run --release -p store --example bench_jobs [N]     # N defaults to 5000
//!
//! Phases, one after the other, each row or job in a transaction of its own:
//! 1. baseline: N single-row INSERTs into `bench_baseline`, a table shaped like `jobs`
//!    (same columns, unique key and index), through `Db::begin` / `Tx::execute` / `commit`;
//! 2. enqueue: N `Db::enqueue`;
//! 3. claim + complete: `jobs::claim` in batches of 50, then `jobs::complete` per job, until
//!    the queue is empty.
//!
//! Prints a markdown table. Times come from `std::time::Instant`; this is a load measurement,
//! not a statistical benchmark, so run it more than once before trusting a small difference.

// The report is the program's output.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use kernel::Timestamp;
use store::jobs::{self, NewJob};
use store::testing::TestDatabase;
use store::{Db, params};

const DEFAULT_COUNT: u64 = 5000;
const CLAIM_BATCH: u32 = 50;
const LEASE: Duration = Duration::from_secs(300);
const WARM_UP_ROWS: u64 = 100;

/// `BIGINT` is an integer column on both engines, so one statement serves both.
const CREATE_BASELINE: &str = "CREATE TABLE bench_baseline (
    id              TEXT    PRIMARY KEY,
    kommunenummer   TEXT,
    kind            TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    idempotency_key TEXT    UNIQUE,
    status          TEXT    NOT NULL,
    attempts        BIGINT  NOT NULL DEFAULT 0,
    max_attempts    BIGINT  NOT NULL,
    run_at          BIGINT  NOT NULL,
    locked_until    BIGINT,
    locked_by       TEXT,
    last_error      TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
)";

const INSERT_BASELINE: &str = "INSERT INTO bench_baseline (id, kommunenummer, kind, payload, idempotency_key, status, \
     attempts, max_attempts, run_at, created_at, updated_at) \
     VALUES ($1, NULL, 'bench', $2, NULL, 'queued', 0, 5, $3, $3, $3)";

/// One measured phase.
struct Phase {
    name: &'static str,
    rows: u64,
    elapsed: Duration,
}

impl Phase {
    fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64()
    }
}

fn payload(n: u64) -> serde_json::Value {
    serde_json::json!({ "n": n, "note": "bench" })
}

/// Inserts `count` baseline rows, each in a transaction of its own.
async fn insert_baseline(db: &Db, first: u64, count: u64) -> anyhow::Result<()> {
    for n in first..first + count {
        let text = serde_json::to_string(&payload(n))?;
        let mut tx = db.begin().await?;
        tx.execute(INSERT_BASELINE, &params![uuid::Uuid::now_v7().to_string(), text, Timestamp::now()]).await?;
        tx.commit().await?;
    }
    Ok(())
}

async fn run(db: &Db, count: u64) -> anyhow::Result<Vec<Phase>> {
    db.execute(CREATE_BASELINE, &[]).await.context("cannot create bench_baseline")?;
    db.execute("CREATE INDEX bench_baseline_runnable ON bench_baseline (status, run_at)", &[]).await?;

    // Opens a pooled connection and warms the statement cache before the clock starts.
    insert_baseline(db, 0, WARM_UP_ROWS).await?;
    db.execute("DELETE FROM bench_baseline", &[]).await?;

    let started = Instant::now();
    insert_baseline(db, 0, count).await?;
    let baseline = Phase { name: "baseline INSERT (1 row/tx)", rows: count, elapsed: started.elapsed() };

    let started = Instant::now();
    for n in 0..count {
        db.enqueue(&NewJob::new("bench", payload(n))).await?;
    }
    let enqueue = Phase { name: "enqueue (1 job/tx)", rows: count, elapsed: started.elapsed() };

    let mut claim_time = Duration::ZERO;
    let mut complete_time = Duration::ZERO;
    let mut claimed: u64 = 0;
    loop {
        let started = Instant::now();
        let batch = jobs::claim(db, "bench", CLAIM_BATCH, Timestamp::now(), LEASE).await?;
        claim_time += started.elapsed();
        if batch.is_empty() {
            break;
        }
        claimed += batch.len() as u64;
        let started = Instant::now();
        for job in batch {
            jobs::complete(db, &job).await?;
        }
        complete_time += started.elapsed();
    }
    ensure!(claimed == count, "claimed {claimed} jobs, expected {count}");
    let counts = db.job_counts().await?;
    ensure!(
        counts.done == i64::try_from(count)? && counts.queued == 0 && counts.running == 0,
        "queue not drained: {counts:?}"
    );
    let claim = Phase { name: "claim (batches of 50)", rows: count, elapsed: claim_time };
    let complete = Phase { name: "complete (1 job/statement)", rows: count, elapsed: complete_time };
    let claim_and_complete = Phase { name: "claim + complete", rows: count, elapsed: claim_time + complete_time };
    let whole_life = Phase {
        name: "enqueue + claim + complete",
        rows: count,
        elapsed: enqueue.elapsed + claim_time + complete_time,
    };
    Ok(vec![baseline, enqueue, claim, complete, claim_and_complete, whole_life])
}

fn print_report(backend: &str, count: u64, phases: &[Phase]) {
    let Some(baseline) = phases.first() else { return };
    println!("Job queue on {backend}, N = {count}\n");
    println!("| phase | count | seconds | rows/s | time ÷ baseline time |");
    println!("|---|---:|---:|---:|---:|");
    for phase in phases {
        println!(
            "| {} | {} | {:.3} | {:.0} | {:.2} |",
            phase.name,
            phase.rows,
            phase.elapsed.as_secs_f64(),
            phase.rows_per_second(),
            phase.elapsed.as_secs_f64() / baseline.elapsed.as_secs_f64(),
        );
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let count = match std::env::args().nth(1) {
        Some(argument) => argument.parse().with_context(|| format!("not a count: {argument:?}"))?,
        None => DEFAULT_COUNT,
    };
    if count == 0 {
        bail!("N must be at least 1");
    }
    let (database, db) =
        TestDatabase::migrated(store::Schema::store_only()).await.context("cannot create a test database")?;
    let backend = db.backend().name();
    let result = run(&db, count).await;
    db.close().await;
    // Removes the SQLite directory; PostgreSQL databases go with the throwaway cluster.
    drop(database);
    print_report(backend, count, &result?);
    Ok(())
}
