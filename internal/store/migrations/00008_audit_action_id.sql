-- An audit entry may carry the id of the action it records, so that
-- writing it again (a retry from the job queue after a failed or uncertain
-- commit) leaves one entry. Entries without one stay NULL, which a unique
-- index lets repeat.

-- +goose Up
ALTER TABLE audit ADD COLUMN action_id TEXT;
CREATE UNIQUE INDEX audit_action_id ON audit (action_id);

-- +goose Down
DROP INDEX audit_action_id;
ALTER TABLE audit DROP COLUMN action_id;
