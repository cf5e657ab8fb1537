-- The public pages authenticate as their own service account, of the role
-- 'public_site' (submit web-form complaints, look a case up by number and
-- lookup code, read the published figures), instead of holding the database
-- credential and the master key.

-- +goose Up
ALTER TABLE users
    DROP CONSTRAINT users_role_check,
    ADD CONSTRAINT users_role_check CHECK (role IN ('none', 'agent', 'supervisor', 'compliance_officer', 'admin', 'automation', 'console', 'public_site'));

-- +goose Down
DELETE FROM users WHERE role = 'public_site';
ALTER TABLE users
    DROP CONSTRAINT users_role_check,
    ADD CONSTRAINT users_role_check CHECK (role IN ('none', 'agent', 'supervisor', 'compliance_officer', 'admin', 'automation', 'console'));
