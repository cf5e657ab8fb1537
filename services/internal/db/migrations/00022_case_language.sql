-- +goose Up
-- The complainant's language chooses the language of every notice, the status
-- page and the certificate; cases on record were answered in Chinese. A case
-- may also now come in at a service counter, entered by an agent.
ALTER TABLE cases ADD COLUMN language text NOT NULL DEFAULT 'zh' CHECK (language IN ('zh', 'en'));

-- +goose Down
ALTER TABLE cases DROP COLUMN language;
