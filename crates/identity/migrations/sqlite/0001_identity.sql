-- Identity: logins in progress, sessions, employees and their roles, fullmakter, notices to
-- persons, machine clients with their keys, used token ids, the platform's own signing keys,
-- and the codes of the built-in test identity provider.

-- A login that has left for the identity provider and not come back yet. `browser_hash` binds it
-- to the browser that started it (the hash of a cookie value), so a `state` alone is useless.
CREATE TABLE login_attempts (
    state          TEXT    PRIMARY KEY,
    browser_hash   TEXT    NOT NULL,
    provider       TEXT    NOT NULL,
    kommunenummer  TEXT,
    nonce          TEXT    NOT NULL,
    code_verifier  TEXT    NOT NULL,
    return_to      TEXT    NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX login_attempts_by_age ON login_attempts (created_at);

-- Server-side sessions. The cookie holds a random id; only its SHA-256 is stored.
CREATE TABLE sessions (
    id_hash        TEXT    PRIMARY KEY,
    principal_kind TEXT    NOT NULL,
    principal      TEXT    NOT NULL,
    display_name   TEXT    NOT NULL,
    kommunenummer  TEXT,
    acting_as      TEXT    NOT NULL,
    csrf_token     TEXT    NOT NULL,
    provider       TEXT    NOT NULL,
    acr            TEXT,
    idp_sid        TEXT,
    id_token       TEXT,
    created_at     INTEGER NOT NULL,
    last_seen_at   INTEGER NOT NULL
);
CREATE INDEX sessions_by_principal ON sessions (principal_kind, principal);
CREATE INDEX sessions_by_idp_sid ON sessions (provider, idp_sid) WHERE idp_sid IS NOT NULL;

-- Employees of a municipality, found by the subject their identity provider gives them.
CREATE TABLE staff (
    id             TEXT    PRIMARY KEY,
    kommunenummer  TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    email          TEXT,
    active         BOOLEAN NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX staff_by_subject ON staff (kommunenummer, subject);

-- Organisational units (enheter) an employee's roles are scoped to.
CREATE TABLE org_units (
    kommunenummer  TEXT    NOT NULL,
    code           TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    service_area   TEXT    NOT NULL,
    PRIMARY KEY (kommunenummer, code)
);

-- A role held in a unit; unit '*' is the whole municipality.
CREATE TABLE staff_roles (
    kommunenummer  TEXT    NOT NULL,
    employee_id    TEXT    NOT NULL REFERENCES staff (id),
    role           TEXT    NOT NULL,
    unit           TEXT    NOT NULL,
    PRIMARY KEY (employee_id, role, unit)
);

-- A fullmakt: `giver` lets `holder` act for them in some service areas for a period.
CREATE TABLE fullmakter (
    id             TEXT    PRIMARY KEY,
    giver          TEXT    NOT NULL,
    holder         TEXT    NOT NULL,
    areas          TEXT    NOT NULL,
    valid_from     TEXT    NOT NULL,
    valid_to       TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    revoked_at     INTEGER
);
CREATE INDEX fullmakter_by_holder ON fullmakter (holder);
CREATE INDEX fullmakter_by_giver ON fullmakter (giver);

-- Short notices to a person, shown on Min side (a fullmakt given to or by them, say).
CREATE TABLE person_notices (
    id             TEXT    PRIMARY KEY,
    recipient      TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    details        TEXT    NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX person_notices_by_recipient ON person_notices (recipient, created_at);

-- Machine clients (other agencies' systems) and the public keys they sign assertions with.
CREATE TABLE machine_clients (
    client_id      TEXT    PRIMARY KEY,
    name           TEXT    NOT NULL,
    orgnr          TEXT    NOT NULL,
    scopes         TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    disabled_at    INTEGER
);
CREATE TABLE machine_client_keys (
    client_id      TEXT    NOT NULL REFERENCES machine_clients (client_id),
    kid            TEXT    NOT NULL,
    jwk            TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (client_id, kid)
);

-- Token ids (`jti`) seen, kept until the token would have expired, so none is used twice.
CREATE TABLE used_jtis (
    issuer         TEXT    NOT NULL,
    jti            TEXT    NOT NULL,
    expires_at     INTEGER NOT NULL,
    PRIMARY KEY (issuer, jti)
);

-- The platform's own signing keys (the test identity provider and the demo token endpoint),
-- kept in the database so every instance signs and verifies with the same ones.
CREATE TABLE platform_keys (
    kid            TEXT    PRIMARY KEY,
    purpose        TEXT    NOT NULL,
    pkcs8          TEXT    NOT NULL,
    created_at     INTEGER NOT NULL
);

-- Authorization codes of the built-in test identity provider; single use.
CREATE TABLE test_idp_codes (
    code_hash      TEXT    PRIMARY KEY,
    client_id      TEXT    NOT NULL,
    redirect_uri   TEXT    NOT NULL,
    claims         TEXT    NOT NULL,
    nonce          TEXT,
    code_challenge TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    used           BOOLEAN NOT NULL
);
