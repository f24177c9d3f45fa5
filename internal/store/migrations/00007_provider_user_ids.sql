-- Whose account a credential is, by the provider's stable user id (GitHub
-- and GitLab user id, Azure's authenticatedUser.id, AWS's UserId), so a
-- token of the service account or of someone else's account cannot be
-- saved as a person's own. Existing rows have it empty and get it at their
-- next validation.

-- +goose Up
ALTER TABLE user_tokens ADD COLUMN provider_user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE integrations ADD COLUMN credential_user_id TEXT NOT NULL DEFAULT '';
-- One account's token is one person's: of two people saving it at once, one
-- succeeds. Partial, so the rows not checked yet do not collide.
CREATE UNIQUE INDEX user_tokens_provider_user ON user_tokens (integration_id, provider_user_id)
    WHERE provider_user_id <> '';

-- +goose Down
DROP INDEX user_tokens_provider_user;
ALTER TABLE integrations DROP COLUMN credential_user_id;
ALTER TABLE user_tokens DROP COLUMN provider_user_id;
