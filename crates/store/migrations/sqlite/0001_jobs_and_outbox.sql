-- The job queue and the event outbox (until 2026-12 the first half of the shared list's
-- 0001_foundation, which also created content's notices and feedback).
-- Released migrations are never edited; add a new file instead.

CREATE TABLE jobs (
    id              TEXT    PRIMARY KEY,
    kommunenummer   TEXT,
    kind            TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    idempotency_key TEXT    UNIQUE,
    status          TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL CHECK (max_attempts > 0),
    run_at          INTEGER NOT NULL,
    locked_until    INTEGER,
    locked_by       TEXT,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX jobs_runnable ON jobs (status, run_at);

CREATE TABLE outbox_events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT    NOT NULL UNIQUE,
    kommunenummer TEXT,
    event_type    TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    subject       TEXT,
    time          TEXT    NOT NULL,
    data          TEXT    NOT NULL
);
