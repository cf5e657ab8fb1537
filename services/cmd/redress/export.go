package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/reports"
	"github.com/redress/redress/workflows/calendar"
)

const exportUsage = `usage: redress export <report> -from YYYY-MM-DD -to YYYY-MM-DD [flags]

reports: cases, sla, deletions, escalations, audit, package (inspection package, a zip)
dates are days in Asia/Shanghai, both included.
stored reports: redress export documents (list); redress export document -id ID (download)
`

var exportReports = map[string]reportingv1.Report{
	"cases":       reportingv1.Report_REPORT_CASE_REGISTER,
	"sla":         reportingv1.Report_REPORT_SLA_STATISTICS,
	"deletions":   reportingv1.Report_REPORT_DELETION_REGISTER,
	"escalations": reportingv1.Report_REPORT_ESCALATION_REGISTER,
	"audit":       reportingv1.Report_REPORT_AUDIT_EXTRACT,
}

var exportGroups = map[string]reportingv1.GroupBy{
	"category": reportingv1.GroupBy_GROUP_BY_CATEGORY,
	"channel":  reportingv1.GroupBy_GROUP_BY_CHANNEL,
	"rule":     reportingv1.GroupBy_GROUP_BY_RULE,
	"month":    reportingv1.GroupBy_GROUP_BY_MONTH,
}

// runExport downloads a report from a running ReportingService.
func runExport(ctx context.Context, cfg config.Config, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, exportUsage)
		return fmt.Errorf("export: name a report")
	}
	what := args[0]
	fs := flag.NewFlagSet("export "+what, flag.ContinueOnError)
	addr := fs.String("addr", cfg.IntakeAddr, "gRPC address of the Redress services")
	token := fs.String("token", os.Getenv("REDRESS_TOKEN"), "API credential (default $REDRESS_TOKEN); needs report.export")
	from := fs.String("from", "", "first day (YYYY-MM-DD)")
	to := fs.String("to", "", "last day, included (YYYY-MM-DD)")
	format := fs.String("format", "csv", "csv or xlsx")
	groupBy := fs.String("group-by", "category", "sla only: category, channel, rule or month")
	out := fs.String("o", "", "output file (default: the suggested name; - for stdout)")
	docID := fs.String("id", "", "document: the stored report to download (see redress export documents)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var fromT, toT *timestamppb.Timestamp
	if what != "documents" && what != "document" {
		var err error
		if fromT, toT, err = dayRange(*from, *to); err != nil {
			return err
		}
	}
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	if *token == "" {
		return fmt.Errorf("export: no credential: set -token or REDRESS_TOKEN (redress user token ...)")
	}
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+*token)
	client := reportingv1.NewReportingServiceClient(conn)

	// Write to a temporary file and rename, so a failed or cancelled export
	// leaves no half file behind.
	tmp, err := os.CreateTemp(".", ".redress-export-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	var w io.Writer = tmp
	if *out == "-" {
		w = os.Stdout
	}
	var name string
	if what == "documents" {
		list, err := client.ListDocuments(ctx, &reportingv1.ListDocumentsRequest{})
		if err != nil {
			return err
		}
		for _, d := range list.GetDocuments() {
			fmt.Printf("%s  %-18s %s  %8d bytes  sha256 %s\n", d.GetId(), d.GetKind(), d.GetFileName(), d.GetSizeBytes(), d.GetSha256())
		}
		return nil
	}
	switch what {
	case "document":
		stream, err := client.DownloadDocument(ctx, &reportingv1.DownloadDocumentRequest{Id: *docID})
		if err != nil {
			return err
		}
		if name, err = reports.Receive(stream, w); err != nil {
			return err
		}
	case "package":
		stream, err := client.InspectionPackage(ctx, &reportingv1.InspectionPackageRequest{From: fromT, To: toT})
		if err != nil {
			return err
		}
		name, err = reports.Receive(stream, w)
		if err != nil {
			return err
		}
	default:
		report, ok := exportReports[what]
		if !ok {
			fmt.Fprint(os.Stderr, exportUsage)
			return fmt.Errorf("export: unknown report %q", what)
		}
		group, ok := exportGroups[*groupBy]
		if !ok {
			return fmt.Errorf("export: -group-by: unknown grouping %q", *groupBy)
		}
		f := reportingv1.Format_FORMAT_CSV
		switch *format {
		case "csv":
		case "xlsx":
			f = reportingv1.Format_FORMAT_XLSX
		default:
			return fmt.Errorf("export: -format: csv or xlsx, not %q", *format)
		}
		name, err = reports.Fetch(ctx, conn, &reportingv1.ExportRequest{Report: report, Format: f, From: fromT, To: toT, GroupBy: group}, w)
		if err != nil {
			return err
		}
	}
	if *out == "-" {
		return nil
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	dest := *out
	if dest == "" {
		dest = name
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "wrote", dest)
	return nil
}

// dayRange turns two Shanghai days (both included) into [from, to).
func dayRange(from, to string) (*timestamppb.Timestamp, *timestamppb.Timestamp, error) {
	f, err := calendar.ParseDate(from)
	if err != nil {
		return nil, nil, fmt.Errorf("-from: %w", err)
	}
	t, err := calendar.ParseDate(to)
	if err != nil {
		return nil, nil, fmt.Errorf("-to: %w", err)
	}
	loc := calendar.Shanghai()
	return timestamppb.New(f.Start(loc)), timestamppb.New(t.End(loc)), nil
}
