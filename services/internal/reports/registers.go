package reports

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

var escalationColumns = []string{"escalation_id", "case_number", "kind", "deadline_kind", "status", "regulator", "adapter",
	"created_at", "due_at", "due_rule", "due_citation", "filed_at", "filing_reference", "acknowledged_at", "ack_reference",
	"closed_at", "opened_by", "operator_class", "notify_decision", "reason",
	// When an incident was discovered and graded, and every dated duty that
	// passed undone ("report@<due>; follow_up/<id>@<due>"), for inspectors;
	// an incident's severity grade (general: recorded, not filed).
	"discovered_at", "graded_at", "missed_duties", "severity"}

const escalationQuery = `
SELECT e.id::text, coalesce(c.case_number, ''), e.kind, e.deadline_kind, e.status, e.regulator, e.adapter,
       e.created_at, e.due_at, e.due_rule, e.due_citation, e.filed_at, e.filing_reference, e.acknowledged_at, e.ack_reference,
       e.closed_at, e.opened_by, e.operator_class, e.notify_decision, e.reason,
       e.discovered_at, e.graded_at,
       coalesce((SELECT string_agg(b.duty || '@' || to_char(b.due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), '; ' ORDER BY b.due_at, b.duty)
                 FROM escalation_breaches b WHERE b.escalation_id = e.id), ''),
       e.severity
FROM escalations e LEFT JOIN cases c ON c.id = e.case_id
WHERE e.created_at >= $1 AND e.created_at < $2
ORDER BY e.created_at, e.id`

// escalationRegister writes one row per escalation raised in [from, to).
func (e *Exporter) escalationRegister(ctx context.Context, req Request, sink Sink) error {
	return e.stream(ctx, sink, escalationColumns, escalationQuery, req, func(rows *sql.Rows, cells []string, tf *timeFormatter) error {
		var created time.Time
		var due, filed, acked, closed, discovered, graded sql.NullTime
		if err := rows.Scan(&cells[0], &cells[1], &cells[2], &cells[3], &cells[4], &cells[5], &cells[6],
			&created, &due, &cells[9], &cells[10], &filed, &cells[12], &acked, &cells[14],
			&closed, &cells[16], &cells[17], &cells[18], &cells[19], &discovered, &graded, &cells[22], &cells[23]); err != nil {
			return err
		}
		cells[7], cells[8], cells[11], cells[13], cells[15] = tf.format(created), tf.null(due), tf.null(filed), tf.null(acked), tf.null(closed)
		cells[20], cells[21] = tf.null(discovered), tf.null(graded)
		return nil
	})
}

// deletionColumns: no personal information (the identifiers searched for
// stay encrypted in the deletion service's tables).
var deletionColumns = []string{"request_id", "type", "source", "case_number", "status", "identity_method",
	"received_at", "due_at", "due_rule", "approved_by", "approved_at", "reason_code", "restricted_until", "updated_at"}

const deletionQuery = `
SELECT d.id::text, d.type, d.source, coalesce(c.case_number, ''), d.status, d.identity_method,
       d.created_at, d.due_at, d.due_rule, d.approved_by, d.approved_at, d.reason_code, d.restricted_until, d.updated_at
FROM deletion_requests d LEFT JOIN cases c ON c.id = d.case_id
WHERE d.created_at >= $1 AND d.created_at < $2
ORDER BY d.created_at, d.id`

// deletionRegister writes one row per deletion request received in [from, to).
func (e *Exporter) deletionRegister(ctx context.Context, req Request, sink Sink) error {
	return e.stream(ctx, sink, deletionColumns, deletionQuery, req, func(rows *sql.Rows, cells []string, tf *timeFormatter) error {
		var created, due, updated time.Time
		var approved, restricted sql.NullTime
		if err := rows.Scan(&cells[0], &cells[1], &cells[2], &cells[3], &cells[4], &cells[5],
			&created, &due, &cells[8], &cells[9], &approved, &cells[11], &restricted, &updated); err != nil {
			return err
		}
		cells[6], cells[7], cells[10], cells[12], cells[13] = tf.format(created), tf.format(due), tf.null(approved), tf.null(restricted), tf.format(updated)
		return nil
	})
}

// AuditColumns of the audit extract: everything needed to recompute each
// entry's hash (see audit.Canonical) and link it to the one before.
var AuditColumns = []string{"seq", "at", "actor", "action", "object_type", "object_id",
	"before_digest", "after_digest", "details", "prev_hash", "hash"}

const auditQuery = `
SELECT seq, at, actor, action, object_type, object_id, before_digest, after_digest, details, prev_hash, hash
FROM audit_entries WHERE at >= $1 AND at < $2 AND ($3::bigint = 0 OR seq <= $3) ORDER BY seq`

const auditSeqQuery = `
SELECT seq, at, actor, action, object_type, object_id, before_digest, after_digest, details, prev_hash, hash
FROM audit_entries WHERE $1::timestamptz IS NOT NULL AND $2::timestamptz IS NOT NULL AND seq >= $3 AND seq <= $4 ORDER BY seq`

// auditExtract writes the audit entries of [from, to) in chain order with
// their hashes; times are UTC with microseconds, exactly as hashed.
func (e *Exporter) auditExtract(ctx context.Context, req Request, sink Sink) error {
	query, r := auditQuery, req.withArgs(req.MaxSeq)
	if req.MinSeq > 0 {
		query, r = auditSeqQuery, req.withArgs(req.MinSeq, req.MaxSeq)
	}
	return e.stream(ctx, sink, AuditColumns, query, r, func(rows *sql.Rows, cells []string, _ *timeFormatter) error {
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
	rows, done, err := e.query(ctx, query, append([]any{req.From, req.To}, req.args...)...)
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
