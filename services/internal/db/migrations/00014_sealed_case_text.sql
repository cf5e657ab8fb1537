-- +goose Up
-- Free texts of a case hold personal data (a description quoting a phone
-- number, a reported number, a file name): they are sealed under the
-- complainant's subject key like the name and phone, so crypto-shredding the
-- key erases them too. Search uses keyed tokens (case_search_tokens) instead
-- of a trigram index over clear text. Rows written before keep their clear
-- text until the intake service seals it at start (intake.SealClearTexts),
-- which needs the master key; it then empties the clear columns.
ALTER TABLE cases
    ADD COLUMN description_enc   bytea,
    ADD COLUMN subject_value_enc bytea,
    ALTER COLUMN description SET DEFAULT '';
ALTER TABLE attachments
    ADD COLUMN file_name_enc bytea,
    ALTER COLUMN file_name SET DEFAULT '';
CREATE INDEX cases_clear_text ON cases (id) WHERE description <> '' OR subject_value <> '';
CREATE INDEX attachments_clear_name ON attachments (id) WHERE file_name <> '';

-- A case's search tokens: keyed hashes (crypto.SearchTokens) of its words
-- and Chinese character pairs; erasure deletes them with the key.
CREATE TABLE case_search_tokens (
    token_hash bytea NOT NULL,
    case_id    uuid NOT NULL REFERENCES cases(id),
    PRIMARY KEY (token_hash, case_id)
);
CREATE INDEX case_search_tokens_case ON case_search_tokens (case_id, token_hash);

DROP INDEX cases_text;
CREATE INDEX cases_number_text ON cases USING gin (case_number gin_trgm_ops);

-- Texts about a deletion request (attestation, reject/cancel/extension
-- reasons, manual-task notes) are sealed under the request's subject key;
-- clear rows written before are sealed by the deletion service at start
-- (deletion.SealClearTexts).
ALTER TABLE deletion_requests ADD COLUMN attestation_reason_enc bytea, ADD COLUMN reason_text_enc bytea;
ALTER TABLE deletion_reason_texts ADD COLUMN text_enc bytea, ALTER COLUMN text SET DEFAULT '';
ALTER TABLE deletion_manual_tasks ADD COLUMN note_enc bytea;

-- Answers to a regulator's follow-ups about one person are sealed under
-- that person's key (escalation.SealClearAnswers seals older ones at start).
ALTER TABLE escalation_followups ADD COLUMN answer_enc bytea;

-- +goose Down
ALTER TABLE escalation_followups DROP COLUMN answer_enc;
ALTER TABLE deletion_manual_tasks DROP COLUMN note_enc;
ALTER TABLE deletion_reason_texts DROP COLUMN text_enc, ALTER COLUMN text DROP DEFAULT;
ALTER TABLE deletion_requests DROP COLUMN attestation_reason_enc, DROP COLUMN reason_text_enc;
DROP INDEX cases_number_text;
CREATE INDEX cases_text ON cases USING gin ((case_number || ' ' || subject_value || ' ' || description) gin_trgm_ops);
DROP TABLE case_search_tokens;
DROP INDEX attachments_clear_name;
DROP INDEX cases_clear_text;
ALTER TABLE attachments DROP COLUMN file_name_enc, ALTER COLUMN file_name DROP DEFAULT;
ALTER TABLE cases DROP COLUMN description_enc, DROP COLUMN subject_value_enc, ALTER COLUMN description DROP DEFAULT;
