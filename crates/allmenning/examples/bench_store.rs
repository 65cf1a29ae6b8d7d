//! The write path against the engine under it, measured in one run.
//!
//!   cargo run --release -p allmenning --example bench_store -- [N]    # N defaults to 20000
//!
//! On the backend `TestDatabase` chooses (SQLite in a temporary directory, or a fresh
//! PostgreSQL database when `ALLMENNING_TEST_POSTGRES_URL` is set); `scripts/bench-store` runs
//! SQLite with `synchronous = normal` and `full`, then PostgreSQL. Each mode gets a fresh
//! database with every context's schema, and these phases, one after the other:
//!
//! 1. **baseline**: N one-row transactions (`BEGIN IMMEDIATE`, `INSERT`, `COMMIT`) on a
//!    connection of its own, with a prepared statement: rusqlite on SQLite (same file, same
//!    `synchronous`), sqlx on PostgreSQL;
//! 2. **one-row transactions through `Db`**: the same rows through `Db::begin` /
//!    `Tx::execute` / `Tx::commit`, from one task, then from 16 tasks at once (group commit);
//! 3. **the job queue**: N `Db::enqueue` (one transaction each), then `jobs::claim` in
//!    batches of 50 with `jobs::complete` per job, and the whole life of a job;
//! 4. **audited register reads**: a synthetic population of 20,000 is loaded, then N persons
//!    are read through `Registers::person` (the access-log entry and the read in one
//!    transaction), from one task, then from 16 tasks.
//!
//! Prints markdown tables: rate per second, and the ratio to the baseline's rate.

// The report is the program's output.
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use kernel::Timestamp;
use store::jobs::{self, NewJob};
use store::testing::TestDatabase;
use store::{Backend, Db, DbOptions, SqliteOptions, Synchronous, params};

const DEFAULT_COUNT: u64 = 20_000;
const TASKS: u64 = 16;
const POPULATION: u32 = 20_000;

const CREATE: &str = "CREATE TABLE bench_rows (id TEXT PRIMARY KEY, payload TEXT NOT NULL, n BIGINT NOT NULL, \
                      created_at BIGINT NOT NULL)";
const INSERT: &str = "INSERT INTO bench_rows (id, payload, n, created_at) VALUES ($1, $2, $3, $4)";

struct Phase {
    name: String,
    count: u64,
    elapsed: Duration,
    note: String,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }
}

fn payload(n: u64) -> String {
    format!("{{\"n\":{n},\"note\":\"a row of about the size of a job's payload\"}}")
}

/// One-row transactions on a rusqlite connection of the benchmark's own.
fn rusqlite_baseline(
    path: &std::path::Path,
    synchronous: Synchronous,
    first: u64,
    count: u64,
) -> anyhow::Result<Duration> {
    let conn = rusqlite::Connection::open(path)?;
    let mode = if synchronous == Synchronous::Full { "FULL" } else { "NORMAL" };
    conn.execute_batch(&format!("PRAGMA journal_mode = WAL; PRAGMA synchronous = {mode};"))?;
    conn.busy_timeout(Duration::from_secs(10))?;
    let started = Instant::now();
    for n in first..first + count {
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        conn.prepare_cached("INSERT INTO bench_rows (id, payload, n, created_at) VALUES (?1, ?2, ?3, ?4)")?
            .execute(rusqlite::params![format!("r{n}"), payload(n), n as i64, Timestamp::now().millis()])?;
        conn.prepare_cached("COMMIT")?.execute([])?;
    }
    Ok(started.elapsed())
}

/// One-row transactions on a sqlx connection of the benchmark's own.
async fn postgres_baseline(url: &str, first: u64, count: u64) -> anyhow::Result<Duration> {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let started = Instant::now();
    for n in first..first + count {
        let mut tx = conn.begin().await?;
        sqlx::query(INSERT)
            .bind(format!("r{n}"))
            .bind(payload(n))
            .bind(n as i64)
            .bind(Timestamp::now().millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(started.elapsed())
}

async fn insert_through_db(db: &Db, first: u64, count: u64) -> anyhow::Result<()> {
    for n in first..first + count {
        let mut tx = db.begin().await?;
        tx.execute(INSERT, &params![format!("r{n}"), payload(n), n as i64, Timestamp::now()]).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Runs `count` one-row transactions from `tasks` tasks at once.
async fn insert_concurrently(db: &Db, first: u64, count: u64, tasks: u64) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let per_task = count / tasks;
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let db = db.clone();
            tokio::spawn(async move { insert_through_db(&db, first + task * per_task, per_task).await })
        })
        .collect();
    for handle in handles {
        handle.await??;
    }
    Ok(started.elapsed())
}

fn group_note(db: &Db, before: Option<store::WriteStats>) -> String {
    match (before, db.write_stats()) {
        (Some(before), Some(after)) => {
            let transactions = after.transactions - before.transactions;
            let commits = (after.commits - before.commits).max(1);
            format!("{:.1} transactions per commit", transactions as f64 / commits as f64)
        }
        _ => String::new(),
    }
}

async fn writes(db: &Db, url: &str, synchronous: Synchronous, count: u64) -> anyhow::Result<Vec<Phase>> {
    db.execute_script(CREATE).await.context("cannot create bench_rows")?;
    let path = (db.backend() == Backend::Sqlite).then(|| std::path::PathBuf::from(url.trim_start_matches("sqlite://")));
    // Warm up both paths (connections, statement caches), then start from an empty table.
    match &path {
        Some(path) => {
            rusqlite_baseline(path, synchronous, 0, 200)?;
        }
        None => {
            postgres_baseline(url, 0, 200).await?;
        }
    }
    insert_through_db(db, 1_000, 200).await?;
    db.execute("DELETE FROM bench_rows", &[]).await?;

    let baseline = match &path {
        Some(path) => rusqlite_baseline(path, synchronous, 0, count)?,
        None => postgres_baseline(url, 0, count).await?,
    };
    let engine = if path.is_some() { "rusqlite" } else { "sqlx" };
    let mut phases = vec![Phase {
        name: format!("baseline: {engine}, own connection, 1 row/tx"),
        count,
        elapsed: baseline,
        note: String::new(),
    }];

    let started = Instant::now();
    insert_through_db(db, count, count).await?;
    phases.push(Phase { name: "Db, 1 row/tx, 1 task".into(), count, elapsed: started.elapsed(), note: String::new() });

    let before = db.write_stats();
    let elapsed = insert_concurrently(db, 2 * count, count, TASKS).await?;
    phases.push(Phase { name: format!("Db, 1 row/tx, {TASKS} tasks"), count, elapsed, note: group_note(db, before) });

    let started = Instant::now();
    for n in 0..count {
        db.enqueue(&NewJob::new("bench", serde_json::json!({ "n": n }))).await?;
    }
    let enqueue = started.elapsed();
    phases.push(Phase { name: "jobs: enqueue, 1 job/tx".into(), count, elapsed: enqueue, note: String::new() });

    let started = Instant::now();
    let mut claimed = 0;
    loop {
        let batch = jobs::claim(db, "bench", 50, Timestamp::now(), Duration::from_secs(300)).await?;
        if batch.is_empty() {
            break;
        }
        claimed += batch.len() as u64;
        for job in &batch {
            jobs::complete(db, job).await?;
        }
    }
    let claim_and_complete = started.elapsed();
    ensure!(claimed == count, "claimed {claimed} of {count} jobs");
    phases.push(Phase {
        name: "jobs: claim (50 at a time) + complete".into(),
        count,
        elapsed: claim_and_complete,
        note: String::new(),
    });
    phases.push(Phase {
        name: "jobs: enqueue + claim + complete".into(),
        count,
        elapsed: enqueue + claim_and_complete,
        note: String::new(),
    });

    // As in the server: requests enqueue at once, a worker with 16 slots runs the jobs.
    let before = db.write_stats();
    let started = Instant::now();
    let per_task = count / TASKS;
    let handles: Vec<_> = (0..TASKS)
        .map(|task| {
            let db = db.clone();
            tokio::spawn(async move {
                for n in 0..per_task {
                    db.enqueue(&NewJob::new("bench", serde_json::json!({ "task": task, "n": n }))).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for handle in handles {
        handle.await??;
    }
    let mut handlers = jobs::Handlers::new();
    handlers.register("bench", |_job| async { Ok(()) });
    let config = jobs::WorkerConfig {
        concurrency: TASKS as usize,
        poll_interval: Duration::from_millis(5),
        ..jobs::WorkerConfig::default()
    };
    let worker = jobs::Worker::new(db.clone(), handlers, config);
    let stats = worker.stats();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    let expected = count + per_task * TASKS;
    while stats.completed.load(std::sync::atomic::Ordering::Relaxed) < per_task * TASKS {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let _ = stop.send(());
    running.await?;
    ensure!(db.job_counts().await?.done == i64::try_from(expected)?, "not every job is done");
    phases.push(Phase {
        name: format!("jobs: enqueue from {TASKS} tasks + a worker with {TASKS} slots"),
        count: per_task * TASKS,
        elapsed: started.elapsed(),
        note: group_note(db, before),
    });
    Ok(phases)
}

async fn audited_reads(db: &Db, count: u64, mut phases: Vec<Phase>) -> anyhow::Result<Vec<Phase>> {
    let local = registers::LocalRegisters::new(db.clone());
    let spec = registers::synthetic::PopulationSpec {
        kommunenummer: kernel::Kommunenummer::parse("4601")?,
        residents: POPULATION,
        seed: 7,
    };
    let mut ids = Vec::new();
    local
        .load_in_bulk(registers::synthetic::batches(&spec, 5_000), |batch| {
            ids.extend(batch.persons.iter().map(|p| p.fnr));
        })
        .await?;
    let ids: Arc<Vec<kernel::Fnr>> = Arc::new(ids);
    ensure!(ids.len() >= POPULATION as usize, "the population did not load");
    let registers = registers::Registers::new(db.clone(), &registers::RegistersConfig::default())?;
    let caller = registers::Caller::system("benchmark", "Ytelsesmåling", "Test, syntetiske data")?;
    for id in ids.iter().take(200) {
        registers.person(&caller, id).await?;
    }

    let started = Instant::now();
    for n in 0..count as usize {
        let found = local.person(&ids[n % ids.len()]).await?;
        ensure!(found.is_some(), "a loaded person was not found");
    }
    phases.push(Phase {
        name: "person read, not audited (LocalRegisters)".into(),
        count,
        elapsed: started.elapsed(),
        note: String::new(),
    });

    let started = Instant::now();
    for n in 0..count as usize {
        let found = registers.person(&caller, &ids[n % ids.len()]).await?;
        ensure!(found.is_some(), "a loaded person was not found");
    }
    phases.push(Phase {
        name: "audited read (entry + read, 1 tx), 1 task".into(),
        count,
        elapsed: started.elapsed(),
        note: String::new(),
    });

    let before = db.write_stats();
    let started = Instant::now();
    let per_task = count / TASKS;
    let handles: Vec<_> = (0..TASKS)
        .map(|task| {
            let (registers, caller, ids) = (registers.clone(), caller.clone(), ids.clone());
            tokio::spawn(async move {
                for n in 0..per_task as usize {
                    let index = (task as usize * 7919 + n * 31) % ids.len();
                    registers.person(&caller, &ids[index]).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for handle in handles {
        handle.await??;
    }
    phases.push(Phase {
        name: format!("audited read, {TASKS} tasks"),
        count: per_task * TASKS,
        elapsed: started.elapsed(),
        note: group_note(db, before),
    });
    let entries = audit::AuditLog::new(db.clone()).verify().await?;
    ensure!(entries >= 2 * count - TASKS, "the access log has {entries} entries");
    Ok(phases)
}

fn print(title: &str, phases: &[Phase]) {
    let Some(baseline) = phases.first() else { return };
    println!("### {title}\n");
    println!("| phase | count | seconds | per second | ÷ baseline rate | |");
    println!("|---|---:|---:|---:|---:|---|");
    for phase in phases {
        println!(
            "| {} | {} | {:.3} | {:.0} | {:.2} | {} |",
            phase.name,
            phase.count,
            phase.elapsed.as_secs_f64(),
            phase.rate(),
            phase.rate() / baseline.rate(),
            phase.note
        );
    }
    println!();
}

async fn run_mode(count: u64, synchronous: Synchronous) -> anyhow::Result<()> {
    let database = TestDatabase::create().await.context("cannot create a test database")?;
    let options = DbOptions { sqlite: SqliteOptions { synchronous, group_commit: true }, ..DbOptions::default() };
    let db = Db::connect_with(&database.url, allmenning::app::schema()?, &options).await?;
    db.migrate().await?;
    // BENCH_ONLY=reads skips the write phases (for profiling).
    let phases = if std::env::var("BENCH_ONLY").is_ok_and(|only| only == "reads") {
        Vec::new()
    } else {
        writes(&db, &database.url, synchronous, count).await?
    };
    let phases = audited_reads(&db, count, phases).await?;
    let title = match db.backend() {
        Backend::Sqlite => {
            let mode = if synchronous == Synchronous::Full { "full" } else { "normal" };
            format!("SQLite, synchronous = {mode}, N = {count}")
        }
        Backend::Postgres => format!("PostgreSQL, N = {count}"),
    };
    print(&title, &phases);
    db.close().await;
    drop(database);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let count = match std::env::args().nth(1) {
        Some(argument) => argument.parse().with_context(|| format!("not a count: {argument:?}"))?,
        None => DEFAULT_COUNT,
    };
    if count < TASKS {
        bail!("N must be at least {TASKS}");
    }
    println!("Load average before: {}\n", std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim());
    match TestDatabase::backend() {
        Backend::Sqlite => {
            // BENCH_SYNCHRONOUS=normal or full runs one of the two (for profiling).
            let only = std::env::var("BENCH_SYNCHRONOUS").unwrap_or_default();
            if only != "full" {
                run_mode(count, Synchronous::Normal).await?;
            }
            if only != "normal" {
                run_mode(count, Synchronous::Full).await?;
            }
        }
        Backend::Postgres => run_mode(count, Synchronous::Full).await?,
    }
    Ok(())
}
