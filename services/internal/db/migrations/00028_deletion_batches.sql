-- Bulk deletion requests run in batches.
--
-- A pipeline's bulk submission (SubmitDeletionBatch) whose items the
-- pipeline vouched for is carried out by one DeletionBatchWorkflow per
-- submission instead of one workflow per request: deletion_batches is the
-- record its starter starts it from (as deletion_requests is for the
-- per-request workflow), and deletion_requests.batch_id names the batch a
-- request is carried out with. The batch hands a request to its own
-- workflow (batch_id cleared) when it needs a person: a plan that is not
-- auto-approved.

-- +goose Up
CREATE TABLE deletion_batches (
    id                  uuid PRIMARY KEY,
    submitted_by        text NOT NULL,
    size                integer NOT NULL CHECK (size > 0),
    created_at          timestamptz NOT NULL,
    workflow_started_at timestamptz
);
CREATE INDEX deletion_batches_unstarted ON deletion_batches (created_at, id) WHERE workflow_started_at IS NULL;

ALTER TABLE deletion_requests ADD COLUMN batch_id uuid REFERENCES deletion_batches(id);
CREATE INDEX deletion_requests_batch ON deletion_requests (batch_id) WHERE batch_id IS NOT NULL;

GRANT SELECT, INSERT, UPDATE, DELETE ON deletion_batches TO redress_deletion;

-- +goose Down
ALTER TABLE deletion_requests DROP COLUMN batch_id;
DROP TABLE deletion_batches;
