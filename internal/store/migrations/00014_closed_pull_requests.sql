-- Pull requests an index run saw closed, on hosts whose listing cannot be
-- ordered by update (CodeCommit): a closed pull request there never changes
-- again, so later runs read only new or open ones. Written with the pull
-- request's links, in the same transaction; a reset forgets them.

-- +goose Up
CREATE TABLE closed_pull_requests (
    repository_id TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    pull_request_id TEXT {{.BinaryCollation}} NOT NULL,
    PRIMARY KEY (repository_id, pull_request_id)
) {{.WithoutRowID}};

-- +goose Down
DROP TABLE closed_pull_requests;
