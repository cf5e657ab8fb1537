-- Reason texts of reject and cancel, written by the service before it asks
-- the request's workflow to act: the workflow carries only the text's id, so
-- free text (which may name people) never enters workflow history.

-- +goose Up
CREATE TABLE deletion_reason_texts (
    id          uuid PRIMARY KEY,
    deletion_id uuid NOT NULL REFERENCES deletion_requests(id),
    text        text NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deletion_reason_texts_deletion ON deletion_reason_texts (deletion_id);

-- +goose Down
DROP TABLE deletion_reason_texts;
