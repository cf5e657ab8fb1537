-- Mail and SMS from complainants arrive through the inbound gateway.
--
-- inbound_messages records each message the gateway delivered onto a case,
-- keyed by a keyed hash of its channel and its own id (the mail's
-- Message-ID, the SMS gateway's message id), so a message seen twice is
-- recorded once. The id itself is not kept.
--
-- cases.source_message_id_enc is the Message-ID of the mail that opened the
-- case, sealed under the complainant's key: notices answer it
-- (In-Reply-To/References) so the complainant's mail program threads them.
--
-- users_role_check gains the gateway's own account role, inbound_gateway.

-- +goose Up
CREATE TABLE inbound_messages (
    key         bytea PRIMARY KEY,
    case_id     uuid NOT NULL REFERENCES cases(id),
    message_id  uuid NOT NULL,
    received_at timestamptz NOT NULL
);
CREATE INDEX inbound_messages_case ON inbound_messages (case_id);

ALTER TABLE cases ADD COLUMN source_message_id_enc bytea;

GRANT SELECT, INSERT, UPDATE, DELETE ON inbound_messages TO redress_intake;

ALTER TABLE users
    DROP CONSTRAINT users_role_check,
    ADD CONSTRAINT users_role_check CHECK (role IN ('none', 'agent', 'supervisor', 'compliance_officer', 'admin', 'automation', 'console', 'public_site', 'deletion_service', 'escalation_service', 'inbound_gateway'));

-- +goose Down
DELETE FROM users WHERE role = 'inbound_gateway';
ALTER TABLE users
    DROP CONSTRAINT users_role_check,
    ADD CONSTRAINT users_role_check CHECK (role IN ('none', 'agent', 'supervisor', 'compliance_officer', 'admin', 'automation', 'console', 'public_site', 'deletion_service', 'escalation_service'));
ALTER TABLE cases DROP COLUMN source_message_id_enc;
DROP TABLE inbound_messages;
