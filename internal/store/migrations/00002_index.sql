-- What indexing finds in repositories (API.md "Git data on the issue").
-- Template fields as in 00001, and:
--   WithoutRowID  SQLite keeps the table in its primary key's b-tree (no
--                 separate rowid tree); empty for PostgreSQL
-- Everything here belongs to one repository and goes with it.

-- +goose Up
-- One row per repository that was ever claimed or indexed; a repository
-- without a row is pending. The lease makes one index run per repository at
-- a time across instances: lease_owner is '' when nobody holds it.
CREATE TABLE index_state (
    repository_id TEXT NOT NULL PRIMARY KEY REFERENCES repositories (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    indexed_at BIGINT,
    commits BIGINT NOT NULL,
    error_code TEXT NOT NULL,
    error_message TEXT NOT NULL,
    retry_at BIGINT,
    pulls_since BIGINT,
    lease_owner TEXT NOT NULL,
    lease_until BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The refs the last completed run saw: the next one reads what is new.
CREATE TABLE index_tips (
    repository_id TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    ref TEXT {{.BinaryCollation}} NOT NULL,
    sha TEXT NOT NULL,
    PRIMARY KEY (repository_id, ref)
) {{.WithoutRowID}};

-- Commits that mention at least one issue key.
CREATE TABLE commits (
    repository_id TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    sha TEXT NOT NULL,
    message TEXT NOT NULL,
    author_name TEXT NOT NULL,
    author_email TEXT NOT NULL,
    authored_at BIGINT NOT NULL,
    PRIMARY KEY (repository_id, sha)
);

-- The keys each commit mentions. The primary key leads with the repository
-- so that a reset or a removed repository finds its rows; the second index
-- answers an issue's page of newest commits from the index alone
-- (authored_at is copied from commits for that). No foreign key: its
-- check, a query per row on PostgreSQL, nearly doubles the cost of writing
-- a first index; the store deletes the rows with their repository itself.
CREATE TABLE commit_keys (
    repository_id TEXT NOT NULL,
    sha TEXT NOT NULL,
    issue_key TEXT NOT NULL,
    authored_at BIGINT NOT NULL,
    PRIMARY KEY (repository_id, sha, issue_key)
) {{.WithoutRowID}};
CREATE INDEX commit_keys_issue ON commit_keys (issue_key, authored_at DESC, repository_id, sha);

-- How many commits of each repository mention each issue, kept with
-- commit_keys: an issue's count without reading all its links (a long-lived
-- issue has tens of thousands).
CREATE TABLE issue_commit_counts (
    issue_key TEXT NOT NULL,
    repository_id TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    commits BIGINT NOT NULL,
    PRIMARY KEY (issue_key, repository_id)
) {{.WithoutRowID}};
CREATE INDEX issue_commit_counts_repository ON issue_commit_counts (repository_id);

-- Tags from which a linked commit of the issue is reachable.
-- The tags' graph: each tagged commit with the keys of the commits it adds
-- over its nearest tagged ancestors (tag_keys), and those ancestors
-- (tag_edges). An issue's tags are the tagged commits that add one of its
-- keys and their descendants in the graph, named by index_tips.
CREATE TABLE tag_keys (
    repository_id TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    sha TEXT NOT NULL,
    issue_key TEXT NOT NULL,
    PRIMARY KEY (repository_id, sha, issue_key)
) {{.WithoutRowID}};
CREATE INDEX tag_keys_issue ON tag_keys (issue_key, repository_id, sha);
CREATE TABLE tag_edges (
    repository_id TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    sha TEXT NOT NULL,
    parent_sha TEXT NOT NULL,
    PRIMARY KEY (repository_id, sha, parent_sha)
) {{.WithoutRowID}};
CREATE INDEX tag_edges_parent ON tag_edges (repository_id, parent_sha);
CREATE INDEX index_tips_sha ON index_tips (repository_id, sha);

-- Branch and pull request links are those created from forgebridge and those
-- indexed, one row per branch or pull request and issue. from_action marks
-- the created ones: they stay while the branch exists even when its name (or
-- the pull request's text) does not mention the issue. Rows from before this
-- migration were all created from forgebridge.
ALTER TABLE issue_branches ADD COLUMN from_action BOOLEAN NOT NULL DEFAULT TRUE;
CREATE INDEX issue_branches_repository ON issue_branches (repository_id, name);

ALTER TABLE issue_pull_requests ADD COLUMN from_action BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE issue_pull_requests ADD COLUMN state TEXT NOT NULL DEFAULT 'open';
ALTER TABLE issue_pull_requests ADD COLUMN draft BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE issue_pull_requests ADD COLUMN author_login TEXT NOT NULL DEFAULT '';
ALTER TABLE issue_pull_requests ADD COLUMN updated_at BIGINT;
CREATE INDEX issue_pull_requests_repository ON issue_pull_requests (repository_id, pull_request_id);

-- A repository removed from its integration now takes its links with it
-- (the store deletes them with the repository); drop those left before.
DELETE FROM issue_branches WHERE repository_id NOT IN (SELECT id FROM repositories);
DELETE FROM issue_pull_requests WHERE repository_id NOT IN (SELECT id FROM repositories);

-- +goose Down
DROP INDEX issue_pull_requests_repository;
ALTER TABLE issue_pull_requests DROP COLUMN updated_at;
ALTER TABLE issue_pull_requests DROP COLUMN author_login;
ALTER TABLE issue_pull_requests DROP COLUMN draft;
ALTER TABLE issue_pull_requests DROP COLUMN state;
ALTER TABLE issue_pull_requests DROP COLUMN from_action;
DROP INDEX issue_branches_repository;
ALTER TABLE issue_branches DROP COLUMN from_action;
DROP TABLE tag_edges;
DROP TABLE tag_keys;
DROP TABLE issue_commit_counts;
DROP TABLE commit_keys;
DROP TABLE commits;
DROP TABLE index_tips;
DROP TABLE index_state;
