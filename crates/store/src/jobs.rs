//! The job queue: work that must happen after a change commits (send a letter, notify a
//! caseworker), stored in the same database and enqueued in the same transaction as the change.
//!
//! - Claiming is safe across processes: `FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite the
//!   claim is one `UPDATE ... RETURNING` under the single writer.
//! - A claimed job holds a lease. A process that dies (or is stopped before a handler finishes)
//!   leaves the job `running`; when the lease runs out another worker claims it again. So an
//!   accepted job is never lost, and every handler must be idempotent.
//! - A failed or panicking handler is retried with exponential backoff; after `max_attempts`
//!   the job is dead-lettered with its last error, and the queue moves on.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kernel::{JobId, Kommunenummer, Timestamp};
use rand::Rng;
use tokio::task::JoinSet;

use crate::{Backend, Db, StoreError, Tx, params};

/// How many times a job is tried before it is dead-lettered, unless it says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// Which handler runs it, e.g. `feedback.notify`.
    pub kind: String,
    /// The handler's input. Ids, not personal data.
    pub payload: serde_json::Value,
    /// The municipality it belongs to, if any.
    pub kommunenummer: Option<Kommunenummer>,
    /// Enqueueing twice with the same key yields one job.
    pub idempotency_key: Option<String>,
    /// Tries before dead-lettering.
    pub max_attempts: u32,
    /// Not before this time; now if `None`.
    pub run_at: Option<Timestamp>,
}

impl NewJob {
    /// A job of `kind` with `payload`, due now, with the default number of attempts.
    pub fn new(kind: impl Into<String>, payload: serde_json::Value) -> Self {
        Self {
            kind: kind.into(),
            payload,
            kommunenummer: None,
            idempotency_key: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            run_at: None,
        }
    }

    /// Ties the job to a municipality.
    pub fn for_kommune(mut self, kommunenummer: Kommunenummer) -> Self {
        self.kommunenummer = Some(kommunenummer);
        self
    }

    /// Makes enqueueing idempotent under `key`.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Sets how many attempts the job gets (at least one).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }
}

#[derive(serde::Deserialize)]
struct IdRow {
    id: String,
}

impl Tx {
    /// Enqueues a job inside this transaction: it exists exactly when the transaction commits.
    /// With an idempotency key that is already taken, returns the existing job's id.
    pub async fn enqueue(&mut self, job: &NewJob) -> Result<JobId, StoreError> {
        let id = JobId::new();
        let now = Timestamp::now();
        let payload = serde_json::to_string(&job.payload).map_err(|e| StoreError::Malformed(e.to_string()))?;
        let inserted = self
            .execute(
                "INSERT INTO jobs (id, kommunenummer, kind, payload, idempotency_key, status, attempts, \
                 max_attempts, run_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, $7, $8, $8) \
                 ON CONFLICT (idempotency_key) DO NOTHING",
                &params![
                    id.to_string(),
                    job.kommunenummer,
                    job.kind.as_str(),
                    payload,
                    job.idempotency_key.clone(),
                    i64::from(job.max_attempts),
                    job.run_at.unwrap_or(now),
                    now,
                ],
            )
            .await?;
        if inserted == 1 {
            return Ok(id);
        }
        let existing = self
            .fetch_optional::<IdRow>(
                "SELECT id FROM jobs WHERE idempotency_key = $1",
                &params![job.idempotency_key.clone()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        JobId::parse(&existing.id).map_err(|e| StoreError::Malformed(e.to_string()))
    }
}

impl Db {
    /// Enqueues a job in a transaction of its own. Prefer [`Tx::enqueue`] next to the change
    /// that causes the job.
    pub async fn enqueue(&self, job: &NewJob) -> Result<JobId, StoreError> {
        let mut tx = self.begin().await?;
        let id = tx.enqueue(job).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// How many jobs are in each state, for metrics and tests.
    pub async fn job_counts(&self) -> Result<JobCounts, StoreError> {
        let rows = self.fetch_all::<Count>("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status", &[]).await?;
        Ok(JobCounts::from_rows(rows))
    }

    /// How many jobs of one kind are in each state.
    pub async fn job_counts_of(&self, kind: &str) -> Result<JobCounts, StoreError> {
        let rows = self
            .fetch_all::<Count>(
                "SELECT status, COUNT(*) AS n FROM jobs WHERE kind = $1 GROUP BY status",
                &params![kind],
            )
            .await?;
        Ok(JobCounts::from_rows(rows))
    }

    /// Every dead-lettered job, oldest first, with its last error.
    pub async fn dead_jobs(&self) -> Result<Vec<DeadJob>, StoreError> {
        self.fetch_all::<DeadJob>(
            "SELECT id, kind, attempts, last_error FROM jobs WHERE status = 'dead' ORDER BY created_at",
            &[],
        )
        .await
    }
}

#[derive(serde::Deserialize)]
struct Count {
    status: String,
    n: i64,
}

impl JobCounts {
    fn from_rows(rows: Vec<Count>) -> Self {
        let mut counts = JobCounts::default();
        for row in rows {
            match row.status.as_str() {
                "queued" => counts.queued = row.n,
                "running" => counts.running = row.n,
                "done" => counts.done = row.n,
                "dead" => counts.dead = row.n,
                _ => {}
            }
        }
        counts
    }
}

/// Jobs per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    /// Waiting to run (including retries waiting out their backoff).
    pub queued: i64,
    /// Claimed by a worker.
    pub running: i64,
    /// Finished.
    pub done: i64,
    /// Dead-lettered after their last attempt.
    pub dead: i64,
}

/// A dead-lettered job.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct DeadJob {
    /// The job's id.
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// How many attempts it had.
    pub attempts: i64,
    /// The error of the last attempt.
    pub last_error: Option<String>,
}

/// A job a worker has claimed, as its handler sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    /// The job's id.
    pub id: JobId,
    /// Its kind.
    pub kind: String,
    /// Its payload.
    pub payload: serde_json::Value,
    /// Its municipality, if any.
    pub kommunenummer: Option<Kommunenummer>,
    /// Which attempt this is, from 1.
    pub attempt: u32,
    /// How many attempts it gets.
    pub max_attempts: u32,
    /// The worker holding the claim. With [`ClaimedJob::attempt`] it fences every change of the
    /// job's state: once the lease has run out and another worker has claimed the job again,
    /// this claim's outcome is refused.
    pub worker: String,
}

#[derive(serde::Deserialize)]
struct ClaimRow {
    id: String,
    kommunenummer: Option<String>,
    kind: String,
    payload: String,
    attempts: i64,
    max_attempts: i64,
    locked_by: String,
}

impl ClaimRow {
    fn into_claimed(self) -> Result<ClaimedJob, StoreError> {
        let malformed = |what: &str| StoreError::Malformed(format!("job {}: {what}", self.id));
        Ok(ClaimedJob {
            id: JobId::parse(&self.id).map_err(|_| malformed("id"))?,
            payload: serde_json::from_str(&self.payload).map_err(|_| malformed("payload"))?,
            kommunenummer: match &self.kommunenummer {
                Some(k) => Some(Kommunenummer::parse(k).map_err(|_| malformed("kommunenummer"))?),
                None => None,
            },
            attempt: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            max_attempts: u32::try_from(self.max_attempts).unwrap_or(1),
            kind: self.kind,
            worker: self.locked_by,
        })
    }
}

// Due jobs are read in `run_at` order from the index on (status, run_at), and the scan stops at
// the limit; jobs whose lease ran out are few and found by status alone. (One condition with
// OR over both would read and sort the whole backlog on every claim.)
const CLAIM_SQLITE: &str = "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $1, \
     locked_by = $2, updated_at = $3 \
     WHERE id IN (SELECT id FROM ( \
                    SELECT id, run_at FROM (SELECT id, run_at FROM jobs WHERE status = 'queued' AND run_at <= $3 \
                                            ORDER BY run_at LIMIT $4) \
                    UNION ALL \
                    SELECT id, run_at FROM jobs WHERE status = 'running' AND locked_until < $3) \
                  ORDER BY run_at LIMIT $4) \
     RETURNING id, kommunenummer, kind, payload, attempts, max_attempts, locked_by";

// PostgreSQL takes no row locks over a UNION, so the two kinds are claimed in two locking reads;
// `SKIP LOCKED` lets claims in other processes pass each other.
const CLAIM_POSTGRES: &str = "WITH due AS (SELECT id FROM jobs WHERE status = 'queued' AND run_at <= $3 \
                               ORDER BY run_at LIMIT $4 FOR UPDATE SKIP LOCKED), \
          expired AS (SELECT id FROM jobs WHERE status = 'running' AND locked_until < $3 \
                      LIMIT $4 FOR UPDATE SKIP LOCKED) \
     UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $1, locked_by = $2, updated_at = $3 \
     WHERE id IN (SELECT id FROM due UNION ALL SELECT id FROM (SELECT id FROM expired LIMIT $4 - (SELECT COUNT(*) FROM due)) e) \
     RETURNING id, kommunenummer, kind, payload, attempts, max_attempts, locked_by";

/// Claims up to `limit` due jobs for `worker`, leasing them until `now + lease`.
pub async fn claim(
    db: &Db,
    worker: &str,
    limit: u32,
    now: Timestamp,
    lease: Duration,
) -> Result<Vec<ClaimedJob>, StoreError> {
    let sql = match db.backend() {
        Backend::Sqlite => CLAIM_SQLITE,
        Backend::Postgres => CLAIM_POSTGRES,
    };
    let lease_millis = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    // One statement is atomic on both engines, so no explicit transaction (and on an idle
    // queue, no BEGIN/COMMIT round trips every poll). On SQLite it still takes the writer lock.
    let rows =
        db.fetch_all::<ClaimRow>(sql, &params![now.plus_millis(lease_millis), worker, now, i64::from(limit)]).await?;
    rows.into_iter().map(ClaimRow::into_claimed).collect()
}

/// Refuses (and logs) an outcome whose claim is no longer the job's.
fn fenced(changed: u64, job: &ClaimedJob) -> Result<(), StoreError> {
    if changed == 1 {
        return Ok(());
    }
    tracing::warn!(
        job.id = %job.id,
        job.kind = %job.kind,
        job.attempt = job.attempt,
        "a job's lease ran out before its handler finished and the job was claimed again; this outcome was refused"
    );
    Err(StoreError::StaleClaim(format!("job {} attempt {}", job.id, job.attempt)))
}

/// Marks a claimed job as done, if the claim is still the job's: a worker whose lease ran out
/// and whose job another worker has claimed since gets [`StoreError::StaleClaim`], and nothing
/// changes.
pub async fn complete(db: &Db, job: &ClaimedJob) -> Result<(), StoreError> {
    let changed = db
        .execute(
            "UPDATE jobs SET status = 'done', locked_until = NULL, locked_by = NULL, last_error = NULL, updated_at = $1 \
             WHERE id = $2 AND status = 'running' AND locked_by = $3 AND attempts = $4",
            &params![Timestamp::now(), job.id.to_string(), job.worker.as_str(), i64::from(job.attempt)],
        )
        .await?;
    fenced(changed, job)
}

/// Records a failed attempt: back to the queue after `retry_at`, or dead when it was the last.
/// Returns true when the job was dead-lettered. Fenced like [`complete`].
pub async fn fail(db: &Db, job: &ClaimedJob, error: &str, retry_at: Timestamp) -> Result<bool, StoreError> {
    let dead = job.attempt >= job.max_attempts;
    let error: String = error.chars().take(2000).collect();
    let changed = db
        .execute(
            "UPDATE jobs SET status = $1, run_at = $2, last_error = $3, locked_until = NULL, locked_by = NULL, \
             updated_at = $4 WHERE id = $5 AND status = 'running' AND locked_by = $6 AND attempts = $7",
            &params![
                if dead { "dead" } else { "queued" },
                retry_at,
                error,
                Timestamp::now(),
                job.id.to_string(),
                job.worker.as_str(),
                i64::from(job.attempt),
            ],
        )
        .await?;
    fenced(changed, job)?;
    Ok(dead)
}

/// Deletes finished jobs: done ones last changed before `done_before`, dead ones before
/// `dead_before`. Returns how many went.
pub async fn purge_finished(
    db: &Db,
    done_before: Option<Timestamp>,
    dead_before: Option<Timestamp>,
) -> Result<u64, StoreError> {
    let mut purged = 0;
    for (status, before) in [("done", done_before), ("dead", dead_before)] {
        if let Some(before) = before {
            purged +=
                db.execute("DELETE FROM jobs WHERE status = $1 AND updated_at < $2", &params![status, before]).await?;
        }
    }
    Ok(purged)
}

/// The delay before retry number `attempt + 1`: `base · 2^(attempt−1)`, capped, with up to 10 %
/// random jitter so that a burst of failures does not retry in lockstep.
pub fn backoff(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let exponent = attempt.saturating_sub(1).min(30);
    let delay = base.saturating_mul(1_u32 << exponent).min(cap);
    let jitter = rand::rng().random_range(0.0..0.1);
    delay.mul_f64(1.0 + jitter)
}

/// A handler's panic as the error kept for it.
pub(crate) fn panicked(panic: Box<dyn std::any::Any + Send>) -> String {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    format!("handler panicked: {message}")
}

/// What a handler returns. An `Err` is retried; its text is kept as the job's last error.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'static>>;

type Handler = Arc<dyn Fn(ClaimedJob) -> HandlerFuture + Send + Sync>;

/// The handlers a worker knows, by job kind.
#[derive(Clone, Default)]
pub struct Handlers {
    map: HashMap<String, Handler>,
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handlers").field("kinds", &self.map.keys().collect::<Vec<_>>()).finish()
    }
}

impl Handlers {
    /// No handlers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the handler for `kind`.
    pub fn register<F, Fut>(&mut self, kind: &str, handler: F) -> &mut Self
    where
        F: Fn(ClaimedJob) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.map.insert(kind.to_owned(), Arc::new(move |job| Box::pin(handler(job))));
        self
    }
}

/// How a worker behaves.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Jobs run at the same time.
    pub concurrency: usize,
    /// How often to look for due jobs when the queue was empty.
    pub poll_interval: Duration,
    /// How long a claim lasts before another worker may take the job over.
    pub lease: Duration,
    /// First retry delay.
    pub base_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
    /// How long shutdown waits for running handlers before leaving them to the lease.
    pub shutdown_grace: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            poll_interval: Duration::from_millis(250),
            lease: Duration::from_secs(300),
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(3600),
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

/// Counters of what workers in this process did, for `/metrics`.
#[derive(Debug, Default)]
pub struct JobStats {
    /// Jobs finished.
    pub completed: AtomicU64,
    /// Attempts that failed (including panics).
    pub failed_attempts: AtomicU64,
    /// Jobs dead-lettered.
    pub dead_lettered: AtomicU64,
    /// Outcomes refused because the claim had run out and the job was claimed again.
    pub stale_outcomes: AtomicU64,
}

/// What a run of the queue did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Jobs finished.
    pub completed: u64,
    /// Attempts that failed.
    pub failed_attempts: u64,
    /// Jobs dead-lettered.
    pub dead_lettered: u64,
    /// Outcomes refused because the claim had run out and the job was claimed again.
    pub stale_outcomes: u64,
}

/// Why [`Worker::drain`] failed.
#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Jobs were left behind.
    #[error("jobs left behind after draining: {counts:?}; dead: {dead:?}")]
    Left {
        /// Counts by state after draining.
        counts: JobCounts,
        /// The dead-lettered jobs with their errors.
        dead: Vec<DeadJob>,
    },
}

/// Claims and runs jobs.
#[derive(Debug, Clone)]
pub struct Worker {
    db: Db,
    handlers: Arc<Handlers>,
    config: WorkerConfig,
    name: String,
    stats: Arc<JobStats>,
}

impl Worker {
    /// A worker over `db` with `handlers`.
    pub fn new(db: Db, handlers: Handlers, config: WorkerConfig) -> Self {
        Self {
            db,
            handlers: Arc::new(handlers),
            config,
            name: format!("worker-{}", uuid::Uuid::now_v7()),
            stats: Arc::new(JobStats::default()),
        }
    }

    /// The counters this worker updates.
    pub fn stats(&self) -> Arc<JobStats> {
        self.stats.clone()
    }

    /// Runs one claimed job to the end and records the outcome.
    async fn run_job(&self, job: ClaimedJob, report: &mut RunReport) -> Result<(), StoreError> {
        let handler = self.handlers.map.get(&job.kind).cloned();
        let outcome = match handler {
            None => Err(format!("no handler registered for job kind {:?}", job.kind)),
            // Run on its own task so that a panic is caught as a JoinError, not lost.
            Some(handler) => match tokio::spawn(handler(job.clone())).await {
                Ok(result) => result,
                Err(join_error) if join_error.is_panic() => Err(panicked(join_error.into_panic())),
                Err(join_error) => Err(format!("handler was cancelled: {join_error}")),
            },
        };
        let recorded = match outcome {
            Ok(()) => complete(&self.db, &job).await.map(|()| {
                self.stats.completed.fetch_add(1, Ordering::Relaxed);
                report.completed += 1;
            }),
            Err(error) => {
                let delay = backoff(job.attempt, self.config.base_backoff, self.config.max_backoff);
                let retry_at = Timestamp::now().plus_millis(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
                fail(&self.db, &job, &error, retry_at).await.map(|dead| {
                    self.stats.failed_attempts.fetch_add(1, Ordering::Relaxed);
                    report.failed_attempts += 1;
                    if dead {
                        self.stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
                        report.dead_lettered += 1;
                        tracing::error!(job.id = %job.id, job.kind = %job.kind, job.attempt = job.attempt, "job dead-lettered");
                    } else {
                        tracing::warn!(job.id = %job.id, job.kind = %job.kind, job.attempt = job.attempt, "job attempt failed; will retry");
                    }
                })
            }
        };
        match recorded {
            // The job belongs to another worker's claim now; its outcome there counts.
            Err(StoreError::StaleClaim(_)) => {
                self.stats.stale_outcomes.fetch_add(1, Ordering::Relaxed);
                report.stale_outcomes += 1;
                Ok(())
            }
            other => other,
        }
    }

    /// Claims and runs one batch of jobs due at `now`; returns what it did.
    pub async fn run_once(&self, now: Timestamp) -> Result<RunReport, StoreError> {
        let limit = u32::try_from(self.config.concurrency.max(1)).unwrap_or(1);
        let jobs = claim(&self.db, &self.name, limit, now, self.config.lease).await?;
        let mut report = RunReport::default();
        for job in jobs {
            self.run_job(job, &mut report).await?;
        }
        Ok(report)
    }

    /// Runs every job, ignoring backoff delays, until the queue is empty. Dead-lettered jobs
    /// are counted, not treated as an error.
    pub async fn run_until_idle(&self) -> Result<RunReport, StoreError> {
        let mut total = RunReport::default();
        for _ in 0..100_000 {
            let now = Timestamp::now();
            let report = self.run_once(now).await?;
            if report == RunReport::default() {
                // Retries waiting out their backoff, and jobs whose worker's lease has not run
                // out, are brought forward; jobs scheduled for later (the next retention purge)
                // are left for their time.
                let hastened = self
                    .db
                    .execute(
                        "UPDATE jobs SET run_at = $1, locked_until = $1 \
                         WHERE (status = 'queued' AND attempts > 0 AND run_at > $1) \
                            OR (status = 'running' AND locked_until >= $1)",
                        &params![now.plus_millis(-1)],
                    )
                    .await?;
                if hastened == 0 {
                    break;
                }
                continue;
            }
            total.completed += report.completed;
            total.failed_attempts += report.failed_attempts;
            total.dead_lettered += report.dead_lettered;
            total.stale_outcomes += report.stale_outcomes;
        }
        Ok(total)
    }

    /// For tests: runs every job to the end and fails if any job is left queued (but for jobs
    /// scheduled for later that have not been tried), running or dead-lettered.
    pub async fn drain(&self) -> Result<RunReport, DrainError> {
        let report = self.run_until_idle().await?;
        let (left,): (i64,) = self
            .db
            .fetch_optional(
                "SELECT COUNT(*) AS n FROM jobs WHERE status IN ('running', 'dead') \
                 OR (status = 'queued' AND (attempts > 0 OR run_at <= $1))",
                &params![Timestamp::now()],
            )
            .await?
            .unwrap_or((0,));
        if left > 0 {
            let counts = self.db.job_counts().await?;
            let dead = self.db.dead_jobs().await?;
            return Err(DrainError::Left { counts, dead });
        }
        Ok(report)
    }

    /// Runs until `shutdown` resolves, then stops claiming and waits (up to the grace period)
    /// for running handlers. A handler still running after that keeps its lease and is taken
    /// over by the next worker once the lease runs out.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut running: JoinSet<()> = JoinSet::new();
        let concurrency = self.config.concurrency.max(1);
        loop {
            while running.try_join_next().is_some() {}
            let free = concurrency.saturating_sub(running.len());
            let mut claimed_any = false;
            if free > 0 {
                let limit = u32::try_from(free).unwrap_or(1);
                match claim(&self.db, &self.name, limit, Timestamp::now(), self.config.lease).await {
                    Ok(jobs) => {
                        claimed_any = !jobs.is_empty();
                        for job in jobs {
                            let worker = self.clone();
                            running.spawn(async move {
                                let mut report = RunReport::default();
                                if let Err(error) = worker.run_job(job, &mut report).await {
                                    tracing::error!(error = %error, "could not record a job outcome");
                                }
                            });
                        }
                    }
                    Err(error) => tracing::error!(error = %error, "could not claim jobs"),
                }
            }
            if claimed_any && running.len() < concurrency {
                // More may be waiting; look again at once unless asked to stop.
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = tokio::task::yield_now() => continue,
                }
            }
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some(_) = running.join_next(), if !running.is_empty() => {}
                () = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
        let grace =
            tokio::time::timeout(self.config.shutdown_grace, async { while running.join_next().await.is_some() {} });
        if grace.await.is_err() {
            tracing::warn!(jobs.left = running.len(), "shutdown grace ran out; leases will hand the jobs on");
            running.detach_all();
        }
    }
}
