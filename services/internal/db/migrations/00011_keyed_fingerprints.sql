-- +goose Up
-- Deletion idempotency fingerprints become keyed hashes (a plain SHA-256 of
-- a request holding a phone number can be reversed by trying every number).
-- Rows written before carry keyed = false until the deletion service rekeys
-- them at start (deletion.RekeyIdempotency), which needs the master key.
ALTER TABLE deletion_idempotency ADD COLUMN keyed boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE deletion_idempotency DROP COLUMN keyed;
