-- The local tracker's issues gain a status, comments and work logs, which
-- smart commits write (API.md "Acting on git data"); a claim per commit,
-- issue and command makes each command act once.

-- +goose Up
ALTER TABLE issues ADD COLUMN status TEXT NOT NULL DEFAULT 'To Do';

CREATE TABLE issue_comments (
    id {{.AutoIncrementPK}},
    issue_key TEXT NOT NULL REFERENCES issues (issue_key) ON DELETE CASCADE,
    author TEXT NOT NULL, -- the user's name, kept when the user goes
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX issue_comments_issue ON issue_comments (issue_key, id);

CREATE TABLE issue_worklogs (
    id {{.AutoIncrementPK}},
    issue_key TEXT NOT NULL REFERENCES issues (issue_key) ON DELETE CASCADE,
    author TEXT NOT NULL,
    seconds BIGINT NOT NULL,
    comment TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX issue_worklogs_issue ON issue_worklogs (issue_key, id);

-- Not tied to a repository or an issue row: the same commit in two
-- repositories, or in a repository removed and added again, acts once.
CREATE TABLE smart_commit_claims (
    commit_sha TEXT NOT NULL,
    issue_key TEXT NOT NULL,
    command_id TEXT NOT NULL,
    owner TEXT NOT NULL, -- the job that carries it out; '' once it is done
    claimed_at BIGINT NOT NULL,
    PRIMARY KEY (commit_sha, issue_key, command_id)
) {{.WithoutRowID}};

-- +goose Down
DROP TABLE smart_commit_claims;
DROP TABLE issue_worklogs;
DROP TABLE issue_comments;
ALTER TABLE issues DROP COLUMN status;
