-- Two people for every grant of power: a role that reveals personal data,
-- approves deletions or administers, and a change of an account's single
-- sign-on identity, wait in role_grants until a second person (not the
-- requester, not the account's owner) confirms them. Accounts made on the
-- administration page hold the role 'none' (no permissions) until then.
-- users.email is the address single sign-on may link by when the provider
-- has verified it.

-- +goose Up
ALTER TABLE users
    ADD COLUMN email text NOT NULL DEFAULT '',
    DROP CONSTRAINT users_role_check,
    ADD CONSTRAINT users_role_check CHECK (role IN ('none', 'agent', 'supervisor', 'compliance_officer', 'admin', 'automation'));
CREATE INDEX users_email ON users (lower(email)) WHERE email <> '';

CREATE TABLE role_grants (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('role', 'sso')),
    role         text NOT NULL DEFAULT '', -- kind role: the role granted
    email        text NOT NULL DEFAULT '', -- kind sso: the identity set
    oidc_issuer  text NOT NULL DEFAULT '',
    oidc_subject text NOT NULL DEFAULT '',
    requested_by text NOT NULL,
    requested_at timestamptz NOT NULL,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed', 'rejected')),
    decided_by   text NOT NULL DEFAULT '',
    decided_at   timestamptz
);
-- One pending grant of each kind per account.
CREATE UNIQUE INDEX role_grants_pending ON role_grants (user_id, kind) WHERE status = 'pending';

-- +goose Down
DROP TABLE role_grants;
DROP INDEX users_email;
ALTER TABLE users
    DROP CONSTRAINT users_role_check,
    ADD CONSTRAINT users_role_check CHECK (role IN ('agent', 'supervisor', 'compliance_officer', 'admin', 'automation')),
    DROP COLUMN email;
