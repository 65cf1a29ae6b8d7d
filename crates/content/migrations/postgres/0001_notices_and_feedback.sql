-- Notices (driftsmeldinger) and accessibility feedback: a municipality's own content (until
-- 2026-12 the second half of the shared list's 0001_foundation).
-- Released migrations are never edited; add a new file instead.

CREATE TABLE notices (
    id            TEXT    PRIMARY KEY,
    kommunenummer TEXT    NOT NULL,
    language      TEXT    NOT NULL CHECK (language IN ('nb', 'nn', 'en')),
    title         TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    published_at  BIGINT  NOT NULL
);
CREATE INDEX notices_by_kommune ON notices (kommunenummer, published_at);

CREATE TABLE feedback (
    id            TEXT    PRIMARY KEY,
    kommunenummer TEXT    NOT NULL,
    page          TEXT,
    message       TEXT    NOT NULL,
    contact_email TEXT,
    language      TEXT    NOT NULL CHECK (language IN ('nb', 'nn', 'en')),
    created_at    BIGINT  NOT NULL
);
CREATE INDEX feedback_by_kommune ON feedback (kommunenummer, created_at);
