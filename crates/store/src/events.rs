//! The event outbox: every domain event is written in the same transaction as the change that
//! caused it, and read back in commit order.
//!
//! A position in the feed is a [`Position`] `(txid, seq)`, and the feed is safe to follow on
//! both engines: once a reader has seen a position, no event can ever appear before it.
//!
//! - **SQLite** commits one writer at a time, so `seq` (AUTOINCREMENT, assigned while the
//!   writer holds the lock) is in commit order; `txid` is always 0.
//! - **PostgreSQL** assigns `seq` from a sequence at insert time, not at commit: alone it is not
//!   safe (a reader that has seen 11, committed first, would skip 10, committed later). Each
//!   event also records its transaction's id (`pg_current_xact_id()`), the feed is ordered by
//!   `(txid, seq)`, and a reader only takes events whose transaction is older than the oldest
//!   transaction still running in its snapshot (`pg_snapshot_xmin`). Every such transaction
//!   has ended, so its events are all visible or all gone. No writer waits for another; a
//!   long transaction only holds the feed back until it ends. (The same idea as PgQ's.)

use kernel::{CloudEvent, Timestamp};

use crate::{Backend, Db, StoreError, Tx, params};

/// A position in the event feed. The feed is ordered by `(txid, seq)`; [`Position::START`] is
/// before every event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    /// The writing transaction's id on PostgreSQL; 0 on SQLite.
    pub txid: i64,
    /// The event's sequence number, unique across the feed.
    pub seq: i64,
}

impl Position {
    /// Before every event.
    pub const START: Position = Position { txid: 0, seq: 0 };
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.txid, self.seq)
    }
}

/// An event as stored, with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Where it is in the feed.
    pub position: Position,
    /// The event.
    pub event: CloudEvent,
}

#[derive(serde::Deserialize)]
struct EventRow {
    txid: i64,
    seq: i64,
    id: String,
    kommunenummer: Option<String>,
    event_type: String,
    source: String,
    subject: Option<String>,
    time: String,
    data: String,
}

impl EventRow {
    fn into_stored(self) -> Result<StoredEvent, StoreError> {
        let data = serde_json::from_str(&self.data).map_err(|e| StoreError::Malformed(e.to_string()))?;
        Ok(StoredEvent {
            position: Position { txid: self.txid, seq: self.seq },
            event: CloudEvent {
                specversion: "1.0".to_owned(),
                id: self.id,
                source: self.source,
                event_type: self.event_type,
                subject: self.subject,
                time: self.time,
                datacontenttype: "application/json".to_owned(),
                kommunenummer: self.kommunenummer,
                data,
            },
        })
    }
}

const PUBLISH_SQLITE: &str = "INSERT INTO outbox_events \
     (id, kommunenummer, event_type, source, subject, time, data, recorded_at, txid) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0) RETURNING txid, seq";

const PUBLISH_POSTGRES: &str = "INSERT INTO outbox_events \
     (id, kommunenummer, event_type, source, subject, time, data, recorded_at, txid) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, pg_current_xact_id()::text::bigint) RETURNING txid, seq";

const COLUMNS: &str = "txid, seq, id, kommunenummer, event_type, source, subject, time, data";

impl Tx {
    /// Writes `event` to the outbox as part of this transaction; returns its position.
    pub async fn publish(&mut self, event: &CloudEvent) -> Result<Position, StoreError> {
        let data = serde_json::to_string(&event.data).map_err(|e| StoreError::Malformed(e.to_string()))?;
        let sql = match self.backend() {
            Backend::Sqlite => PUBLISH_SQLITE,
            Backend::Postgres => PUBLISH_POSTGRES,
        };
        let (txid, seq) = self
            .fetch_optional::<(i64, i64)>(
                sql,
                &params![
                    event.id.as_str(),
                    event.kommunenummer.clone(),
                    event.event_type.as_str(),
                    event.source.as_str(),
                    event.subject.clone(),
                    event.time.as_str(),
                    data,
                    Timestamp::now(),
                ],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(Position { txid, seq })
    }
}

impl Db {
    /// Committed events after `after`, in commit order, at most `limit`. Call it outside a
    /// transaction: on PostgreSQL a reader's own open transaction would hold the feed back.
    pub async fn events_after(&self, after: Position, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = match self.backend() {
            Backend::Sqlite => {
                self.fetch_all::<EventRow>(
                    &format!("SELECT {COLUMNS} FROM outbox_events WHERE seq > $1 ORDER BY seq LIMIT $2"),
                    &params![after.seq, i64::from(limit)],
                )
                .await?
            }
            Backend::Postgres => {
                self.fetch_all::<EventRow>(
                    &format!(
                        "SELECT {COLUMNS} FROM outbox_events \
                         WHERE (txid, seq) > ($1, $2) \
                           AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
                         ORDER BY txid, seq LIMIT $3"
                    ),
                    &params![after.txid, after.seq, i64::from(limit)],
                )
                .await?
            }
        };
        rows.into_iter().map(EventRow::into_stored).collect()
    }

    /// The position of the newest committed event, whether or not the feed may hand it out yet
    /// ([`Position::START`] when there is none). On PostgreSQL a transaction still running (in
    /// any database of the cluster) that began before it holds it back; a reader that wants
    /// everything committed so far waits until the feed reaches this position.
    pub async fn last_committed_event(&self) -> Result<Position, StoreError> {
        Ok(self
            .fetch_optional::<(i64, i64)>(
                "SELECT txid, seq FROM outbox_events ORDER BY txid DESC, seq DESC LIMIT 1",
                &[],
            )
            .await?
            .map_or(Position::START, |(txid, seq)| Position { txid, seq }))
    }

    /// Waits (up to `patience`) until the feed hands out every event committed before this
    /// call. On SQLite it always does; on PostgreSQL a transaction still running that began
    /// earlier holds it back (see the module). For tests and tools that must see their own
    /// writes before they follow the feed.
    pub async fn feed_caught_up(&self, patience: std::time::Duration) -> Result<Position, StoreError> {
        let newest = self.last_committed_event().await?;
        if self.backend() == Backend::Sqlite || newest == Position::START {
            return Ok(newest);
        }
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let horizon: Option<(i64,)> =
                self.fetch_optional("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint", &[]).await?;
            if horizon.is_some_and(|(xmin,)| xmin > newest.txid) {
                return Ok(newest);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(StoreError::Busy(format!(
                    "the event feed did not reach {newest} within {patience:?}: a transaction that began earlier is still running"
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Every event after `after` committed before this call, waiting (up to `patience`) for the
    /// feed to hand out the newest of them; for tests and tools that must see their own writes.
    pub async fn committed_events_after(
        &self,
        after: Position,
        patience: std::time::Duration,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let newest = self.feed_caught_up(patience).await?;
        let mut events = Vec::new();
        let mut from = after;
        while from < newest {
            let page = self.events_after(from, 1000).await?;
            let Some(last) = page.last() else { break };
            from = last.position;
            events.extend(page);
        }
        Ok(events.into_iter().filter(|e| e.position <= newest).collect())
    }
}
