package reports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// YearlyStatistics writes the yearly request statistics (Network Data
// Security Management Regulations Art. 44) for [from, to) as CSV in long
// form (section, group, metric, value): the SLA statistics by category and by
// channel, cases by state, deletion requests by status.
func (e *Exporter) YearlyStatistics(ctx context.Context, from, to time.Time, w io.Writer) error {
	sink := newCSVSink(w)
	if err := sink.Row([]string{"section", "group", "metric", "value"}); err != nil {
		return err
	}
	for _, by := range []string{ByCategory, ByChannel} {
		rows, err := e.statistics(ctx, from, to, by)
		if err != nil {
			return err
		}
		head := rows[0]
		for _, r := range rows[1:] {
			for i := 2; i < len(r); i++ {
				if err := sink.Row([]string{"cases_by_" + by, r[1], head[i], r[i]}); err != nil {
					return err
				}
			}
		}
	}
	for _, q := range []struct{ section, sql string }{
		{"cases_by_state", `SELECT state, count(*) FROM cases WHERE received_at >= $1 AND received_at < $2 GROUP BY state ORDER BY state`},
		{"deletion_requests_by_status", `SELECT status, count(*) FROM deletion_requests WHERE created_at >= $1 AND created_at < $2 GROUP BY status ORDER BY status`},
	} {
		rows, err := e.DB.QueryContext(ctx, q.sql, from, to)
		if err != nil {
			return fmt.Errorf("%s: %w", q.section, err)
		}
		for rows.Next() {
			var k string
			var n int64
			if err := rows.Scan(&k, &n); err != nil {
				_ = rows.Close()
				return err
			}
			if err := sink.Row([]string{q.section, k, "count", fmt.Sprint(n)}); err != nil {
				_ = rows.Close()
				return err
			}
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
	}
	return sink.Close()
}
