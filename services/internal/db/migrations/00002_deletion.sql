-- Deletion requests (SPEC §2.3): the request with its encrypted identifiers,
-- identity challenges, the plan, connector receipts (exactly-once actions),
-- evidence, certificates, connectors, manual tasks, webhook callbacks and the
-- suppression list of deleted identities (keyed hashes only).

-- +goose Up
CREATE TABLE deletion_requests (
    id                  uuid PRIMARY KEY,
    type                text NOT NULL CHECK (type IN ('erasure')),
    source              text NOT NULL CHECK (source IN ('agent', 'self', 'pipeline', 'case')),
    case_id             uuid REFERENCES cases(id),
    status              text NOT NULL,
    subject_key_id      uuid NOT NULL REFERENCES subject_keys(id),
    phone_enc           bytea,
    email_enc           bytea,
    phone_index         bytea,
    email_index         bytea,
    phone_held_from     timestamptz,
    phone_held_until    timestamptz,
    phone_verified_at   timestamptz,
    email_verified_at   timestamptz,
    identity_method     text NOT NULL DEFAULT '',
    attestation_reason  text NOT NULL DEFAULT '',
    language            text NOT NULL DEFAULT 'zh',
    due_at              timestamptz NOT NULL,
    due_rule            text NOT NULL DEFAULT '',
    plan_digest         text NOT NULL DEFAULT '',
    approved_by         text NOT NULL DEFAULT '',
    approved_at         timestamptz,
    reason_code         text NOT NULL DEFAULT '',
    reason_text         text NOT NULL DEFAULT '',
    restricted_until    timestamptz,
    submitted_by        text NOT NULL,
    workflow_started_at timestamptz,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX deletion_requests_status ON deletion_requests (status, created_at, id);
CREATE INDEX deletion_requests_case ON deletion_requests (case_id) WHERE case_id IS NOT NULL;
CREATE INDEX deletion_requests_unstarted ON deletion_requests (created_at) WHERE workflow_started_at IS NULL;

CREATE TABLE deletion_idempotency (
    key          text PRIMARY KEY,
    request_hash bytea NOT NULL,
    deletion_id  uuid NOT NULL REFERENCES deletion_requests(id),
    created_at   timestamptz NOT NULL
);

CREATE TABLE deletion_challenges (
    id           uuid PRIMARY KEY,
    deletion_id  uuid NOT NULL REFERENCES deletion_requests(id),
    channel      text NOT NULL CHECK (channel IN ('sms', 'email')),
    code_hash    bytea NOT NULL,
    attempts     int NOT NULL DEFAULT 0,
    max_attempts int NOT NULL,
    expires_at   timestamptz NOT NULL,
    verified_at  timestamptz,
    created_at   timestamptz NOT NULL
);
CREATE INDEX deletion_challenges_request ON deletion_challenges (deletion_id);

-- The plan the workflow built (one per request; items carry no personal data).
CREATE TABLE deletion_plans (
    deletion_id   uuid PRIMARY KEY REFERENCES deletion_requests(id),
    items         jsonb NOT NULL,
    digest        text NOT NULL,
    auto_approved boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL
);

-- One receipt per (request, connector, step): an action is applied once
-- even when its activity runs again after a crash.
CREATE TABLE deletion_receipts (
    deletion_id uuid NOT NULL REFERENCES deletion_requests(id),
    connector   text NOT NULL,
    step        text NOT NULL,
    receipt     jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (deletion_id, connector, step)
);

CREATE TABLE deletion_evidence (
    deletion_id   uuid NOT NULL REFERENCES deletion_requests(id),
    connector     text NOT NULL,
    found         bigint NOT NULL,
    action        text NOT NULL,
    affected      bigint NOT NULL,
    remaining     bigint NOT NULL,
    before_digest text NOT NULL,
    after_digest  text NOT NULL,
    receipt       text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (deletion_id, connector)
);

CREATE TABLE deletion_certificates (
    deletion_id uuid PRIMARY KEY REFERENCES deletion_requests(id),
    body        jsonb NOT NULL,
    digest      text NOT NULL,
    issued_at   timestamptz NOT NULL
);

CREATE TABLE deletion_connectors (
    name            text PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('postgres', 'webhook', 'manual', 'redress')),
    config          jsonb NOT NULL DEFAULT '{}',
    enabled         boolean NOT NULL DEFAULT true,
    max_concurrency int NOT NULL DEFAULT 4 CHECK (max_concurrency > 0),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);

CREATE TABLE deletion_manual_tasks (
    deletion_id  uuid NOT NULL REFERENCES deletion_requests(id),
    connector    text NOT NULL,
    status       text NOT NULL CHECK (status IN ('open', 'done')),
    note         text NOT NULL DEFAULT '',
    completed_by text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    completed_at timestamptz,
    PRIMARY KEY (deletion_id, connector)
);

-- Signed asynchronous confirmations from webhook connectors.
CREATE TABLE deletion_webhook_callbacks (
    deletion_id uuid NOT NULL REFERENCES deletion_requests(id),
    connector   text NOT NULL,
    status      text NOT NULL,
    remaining   bigint NOT NULL DEFAULT 0,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (deletion_id, connector)
);

-- Deleted identities, kept only as keyed hashes so later syncs do not bring
-- the data back.
CREATE TABLE suppression_entries (
    kind        text NOT NULL CHECK (kind IN ('phone', 'email')),
    hash        bytea NOT NULL,
    deletion_id uuid NOT NULL REFERENCES deletion_requests(id),
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (kind, hash)
);

-- +goose Down
DROP TABLE suppression_entries;
DROP TABLE deletion_webhook_callbacks;
DROP TABLE deletion_manual_tasks;
DROP TABLE deletion_connectors;
DROP TABLE deletion_certificates;
DROP TABLE deletion_evidence;
DROP TABLE deletion_receipts;
DROP TABLE deletion_plans;
DROP TABLE deletion_challenges;
DROP TABLE deletion_idempotency;
DROP TABLE deletion_requests;
