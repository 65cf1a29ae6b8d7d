-- The national base registers, as the local implementation keeps them: persons
-- (Folkeregisteret), organisations (Enhetsregisteret), properties (Matrikkelen) and contact
-- details (KRR). National data: no row belongs to one municipality, so no kommunenummer column;
-- where a row is located in a municipality the column says so by name (bosted_kommune, ...).

CREATE TABLE persons (
    fnr                TEXT    PRIMARY KEY,
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
    updated_at         INTEGER NOT NULL
);
CREATE INDEX persons_by_bosted ON persons (bosted_kommune);

CREATE TABLE person_residences (
    fnr        TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to   TEXT,
    address    TEXT,
    PRIMARY KEY (fnr, valid_from)
);

CREATE TABLE family_relations (
    fnr         TEXT NOT NULL,
    related_fnr TEXT NOT NULL,
    role        TEXT NOT NULL,
    PRIMARY KEY (fnr, related_fnr)
);

CREATE TABLE parental_responsibility (
    parent_fnr TEXT NOT NULL,
    child_fnr  TEXT NOT NULL,
    PRIMARY KEY (parent_fnr, child_fnr)
);
CREATE INDEX parental_responsibility_by_child ON parental_responsibility (child_fnr);

CREATE TABLE organisations (
    orgnr            TEXT    PRIMARY KEY,
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

CREATE TABLE organisation_roles (
    orgnr TEXT NOT NULL,
    role  TEXT NOT NULL,
    fnr   TEXT NOT NULL,
    PRIMARY KEY (orgnr, role, fnr)
);
CREATE INDEX organisation_roles_by_person ON organisation_roles (fnr);

CREATE TABLE properties (
    matrikkelnummer  TEXT PRIMARY KEY,
    property_kommune TEXT NOT NULL,
    addresses        TEXT NOT NULL,
    buildings        TEXT NOT NULL
);

CREATE TABLE property_owners (
    matrikkelnummer   TEXT    NOT NULL,
    owner_fnr         TEXT,
    owner_orgnr       TEXT,
    share_numerator   INTEGER NOT NULL,
    share_denominator INTEGER NOT NULL
);
CREATE INDEX property_owners_by_property ON property_owners (matrikkelnummer);
CREATE INDEX property_owners_by_person ON property_owners (owner_fnr);

CREATE TABLE contacts (
    fnr              TEXT    PRIMARY KEY,
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

-- The day the local registers have reached: the synthetic population's date at first, moved
-- forward by `allmenning registers simulate`. One row.
CREATE TABLE register_clock (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    today TEXT    NOT NULL
);
