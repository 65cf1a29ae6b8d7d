-- A person is read whole far more often than in parts, and loaded millions at a time. The
-- address history, family relations and parental responsibilities move into the person's own
-- row as JSON, so a lookup is one row and a load one insert per person:
--   residences      [{"from": "2019-06-01", "to": null, "address": {...} | null}, ...] newest first
--   relations       [["<fnr>", "mor" | "far" | "medmor" | "barn" | "ektefelle" | "partner"], ...]
--   responsible_for ["<fnr of a child under this person's parental responsibility>", ...]
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

DROP TABLE person_residences, family_relations, parental_responsibility;

-- Who a person is guardian (verge) for; few persons have one.
CREATE INDEX persons_by_guardian ON persons (guardian_fnr) WHERE guardian_fnr IS NOT NULL;
