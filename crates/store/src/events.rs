//! The event outbox: every domain event is written in the same transaction as the change that
//! caused it, numbered in commit order so a consumer can replay from any sequence number.

use kernel::CloudEvent;

use crate::{Db, StoreError, Tx, params};

/// An event as stored, with its sequence number.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Position in the feed; strictly increasing.
    pub seq: i64,
    /// The event.
    pub event: CloudEvent,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    seq: i64,
    id: String,
    kommunenummer: Option<String>,
    event_type: String,
    source: String,
    subject: Option<String>,
    time: String,
    data: String,
}

impl Tx {
    /// Writes `event` to the outbox as part of this transaction; returns its sequence number.
    pub async fn publish(&mut self, event: &CloudEvent) -> Result<i64, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Seq {
            seq: i64,
        }
        let data = serde_json::to_string(&event.data).map_err(|e| StoreError::Malformed(e.to_string()))?;
        let row = self
            .fetch_optional::<Seq>(
                "INSERT INTO outbox_events (id, kommunenummer, event_type, source, subject, time, data) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
                &params![
                    event.id.as_str(),
                    event.kommunenummer.clone(),
                    event.event_type.as_str(),
                    event.source.as_str(),
                    event.subject.clone(),
                    event.time.as_str(),
                    data,
                ],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(row.seq)
    }
}

impl Db {
    /// Events with a sequence number above `after`, oldest first, at most `limit`.
    pub async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = self
            .fetch_all::<EventRow>(
                "SELECT seq, id, kommunenummer, event_type, source, subject, time, data FROM outbox_events \
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
                &params![after, i64::from(limit)],
            )
            .await?;
        rows.into_iter()
            .map(|row| {
                let data = serde_json::from_str(&row.data).map_err(|e| StoreError::Malformed(e.to_string()))?;
                Ok(StoredEvent {
                    seq: row.seq,
                    event: CloudEvent {
                        specversion: "1.0".to_owned(),
                        id: row.id,
                        source: row.source,
                        event_type: row.event_type,
                        subject: row.subject,
                        time: row.time,
                        datacontenttype: "application/json".to_owned(),
                        kommunenummer: row.kommunenummer,
                        data,
                    },
                })
            })
            .collect()
    }
}
