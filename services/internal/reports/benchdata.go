package reports

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// BenchFrom is where benchmark cases start: a year no real case is in.
var BenchFrom = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// BenchSpacing between two benchmark cases' receipt times.
const BenchSpacing = 20 * time.Second

// SeedBench makes sure the database holds n benchmark cases (case numbers
// B-0000001…, received from BenchFrom every BenchSpacing) with both
// deadlines, generated inside PostgreSQL. Real cases are never touched.
func SeedBench(ctx context.Context, db *sql.DB, n int) error {
	var have int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM cases WHERE case_number LIKE 'B-%'`).Scan(&have); err != nil {
		return err
	}
	if have >= n {
		return nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var complainant string
	err = tx.QueryRowContext(ctx, `
WITH k AS (INSERT INTO subject_keys (id, wrapped_key) VALUES (gen_random_uuid(), '\x01') RETURNING id)
INSERT INTO complainants (id, subject_key_id) SELECT gen_random_uuid(), id FROM k RETURNING id`).Scan(&complainant)
	if err != nil {
		return fmt.Errorf("seed complainant: %w", err)
	}
	_, err = tx.ExecContext(ctx, `
INSERT INTO cases (id, case_number, kind, category, channel, state, complainant_id, policy_pack,
                   ack_due_at, resolution_due_at, lookup_code_hash, received_at, updated_at)
SELECT gen_random_uuid(), 'B-' || lpad(i::text, 7, '0'), 'complaint',
       (ARRAY['spam_sms','harassing_call','junk_email','malicious_program','prohibited_information',
              'personal_information_leak','identity_misuse','account_security','service_quality','other'])[1 + i % 10],
       (ARRAY['web_form','api','phone','email','sms','regulator_referral','internal'])[1 + i % 7],
       (ARRAY['received','accepted','in_progress','resolved','closed','rejected'])[1 + i % 6],
       $1, 'cn', r + interval '24 hours', r + interval '21 days', '\x00', r, r
FROM (SELECT i, $2::timestamptz + i * $3::interval AS r FROM generate_series($4::int, $5::int) i) s`,
		complainant, BenchFrom, fmt.Sprintf("%d seconds", int(BenchSpacing.Seconds())), have+1, n)
	if err != nil {
		return fmt.Errorf("seed cases: %w", err)
	}
	_, err = tx.ExecContext(ctx, `
INSERT INTO deadlines (case_id, kind, due_at, rule_id, citation, status, met_at)
SELECT c.id, k.kind, CASE k.kind WHEN 'acknowledgement' THEN c.ack_due_at ELSE c.resolution_due_at END,
       CASE k.kind WHEN 'acknowledgement' THEN 'cn/C1' ELSE 'cn/A1' END, 'benchmark citation',
       CASE WHEN c.state IN ('resolved', 'closed') OR k.kind = 'acknowledgement' THEN 'met' ELSE 'open' END,
       CASE WHEN c.state IN ('resolved', 'closed') OR k.kind = 'acknowledgement'
            THEN c.received_at + (extract(epoch FROM c.received_at)::bigint % 30) * interval '1 day' / 2 END
FROM cases c CROSS JOIN (VALUES ('acknowledgement'), ('resolution')) k(kind)
WHERE c.case_number LIKE 'B-%' AND NOT EXISTS (SELECT 1 FROM deadlines d WHERE d.case_id = c.id)`)
	if err != nil {
		return fmt.Errorf("seed deadlines: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, "ANALYZE cases; ANALYZE deadlines")
	return err
}

// BenchTo is the end of the range holding n benchmark cases.
func BenchTo(n int) time.Time { return BenchFrom.Add(time.Duration(n+1) * BenchSpacing) }

// CaseRegisterCopySQL is the case register's query as a COPY ... TO STDOUT
// (CSV) over [from, to): the database's own export of the same rows, the
// baseline of the export benchmark.
func CaseRegisterCopySQL(from, to time.Time) string {
	q := caseRegisterQuery
	lit := func(t time.Time) string { return "'" + t.UTC().Format(time.RFC3339Nano) + "'::timestamptz" }
	q = strings.Replace(q, "$1", lit(from), 1)
	q = strings.Replace(q, "$2", lit(to), 1)
	return "COPY (" + q + ") TO STDOUT WITH (FORMAT csv, HEADER true)"
}
