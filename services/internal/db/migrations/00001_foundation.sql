-- Foundation schema: cases and their complainants, messages, attachments,
-- deadlines, escalations, notifications, intake idempotency and the audit chain.
-- Personal information lives only in *_enc columns (AES-256-GCM under a
-- per-subject key, see internal/crypto) and in keyed-hash *_index columns.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- One data key per data subject, wrapped by the master key. Shredding a
-- subject deletes the wrapped key; every field encrypted under it is gone.
CREATE TABLE subject_keys (
    id          uuid PRIMARY KEY,
    wrapped_key bytea,
    created_at  timestamptz NOT NULL DEFAULT now(),
    shredded_at timestamptz,
    CHECK ((wrapped_key IS NULL) = (shredded_at IS NOT NULL))
);

CREATE TABLE complainants (
    id                uuid PRIMARY KEY,
    subject_key_id    uuid NOT NULL REFERENCES subject_keys(id),
    name_enc          bytea,
    phone_enc         bytea,
    email_enc         bytea,
    id_number_enc     bytea,
    phone_index       bytea, -- HMAC-SHA256 of the normalised phone number
    email_index       bytea, -- HMAC-SHA256 of the normalised email address
    preferred_contact text NOT NULL DEFAULT 'email' CHECK (preferred_contact IN ('email', 'sms')),
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX complainants_phone_index ON complainants (phone_index) WHERE phone_index IS NOT NULL;
CREATE INDEX complainants_email_index ON complainants (email_index) WHERE email_index IS NOT NULL;

CREATE SEQUENCE case_number_seq;

CREATE TABLE cases (
    id                  uuid PRIMARY KEY,
    case_number         text NOT NULL UNIQUE,
    kind                text NOT NULL CHECK (kind IN ('complaint', 'report')),
    category            text NOT NULL,
    channel             text NOT NULL,
    referring_body      text NOT NULL DEFAULT '',
    state               text NOT NULL CHECK (state IN ('received', 'accepted', 'rejected', 'in_progress',
                            'awaiting_complainant', 'resolved', 'reopened', 'closed', 'merged')),
    assignee            text NOT NULL DEFAULT '',
    complainant_id      uuid NOT NULL REFERENCES complainants(id),
    subject_type        text NOT NULL DEFAULT '',
    subject_value       text NOT NULL DEFAULT '',
    leaked_data_type    text NOT NULL DEFAULT '',
    leak_source         text NOT NULL DEFAULT '',
    description         text NOT NULL,
    policy_pack         text NOT NULL,
    -- Copies of the deadlines rows, for filtering and sorting the queue.
    ack_due_at          timestamptz NOT NULL,
    resolution_due_at   timestamptz NOT NULL,
    regulator_due_at    timestamptz,
    overdue             boolean NOT NULL DEFAULT false,
    merged_into         uuid REFERENCES cases(id),
    rejection_reason    text NOT NULL DEFAULT '',
    lookup_code_hash    bytea NOT NULL,
    lookup_code_enc     bytea,
    version             bigint NOT NULL DEFAULT 0,
    workflow_started_at timestamptz,
    received_at         timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX cases_queue ON cases (resolution_due_at, id);
CREATE INDEX cases_state_queue ON cases (state, resolution_due_at, id);
CREATE INDEX cases_assignee_queue ON cases (assignee, resolution_due_at, id);
CREATE INDEX cases_received_at ON cases (received_at);
CREATE INDEX cases_workflow_pending ON cases (received_at) WHERE workflow_started_at IS NULL;
CREATE INDEX cases_text ON cases USING gin ((case_number || ' ' || subject_value || ' ' || description) gin_trgm_ops);

-- Deadlines as computed by the policy engine: the rule and citation that set
-- them are kept with them (computed once, stored, changed only by the workflow).
CREATE TABLE deadlines (
    case_id     uuid NOT NULL REFERENCES cases(id),
    kind        text NOT NULL CHECK (kind IN ('acknowledgement', 'resolution')),
    due_at      timestamptz NOT NULL,
    rule_id     text NOT NULL,
    citation    text NOT NULL,
    provisional boolean NOT NULL DEFAULT false,
    pausable    boolean NOT NULL DEFAULT false,
    reminders   jsonb NOT NULL DEFAULT '[]',
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paused', 'met', 'breached')),
    paused_at   timestamptz,
    met_at      timestamptz,
    breached_at timestamptz,
    PRIMARY KEY (case_id, kind)
);

-- Notes (internal), replies, feedback, rejection texts, questions and the
-- complainant's answers. Bodies are encrypted under the complainant's key.
-- A draft is written before the workflow update that uses it and committed
-- by that update's activity; drafts are never shown.
CREATE TABLE case_messages (
    id         uuid PRIMARY KEY,
    case_id    uuid NOT NULL REFERENCES cases(id),
    kind       text NOT NULL CHECK (kind IN ('note', 'reply', 'feedback', 'rejection', 'information_request',
                   'complainant_response', 'reopen_reason')),
    body_enc   bytea NOT NULL,
    author     text NOT NULL,
    status     text NOT NULL CHECK (status IN ('draft', 'committed', 'discarded')),
    created_at timestamptz NOT NULL
);
CREATE INDEX case_messages_case ON case_messages (case_id, created_at);

CREATE TABLE attachments (
    id           uuid PRIMARY KEY,
    case_id      uuid NOT NULL REFERENCES cases(id),
    file_name    text NOT NULL,
    content_type text NOT NULL,
    size_bytes   bigint NOT NULL,
    sha256       bytea NOT NULL,
    content_enc  bytea,
    created_at   timestamptz NOT NULL
);
CREATE INDEX attachments_case ON attachments (case_id);

-- Every transition a workflow activity wrote, by its action id (the update
-- id): a retried activity finds its action here and writes nothing twice.
CREATE TABLE case_actions (
    action_id  text PRIMARY KEY,
    case_id    uuid NOT NULL REFERENCES cases(id),
    action     text NOT NULL,
    from_state text NOT NULL,
    to_state   text NOT NULL,
    actor      text NOT NULL,
    applied_at timestamptz NOT NULL
);
CREATE INDEX case_actions_case ON case_actions (case_id, applied_at);

CREATE TABLE deadline_reminders (
    case_id uuid NOT NULL REFERENCES cases(id),
    kind    text NOT NULL,
    ordinal int NOT NULL,
    due_at  timestamptz NOT NULL,
    sent_at timestamptz NOT NULL,
    PRIMARY KEY (case_id, kind, ordinal)
);

-- Escalations. The escalation workflow comes later; breaches are recorded now.
CREATE TABLE escalations (
    id            uuid PRIMARY KEY,
    case_id       uuid REFERENCES cases(id),
    kind          text NOT NULL CHECK (kind IN ('sla_breach', 'mandatory_report', 'incident', 'regulator_inquiry', 'manual')),
    deadline_kind text NOT NULL DEFAULT '',
    status        text NOT NULL DEFAULT 'open',
    reason        text NOT NULL DEFAULT '',
    dedupe_key    text NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL
);
CREATE INDEX escalations_case ON escalations (case_id);

-- Notices to complainants: one row per dedupe key, so a notice is sent at most
-- once even when its activity is retried.
CREATE TABLE notifications (
    id         uuid PRIMARY KEY,
    case_id    uuid NOT NULL REFERENCES cases(id),
    kind       text NOT NULL,
    dedupe_key text NOT NULL UNIQUE,
    channel    text NOT NULL DEFAULT '',
    status     text NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts   int NOT NULL DEFAULT 0,
    last_error text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    sent_at    timestamptz
);

-- Client idempotency keys for submissions (scoped by the calling principal).
CREATE TABLE intake_idempotency (
    key          text PRIMARY KEY,
    request_hash bytea NOT NULL,
    case_id      uuid NOT NULL REFERENCES cases(id),
    created_at   timestamptz NOT NULL
);

-- The audit chain: hash = SHA-256(prev_hash || canonical entry). seq is
-- assigned under the lock on audit_head, so chain order is seq order.
CREATE TABLE audit_entries (
    seq           bigint PRIMARY KEY,
    at            timestamptz NOT NULL,
    actor         text NOT NULL,
    action        text NOT NULL,
    object_type   text NOT NULL,
    object_id     text NOT NULL,
    before_digest text NOT NULL DEFAULT '',
    after_digest  text NOT NULL DEFAULT '',
    details       text NOT NULL DEFAULT '{}',
    prev_hash     bytea NOT NULL,
    hash          bytea NOT NULL
);
CREATE INDEX audit_entries_object ON audit_entries (object_type, object_id, seq);

CREATE TABLE audit_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    seq       bigint NOT NULL,
    hash      bytea NOT NULL
);
INSERT INTO audit_head (seq, hash) VALUES (0, decode(repeat('00', 32), 'hex'));

-- +goose StatementBegin
CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_entries is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_entries_no_update_delete BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only();

-- +goose Down
DROP TABLE audit_head, audit_entries, intake_idempotency, notifications, escalations,
    deadline_reminders, case_actions, attachments, case_messages, deadlines, cases,
    complainants, subject_keys;
DROP FUNCTION audit_entries_append_only();
DROP SEQUENCE case_number_seq;
