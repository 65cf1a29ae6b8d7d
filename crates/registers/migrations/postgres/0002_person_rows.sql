-- Persons are read whole far more often than in parts, and loaded millions at a time.
--
-- 1. The address history, family relations and parental responsibilities move into the
--    person's own row as JSON, so a lookup is one row and a load one insert per person:
--      residences      [{"from": "2019-06-01", "to": null, "address": {...} | null}, ...] newest first
--      relations       [["<fnr>", "mor" | "far" | "medmor" | "barn" | "ektefelle" | "partner"], ...]
--      responsible_for ["<fnr of a child under this person's parental responsibility>", ...]
-- 2. The identifiers of the large tables (persons, contacts, organisations, roles) are kept
--    unique by a unique index instead of a primary key constraint. Lookups are the same, but
--    a bulk load into empty registers can build the index once at the end instead of
--    inserting millions of random keys one by one.
-- Rows already there are carried over.
ALTER TABLE persons
    ADD COLUMN residences TEXT NOT NULL DEFAULT '[]',
    ADD COLUMN relations TEXT NOT NULL DEFAULT '[]',
    ADD COLUMN responsible_for TEXT NOT NULL DEFAULT '[]';

UPDATE persons p SET
    residences = COALESCE((
        SELECT json_agg(json_build_object('from', valid_from, 'to', valid_to, 'address', address::json)
                        ORDER BY valid_from DESC)::text
        FROM person_residences r WHERE r.fnr = p.fnr
    ), '[]'),
    relations = COALESCE((
        SELECT json_agg(json_build_array(related_fnr, role) ORDER BY related_fnr)::text
        FROM family_relations f WHERE f.fnr = p.fnr
    ), '[]'),
    responsible_for = COALESCE((
        SELECT json_agg(child_fnr ORDER BY child_fnr)::text
        FROM parental_responsibility r WHERE r.parent_fnr = p.fnr
    ), '[]');

ALTER TABLE persons
    ALTER COLUMN residences DROP DEFAULT,
    ALTER COLUMN relations DROP DEFAULT,
    ALTER COLUMN responsible_for DROP DEFAULT;

DROP TABLE person_residences, family_relations, parental_responsibility;

ALTER TABLE persons DROP CONSTRAINT persons_pkey, ALTER COLUMN fnr SET NOT NULL;
CREATE UNIQUE INDEX persons_by_fnr ON persons (fnr);
-- Who a person is guardian (verge) for; few persons have one.
CREATE INDEX persons_by_guardian ON persons (guardian_fnr) WHERE guardian_fnr IS NOT NULL;

ALTER TABLE contacts DROP CONSTRAINT contacts_pkey, ALTER COLUMN fnr SET NOT NULL;
CREATE UNIQUE INDEX contacts_by_fnr ON contacts (fnr);

ALTER TABLE organisations DROP CONSTRAINT organisations_pkey, ALTER COLUMN orgnr SET NOT NULL;
CREATE UNIQUE INDEX organisations_by_orgnr ON organisations (orgnr);

ALTER TABLE organisation_roles DROP CONSTRAINT organisation_roles_pkey;
CREATE UNIQUE INDEX organisation_roles_by_orgnr ON organisation_roles (orgnr, role, fnr);
