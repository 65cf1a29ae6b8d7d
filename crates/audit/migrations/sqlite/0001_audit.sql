-- The access log (innsynslogg): one row per read of a person's data, kept as a hash chain so
-- that a changed or removed row is detected. `subject` is the person the data is about, so the
-- person can be shown every access; `resource` names what else was read (an orgnr, a
-- matrikkelnummer). Rows are only ever inserted.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    acting_for  TEXT,
    action      TEXT    NOT NULL,
    subject     TEXT,
    resource    TEXT,
    purpose     TEXT    NOT NULL,
    legal_basis TEXT    NOT NULL,
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL
);
CREATE INDEX audit_log_by_subject ON audit_log (subject, seq) WHERE subject IS NOT NULL;

-- The end of the chain: the last sequence number and its hash. Writers lock this row.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
