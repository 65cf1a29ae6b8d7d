-- Drafts of applications: one per owner, service and subject (whom the owner applies for),
-- saved as the person moves through the form and purged after the retention.

CREATE TABLE service_drafts (
    kommunenummer   TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    owner           TEXT    NOT NULL,
    service         TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    service_version BIGINT  NOT NULL,
    page            TEXT,
    answers         TEXT    NOT NULL,
    prefill         TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    PRIMARY KEY (kommunenummer, id),
    UNIQUE (kommunenummer, owner, service, subject)
);
CREATE INDEX service_drafts_updated ON service_drafts (kommunenummer, updated_at);
