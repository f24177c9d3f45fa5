-- Each integration's webhook secret, sealed like every credential and bound
-- to its integration. Kept apart from the integration row so that a webhook
-- delivery reads only what it needs.

-- +goose Up
CREATE TABLE webhook_secrets (
    integration_id TEXT NOT NULL PRIMARY KEY REFERENCES integrations (id) ON DELETE CASCADE,
    secret {{.Bytes}} NOT NULL, -- sealed, bound to integration_id
    updated_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE webhook_secrets;
