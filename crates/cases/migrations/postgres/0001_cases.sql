-- Case handling: applications become cases (saksmapper in the archive) with their history,
-- internal notes, requests for information, decisions, and the light inquiries (henvendelser).
-- Dates are ISO 8601 text (YYYY-MM-DD), which sorts as dates do; instants are milliseconds.

CREATE TABLE cases (
    kommunenummer         TEXT    NOT NULL,
    id                    TEXT    NOT NULL,
    idempotency_key       TEXT    NOT NULL,
    service_id            TEXT    NOT NULL,
    service_version       TEXT    NOT NULL,
    service_title         TEXT    NOT NULL,
    area                  TEXT    NOT NULL,
    unit                  TEXT    NOT NULL,
    classification        TEXT,
    screening             TEXT,
    decision_mode         TEXT    NOT NULL,
    legal_basis           TEXT    NOT NULL,
    appeal_body           TEXT,
    language              TEXT    NOT NULL,
    applicant_kind        TEXT    NOT NULL,
    applicant_id          TEXT    NOT NULL,
    applicant_name        TEXT    NOT NULL,
    submitted_by          TEXT    NOT NULL,
    submitted_by_name     TEXT    NOT NULL,
    subject_kind          TEXT,
    subject_id            TEXT,
    subject_name          TEXT,
    title                 TEXT    NOT NULL,
    public_title          TEXT    NOT NULL,
    status                TEXT    NOT NULL,
    saksmappe             TEXT    NOT NULL,
    mappe_id              TEXT    NOT NULL,
    journalpost           TEXT    NOT NULL,
    registrerings_id      TEXT    NOT NULL,
    assigned_to           TEXT,
    deadline              TEXT    NOT NULL,
    provisional_reply_due TEXT,
    provisional_reply_flagged_at BIGINT,
    automated_proposal    TEXT,
    appeal_of             TEXT,
    appeal_late           BOOLEAN NOT NULL,
    receipt_letter        TEXT,
    received_at           BIGINT NOT NULL,
    received_on           TEXT    NOT NULL,
    -- The answers as submitted, JSON: [{"heading": …, "rows": [[label, value], …]}].
    sections              TEXT    NOT NULL,
    updated_at            BIGINT NOT NULL,
    PRIMARY KEY (kommunenummer, id),
    UNIQUE (kommunenummer, idempotency_key)
);
CREATE INDEX cases_queue ON cases (kommunenummer, unit, status, deadline);
CREATE INDEX cases_applicant ON cases (kommunenummer, applicant_id, received_at);

CREATE TABLE case_history (
    kommunenummer TEXT    NOT NULL,
    case_id       TEXT    NOT NULL,
    seq           BIGINT NOT NULL,
    event         TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    actor         TEXT    NOT NULL,
    detail        TEXT,
    at            BIGINT NOT NULL,
    PRIMARY KEY (kommunenummer, case_id, seq)
);

CREATE TABLE case_notes (
    kommunenummer TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    case_id       TEXT    NOT NULL,
    author        TEXT    NOT NULL,
    text          TEXT    NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (kommunenummer, id)
);
CREATE INDEX case_notes_case ON case_notes (kommunenummer, case_id, created_at);

CREATE TABLE case_information_requests (
    kommunenummer TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    case_id       TEXT    NOT NULL,
    question      TEXT    NOT NULL,
    due           TEXT    NOT NULL,
    requested_by  TEXT    NOT NULL,
    requested_at  BIGINT NOT NULL,
    answer        TEXT,
    answered_at   BIGINT,
    journalpost   TEXT,
    PRIMARY KEY (kommunenummer, id)
);
CREATE INDEX case_information_requests_case ON case_information_requests (kommunenummer, case_id);

CREATE TABLE case_decisions (
    kommunenummer   TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    case_id         TEXT    NOT NULL,
    outcome         TEXT    NOT NULL,
    vedtak          TEXT    NOT NULL,
    reasons         TEXT    NOT NULL,
    legal_basis     TEXT    NOT NULL,
    appeal_body     TEXT,
    decided_by      TEXT    NOT NULL,
    automated       BOOLEAN NOT NULL,
    fired_rules     TEXT    NOT NULL,
    letter_id       TEXT,
    letter_sent_on  TEXT,
    appeal_deadline TEXT,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (kommunenummer, id),
    UNIQUE (kommunenummer, case_id)
);

CREATE TABLE case_inquiries (
    kommunenummer      TEXT    NOT NULL,
    id                 TEXT    NOT NULL,
    channel            TEXT    NOT NULL,
    service_id         TEXT,
    category           TEXT    NOT NULL,
    unit               TEXT    NOT NULL,
    text               TEXT    NOT NULL,
    from_kind          TEXT,
    from_id            TEXT,
    from_name          TEXT,
    contact            TEXT,
    registered_by      TEXT,
    archive_duty       BOOLEAN NOT NULL,
    status             TEXT    NOT NULL,
    saksmappe          TEXT,
    journalpost        TEXT,
    answer             TEXT,
    answered_by        TEXT,
    answered_at        BIGINT,
    answer_reference   TEXT,
    closed_at          BIGINT,
    created_at         BIGINT NOT NULL,
    PRIMARY KEY (kommunenummer, id)
);
CREATE INDEX case_inquiries_queue ON case_inquiries (kommunenummer, unit, status, created_at);
