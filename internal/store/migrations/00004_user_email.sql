-- The local directory's users gain an optional email: a commit whose
-- author has it is shown as theirs.

-- +goose Up
ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';
CREATE INDEX users_email ON users (lower(email));

-- +goose Down
DROP INDEX users_email;
ALTER TABLE users DROP COLUMN email;
