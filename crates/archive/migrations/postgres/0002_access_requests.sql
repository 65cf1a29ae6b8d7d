-- Requests for access (innsynskrav) to entries of the public journal: who asked (the e-mail to
-- answer to, a name if given), which journalposts (a JSON array of their systemIDs), when, the
-- municipality's internal deadline, and the answer once given. Released migrations are never
-- edited; add a new file instead.

CREATE TABLE archive_access_requests (
    kommunenummer TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    received_at   BIGINT  NOT NULL,
    deadline      TEXT    NOT NULL,
    name          TEXT,
    email         TEXT    NOT NULL,
    message       TEXT,
    entries       TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    answered_at   BIGINT,
    answered_by   TEXT,
    basis         TEXT,
    PRIMARY KEY (kommunenummer, id)
);
CREATE INDEX archive_access_requests_status ON archive_access_requests (kommunenummer, status, received_at);
