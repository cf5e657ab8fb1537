-- The audit checkpoint signer's database role: it reads the chain and its
-- head and stores the checkpoints it signs, nothing else (it neither
-- appends to the chain nor counts refusals). Like the services' roles of
-- 00019 it is NOLOGIN; a login role is granted membership (deploy/dev/pg.sh
-- makes redress_checkpoints_app). Reporting, whose inspection packages carry
-- the checkpoints, may read them.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'redress_checkpoints') THEN
        CREATE ROLE redress_checkpoints NOLOGIN;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO redress_checkpoints', current_schema());
END
$$;
-- +goose StatementEnd
GRANT SELECT ON audit_entries, audit_head TO redress_checkpoints;
GRANT SELECT, INSERT ON audit_checkpoints TO redress_checkpoints;
-- Reporting's inspection packages carry the checkpoints covering their
-- entries.
GRANT SELECT ON audit_checkpoints TO redress_reporting;

-- +goose Down
REVOKE ALL ON audit_entries, audit_head, audit_checkpoints FROM redress_checkpoints;
REVOKE SELECT ON audit_checkpoints FROM redress_reporting;
-- +goose StatementBegin
DO $$
BEGIN
    EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM redress_checkpoints', current_schema());
END
$$;
-- +goose StatementEnd
