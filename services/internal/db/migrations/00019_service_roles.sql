-- Per-service database roles: each service's role reaches only the tables
-- its service owns (services/internal/db/owners.go, docs/ownership.md), plus
-- what every service shares — appending to the audit chain (INSERT and
-- SELECT on audit_entries, SELECT on audit_head, the refusal counters) and,
-- for the owners of personal data, the subject keys (crypto) — and
-- reporting reads its read model. The services still connect as members of
-- redress_runtime; a service moves to its own role once nothing of it
-- touches another's tables (docs/ownership.md says what still does).
--
-- The roles are cluster-wide and created here when missing (NOLOGIN; login
-- roles are granted membership, e.g.
--   CREATE ROLE redress_deletion_app LOGIN PASSWORD '...' IN ROLE redress_deletion;).
-- A migration that adds a table grants it to its owner's role: a test
-- (TestServiceRolesReachOnlyTheirTables) checks every table against db.Owners.

-- +goose Up
-- +goose StatementBegin
DO $$
DECLARE
    s text := current_schema();
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['redress_intake', 'redress_deletion', 'redress_escalation', 'redress_reporting', 'redress_identity'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', s, r);
        EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO %I', s, r);
        -- The audit chain: appended by all, never rewritten.
        EXECUTE format('GRANT SELECT, INSERT ON audit_entries TO %I', r);
        EXECUTE format('GRANT SELECT ON audit_head TO %I', r);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON audit_counts TO %I', r);
        EXECUTE format('GRANT EXECUTE ON FUNCTION audit_lock_head() TO %I', r);
    END LOOP;
END
$$;
-- +goose StatementEnd

GRANT SELECT, INSERT, UPDATE, DELETE ON cases, complainants, case_actions, case_messages, case_search_tokens,
    attachments, deadlines, deadline_reminders, intake_idempotency, notifications TO redress_intake;

GRANT SELECT, INSERT, UPDATE, DELETE ON deletion_requests, deletion_plans, deletion_receipts, deletion_evidence,
    deletion_certificates, deletion_challenges, deletion_code_events, deletion_connectors, deletion_idempotency,
    deletion_manual_tasks, deletion_reason_texts, deletion_webhook_callbacks, suppression_entries TO redress_deletion;

GRANT SELECT, INSERT, UPDATE, DELETE ON escalations, escalation_actions, escalation_breaches, escalation_filings,
    escalation_followups, escalation_packages, escalation_steps, incident_cases TO redress_escalation;

GRANT SELECT, INSERT, UPDATE, DELETE ON report_documents TO redress_reporting;
-- Reporting's read model: read-only.
GRANT SELECT ON cases, deadlines, deletion_requests, escalations, escalation_breaches TO redress_reporting;

GRANT SELECT, INSERT, UPDATE, DELETE ON users, sessions, api_tokens, role_grants TO redress_identity;

-- Subject keys: each owner of personal data creates and destroys its subjects' keys.
GRANT SELECT, INSERT, UPDATE ON subject_keys TO redress_intake, redress_deletion;

-- +goose Down
-- +goose StatementBegin
DO $$
DECLARE
    s text := current_schema();
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['redress_intake', 'redress_deletion', 'redress_escalation', 'redress_reporting', 'redress_identity'] LOOP
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %I', s, r);
        EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM %I', s, r);
        EXECUTE format('REVOKE ALL ON FUNCTION audit_lock_head() FROM %I', r);
        EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM %I', s, r);
    END LOOP;
END
$$;
-- +goose StatementEnd
