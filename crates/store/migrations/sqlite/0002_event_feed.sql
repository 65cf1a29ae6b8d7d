-- The event feed in commit order, durable consumers, and what retention needs.
--
-- A position in the feed is (txid, seq). On SQLite one writer commits at a time, so `seq`
-- (AUTOINCREMENT) is already in commit order and `txid` stays 0; PostgreSQL fills it with the
-- writing transaction's id (see the PostgreSQL twin of this file).
ALTER TABLE outbox_events ADD COLUMN txid INTEGER NOT NULL DEFAULT 0;
-- When the event was written, for retention (0 for events written before this migration).
ALTER TABLE outbox_events ADD COLUMN recorded_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_events_position ON outbox_events (txid, seq);

-- A named consumer of the feed: how far it has handled it, and whether it is parked after
-- failing `attempts` times on the event after its position.
CREATE TABLE event_consumers (
    name          TEXT    PRIMARY KEY,
    position_txid INTEGER NOT NULL DEFAULT 0,
    position_seq  INTEGER NOT NULL DEFAULT 0,
    status        TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'parked')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    retry_at      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    handled       INTEGER NOT NULL DEFAULT 0,
    updated_at    INTEGER NOT NULL
);
