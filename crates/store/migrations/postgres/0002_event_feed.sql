-- The event feed in commit order, durable consumers, and what retention needs.
--
-- A position in the feed is (txid, seq). `seq` comes from a sequence when the row is inserted,
-- not when its transaction commits, so by itself it is not safe to follow: a reader that has
-- seen seq 11 (committed first) would skip seq 10 (committed later) for good. Each event
-- therefore also records the id of the transaction that wrote it (`pg_current_xact_id()`), and
-- readers only take events of transactions older than their snapshot's xmin: every such
-- transaction has ended, so nothing can appear before a position once it has been read.
-- Events written before this migration keep txid 0, before every real transaction id.
ALTER TABLE outbox_events ADD COLUMN txid BIGINT NOT NULL DEFAULT 0;
-- When the event was written, for retention (0 for events written before this migration).
ALTER TABLE outbox_events ADD COLUMN recorded_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX outbox_events_position ON outbox_events (txid, seq);

-- A named consumer of the feed: how far it has handled it, and whether it is parked after
-- failing `attempts` times on the event after its position.
CREATE TABLE event_consumers (
    name          TEXT    PRIMARY KEY,
    position_txid BIGINT  NOT NULL DEFAULT 0,
    position_seq  BIGINT  NOT NULL DEFAULT 0,
    status        TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'parked')),
    attempts      BIGINT  NOT NULL DEFAULT 0,
    retry_at      BIGINT  NOT NULL DEFAULT 0,
    last_error    TEXT,
    handled       BIGINT  NOT NULL DEFAULT 0,
    updated_at    BIGINT  NOT NULL
);
