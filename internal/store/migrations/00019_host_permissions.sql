-- What a git host answered when asked, with a person's own saved token,
-- whether the token may read a repository (integration setting
-- enforcePermissions): remembered for at most --permission-cache. The
-- token's updated_at is part of the answer, so a replaced token is asked
-- again. user_key has no foreign key: people may live in Jira.

-- +goose Up
CREATE TABLE host_permissions (
    user_key TEXT NOT NULL,
    repository_id TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    readable BOOLEAN NOT NULL,
    token_updated_at BIGINT NOT NULL,
    checked_at BIGINT NOT NULL,
    PRIMARY KEY (user_key, repository_id)
) {{.WithoutRowID}};
CREATE INDEX host_permissions_repository ON host_permissions (repository_id);

-- +goose Down
DROP TABLE host_permissions;
