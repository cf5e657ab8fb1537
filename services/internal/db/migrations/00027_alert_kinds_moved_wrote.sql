-- Two more alert kinds: a deadline a confirmed calendar brought forward,
-- and a complainant's message to a case.

-- +goose Up
ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check CHECK (kind IN ('case_at_risk', 'case_overdue', 'deletion_approval',
    'escalation_due', 'escalation_overdue', 'calendar_missing', 'deadline_moved_earlier', 'complainant_wrote'));

-- +goose Down
DELETE FROM alerts WHERE kind IN ('deadline_moved_earlier', 'complainant_wrote');
DELETE FROM alert_preferences WHERE kind IN ('deadline_moved_earlier', 'complainant_wrote');
ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check CHECK (kind IN ('case_at_risk', 'case_overdue', 'deletion_approval',
    'escalation_due', 'escalation_overdue', 'calendar_missing'));
