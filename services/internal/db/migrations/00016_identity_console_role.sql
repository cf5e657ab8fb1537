-- The console's own service account: role 'console', whose only permission
-- is to create sessions for people who prove a password or an ID token
-- (access/roles.go). The console then reaches accounts over gRPC only and
-- holds no database credential for them.

-- +goose Up
ALTER TABLE users
    DROP CONSTRAINT users_role_check,
    ADD CONSTRAINT users_role_check CHECK (role IN ('none', 'agent', 'supervisor', 'compliance_officer', 'admin', 'automation', 'console'));

-- +goose Down
DELETE FROM users WHERE role = 'console';
ALTER TABLE users
    DROP CONSTRAINT users_role_check,
    ADD CONSTRAINT users_role_check CHECK (role IN ('none', 'agent', 'supervisor', 'compliance_officer', 'admin', 'automation'));
