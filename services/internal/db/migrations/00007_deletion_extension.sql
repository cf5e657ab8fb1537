-- A request's deadline extended once, where the policy rule allows it: the
-- due date before, who extended it, when, with which reason code, and the
-- reason text (stored by the service in deletion_reason_texts; the workflow
-- carries only its id).

-- +goose Up
ALTER TABLE deletion_requests
    ADD COLUMN original_due_at          timestamptz,
    ADD COLUMN extended_at              timestamptz,
    ADD COLUMN extended_by              text NOT NULL DEFAULT '',
    ADD COLUMN extension_reason_code    text NOT NULL DEFAULT '',
    ADD COLUMN extension_reason_text_id uuid REFERENCES deletion_reason_texts(id),
    ADD CONSTRAINT deletion_requests_extended_once
        CHECK ((extended_at IS NULL) = (original_due_at IS NULL) AND (original_due_at IS NULL OR due_at > original_due_at));

-- +goose Down
ALTER TABLE deletion_requests
    DROP CONSTRAINT deletion_requests_extended_once,
    DROP COLUMN extension_reason_text_id,
    DROP COLUMN extension_reason_code,
    DROP COLUMN extended_by,
    DROP COLUMN extended_at,
    DROP COLUMN original_due_at;
