-- Integrations and the settings carry a version, a counter raised by every
-- write of them: a change made against an older version (HTTP If-Match, a
-- stale web form) is refused. Audit entries of admin changes say what
-- changed: a JSON object {path: [before, after]}, '' for other entries.

-- +goose Up
ALTER TABLE integrations ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE settings ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE audit ADD COLUMN changes TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit DROP COLUMN changes;
ALTER TABLE settings DROP COLUMN version;
ALTER TABLE integrations DROP COLUMN version;
