-- Identity: console accounts (local argon2id passwords or OIDC), browser
-- sessions and bearer API credentials. Only hashes of secrets are stored:
-- a stolen copy of these tables signs nobody in.

-- +goose Up
CREATE TABLE users (
    id                  uuid PRIMARY KEY,
    username            text NOT NULL UNIQUE,
    display_name        text NOT NULL DEFAULT '',
    role                text NOT NULL CHECK (role IN ('agent', 'supervisor', 'compliance_officer', 'admin', 'automation')),
    password_hash       text NOT NULL DEFAULT '', -- PHC string ($argon2id$...); empty = no local password
    oidc_issuer         text NOT NULL DEFAULT '',
    oidc_subject        text NOT NULL DEFAULT '',
    disabled            boolean NOT NULL DEFAULT false,
    failed_attempts     integer NOT NULL DEFAULT 0,
    locked_until        timestamptz,
    password_changed_at timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_oidc ON users (oidc_issuer, oidc_subject) WHERE oidc_subject <> '';

-- A browser session. The cookie holds the secret; the row holds its SHA-256.
-- The console forwards the same secret as a bearer credential to the services,
-- so signing out also ends the session's API access.
CREATE TABLE sessions (
    token_hash   bytea PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Bearer credentials for people and service accounts (automation clients).
-- scopes narrows the owner's role; empty = everything the role holds.
CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         text NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    scopes       text[] NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- +goose Down
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE users;
