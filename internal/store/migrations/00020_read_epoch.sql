-- The read epoch: a counter raised by every write to the tables whose rows
-- requests read again and again (settings, integrations, repositories,
-- projects, issues, permissions, users, user tokens). On SQLite, triggers
-- raise it, whoever writes (a second process such as the command line
-- too), and the store keeps those rows in memory while it is unchanged
-- (internal/store/readcache.go). PostgreSQL keeps the table but no
-- triggers and no cache: several instances write it, and one row raised by
-- every writer would serialise them.

-- +goose Up
CREATE TABLE read_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n BIGINT NOT NULL
);
INSERT INTO read_epoch (id, n) VALUES (1, 1);
{{if .SQLite}}
-- +goose StatementBegin
CREATE TRIGGER read_epoch_settings_insert AFTER INSERT ON settings
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_settings_update AFTER UPDATE ON settings
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_settings_delete AFTER DELETE ON settings
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_integrations_insert AFTER INSERT ON integrations
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_integrations_update AFTER UPDATE ON integrations
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_integrations_delete AFTER DELETE ON integrations
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_repositories_insert AFTER INSERT ON repositories
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_repositories_update AFTER UPDATE ON repositories
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_repositories_delete AFTER DELETE ON repositories
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_projects_insert AFTER INSERT ON projects
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_projects_update AFTER UPDATE ON projects
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_projects_delete AFTER DELETE ON projects
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_issues_insert AFTER INSERT ON issues
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_issues_update AFTER UPDATE ON issues
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_issues_delete AFTER DELETE ON issues
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_permissions_insert AFTER INSERT ON permissions
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_permissions_update AFTER UPDATE ON permissions
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_permissions_delete AFTER DELETE ON permissions
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_users_insert AFTER INSERT ON users
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_users_update AFTER UPDATE ON users
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_users_delete AFTER DELETE ON users
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_user_tokens_insert AFTER INSERT ON user_tokens
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_user_tokens_update AFTER UPDATE ON user_tokens
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER read_epoch_user_tokens_delete AFTER DELETE ON user_tokens
BEGIN
    UPDATE read_epoch SET n = n + 1;
END;
-- +goose StatementEnd
{{end}}

-- +goose Down
{{if .SQLite}}
DROP TRIGGER IF EXISTS read_epoch_settings_insert;
DROP TRIGGER IF EXISTS read_epoch_settings_update;
DROP TRIGGER IF EXISTS read_epoch_settings_delete;
DROP TRIGGER IF EXISTS read_epoch_integrations_insert;
DROP TRIGGER IF EXISTS read_epoch_integrations_update;
DROP TRIGGER IF EXISTS read_epoch_integrations_delete;
DROP TRIGGER IF EXISTS read_epoch_repositories_insert;
DROP TRIGGER IF EXISTS read_epoch_repositories_update;
DROP TRIGGER IF EXISTS read_epoch_repositories_delete;
DROP TRIGGER IF EXISTS read_epoch_projects_insert;
DROP TRIGGER IF EXISTS read_epoch_projects_update;
DROP TRIGGER IF EXISTS read_epoch_projects_delete;
DROP TRIGGER IF EXISTS read_epoch_issues_insert;
DROP TRIGGER IF EXISTS read_epoch_issues_update;
DROP TRIGGER IF EXISTS read_epoch_issues_delete;
DROP TRIGGER IF EXISTS read_epoch_permissions_insert;
DROP TRIGGER IF EXISTS read_epoch_permissions_update;
DROP TRIGGER IF EXISTS read_epoch_permissions_delete;
DROP TRIGGER IF EXISTS read_epoch_users_insert;
DROP TRIGGER IF EXISTS read_epoch_users_update;
DROP TRIGGER IF EXISTS read_epoch_users_delete;
DROP TRIGGER IF EXISTS read_epoch_user_tokens_insert;
DROP TRIGGER IF EXISTS read_epoch_user_tokens_update;
DROP TRIGGER IF EXISTS read_epoch_user_tokens_delete;
{{end}}
DROP TABLE read_epoch;
