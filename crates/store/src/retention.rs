//! Retention: finished jobs and consumed events are deleted once they are old enough, by a job
//! that runs once per interval and schedules its next run itself.
//!
//! A run is idempotent, and the job for each interval has an idempotency key of its own
//! (`store.retention:<interval number>`), so any number of instances scheduling it at start
//! make one job per interval.

use std::time::Duration;

use kernel::{JobId, Timestamp};

use crate::consumers::purge_consumed_events;
use crate::jobs::{Handlers, NewJob, purge_finished};
use crate::{Db, StoreError};

/// The retention job's kind.
pub const JOB_KIND: &str = "store.retention";

/// How long finished work is kept. `None` keeps it for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Jobs that finished.
    pub done_jobs: Option<Duration>,
    /// Jobs that were dead-lettered (kept longer: someone should look at them).
    pub dead_jobs: Option<Duration>,
    /// Events every consumer has passed.
    pub events: Option<Duration>,
    /// How often the purge runs.
    pub interval: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        const DAY: u64 = 24 * 3600;
        Self {
            done_jobs: Some(Duration::from_secs(14 * DAY)),
            dead_jobs: Some(Duration::from_secs(90 * DAY)),
            events: Some(Duration::from_secs(90 * DAY)),
            interval: Duration::from_secs(3600),
        }
    }
}

/// What one purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Jobs deleted.
    pub jobs: u64,
    /// Events deleted.
    pub events: u64,
}

fn before(now: Timestamp, age: Option<Duration>) -> Option<Timestamp> {
    age.map(|age| now.plus_millis(-i64::try_from(age.as_millis()).unwrap_or(i64::MAX)))
}

impl Retention {
    fn interval_millis(&self) -> i64 {
        i64::try_from(self.interval.as_millis()).unwrap_or(i64::MAX).max(1)
    }

    /// Deletes what is older than its retention at `now`.
    pub async fn purge(&self, db: &Db, now: Timestamp) -> Result<Purged, StoreError> {
        let jobs = purge_finished(db, before(now, self.done_jobs), before(now, self.dead_jobs)).await?;
        let events = match before(now, self.events) {
            Some(cutoff) => purge_consumed_events(db, cutoff).await?,
            None => 0,
        };
        Ok(Purged { jobs, events })
    }

    /// The job for the interval that contains `at`, due at the interval's start.
    fn job_for(&self, at: Timestamp) -> NewJob {
        let number = at.millis() / self.interval_millis();
        let mut job = NewJob::new(JOB_KIND, serde_json::json!({ "interval": number }))
            .idempotency_key(format!("{JOB_KIND}:{number}"));
        job.run_at = Some(Timestamp(number * self.interval_millis()));
        job
    }

    /// Enqueues this interval's run (once, however many instances ask).
    pub async fn schedule(&self, db: &Db) -> Result<JobId, StoreError> {
        db.enqueue(&self.job_for(Timestamp::now())).await
    }

    /// Registers the handler: purge, then enqueue the next interval's run.
    pub fn register(&self, handlers: &mut Handlers, db: Db) {
        let retention = *self;
        handlers.register(JOB_KIND, move |_job| {
            let db = db.clone();
            async move {
                let now = Timestamp::now();
                let purged = retention.purge(&db, now).await.map_err(|e| e.to_string())?;
                tracing::info!(purged.jobs = purged.jobs, purged.events = purged.events, "retention purge");
                let next = now.plus_millis(retention.interval_millis());
                db.enqueue(&retention.job_for(next)).await.map_err(|e| e.to_string())?;
                Ok(())
            }
        });
    }
}
