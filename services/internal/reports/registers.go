package reports

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

var escalationColumns = []string{"escalation_id", "case_number", "kind", "deadline_kind", "status", "reason", "created_at"}

const escalationQuery = `
SELECT e.id::text, coalesce(c.case_number, ''), e.kind, e.deadline_kind, e.status, e.reason, e.created_at
FROM escalations e LEFT JOIN cases c ON c.id = e.case_id
WHERE e.created_at >= $1 AND e.created_at < $2
ORDER BY e.created_at, e.id`

// escalationRegister writes one row per escalation raised in [from, to).
func (e *Exporter) escalationRegister(ctx context.Context, req Request, sink Sink) error {
	return e.stream(ctx, sink, escalationColumns, escalationQuery, req, func(rows *sql.Rows, cells []string, tf *timeFormatter) error {
		var at time.Time
		if err := rows.Scan(&cells[0], &cells[1], &cells[2], &cells[3], &cells[4], &cells[5], &at); err != nil {
			return err
		}
		cells[6] = tf.format(at)
		return nil
	})
}

// deletionRegister: deletion requests are recorded by the deletion service;
// until its table exists the register is the header alone.
func (e *Exporter) deletionRegister(ctx context.Context, req Request, sink Sink) error {
	var table sql.NullString
	if err := e.DB.QueryRowContext(ctx, "SELECT to_regclass('deletion_requests')::text").Scan(&table); err != nil {
		return fmt.Errorf("deletion register: %w", err)
	}
	if !table.Valid {
		return sink.Row(deletionColumns)
	}
	return e.stream(ctx, sink, deletionColumns, deletionQuery, req, func(rows *sql.Rows, cells []string, tf *timeFormatter) error {
		var created time.Time
		if err := rows.Scan(&cells[0], &cells[1], &cells[2], &created); err != nil {
			return err
		}
		cells[3] = tf.format(created)
		return nil
	})
}

var deletionColumns = []string{"request_id", "type", "status", "created_at"}

// Only columns every deletion schema has; row_to_json keeps this query
// independent of the deletion service's other columns.
const deletionQuery = `
SELECT d.id::text, coalesce(row_to_json(d)->>'type', row_to_json(d)->>'kind', ''),
       coalesce(row_to_json(d)->>'status', row_to_json(d)->>'state', ''), d.created_at
FROM deletion_requests d
WHERE d.created_at >= $1 AND d.created_at < $2
ORDER BY d.created_at, d.id`

// AuditColumns of the audit extract: everything needed to recompute each
// entry's hash (see audit.Canonical) and link it to the one before.
var AuditColumns = []string{"seq", "at", "actor", "action", "object_type", "object_id",
	"before_digest", "after_digest", "details", "prev_hash", "hash"}

const auditQuery = `
SELECT seq, at, actor, action, object_type, object_id, before_digest, after_digest, details, prev_hash, hash
FROM audit_entries WHERE at >= $1 AND at < $2 ORDER BY seq`

// auditExtract writes the audit entries of [from, to) in chain order with
// their hashes; times are UTC with microseconds, exactly as hashed.
func (e *Exporter) auditExtract(ctx context.Context, req Request, sink Sink) error {
	return e.stream(ctx, sink, AuditColumns, auditQuery, req, func(rows *sql.Rows, cells []string, _ *timeFormatter) error {
		var (
			seq        int64
			at         time.Time
			prev, hash []byte
		)
		if err := rows.Scan(&seq, &at, &cells[2], &cells[3], &cells[4], &cells[5], &cells[6], &cells[7], &cells[8], &prev, &hash); err != nil {
			return err
		}
		cells[0] = strconv.FormatInt(seq, 10)
		cells[1] = at.UTC().Format("2006-01-02T15:04:05.000000Z")
		cells[9], cells[10] = hex.EncodeToString(prev), hex.EncodeToString(hash)
		return nil
	})
}

// stream runs query over [req.From, req.To) and writes a header and one row
// per result row, filled by scan.
func (e *Exporter) stream(ctx context.Context, sink Sink, header []string, query string, req Request,
	scan func(*sql.Rows, []string, *timeFormatter) error) error {
	if err := sink.Row(header); err != nil {
		return err
	}
	rows, done, err := e.query(ctx, query, req.From, req.To)
	if err != nil {
		return fmt.Errorf("%s: %w", req.Report, err)
	}
	defer done()
	cells := make([]string, len(header))
	tf := newTimeFormatter(e.zone())
	for n := 0; rows.Next(); n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := scan(rows, cells, tf); err != nil {
			return fmt.Errorf("%s: %w", req.Report, err)
		}
		if err := sink.Row(cells); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", req.Report, err)
	}
	return nil
}
