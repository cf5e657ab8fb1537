// Package reports produces the compliance registers and SLA statistics
// (CSV, XLSX) and the monthly summary (PDF) from the database, streaming rows
// so that memory stays bounded whatever the number of cases.
package reports

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"time"

	"github.com/redress/redress/workflows/calendar"
)

// Report names an export.
type Report string

const (
	CaseRegister       Report = "cases"
	SLAStatistics      Report = "sla"
	DeletionRegister   Report = "deletions"
	EscalationRegister Report = "escalations"
	AuditExtract       Report = "audit"
)

// Grouping of the SLA statistics.
const (
	ByCategory = "category"
	ByChannel  = "channel"
	ByRule     = "rule"
	ByMonth    = "month"
)

// Request says what to export: cases received (entries written) in [From, To).
type Request struct {
	Report  Report
	Format  Format
	From    time.Time
	To      time.Time
	GroupBy string // SLA statistics only; empty = category
	// MaxSeq bounds the audit extract to entries up to this sequence number
	// (0 = all), so that it matches a chain proof taken at one moment.
	MaxSeq int64
	// MinSeq, when set, makes the audit extract the entries MinSeq..MaxSeq,
	// every one of them whatever time it carries (an entry's time is its
	// writer's to set), instead of the entries timed in [From, To).
	MinSeq int64

	args []any // further query arguments of one report
}

func (r Request) withArgs(args ...any) Request {
	r.args = args
	return r
}

// FileName is the suggested name of the export's file.
func (r Request) FileName() string {
	return fmt.Sprintf("%s_%s.%s", r.Report, DaySpan(r.From, r.To), r.Format)
}

// DaySpan names [from, to) by its first and last day in Asia/Shanghai,
// e.g. 20260201_20260228.
func DaySpan(from, to time.Time) string {
	sh := calendar.Shanghai()
	return from.In(sh).Format("20060102") + "_" + to.Add(-time.Nanosecond).In(sh).Format("20060102")
}

// Exporter reads the record and writes reports.
type Exporter struct {
	DB        *sql.DB
	Calendars *calendar.Set
	Zone      *time.Location   // times in the files; nil = Asia/Shanghai
	Now       func() time.Time // the "as of" instant of statistics; nil = time.Now
}

func (e *Exporter) zone() *time.Location {
	if e.Zone != nil {
		return e.Zone
	}
	return calendar.Shanghai()
}

func (e *Exporter) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// Export writes the requested report to w. Cancelling ctx stops the query
// and the export with ctx's error.
func (e *Exporter) Export(ctx context.Context, req Request, w io.Writer) error {
	sink, err := NewSink(req.Format, w, string(req.Report))
	if err != nil {
		return err
	}
	switch req.Report {
	case CaseRegister:
		err = e.caseRegister(ctx, req, sink)
	case SLAStatistics:
		err = e.slaStatistics(ctx, req, sink)
	case EscalationRegister:
		err = e.escalationRegister(ctx, req, sink)
	case DeletionRegister:
		err = e.deletionRegister(ctx, req, sink)
	case AuditExtract:
		err = e.auditExtract(ctx, req, sink)
	default:
		err = fmt.Errorf("unknown report %q", req.Report)
	}
	if err != nil {
		return err
	}
	return sink.Close()
}
