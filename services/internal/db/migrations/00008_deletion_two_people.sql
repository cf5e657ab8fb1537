-- No one acts alone on a deletion request. Who attested the requester's
-- identity, and whether a person did (a person's word is checked by a second
-- person: no auto-approval, and the attestor cannot approve), beside
-- submitted_by. And the one-time codes sent and guesses checked, per
-- identifier (its keyed index, never the phone or email) and per principal,
-- to limit codes across requests, not only per request. An automation
-- credential sees only its own requests (by submitted_by).

-- +goose Up
ALTER TABLE deletion_requests
    ADD COLUMN attested_by       text NOT NULL DEFAULT '',
    ADD COLUMN attested_by_human boolean NOT NULL DEFAULT false;

-- Requests attested before: the attestor is the actor of the audit entry
-- that recorded it; a person unless the account is an automation one.
UPDATE deletion_requests r SET attested_by = a.actor
FROM (SELECT DISTINCT ON (object_id) object_id, actor FROM audit_entries
      WHERE object_type = 'deletion_request' AND action = 'deletion.identity_verified'
        AND details::jsonb->>'method' = 'attestation'
      ORDER BY object_id, seq DESC) a
WHERE r.identity_method = 'attestation' AND a.object_id = r.id::text;
UPDATE deletion_requests r SET attested_by_human = NOT EXISTS (
    SELECT 1 FROM users u WHERE u.username = r.attested_by AND u.role = 'automation')
WHERE r.identity_method = 'attestation';

-- An automation credential lists only the requests it submitted.
CREATE INDEX deletion_requests_submitter ON deletion_requests (submitted_by, created_at, id);

CREATE TABLE deletion_code_events (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('send', 'guess')),
    identifier_hash bytea NOT NULL,
    principal       text NOT NULL,
    at              timestamptz NOT NULL
);
CREATE INDEX deletion_code_events_identifier ON deletion_code_events (identifier_hash, kind, at);
CREATE INDEX deletion_code_events_principal ON deletion_code_events (principal, kind, at);

-- +goose Down
DROP TABLE deletion_code_events;
DROP INDEX deletion_requests_submitter;
ALTER TABLE deletion_requests
    DROP COLUMN attested_by_human,
    DROP COLUMN attested_by;
