-- +goose Up
-- An officer grades an incident's severity (CAC Cybersecurity Incident
-- Reporting Measures: especially_serious, serious, relatively_serious,
-- general); the duty to report applies from relatively_serious up. Empty:
-- not graded yet, or graded before grades were recorded (filed as before).
ALTER TABLE escalations ADD COLUMN severity text NOT NULL DEFAULT ''
    CHECK (severity IN ('', 'especially_serious', 'serious', 'relatively_serious', 'general'));

-- +goose Down
ALTER TABLE escalations DROP COLUMN severity;
