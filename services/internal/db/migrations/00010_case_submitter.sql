-- Who submitted each case (the authenticated principal), so that automation
-- credentials see only the cases they submitted themselves. Cases recorded
-- before keep NULL: submitted by a person or unknown, never visible to an
-- automation credential.

-- +goose Up
ALTER TABLE cases ADD COLUMN submitted_by text;
-- An automation credential's list pages through its own cases by deadline.
CREATE INDEX cases_submitted_by ON cases (submitted_by, resolution_due_at, id) WHERE submitted_by IS NOT NULL;

-- +goose Down
DROP INDEX cases_submitted_by;
ALTER TABLE cases DROP COLUMN submitted_by;
