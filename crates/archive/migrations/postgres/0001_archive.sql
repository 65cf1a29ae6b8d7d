-- The Noark 5 archive of each municipality. Every object of the model (arkiv, arkivdel, mappe,
-- journalpost, part, dokumentobjekt, ...) is one row: its JSON body as the client sent it (with
-- the server's fields added), its place in the tree, and its version for optimistic locking.
-- Released migrations are never edited; add a new file instead.

CREATE TABLE archive_objects (
    kommunenummer TEXT    NOT NULL,
    system_id     TEXT    NOT NULL,
    entity        TEXT    NOT NULL,
    parent_id     TEXT,
    position      BIGINT  NOT NULL,
    version       BIGINT  NOT NULL,
    body          TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    journal_date  TEXT,
    PRIMARY KEY (kommunenummer, system_id)
);
CREATE INDEX archive_objects_children ON archive_objects (kommunenummer, parent_id, position);
CREATE INDEX archive_objects_entity ON archive_objects (kommunenummer, entity, position);
CREATE INDEX archive_objects_journal ON archive_objects (kommunenummer, journal_date, position);

-- Gap-free counters: journal and case numbers per year, journalpost numbers per case, and the
-- creation order of objects and changes.
CREATE TABLE archive_numbers (
    kommunenummer TEXT    NOT NULL,
    series        TEXT    NOT NULL,
    year          BIGINT  NOT NULL,
    last          BIGINT  NOT NULL,
    PRIMARY KEY (kommunenummer, series, year)
);

-- The endringslogg: one row per changed field (or deleted object).
CREATE TABLE archive_changes (
    kommunenummer TEXT    NOT NULL,
    position      BIGINT  NOT NULL,
    system_id     TEXT    NOT NULL,
    entity        TEXT    NOT NULL,
    field         TEXT    NOT NULL,
    changed_at    TEXT    NOT NULL,
    changed_by    TEXT    NOT NULL,
    old_value     TEXT,
    new_value     TEXT,
    PRIMARY KEY (kommunenummer, position)
);
CREATE INDEX archive_changes_by_object ON archive_changes (kommunenummer, system_id, position);

-- The file of a dokumentobjekt, in the blob store under blob_key; never replaced.
CREATE TABLE archive_files (
    kommunenummer TEXT    NOT NULL,
    dokumentobjekt_id TEXT NOT NULL,
    blob_key      TEXT    NOT NULL,
    sha256        TEXT    NOT NULL,
    size          BIGINT  NOT NULL,
    mime_type     TEXT    NOT NULL,
    stored_at     BIGINT  NOT NULL,
    PRIMARY KEY (kommunenummer, dokumentobjekt_id)
);

-- A chunked upload in progress (X-Upload-Content-Length, Content-Range): its chunks are blobs.
CREATE TABLE archive_uploads (
    kommunenummer TEXT    NOT NULL,
    dokumentobjekt_id TEXT NOT NULL,
    mime_type     TEXT    NOT NULL,
    expected_size BIGINT  NOT NULL,
    received      BIGINT  NOT NULL,
    chunks        TEXT    NOT NULL,
    started_at    BIGINT  NOT NULL,
    PRIMARY KEY (kommunenummer, dokumentobjekt_id)
);

-- Code values an archivist added to a list, or retired from it (standard values are compiled
-- in; a row with retired = 1 and a standard kode retires that value).
CREATE TABLE archive_codes (
    kommunenummer TEXT    NOT NULL,
    list          TEXT    NOT NULL,
    kode          TEXT    NOT NULL,
    kodenavn      TEXT    NOT NULL,
    retired       BIGINT  NOT NULL,
    changed_at    BIGINT  NOT NULL,
    PRIMARY KEY (kommunenummer, list, kode)
);

-- The registry of virksomhetsspesifikke metadata: names a client may use under
-- virksomhetsspesifikkeMetadata, with their type.
CREATE TABLE archive_vsm (
    kommunenummer TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    version       BIGINT  NOT NULL,
    PRIMARY KEY (kommunenummer, name)
);
