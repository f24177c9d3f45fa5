-- Each person's OAuth 2.0 grant from "Sign in with Jira", so smart commits
-- act in Jira as them: the access and refresh tokens sealed together, bound
-- to user_key (a Jira user key; Jira users have no local row).

-- +goose Up
CREATE TABLE jira_grants (
    user_key TEXT NOT NULL PRIMARY KEY,
    tokens {{.Bytes}} NOT NULL, -- sealed, bound to user_key
    expires_at BIGINT NOT NULL, -- of the access token
    scope TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE jira_grants;
