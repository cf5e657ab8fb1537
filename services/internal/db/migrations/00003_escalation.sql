-- Escalations to supervisors and regulators (SPEC §2.4): the escalations
-- table of the foundation (where the complaint workflow records SLA breaches)
-- gains its filing lifecycle, and around it: filings (one row per submission
-- attempt), the filing package, follow-ups, mandatory-report steps, the cases
-- of an incident, and the action ids that make workflow writes idempotent.

-- +goose Up
ALTER TABLE escalations
    ADD COLUMN deletion_request_id   uuid,
    ADD COLUMN regulator             text NOT NULL DEFAULT '',
    ADD COLUMN adapter               text NOT NULL DEFAULT '',
    ADD COLUMN due_at                timestamptz,
    ADD COLUMN due_rule              text NOT NULL DEFAULT '',
    ADD COLUMN due_citation          text NOT NULL DEFAULT '',
    ADD COLUMN filed_at              timestamptz,
    ADD COLUMN filing_reference      text NOT NULL DEFAULT '',
    ADD COLUMN acknowledged_at       timestamptz,
    ADD COLUMN ack_reference         text NOT NULL DEFAULT '',
    ADD COLUMN supervisor_alerted_at timestamptz,
    ADD COLUMN closed_at             timestamptz,
    ADD COLUMN opened_by             text NOT NULL DEFAULT 'system:workflow',
    -- incidents
    ADD COLUMN operator_class        text NOT NULL DEFAULT '',
    ADD COLUMN leaked_data_type      text NOT NULL DEFAULT '',
    ADD COLUMN leak_source           text NOT NULL DEFAULT '',
    ADD COLUMN notify_decision       text NOT NULL DEFAULT '',
    ADD COLUMN notify_reason         text NOT NULL DEFAULT '',
    ADD COLUMN version               bigint NOT NULL DEFAULT 0,
    ADD COLUMN workflow_started_at   timestamptz,
    ADD COLUMN updated_at            timestamptz;
ALTER TABLE escalations ADD CONSTRAINT escalations_status_check
    CHECK (status IN ('open', 'filed', 'acknowledged', 'closed'));
ALTER TABLE escalations ADD CONSTRAINT escalations_operator_class_check
    CHECK (operator_class IN ('', 'critical_infrastructure', 'central_body', 'other'));
ALTER TABLE escalations ADD CONSTRAINT escalations_notify_decision_check
    CHECK (notify_decision IN ('', 'notify', 'not_notify'));
CREATE INDEX escalations_list ON escalations (created_at DESC, id DESC);
CREATE INDEX escalations_workflow_pending ON escalations (created_at) WHERE workflow_started_at IS NULL;
-- What the triggers look at on every pass (internal/escalation/triggers.go).
CREATE INDEX cases_mandatory_report ON cases (received_at)
    WHERE category IN ('prohibited_information', 'malicious_program');
CREATE INDEX cases_regulator_inquiry ON cases (received_at)
    WHERE channel = 'regulator_referral' AND regulator_due_at IS NOT NULL;
CREATE INDEX cases_leak ON cases (received_at) WHERE leaked_data_type <> '' AND leak_source <> '';

-- One row per submission attempt to a regulator. The idempotency key is the
-- same for every attempt of one escalation, so the regulator files it once.
CREATE TABLE escalation_filings (
    id              uuid PRIMARY KEY,
    escalation_id   uuid NOT NULL REFERENCES escalations(id),
    attempt         int NOT NULL,
    adapter         text NOT NULL,
    idempotency_key text NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('acknowledged', 'accepted', 'ready_for_manual_filing')),
    reference       text NOT NULL DEFAULT '',
    package_sha256  text NOT NULL,
    at              timestamptz NOT NULL,
    UNIQUE (escalation_id, attempt)
);

-- The filing package (ZIP), built once per escalation and kept for download.
CREATE TABLE escalation_packages (
    escalation_id uuid PRIMARY KEY REFERENCES escalations(id),
    zip           bytea NOT NULL,
    sha256        text NOT NULL,
    audit_from    bigint NOT NULL,
    audit_to      bigint NOT NULL,
    created_at    timestamptz NOT NULL
);

-- Questions from the regulator, each with its own due date, and the answers.
-- A row is a draft until the workflow's action commits it.
CREATE TABLE escalation_followups (
    id            uuid PRIMARY KEY,
    escalation_id uuid NOT NULL REFERENCES escalations(id),
    question      text NOT NULL,
    due_at        timestamptz NOT NULL,
    answer        text NOT NULL DEFAULT '',
    answered_at   timestamptz,
    attachment_name   text NOT NULL DEFAULT '',
    attachment_sha256 text NOT NULL DEFAULT '',
    attachment        bytea,
    status        text NOT NULL CHECK (status IN ('draft', 'open', 'answered', 'discarded')),
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE INDEX escalation_followups_escalation ON escalation_followups (escalation_id, created_at);

-- Mandatory report (CSL 2016 Art. 47/48): stop, eliminate, keep records,
-- report, and for malware and message senders (Art. 48 ¶2) suspend the
-- account; the case shows each step and who did it.
CREATE TABLE escalation_steps (
    escalation_id uuid NOT NULL REFERENCES escalations(id),
    step          text NOT NULL CHECK (step IN ('stop', 'eliminate', 'keep_records', 'report', 'suspend_account')),
    done_at       timestamptz NOT NULL,
    actor         text NOT NULL,
    PRIMARY KEY (escalation_id, step)
);

-- The cases clustered into an incident: a case belongs to one incident at most.
CREATE TABLE incident_cases (
    case_id       uuid PRIMARY KEY REFERENCES cases(id),
    escalation_id uuid NOT NULL REFERENCES escalations(id),
    linked_at     timestamptz NOT NULL,
    linked_by     text NOT NULL
);
CREATE INDEX incident_cases_escalation ON incident_cases (escalation_id);

-- Every change a workflow activity applied, by its action id (the update id).
CREATE TABLE escalation_actions (
    action_id     text PRIMARY KEY,
    escalation_id uuid NOT NULL REFERENCES escalations(id),
    action        text NOT NULL,
    applied_at    timestamptz NOT NULL
);

-- +goose Down
DROP TABLE escalation_actions, incident_cases, escalation_steps, escalation_followups,
    escalation_packages, escalation_filings;
DROP INDEX cases_leak, cases_regulator_inquiry, cases_mandatory_report, escalations_workflow_pending, escalations_list;
ALTER TABLE escalations DROP CONSTRAINT escalations_notify_decision_check,
    DROP CONSTRAINT escalations_operator_class_check, DROP CONSTRAINT escalations_status_check;
ALTER TABLE escalations
    DROP COLUMN deletion_request_id, DROP COLUMN regulator, DROP COLUMN adapter, DROP COLUMN due_at,
    DROP COLUMN due_rule, DROP COLUMN due_citation, DROP COLUMN filed_at, DROP COLUMN filing_reference,
    DROP COLUMN acknowledged_at, DROP COLUMN ack_reference, DROP COLUMN supervisor_alerted_at,
    DROP COLUMN closed_at, DROP COLUMN opened_by, DROP COLUMN operator_class, DROP COLUMN leaked_data_type,
    DROP COLUMN leak_source, DROP COLUMN notify_decision, DROP COLUMN notify_reason, DROP COLUMN version,
    DROP COLUMN workflow_started_at, DROP COLUMN updated_at;
