-- Three switches of an integration for acting on git data (API.md "Acting
-- on git data"): smart commits (off by default), host permissions enforced
-- (off by default) and diff viewing (on by default, also for integrations
-- made before it existed).

-- +goose Up
ALTER TABLE integrations ADD COLUMN smart_commits BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE integrations ADD COLUMN enforce_permissions BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE integrations ADD COLUMN diff_viewing BOOLEAN NOT NULL DEFAULT TRUE;

-- +goose Down
ALTER TABLE integrations DROP COLUMN diff_viewing;
ALTER TABLE integrations DROP COLUMN enforce_permissions;
ALTER TABLE integrations DROP COLUMN smart_commits;
