package reports

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gorm.io/gorm"

	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/validation"
)

// chunkSize of the streamed file pieces.
const chunkSize = 64 << 10

// maxRange of one export: a register for up to ten years.
const maxRange = 10 * 366 * 24 * time.Hour

// PackageBuilder writes an inspection package for [from, to) to w.
type PackageBuilder interface {
	Build(ctx context.Context, from, to time.Time, w io.Writer) error
}

// Server implements ReportingService.
type Server struct {
	reportingv1.UnimplementedReportingServiceServer
	Exporter *Exporter
	DB       *gorm.DB // for the audit entry of each export
	Packages PackageBuilder
	Log      *slog.Logger
}

var reportNames = map[reportingv1.Report]Report{
	reportingv1.Report_REPORT_CASE_REGISTER:       CaseRegister,
	reportingv1.Report_REPORT_SLA_STATISTICS:      SLAStatistics,
	reportingv1.Report_REPORT_DELETION_REGISTER:   DeletionRegister,
	reportingv1.Report_REPORT_ESCALATION_REGISTER: EscalationRegister,
	reportingv1.Report_REPORT_AUDIT_EXTRACT:       AuditExtract,
}

var groupNames = map[reportingv1.GroupBy]string{
	reportingv1.GroupBy_GROUP_BY_UNSPECIFIED: ByCategory,
	reportingv1.GroupBy_GROUP_BY_CATEGORY:    ByCategory,
	reportingv1.GroupBy_GROUP_BY_CHANNEL:     ByChannel,
	reportingv1.GroupBy_GROUP_BY_RULE:        ByRule,
	reportingv1.GroupBy_GROUP_BY_MONTH:       ByMonth,
}

// ParseRequest validates an ExportRequest; errors are INVALID_ARGUMENT naming the field.
func ParseRequest(in *reportingv1.ExportRequest) (Request, error) {
	var v validation.Errors
	var req Request
	var ok bool
	if req.Report, ok = reportNames[in.GetReport()]; !ok {
		v.Add("report", "must name a report")
	}
	switch in.GetFormat() {
	case reportingv1.Format_FORMAT_CSV:
		req.Format = CSV
	case reportingv1.Format_FORMAT_XLSX:
		req.Format = XLSX
	default:
		v.Add("format", "must be CSV or XLSX")
	}
	if req.GroupBy, ok = groupNames[in.GetGroupBy()]; !ok {
		v.Add("group_by", "unknown grouping")
	}
	req.From, req.To = timeRange(&v, in.GetFrom(), in.GetTo())
	return req, v.Err()
}

func timeRange(v *validation.Errors, from, to *timestamppb.Timestamp) (time.Time, time.Time) {
	var f, t time.Time
	if !from.IsValid() {
		v.Add("from", "is required")
	} else {
		f = from.AsTime()
	}
	if !to.IsValid() {
		v.Add("to", "is required")
	} else {
		t = to.AsTime()
	}
	if !f.IsZero() && !t.IsZero() {
		switch {
		case !t.After(f):
			v.Add("to", "must be after from")
		case t.Sub(f) > maxRange:
			v.Add("to", "range must not exceed ten years")
		}
	}
	return f, t
}

// Export streams the report in chunks; the export itself is audited first.
func (s *Server) Export(in *reportingv1.ExportRequest, stream grpc.ServerStreamingServer[reportingv1.ExportResponse]) error {
	req, err := ParseRequest(in)
	if err != nil {
		return err
	}
	ctx := stream.Context()
	if err := s.auditExport(ctx, "report.exported", string(req.Report), map[string]any{
		"format": string(req.Format), "from": req.From.UTC().Format(time.RFC3339), "to": req.To.UTC().Format(time.RFC3339),
		"group_by": req.GroupBy,
	}); err != nil {
		return err
	}
	w := &chunkWriter{first: &reportingv1.Chunk{ContentType: req.Format.ContentType(), FileName: req.FileName()},
		send: func(c *reportingv1.Chunk) error { return stream.Send(&reportingv1.ExportResponse{Chunk: c}) }}
	if err := s.Exporter.Export(ctx, req, w); err != nil {
		return s.exportError(ctx, err)
	}
	return w.Close()
}

// InspectionPackage streams a zip archive for the range.
func (s *Server) InspectionPackage(in *reportingv1.InspectionPackageRequest, stream grpc.ServerStreamingServer[reportingv1.InspectionPackageResponse]) error {
	var v validation.Errors
	from, to := timeRange(&v, in.GetFrom(), in.GetTo())
	if err := v.Err(); err != nil {
		return err
	}
	if s.Packages == nil {
		return status.Error(codes.Unimplemented, "inspection packages are not configured")
	}
	ctx := stream.Context()
	if err := s.auditExport(ctx, "report.inspection_package", "inspection_package", map[string]any{
		"from": from.UTC().Format(time.RFC3339), "to": to.UTC().Format(time.RFC3339),
	}); err != nil {
		return err
	}
	name := "inspection_" + DaySpan(from, to) + ".zip"
	w := &chunkWriter{first: &reportingv1.Chunk{ContentType: "application/zip", FileName: name},
		send: func(c *reportingv1.Chunk) error { return stream.Send(&reportingv1.InspectionPackageResponse{Chunk: c}) }}
	if err := s.Packages.Build(ctx, from, to, w); err != nil {
		return s.exportError(ctx, err)
	}
	return w.Close()
}

func (s *Server) auditExport(ctx context.Context, action, object string, details map[string]any) error {
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, err := audit.Append(tx, audit.Entry{Actor: access.Actor(ctx), Action: action, ObjectType: "report",
			ObjectID: object, Details: details})
		return err
	})
	if err != nil {
		return status.Errorf(codes.Internal, "record the export in the audit chain: %v", err)
	}
	return nil
}

func (s *Server) exportError(ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, "export cancelled")
	}
	if _, ok := status.FromError(err); ok && status.Code(err) != codes.Unknown {
		return err
	}
	if s.Log != nil {
		s.Log.Error("export failed", "err", err)
	}
	return status.Error(codes.Internal, "export failed")
}

// chunkWriter cuts the stream into chunks of chunkSize; the first chunk
// carries the file's name and type.
type chunkWriter struct {
	first *reportingv1.Chunk
	send  func(*reportingv1.Chunk) error
	buf   []byte
	sent  bool
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if w.buf == nil {
			w.buf = make([]byte, 0, chunkSize)
		}
		k := min(cap(w.buf)-len(w.buf), len(p))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (w *chunkWriter) flush() error {
	c := &reportingv1.Chunk{Data: w.buf}
	if !w.sent {
		c.ContentType, c.FileName = w.first.ContentType, w.first.FileName
	}
	if err := w.send(c); err != nil {
		return err
	}
	w.sent = true
	w.buf = make([]byte, 0, chunkSize) // the sent slice now belongs to the message
	return nil
}

// Close sends what is left (and at least one chunk, so an empty file has a name).
func (w *chunkWriter) Close() error {
	if len(w.buf) > 0 || !w.sent {
		return w.flush()
	}
	return nil
}
