-- +goose Up
-- Dated duties of escalations get timers (workflows/escalation): an incident's
-- report clock runs from its discovery, not from when Redress opened it; an
-- incident detected from a complaint cluster waits for an officer's grade
-- before it is filed; and every missed duty leaves a breach row.
ALTER TABLE escalations
    ADD COLUMN discovered_at timestamptz,
    ADD COLUMN graded_at     timestamptz,
    ADD COLUMN graded_by     text NOT NULL DEFAULT '';
-- Incidents already on record: discovered at their earliest complaint (or
-- when opened), and treated as graded so a running filing is not held back.
UPDATE escalations e SET graded_at = e.created_at,
    discovered_at = coalesce((SELECT min(c.received_at) FROM incident_cases ic JOIN cases c ON c.id = ic.case_id
                              WHERE ic.escalation_id = e.id), e.created_at)
WHERE e.kind = 'incident';

-- One row per dated duty that passed undone: the report or filing of the
-- escalation (duty 'report' for a legal due date, 'filing' for the internal
-- wait of an escalation without one) or a regulator's follow-up question
-- ('follow_up/<id>').
CREATE TABLE escalation_breaches (
    escalation_id uuid NOT NULL REFERENCES escalations(id),
    duty          text NOT NULL,
    due_at        timestamptz NOT NULL,
    breached_at   timestamptz NOT NULL,
    action_id     text NOT NULL,
    PRIMARY KEY (escalation_id, duty, due_at)
);

-- +goose Down
DROP TABLE escalation_breaches;
ALTER TABLE escalations DROP COLUMN discovered_at, DROP COLUMN graded_at, DROP COLUMN graded_by;
