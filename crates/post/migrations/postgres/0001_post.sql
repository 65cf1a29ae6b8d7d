-- Digital post: letters, their status history, delivery keys, print batches and the tasks that
-- manual handling and failed deliveries leave for the sending unit.

CREATE TABLE post_letters (
    kommunenummer       TEXT    NOT NULL,
    id                  TEXT    NOT NULL,
    sender              TEXT    NOT NULL,
    external_ref        TEXT,
    recipient_kind      TEXT    NOT NULL,
    recipient_id        TEXT    NOT NULL,
    recipient_name      TEXT    NOT NULL,
    kind                TEXT    NOT NULL,
    title               TEXT    NOT NULL,
    language            TEXT    NOT NULL,
    sender_unit         TEXT    NOT NULL,
    digital_only        BOOLEAN NOT NULL,
    security_level      BIGINT  NOT NULL,
    reply_allowed       BOOLEAN NOT NULL,
    status              TEXT    NOT NULL,
    channel             TEXT,
    reason              TEXT,
    pages               BIGINT  NOT NULL,
    documents           TEXT    NOT NULL,
    case_id             TEXT,
    journalpost_id      TEXT,
    registrerings_id    TEXT,
    answers_journalpost TEXT,
    paper_due_at        BIGINT,
    inbox_at            BIGINT,
    print_batch         TEXT,
    read_at             BIGINT,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL,
    paper_fallback      BOOLEAN NOT NULL,
    PRIMARY KEY (kommunenummer, id),
    UNIQUE (kommunenummer, sender, external_ref)
);
CREATE INDEX post_letters_recipient ON post_letters (kommunenummer, recipient_id, created_at);
CREATE INDEX post_letters_paper ON post_letters (kommunenummer, channel, print_batch, status);

CREATE TABLE post_status_log (
    kommunenummer TEXT    NOT NULL,
    letter_id     TEXT    NOT NULL,
    seq           BIGINT  NOT NULL,
    status        TEXT    NOT NULL,
    reason        TEXT,
    at            BIGINT  NOT NULL,
    PRIMARY KEY (kommunenummer, letter_id, seq)
);

CREATE TABLE post_deliveries (
    kommunenummer TEXT    NOT NULL,
    key           TEXT    NOT NULL,
    letter_id     TEXT    NOT NULL,
    channel       TEXT    NOT NULL,
    done          BOOLEAN NOT NULL,
    at            BIGINT  NOT NULL,
    PRIMARY KEY (kommunenummer, key)
);

CREATE TABLE post_print_batches (
    kommunenummer TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    submitted_at  BIGINT,
    lines         BIGINT  NOT NULL,
    PRIMARY KEY (kommunenummer, id)
);

CREATE TABLE post_tasks (
    kommunenummer TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    letter_id     TEXT    NOT NULL,
    unit          TEXT    NOT NULL,
    reason        TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    done_at       BIGINT,
    PRIMARY KEY (kommunenummer, id),
    UNIQUE (kommunenummer, letter_id, reason)
);
