-- Alerts: what staff are told (cases at risk and overdue, deletion plans
-- waiting for approval, escalations near or past their due time, a missing
-- holiday calendar), and each person's preferences per kind. Identity owns
-- both: it knows the people. An alert names its object by number or id and
-- links to it; it never holds personal data.

-- +goose Up
CREATE TABLE alerts (
    id           bigserial PRIMARY KEY,
    recipient    text NOT NULL,        -- the username
    event_key    text NOT NULL,        -- one alert per recipient per event
    kind         text NOT NULL CHECK (kind IN ('case_at_risk', 'case_overdue', 'deletion_approval',
                                               'escalation_due', 'escalation_overdue', 'calendar_missing')),
    subject_type text NOT NULL CHECK (subject_type IN ('case', 'deletion_request', 'escalation', 'calendar')),
    subject_ref  text NOT NULL,
    note         text NOT NULL DEFAULT '',
    link         text NOT NULL DEFAULT '',
    due_at       timestamptz,
    created_at   timestamptz NOT NULL,
    in_console   boolean NOT NULL,     -- the recipient's preference when it was raised
    email_wanted boolean NOT NULL,
    emailed_at   timestamptz,
    read_at      timestamptz,
    UNIQUE (recipient, event_key)
);
CREATE INDEX alerts_console ON alerts (recipient, id DESC) WHERE in_console;
CREATE INDEX alerts_mail_pending ON alerts (event_key) WHERE email_wanted AND emailed_at IS NULL;

CREATE TABLE alert_preferences (
    username   text NOT NULL,
    kind       text NOT NULL,
    console    boolean NOT NULL,
    email      boolean NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (username, kind)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON alerts, alert_preferences TO redress_identity;
GRANT USAGE, SELECT, UPDATE ON SEQUENCE alerts_id_seq TO redress_identity;

-- +goose Down
DROP TABLE alert_preferences;
DROP TABLE alerts;
