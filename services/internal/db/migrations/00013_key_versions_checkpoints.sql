-- +goose Up
-- Master key rotation: each wrapped subject key records the version of the
-- master key it is wrapped under, so `redress keys rotate` can rewrap keys
-- online while readers unwrap each row with the version it names. Every key
-- stored so far is wrapped under the one master key there was: version 1.
ALTER TABLE subject_keys ADD COLUMN master_key_version integer NOT NULL DEFAULT 1
    CHECK (master_key_version >= 1);
CREATE INDEX subject_keys_master_key_version ON subject_keys (master_key_version);

-- Signed checkpoints of the audit chain head. The signing key is never in
-- the database; each checkpoint is also written to a folder and mailed out,
-- so an owner who rewrites the chain (and this table) is caught by the
-- copies held elsewhere.
CREATE TABLE audit_checkpoints (
    seq             bigint PRIMARY KEY,
    hash            bytea NOT NULL,
    at              timestamptz NOT NULL,
    key_fingerprint text NOT NULL,
    document        text NOT NULL -- the signed JSON, exactly as written outside
);

-- +goose Down
DROP TABLE audit_checkpoints;
DROP INDEX subject_keys_master_key_version;
ALTER TABLE subject_keys DROP COLUMN master_key_version;
