-- A person is read whole far more often than in parts, and loaded millions at a time. The
-- address history, family relations and parental responsibilities move into the person's own
-- row as JSON, so a lookup is one row and a load one insert per person:
--   residences      [{"from": "2019-06-01", "to": null, "address": {...} | null}, ...] newest first
--   relations       [["<fnr>", "mor" | "far" | "medmor" | "barn" | "ektefelle" | "partner"], ...]
--   responsible_for ["<fnr of a child under this person's parental responsibility>", ...]
-- Rows already there are carried over.
ALTER TABLE persons ADD COLUMN residences TEXT NOT NULL DEFAULT '[]';
ALTER TABLE persons ADD COLUMN relations TEXT NOT NULL DEFAULT '[]';
ALTER TABLE persons ADD COLUMN responsible_for TEXT NOT NULL DEFAULT '[]';

UPDATE persons SET
    residences = COALESCE((
        SELECT json_group_array(json_object('from', valid_from, 'to', valid_to, 'address', json(address))
                                ORDER BY valid_from DESC)
        FROM person_residences r WHERE r.fnr = persons.fnr
    ), '[]'),
    relations = COALESCE((
        SELECT json_group_array(json_array(related_fnr, role) ORDER BY related_fnr)
        FROM family_relations f WHERE f.fnr = persons.fnr
    ), '[]'),
    responsible_for = COALESCE((
        SELECT json_group_array(child_fnr ORDER BY child_fnr)
        FROM parental_responsibility p WHERE p.parent_fnr = persons.fnr
    ), '[]');

DROP TABLE person_residences;
DROP TABLE family_relations;
DROP TABLE parental_responsibility;

-- Who a person is guardian (verge) for; few persons have one.
CREATE INDEX persons_by_guardian ON persons (guardian_fnr) WHERE guardian_fnr IS NOT NULL;
