-- +goose Up
-- Official calendars loaded without a release (SPEC §2.6): every load of a
-- year's calendar file is kept, with its digest, who loaded it and when, and
-- takes effect only once a second administrator confirms it. A rejected or
-- superseded load stays on record. The calendar in force for a year is its
-- latest confirmed load (else the file shipped with the release, else the
-- statutory holidays).
CREATE TABLE calendar_loads (
    id           uuid PRIMARY KEY,
    jurisdiction text NOT NULL,
    year         integer NOT NULL CHECK (year BETWEEN 1900 AND 9999),
    content      bytea NOT NULL,   -- the file as loaded
    sha256       bytea NOT NULL CHECK (octet_length(sha256) = 32),
    source       text NOT NULL,    -- the notice it comes from
    notice_date  date NOT NULL,    -- the notice's date, from source
    loaded_by    text NOT NULL,
    loaded_at    timestamptz NOT NULL,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed', 'rejected')),
    decided_by   text NOT NULL DEFAULT '',
    decided_at   timestamptz,
    reason       text NOT NULL DEFAULT '',
    CHECK ((status = 'pending') = (decided_at IS NULL)),
    CHECK (status = 'pending' OR decided_by <> loaded_by)
);
CREATE INDEX calendar_loads_year ON calendar_loads (jurisdiction, year, loaded_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON calendar_loads TO redress_intake;
-- The deletion and escalation services count working days too.
GRANT SELECT ON calendar_loads TO redress_deletion, redress_escalation, redress_reporting;

-- +goose Down
DROP TABLE calendar_loads;
