-- +goose Up
-- Separate database roles. Migrations run as the owner of the tables; the
-- services run as a login role that is a member of redress_runtime, which
-- may read and write the record but only append to the audit chain: on
-- audit_entries INSERT and SELECT, on audit_head SELECT. Not being the owner,
-- it cannot disable the append-only trigger, alter the tables or rewrite
-- entries. The chain head is locked through audit_lock_head() and moved only
-- by the owner's trigger below, which accepts an insert only when its
-- entries extend the chain from the head.
--
-- The role is cluster-wide and created here when missing (the migrating
-- role then needs CREATEROLE; or an administrator creates it beforehand).
-- Login roles for the services are granted membership in it, e.g.
--   CREATE ROLE redress_app LOGIN PASSWORD '...' IN ROLE redress_runtime;
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'redress_runtime') THEN
        CREATE ROLE redress_runtime NOLOGIN;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION audit_lock_head() RETURNS TABLE (head_seq bigint, head_hash bytea)
LANGUAGE sql SECURITY DEFINER AS $$
    SELECT seq, hash FROM audit_head WHERE singleton FOR UPDATE
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION audit_entries_move_head() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    h_seq  bigint;
    h_hash bytea;
    e      record;
BEGIN
    SELECT seq, hash INTO h_seq, h_hash FROM audit_head WHERE singleton FOR UPDATE;
    FOR e IN SELECT seq, prev_hash, hash FROM appended ORDER BY seq LOOP
        IF e.seq <> h_seq + 1 OR e.prev_hash <> h_hash THEN
            RAISE EXCEPTION 'audit_entries: entry % does not extend the chain head %', e.seq, h_seq
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        h_seq := e.seq;
        h_hash := e.hash;
    END LOOP;
    UPDATE audit_head SET seq = h_seq, hash = h_hash WHERE singleton;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_entries_move_head AFTER INSERT ON audit_entries
    REFERENCING NEW TABLE AS appended FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_move_head();

-- Refused calls and rejected callbacks are counted here, one row per source
-- and minute, and written to the chain as one entry per row once the minute
-- is over (audit.FlushCounts): whoever sends many of them grows a counter,
-- not the chain, and holds no lock on its head.
CREATE TABLE audit_counts (
    minute      timestamptz NOT NULL,
    action      text NOT NULL,
    actor       text NOT NULL,
    object_type text NOT NULL,
    object_id   text NOT NULL,
    count       bigint NOT NULL,
    tally       jsonb NOT NULL DEFAULT '{}', -- count per kind (method, reason)
    samples     jsonb NOT NULL DEFAULT '[]', -- the first few objects named
    PRIMARY KEY (minute, action, actor, object_type, object_id)
);

-- +goose StatementBegin
DO $$
DECLARE
    s text := current_schema();
BEGIN
    -- A SECURITY DEFINER function must not find a caller's temporary tables first.
    EXECUTE format('ALTER FUNCTION audit_lock_head() SET search_path = %I, pg_temp', s);
    EXECUTE format('ALTER FUNCTION audit_entries_move_head() SET search_path = %I, pg_temp', s);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO redress_runtime', s);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO redress_runtime', s);
    EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO redress_runtime', s);
    -- Tables later migrations create (as this owner) get the same grants.
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO redress_runtime', s);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO redress_runtime', s);
END
$$;
-- +goose StatementEnd
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_entries FROM redress_runtime;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_head FROM redress_runtime;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON goose_db_version FROM redress_runtime;
REVOKE ALL ON FUNCTION audit_lock_head() FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_entries_move_head() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_lock_head() TO redress_runtime;

-- +goose Down
-- +goose StatementBegin
DO $$
DECLARE
    s text := current_schema();
BEGIN
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON TABLES FROM redress_runtime', s);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON SEQUENCES FROM redress_runtime', s);
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM redress_runtime', s);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM redress_runtime', s);
    EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM redress_runtime', s);
END
$$;
-- +goose StatementEnd
DROP TABLE audit_counts;
DROP TRIGGER audit_entries_move_head ON audit_entries;
DROP FUNCTION audit_entries_move_head();
DROP FUNCTION audit_lock_head();
