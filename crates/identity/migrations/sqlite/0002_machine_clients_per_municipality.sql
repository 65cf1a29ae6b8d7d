-- Machine clients belong to one municipality: its administrators register and manage them, and
-- its API is the audience of their tokens. Clients registered before this belong to none ('')
-- until a deployment that serves one municipality gives them to it at start.
ALTER TABLE machine_clients ADD COLUMN kommunenummer TEXT NOT NULL DEFAULT '';
CREATE INDEX machine_clients_by_municipality ON machine_clients (kommunenummer, created_at);
