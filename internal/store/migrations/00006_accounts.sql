-- API tokens get an id to list and revoke them by, a name, who issued them
-- and when they were last used; one-time enrolment links let a person set
-- their own web password.

-- +goose Up
ALTER TABLE api_tokens ADD COLUMN id TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN issued_by TEXT NOT NULL DEFAULT ''; -- '': the person's own
ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT;
-- Tokens made before have no id: a prefix of their hash serves (a hash of a
-- random token discloses nothing of it). Expiring ones were sessions.
UPDATE api_tokens SET id = substr(hash, 1, 20),
    name = CASE WHEN expires_at IS NULL THEN 'api token' ELSE 'web session' END;
CREATE UNIQUE INDEX api_tokens_id ON api_tokens (id);

CREATE TABLE enrolments (
    hash TEXT NOT NULL PRIMARY KEY, -- hex SHA-256 of the link's secret
    user_key TEXT NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX enrolments_user ON enrolments (user_key);

-- +goose Down
DROP TABLE enrolments;
DROP INDEX api_tokens_id;
ALTER TABLE api_tokens DROP COLUMN last_used_at;
ALTER TABLE api_tokens DROP COLUMN issued_by;
ALTER TABLE api_tokens DROP COLUMN name;
ALTER TABLE api_tokens DROP COLUMN id;
