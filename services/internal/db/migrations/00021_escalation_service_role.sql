-- The escalation service's own account: its role (escalation_service) holds
-- only intake.case_facts, the permission of intake's CaseFactsService,
-- through which the escalation service reads case facts and has incident
-- notices sent instead of reading intake's tables.
--
-- A filing package carries the signed checkpoints that cover its audit
-- entries, so the escalation service's database role reads them.

-- +goose Up
ALTER TABLE users
    DROP CONSTRAINT users_role_check,
    ADD CONSTRAINT users_role_check CHECK (role IN ('none', 'agent', 'supervisor', 'compliance_officer', 'admin', 'automation', 'console', 'public_site', 'deletion_service', 'escalation_service'));

GRANT SELECT ON audit_checkpoints TO redress_escalation;

-- +goose Down
REVOKE SELECT ON audit_checkpoints FROM redress_escalation;
DELETE FROM users WHERE role = 'escalation_service';
ALTER TABLE users
    DROP CONSTRAINT users_role_check,
    ADD CONSTRAINT users_role_check CHECK (role IN ('none', 'agent', 'supervisor', 'compliance_officer', 'admin', 'automation', 'console', 'public_site', 'deletion_service'));
