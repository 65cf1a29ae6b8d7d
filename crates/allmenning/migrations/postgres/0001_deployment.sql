-- What the database was set up for: 'demo' (synthetic people, a test login where anyone can be
-- anyone) or 'production'. Written at the first start and never changed, so a demo is never
-- started on a production database, and production never serves the demo's synthetic people.
CREATE TABLE deployment (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    mode   TEXT    NOT NULL CHECK (mode IN ('demo', 'production')),
    set_at BIGINT  NOT NULL
);
