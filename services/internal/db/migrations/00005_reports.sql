-- Stored compliance reports: the monthly summary (PDF) and the yearly request
-- statistics (N2), one row per kind and period, produced by the reports
-- workflows on their Temporal Schedules and kept for download.

-- +goose Up
CREATE TABLE report_documents (
    id           uuid PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('monthly_summary', 'yearly_statistics')),
    period_start timestamptz NOT NULL,
    period_end   timestamptz NOT NULL,
    file_name    text NOT NULL,
    content_type text NOT NULL,
    content      bytea NOT NULL,
    sha256       bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    emailed_at   timestamptz,
    UNIQUE (kind, period_start)
);

-- +goose Down
DROP TABLE report_documents;
