package reports

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"
)

// caseRegisterColumns: no personal information (complainant, description and
// the reported subject's value stay out of registers).
var caseRegisterColumns = []string{
	"case_number", "kind", "category", "channel", "referring_body", "state", "policy_pack",
	"received_at", "ack_due_at", "ack_rule", "ack_status", "ack_met_at",
	"resolution_due_at", "resolution_rule", "resolution_citation", "resolution_status", "resolution_met_at",
	"overdue", "merged_into", "rejection_reason",
}

const caseRegisterQuery = `
SELECT c.case_number, c.kind, c.category, c.channel, c.referring_body, c.state, c.policy_pack,
       c.received_at, a.due_at, coalesce(a.rule_id, ''), coalesce(a.status, ''), a.met_at,
       r.due_at, coalesce(r.rule_id, ''), coalesce(r.citation, ''), coalesce(r.status, ''), r.met_at,
       c.overdue, coalesce((SELECT m.case_number FROM cases m WHERE m.id = c.merged_into), ''), c.rejection_reason
FROM cases c
LEFT JOIN deadlines a ON a.case_id = c.id AND a.kind = 'acknowledgement'
LEFT JOIN deadlines r ON r.case_id = c.id AND r.kind = 'resolution'
WHERE c.received_at >= $1 AND c.received_at < $2
ORDER BY c.received_at, c.id`

// caseRegister writes one row per case received in [from, to), oldest first.
func (e *Exporter) caseRegister(ctx context.Context, req Request, sink Sink) error {
	if err := sink.Row(caseRegisterColumns); err != nil {
		return err
	}
	rows, done, err := e.query(ctx, caseRegisterQuery, req.From, req.To)
	if err != nil {
		return fmt.Errorf("case register: %w", err)
	}
	defer done()
	var (
		number, kind, category, channel, body, state, pack  string
		ackRule, ackStatus, resRule, resCitation, resStatus string
		mergedInto, rejection                               string
		received                                            time.Time
		ackDue, ackMet, resDue, resMet                      sql.NullTime
		overdue                                             bool
		cells                                               = make([]string, len(caseRegisterColumns))
		tf                                                  = newTimeFormatter(e.zone())
	)
	for n := 0; rows.Next(); n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := rows.Scan(&number, &kind, &category, &channel, &body, &state, &pack,
			&received, &ackDue, &ackRule, &ackStatus, &ackMet,
			&resDue, &resRule, &resCitation, &resStatus, &resMet,
			&overdue, &mergedInto, &rejection); err != nil {
			return fmt.Errorf("case register: %w", err)
		}
		cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6] = number, kind, category, channel, body, state, pack
		cells[7], cells[8], cells[9], cells[10], cells[11] = tf.format(received), tf.null(ackDue), ackRule, ackStatus, tf.null(ackMet)
		cells[12], cells[13], cells[14], cells[15], cells[16] = tf.null(resDue), resRule, resCitation, resStatus, tf.null(resMet)
		cells[17], cells[18], cells[19] = strconv.FormatBool(overdue), mergedInto, rejection
		if err := sink.Row(cells); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("case register: %w", err)
	}
	return nil
}

// ExportSessionSQL tunes the session of a long export: sorting a large
// range in memory instead of on disk, and no JIT compilation (which costs
// more than it saves on these plain joins). The COPY baseline uses it too.
const ExportSessionSQL = "SET LOCAL work_mem = '64MB'; SET LOCAL jit = off"

// query runs q in a read-only repeatable-read transaction, so that a long
// export reads one consistent snapshot; done ends the transaction.
func (e *Exporter) query(ctx context.Context, q string, args ...any) (*sql.Rows, func(), error) {
	tx, err := e.DB.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return nil, nil, err
	}
	if _, err := tx.ExecContext(ctx, ExportSessionSQL); err != nil {
		_ = tx.Rollback()
		return nil, nil, err
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		_ = tx.Rollback()
		return nil, nil, err
	}
	return rows, func() { _ = rows.Close(); _ = tx.Rollback() }, nil
}

// timeFormatter writes instants as RFC 3339 in the report's zone.
type timeFormatter struct {
	loc *time.Location
	buf []byte
}

func newTimeFormatter(loc *time.Location) *timeFormatter {
	return &timeFormatter{loc: loc, buf: make([]byte, 0, 32)}
}

func (f *timeFormatter) format(t time.Time) string {
	f.buf = t.In(f.loc).AppendFormat(f.buf[:0], time.RFC3339)
	return string(f.buf)
}

func (f *timeFormatter) null(t sql.NullTime) string {
	if !t.Valid {
		return ""
	}
	return f.format(t.Time)
}
