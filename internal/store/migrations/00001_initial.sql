-- The schema of forgebridge's own state, written once for SQLite and
-- PostgreSQL. Three column kinds differ between the two; they are template
-- fields the store fills in before goose reads this file (see migrate.go):
--   AutoIncrementPK  an integer key the database assigns in increasing order
--   Bytes            binary data (sealed secrets)
--   BinaryCollation  byte-wise text order, so both databases sort and page alike
-- Times are BIGINT microseconds since the Unix epoch (UTC): exact on both.
-- Booleans are BOOLEAN (SQLite keeps them as 0 and 1).

-- +goose Up
CREATE TABLE settings (
    id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    require_user_pat_everywhere BOOLEAN NOT NULL,
    branch_name_template TEXT NOT NULL,
    branch_name_max_length INTEGER NOT NULL
);

CREATE TABLE integrations (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    base_url TEXT NOT NULL,
    region TEXT NOT NULL,
    server_version TEXT NOT NULL,
    api_path TEXT NOT NULL,
    repository_filter TEXT NOT NULL,
    projects TEXT NOT NULL, -- JSON array of tracker project keys
    create_branch BOOLEAN NOT NULL,
    create_pull_request BOOLEAN NOT NULL,
    require_user_pat BOOLEAN NOT NULL,
    proxy_url TEXT NOT NULL,
    ca_bundle TEXT NOT NULL,
    insecure_skip_tls_verify BOOLEAN NOT NULL,
    credential {{.Bytes}}, -- sealed, bound to id; NULL when there is none
    credential_login TEXT NOT NULL,
    repository_count INTEGER NOT NULL,
    discovered_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE repositories (
    id TEXT NOT NULL PRIMARY KEY,
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    name TEXT NOT NULL,
    full_name TEXT NOT NULL,
    sort_name TEXT {{.BinaryCollation}} NOT NULL, -- full_name lower-cased by the store
    default_branch TEXT NOT NULL,
    web_url TEXT NOT NULL,
    can_create_branch BOOLEAN NOT NULL,
    can_create_pull_request BOOLEAN NOT NULL,
    UNIQUE (integration_id, external_id)
);
CREATE INDEX repositories_sort ON repositories (sort_name, id);

CREATE TABLE user_tokens (
    user_key TEXT NOT NULL,
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    credential {{.Bytes}} NOT NULL, -- sealed, bound to user_key and integration_id
    login TEXT NOT NULL,
    scopes TEXT NOT NULL, -- JSON array
    expires_at BIGINT,
    status TEXT NOT NULL,
    checked_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_key, integration_id)
);
CREATE INDEX user_tokens_integration ON user_tokens (integration_id);

-- Audit lines outlive the integrations and repositories they name: no foreign keys.
CREATE TABLE audit (
    id {{.AutoIncrementPK}},
    created_at BIGINT NOT NULL,
    user_name TEXT NOT NULL,
    action TEXT NOT NULL,
    integration_id TEXT NOT NULL,
    repository_id TEXT NOT NULL,
    issue TEXT NOT NULL,
    target TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_login TEXT NOT NULL,
    outcome TEXT NOT NULL,
    code TEXT NOT NULL
);
CREATE INDEX audit_user ON audit (user_name, id);
CREATE INDEX audit_action ON audit (action, id);

-- Links stay when a repository is no longer discovered: they are the issue's history.
CREATE TABLE issue_branches (
    issue_key TEXT NOT NULL,
    repository_id TEXT NOT NULL,
    name TEXT NOT NULL,
    sha TEXT NOT NULL,
    web_url TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (issue_key, repository_id, name)
);

-- Links written back to the tracker's issue (Jira remote links) and whether
-- the tracker has taken them yet.
CREATE TABLE tracker_links (
    issue_key TEXT NOT NULL,
    global_id TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (issue_key, global_id)
);

-- A pull request may mention several issues, so the key includes the issue.
CREATE TABLE issue_pull_requests (
    issue_key TEXT NOT NULL,
    repository_id TEXT NOT NULL,
    pull_request_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    title TEXT NOT NULL,
    web_url TEXT NOT NULL,
    source_branch TEXT NOT NULL,
    target_branch TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (issue_key, repository_id, pull_request_id)
);

CREATE TABLE users (
    user_key TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    admin BOOLEAN NOT NULL,
    active BOOLEAN NOT NULL,
    password_hash TEXT NOT NULL
);

CREATE TABLE projects (
    project_key TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE permissions (
    project_key TEXT NOT NULL REFERENCES projects (project_key) ON DELETE CASCADE,
    user_key TEXT NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (project_key, user_key, permission)
);
CREATE INDEX permissions_user ON permissions (user_key);

CREATE TABLE issues (
    issue_key TEXT NOT NULL PRIMARY KEY,
    summary TEXT NOT NULL,
    issue_type TEXT NOT NULL,
    project_key TEXT NOT NULL REFERENCES projects (project_key)
);
CREATE INDEX issues_project ON issues (project_key);

-- API tokens may belong to tracker users outside the local directory: no foreign key.
CREATE TABLE api_tokens (
    hash TEXT NOT NULL PRIMARY KEY, -- hex SHA-256 of the token
    user_key TEXT NOT NULL,
    user_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT -- NULL: does not expire
);
CREATE INDEX api_tokens_user ON api_tokens (user_key);

-- +goose Down
DROP TABLE api_tokens;
DROP TABLE issues;
DROP TABLE permissions;
DROP TABLE projects;
DROP TABLE users;
DROP TABLE tracker_links;
DROP TABLE issue_pull_requests;
DROP TABLE issue_branches;
DROP TABLE audit;
DROP TABLE user_tokens;
DROP TABLE repositories;
DROP TABLE integrations;
DROP TABLE settings;
