-- The deletion service's own account: its role (deletion_service) holds only
-- intake.erase, the permission of intake's ErasureService, through which the
-- own-data connector erases a person's complainant records.

-- +goose Up
ALTER TABLE users
    DROP CONSTRAINT users_role_check,
    ADD CONSTRAINT users_role_check CHECK (role IN ('none', 'agent', 'supervisor', 'compliance_officer', 'admin', 'automation', 'console', 'public_site', 'deletion_service'));

-- +goose Down
DELETE FROM users WHERE role = 'deletion_service';
ALTER TABLE users
    DROP CONSTRAINT users_role_check,
    ADD CONSTRAINT users_role_check CHECK (role IN ('none', 'agent', 'supervisor', 'compliance_officer', 'admin', 'automation', 'console', 'public_site'));
