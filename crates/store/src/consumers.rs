//! Durable consumers of the event feed: proactive services, webhooks and KPIs read the feed
//! through these.
//!
//! - A consumer has a name and a stored position (`event_consumers`). It reads the events after
//!   its position in commit order ([`Db::events_after`]) and handles each inside a transaction
//!   in which its position moves too: when the handler's writes commit, so does the move, and
//!   the event is never handled again; when they do not, neither does the move. So an event is
//!   handled at least once, and its effects in the database exactly once.
//! - Each handled event's transaction first reads the consumer's row (on PostgreSQL with
//!   `FOR UPDATE SKIP LOCKED`) and goes on only if the position is the one it read the events
//!   after: two instances never handle the same consumer at once, and an instance that fell
//!   behind does nothing.
//! - A failing (or panicking) handler is retried with backoff. After `max_attempts` the consumer
//!   is *parked* at that event with its error, and the others carry on; [`resume`] and
//!   [`skip`] are for the operator who has looked at it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::FutureExt as _;
use kernel::Timestamp;

use crate::events::{Position, StoredEvent};
use crate::jobs::backoff;
use crate::{Backend, Db, StoreError, Tx, params};

/// What a consumer's handler returns: `Err` rolls its transaction back and is retried.
pub type ConsumerFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Where a new consumer starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// With the oldest event still kept.
    Beginning,
    /// After the newest event when the consumer is first registered.
    End,
}

/// A named, durable reader of the event feed.
pub trait Consumer: Send + Sync + 'static {
    /// Its name, under which its position is stored; never change it once it has run.
    fn name(&self) -> &'static str;

    /// Where it starts the first time it runs.
    fn start_at(&self) -> StartAt {
        StartAt::Beginning
    }

    /// Whether it handles this event; the position moves past the others without a call.
    fn wants(&self, event: &StoredEvent) -> bool {
        let _ = event;
        true
    }

    /// Handles one event inside `tx`, in which the consumer's position moves past the event.
    /// Write through `tx` (not through another handle), so the writes and the move commit
    /// together. Anything done outside the database may be done again after a crash.
    fn handle<'a>(&'a self, tx: &'a mut Tx, event: &'a StoredEvent) -> ConsumerFuture<'a>;
}

/// How consumers run.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Events read per round.
    pub batch: u32,
    /// How often an idle consumer looks for new events.
    pub poll_interval: Duration,
    /// Tries on one event before the consumer is parked.
    pub max_attempts: u32,
    /// First retry delay.
    pub base_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        Self {
            batch: 100,
            poll_interval: Duration::from_millis(250),
            max_attempts: 5,
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(3600),
        }
    }
}

/// A consumer's stored state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerState {
    /// Its name.
    pub name: String,
    /// The last event it has passed.
    pub position: Position,
    /// `active` or `parked`.
    pub status: String,
    /// Failed attempts on the event after its position.
    pub attempts: i64,
    /// The last error, if the last attempt failed.
    pub last_error: Option<String>,
    /// Events it has handled.
    pub handled: i64,
}

impl ConsumerState {
    /// Whether it stopped after failing too often.
    pub fn is_parked(&self) -> bool {
        self.status == "parked"
    }
}

#[derive(serde::Deserialize)]
struct StateRow {
    name: String,
    position_txid: i64,
    position_seq: i64,
    status: String,
    attempts: i64,
    retry_at: i64,
    last_error: Option<String>,
    handled: i64,
}

impl StateRow {
    fn position(&self) -> Position {
        Position { txid: self.position_txid, seq: self.position_seq }
    }

    fn into_state(self) -> ConsumerState {
        ConsumerState {
            position: self.position(),
            name: self.name,
            status: self.status,
            attempts: self.attempts,
            last_error: self.last_error,
            handled: self.handled,
        }
    }
}

const STATE_COLUMNS: &str = "name, position_txid, position_seq, status, attempts, retry_at, last_error, handled";

/// Every consumer's stored state, by name.
pub async fn states(db: &Db) -> Result<Vec<ConsumerState>, StoreError> {
    let rows: Vec<StateRow> =
        db.fetch_all(&format!("SELECT {STATE_COLUMNS} FROM event_consumers ORDER BY name"), &[]).await?;
    Ok(rows.into_iter().map(StateRow::into_state).collect())
}

/// Starts a parked consumer again at the event it failed on, with fresh attempts. Returns
/// false when no such consumer is parked.
pub async fn resume(db: &Db, name: &str) -> Result<bool, StoreError> {
    let changed = db
        .execute(
            "UPDATE event_consumers SET status = 'active', attempts = 0, retry_at = 0, updated_at = $1 \
             WHERE name = $2 AND status = 'parked'",
            &params![Timestamp::now(), name],
        )
        .await?;
    Ok(changed == 1)
}

/// Moves a parked consumer past the event it failed on, without handling it, and starts it
/// again; the error is kept as its last error. Returns the skipped event's position.
pub async fn skip(db: &Db, name: &str) -> Result<Option<Position>, StoreError> {
    let Some(row) = db
        .fetch_optional::<StateRow>(
            &format!("SELECT {STATE_COLUMNS} FROM event_consumers WHERE name = $1 AND status = 'parked'"),
            &params![name],
        )
        .await?
    else {
        return Ok(None);
    };
    let Some(next) = db.events_after(row.position(), 1).await?.into_iter().next() else { return Ok(None) };
    let changed = db
        .execute(
            "UPDATE event_consumers SET position_txid = $1, position_seq = $2, status = 'active', attempts = 0, \
             retry_at = 0, updated_at = $3 WHERE name = $4 AND position_txid = $5 AND position_seq = $6",
            &params![
                next.position.txid,
                next.position.seq,
                Timestamp::now(),
                name,
                row.position_txid,
                row.position_seq
            ],
        )
        .await?;
    tracing::warn!(consumer.name = name, event.position = %next.position, "a parked consumer was moved past an event by hand");
    Ok((changed == 1).then_some(next.position))
}

/// Counters of what consumers in this process did, for `/metrics`.
#[derive(Debug, Default)]
pub struct ConsumerStats {
    /// Events handled.
    pub handled: AtomicU64,
    /// Attempts that failed (including panics).
    pub failed_attempts: AtomicU64,
    /// Times a consumer was parked.
    pub parked: AtomicU64,
}

/// What a run of the consumers did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConsumerReport {
    /// Events handled (not counting those passed over).
    pub handled: u64,
    /// Attempts that failed.
    pub failed_attempts: u64,
    /// Consumers parked.
    pub parked: u64,
}

impl ConsumerReport {
    fn add(&mut self, other: ConsumerReport) {
        self.handled += other.handled;
        self.failed_attempts += other.failed_attempts;
        self.parked += other.parked;
    }
}

/// Why [`Consumers::drain`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerDrainError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A consumer was parked.
    #[error("consumer {name} is parked: {error:?}")]
    Parked {
        /// The consumer.
        name: String,
        /// Its last error.
        error: Option<String>,
    },
    /// A consumer did not reach the end of the feed in time.
    #[error("consumer {name} stopped at {position}, before {target}")]
    Behind {
        /// The consumer.
        name: String,
        /// Where it is.
        position: Position,
        /// Where the feed ends.
        target: Position,
    },
}

/// What one round of one consumer came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Round {
    /// It handled or passed events; there may be more.
    Progress,
    /// It failed on an event and will try again after a backoff.
    Failed,
    /// Nothing to do now: no new events, waiting out a backoff, parked, or another instance
    /// has it.
    Idle,
}

/// The consumers this process runs.
#[derive(Clone)]
pub struct Consumers {
    db: Db,
    consumers: Vec<Arc<dyn Consumer>>,
    config: ConsumerConfig,
    stats: Arc<ConsumerStats>,
}

impl std::fmt::Debug for Consumers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.consumers.iter().map(|c| c.name()).collect();
        f.debug_struct("Consumers").field("names", &names).field("config", &self.config).finish()
    }
}

impl Consumers {
    /// No consumers yet.
    pub fn new(db: Db, config: ConsumerConfig) -> Self {
        Self { db, consumers: Vec::new(), config, stats: Arc::new(ConsumerStats::default()) }
    }

    /// Adds a consumer.
    pub fn add(&mut self, consumer: impl Consumer) -> &mut Self {
        self.consumers.push(Arc::new(consumer));
        self
    }

    /// The counters these consumers update.
    pub fn stats(&self) -> Arc<ConsumerStats> {
        self.stats.clone()
    }

    /// Stores a position for every consumer that has none yet.
    pub async fn register(&self) -> Result<(), StoreError> {
        for consumer in &self.consumers {
            let start = match consumer.start_at() {
                StartAt::Beginning => Position::START,
                StartAt::End => self.db.last_committed_event().await?,
            };
            self.db
                .execute(
                    "INSERT INTO event_consumers (name, position_txid, position_seq, updated_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
                    &params![consumer.name(), start.txid, start.seq, Timestamp::now()],
                )
                .await?;
        }
        Ok(())
    }

    /// One round of one consumer: at most a batch of events.
    async fn round(
        &self,
        consumer: &dyn Consumer,
        now: Timestamp,
        report: &mut ConsumerReport,
    ) -> Result<Round, StoreError> {
        let name = consumer.name();
        let Some(state) = self
            .db
            .fetch_optional::<StateRow>(
                &format!("SELECT {STATE_COLUMNS} FROM event_consumers WHERE name = $1"),
                &params![name],
            )
            .await?
        else {
            self.register().await?;
            return Ok(Round::Progress);
        };
        if state.status != "active" || state.retry_at > now.millis() {
            return Ok(Round::Idle);
        }
        let events = self.db.events_after(state.position(), self.config.batch).await?;
        if events.is_empty() {
            return Ok(Round::Idle);
        }
        let mut stored = state.position();
        for event in &events {
            if !consumer.wants(event) {
                continue;
            }
            let mut tx = self.db.begin().await?;
            let lock = match tx.backend() {
                Backend::Sqlite => "SELECT position_txid, position_seq FROM event_consumers WHERE name = $1",
                Backend::Postgres => {
                    "SELECT position_txid, position_seq FROM event_consumers WHERE name = $1 FOR UPDATE SKIP LOCKED"
                }
            };
            let current = tx.fetch_optional::<(i64, i64)>(lock, &params![name]).await?;
            if current != Some((stored.txid, stored.seq)) {
                // Another instance has it, or has moved it on.
                return Ok(Round::Idle);
            }
            let outcome = std::panic::AssertUnwindSafe(consumer.handle(&mut tx, event)).catch_unwind().await;
            let outcome = outcome.unwrap_or_else(|panic| Err(crate::jobs::panicked(panic)));
            if let Err(error) = outcome {
                drop(tx);
                let parked = self.failed(name, stored, state.attempts + 1, &error, report).await?;
                return Ok(if parked { Round::Idle } else { Round::Failed });
            }
            tx.execute(
                "UPDATE event_consumers SET position_txid = $1, position_seq = $2, attempts = 0, retry_at = 0, \
                 last_error = NULL, handled = handled + 1, updated_at = $3 WHERE name = $4",
                &params![event.position.txid, event.position.seq, Timestamp::now(), name],
            )
            .await?;
            tx.commit().await?;
            stored = event.position;
            report.handled += 1;
            self.stats.handled.fetch_add(1, Ordering::Relaxed);
        }
        let last = events.last().map_or(stored, |e| e.position);
        if last != stored {
            // Events the consumer passed over: one move, fenced by where it was.
            self.db
                .execute(
                    "UPDATE event_consumers SET position_txid = $1, position_seq = $2, updated_at = $3 \
                     WHERE name = $4 AND position_txid = $5 AND position_seq = $6",
                    &params![last.txid, last.seq, Timestamp::now(), name, stored.txid, stored.seq],
                )
                .await?;
        }
        Ok(Round::Progress)
    }

    /// Records a failed attempt at the event after `at`: a retry after a backoff, or parked.
    async fn failed(
        &self,
        name: &str,
        at: Position,
        attempt: i64,
        error: &str,
        report: &mut ConsumerReport,
    ) -> Result<bool, StoreError> {
        let parked = attempt >= i64::from(self.config.max_attempts);
        let attempt_u32 = u32::try_from(attempt).unwrap_or(u32::MAX);
        let delay = backoff(attempt_u32, self.config.base_backoff, self.config.max_backoff);
        let retry_at = Timestamp::now().plus_millis(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
        let error: String = error.chars().take(2000).collect();
        self.db
            .execute(
                "UPDATE event_consumers SET attempts = $1, retry_at = $2, last_error = $3, status = $4, updated_at = $5 \
                 WHERE name = $6 AND position_txid = $7 AND position_seq = $8",
                &params![
                    attempt,
                    retry_at,
                    error,
                    if parked { "parked" } else { "active" },
                    Timestamp::now(),
                    name,
                    at.txid,
                    at.seq
                ],
            )
            .await?;
        report.failed_attempts += 1;
        self.stats.failed_attempts.fetch_add(1, Ordering::Relaxed);
        if parked {
            report.parked += 1;
            self.stats.parked.fetch_add(1, Ordering::Relaxed);
            tracing::error!(consumer.name = name, consumer.position = %at, consumer.attempt = attempt, "event consumer parked after its last attempt");
        } else {
            tracing::warn!(consumer.name = name, consumer.position = %at, consumer.attempt = attempt, "event consumer failed; will retry");
        }
        Ok(parked)
    }

    /// One round of every consumer, as due at `now`.
    pub async fn run_once(&self, now: Timestamp) -> Result<ConsumerReport, StoreError> {
        let mut report = ConsumerReport::default();
        for consumer in &self.consumers {
            self.round(consumer.as_ref(), now, &mut report).await?;
        }
        Ok(report)
    }

    /// Rounds of every consumer, ignoring backoff delays, until none makes progress (a failing
    /// one is retried until it succeeds or is parked).
    pub async fn run_until_idle(&self) -> Result<ConsumerReport, StoreError> {
        let far_future = Timestamp::now().plus_millis(10 * 365 * 24 * 3600 * 1000);
        let mut total = ConsumerReport::default();
        loop {
            let mut progressed = false;
            for consumer in &self.consumers {
                let mut report = ConsumerReport::default();
                progressed |= self.round(consumer.as_ref(), far_future, &mut report).await? != Round::Idle;
                total.add(report);
            }
            if !progressed {
                return Ok(total);
            }
        }
    }

    /// For tests: runs every consumer until it has passed every event committed before the
    /// call; fails if one is parked, or does not get there within ten seconds.
    pub async fn drain(&self) -> Result<ConsumerReport, ConsumerDrainError> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let target = self.db.feed_caught_up(Duration::from_secs(10)).await?;
        let mut total = ConsumerReport::default();
        loop {
            total.add(self.run_until_idle().await?);
            let states = states(&self.db).await?;
            let mut behind = None;
            for consumer in &self.consumers {
                let Some(state) = states.iter().find(|s| s.name == consumer.name()) else { continue };
                if state.is_parked() {
                    return Err(ConsumerDrainError::Parked {
                        name: state.name.clone(),
                        error: state.last_error.clone(),
                    });
                }
                if state.position < target {
                    behind = Some(state.clone());
                }
            }
            match behind {
                None => return Ok(total),
                Some(state) if tokio::time::Instant::now() >= deadline => {
                    return Err(ConsumerDrainError::Behind { name: state.name, position: state.position, target });
                }
                // On PostgreSQL the feed may still be held back by a transaction that began
                // earlier (see `events`).
                Some(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }

    /// Runs every consumer on a task of its own (so one that fails or is slow never holds
    /// another up) until `shutdown` resolves; each finishes the event it is on.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut tasks = tokio::task::JoinSet::new();
        for consumer in &self.consumers {
            let (runner, consumer, mut stopped) = (self.clone(), consumer.clone(), stopped.clone());
            tasks.spawn(async move {
                loop {
                    let mut report = ConsumerReport::default();
                    let round = runner.round(consumer.as_ref(), Timestamp::now(), &mut report).await;
                    if *stopped.borrow() {
                        break;
                    }
                    if let Err(error) = &round {
                        tracing::error!(consumer.name = consumer.name(), error = %error, "event consumer round failed");
                    }
                    if round.ok() == Some(Round::Progress) {
                        continue;
                    }
                    tokio::select! {
                        _ = stopped.changed() => break,
                        () = tokio::time::sleep(runner.config.poll_interval) => {}
                    }
                }
            });
        }
        shutdown.await;
        let _ = stop.send(true);
        while tasks.join_next().await.is_some() {}
    }
}

/// Deletes events older than `before` that every consumer has passed (all of them, if there
/// are no consumers). Returns how many went.
pub async fn purge_consumed_events(db: &Db, before: Timestamp) -> Result<u64, StoreError> {
    let slowest = db
        .fetch_optional::<(i64, i64)>(
            "SELECT position_txid, position_seq FROM event_consumers ORDER BY position_txid, position_seq LIMIT 1",
            &[],
        )
        .await?;
    match slowest {
        None => db.execute("DELETE FROM outbox_events WHERE recorded_at < $1", &params![before]).await,
        Some((txid, seq)) => {
            db.execute(
                "DELETE FROM outbox_events WHERE recorded_at < $1 AND (txid < $2 OR (txid = $2 AND seq <= $3))",
                &params![before, txid, seq],
            )
            .await
        }
    }
}
