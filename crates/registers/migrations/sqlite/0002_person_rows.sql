-- Persons are read whole far more often than in parts, and loaded millions at a time.
--
-- 1. The address history, family relations and parental responsibilities move into the
--    person's own row as JSON, so a lookup is one row and a load one insert per person:
--      residences      [{"from": "2019-06-01", "to": null, "address": {...} | null}, ...] newest first
--      relations       [["<fnr>", "mor" | "far" | "medmor" | "barn" | "ektefelle" | "partner"], ...]
--      responsible_for ["<fnr of a child under this person's parental responsibility>", ...]
-- 2. The identifiers of the large tables (persons, contacts, organisations, roles) are kept
--    unique by a unique index instead of a primary key. Lookups are the same (SQLite builds the
--    same index for a text primary key), but a bulk load into empty registers can build the
--    index once at the end instead of inserting millions of random keys one by one.
-- Rows already there are carried over.

CREATE TABLE persons_new (
    fnr                TEXT    NOT NULL,
    given_name         TEXT    NOT NULL,
    middle_name        TEXT,
    family_name        TEXT    NOT NULL,
    birth_date         TEXT    NOT NULL,
    birth_kommune      TEXT,
    birth_country      TEXT    NOT NULL,
    sex                TEXT    NOT NULL CHECK (sex IN ('female', 'male')),
    status             TEXT    NOT NULL CHECK (status IN ('bosatt', 'utflyttet', 'doed', 'midlertidig')),
    bosted_kommune     TEXT,
    adressebeskyttelse TEXT    NOT NULL,
    citizenships       TEXT    NOT NULL,
    death_date         TEXT,
    guardian_fnr       TEXT,
    residences         TEXT    NOT NULL,
    relations          TEXT    NOT NULL,
    responsible_for    TEXT    NOT NULL,
    updated_at         INTEGER NOT NULL
);

INSERT INTO persons_new
SELECT p.fnr, p.given_name, p.middle_name, p.family_name, p.birth_date, p.birth_kommune, p.birth_country, p.sex,
       p.status, p.bosted_kommune, p.adressebeskyttelse, p.citizenships, p.death_date, p.guardian_fnr,
       COALESCE((
           SELECT json_group_array(json_object('from', valid_from, 'to', valid_to, 'address', json(address))
                                   ORDER BY valid_from DESC)
           FROM person_residences r WHERE r.fnr = p.fnr
       ), '[]'),
       COALESCE((
           SELECT json_group_array(json_array(related_fnr, role) ORDER BY related_fnr)
           FROM family_relations f WHERE f.fnr = p.fnr
       ), '[]'),
       COALESCE((
           SELECT json_group_array(child_fnr ORDER BY child_fnr)
           FROM parental_responsibility c WHERE c.parent_fnr = p.fnr
       ), '[]'),
       p.updated_at
FROM persons p;

DROP TABLE persons;
DROP TABLE person_residences;
DROP TABLE family_relations;
DROP TABLE parental_responsibility;
ALTER TABLE persons_new RENAME TO persons;
CREATE UNIQUE INDEX persons_by_fnr ON persons (fnr);
CREATE INDEX persons_by_bosted ON persons (bosted_kommune);
-- Who a person is guardian (verge) for; few persons have one.
CREATE INDEX persons_by_guardian ON persons (guardian_fnr) WHERE guardian_fnr IS NOT NULL;

CREATE TABLE contacts_new (
    fnr              TEXT    NOT NULL,
    reserved         BOOLEAN NOT NULL,
    status           TEXT    NOT NULL,
    can_be_notified  BOOLEAN NOT NULL,
    email            TEXT,
    mobile           TEXT,
    mailbox_provider TEXT,
    mailbox_address  TEXT,
    language         TEXT,
    updated_at       INTEGER NOT NULL
);
INSERT INTO contacts_new SELECT fnr, reserved, status, can_be_notified, email, mobile, mailbox_provider,
    mailbox_address, language, updated_at FROM contacts;
DROP TABLE contacts;
ALTER TABLE contacts_new RENAME TO contacts;
CREATE UNIQUE INDEX contacts_by_fnr ON contacts (fnr);

CREATE TABLE organisations_new (
    orgnr            TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    form             TEXT    NOT NULL,
    business_address TEXT,
    postal_address   TEXT,
    kommune          TEXT,
    industry_code    TEXT,
    employees        INTEGER NOT NULL,
    founded          TEXT,
    deleted          TEXT,
    bankrupt         BOOLEAN NOT NULL,
    updated_at       INTEGER NOT NULL
);
INSERT INTO organisations_new SELECT orgnr, name, form, business_address, postal_address, kommune, industry_code,
    employees, founded, deleted, bankrupt, updated_at FROM organisations;
DROP TABLE organisations;
ALTER TABLE organisations_new RENAME TO organisations;
CREATE UNIQUE INDEX organisations_by_orgnr ON organisations (orgnr);

CREATE TABLE organisation_roles_new (
    orgnr TEXT NOT NULL,
    role  TEXT NOT NULL,
    fnr   TEXT NOT NULL
);
INSERT INTO organisation_roles_new SELECT orgnr, role, fnr FROM organisation_roles;
DROP TABLE organisation_roles;
ALTER TABLE organisation_roles_new RENAME TO organisation_roles;
CREATE UNIQUE INDEX organisation_roles_by_orgnr ON organisation_roles (orgnr, role, fnr);
CREATE INDEX organisation_roles_by_person ON organisation_roles (fnr);
