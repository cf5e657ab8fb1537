package reports

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/xuri/excelize/v2"
	"google.golang.org/grpc/metadata"

	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
	"github.com/redress/redress/services/internal/pgtest"
)

// The XLSX export holds the same table as the CSV one.
func TestXLSXExportMatchesCSV(t *testing.T) {
	db := pgtest.Open(t)
	seedFixtures(t, db, springFestival)
	c := reportingClient(t, db, sh(t, "2026-03-20 12:00"))
	_, want := export(t, c, february(t, reportingv1.Report_REPORT_SLA_STATISTICS, reportingv1.GroupBy_GROUP_BY_CATEGORY))

	in := february(t, reportingv1.Report_REPORT_SLA_STATISTICS, reportingv1.GroupBy_GROUP_BY_CATEGORY)
	in.Format = reportingv1.Format_FORMAT_XLSX
	stream, err := c.Export(metadata.AppendToOutgoingContext(context.Background(), "x-redress-actor", "officer-1"), in)
	must(t, err)
	var buf bytes.Buffer
	name, err := Receive(stream, &buf)
	must(t, err)
	if name != "sla_20260201_20260228.xlsx" {
		t.Errorf("file name %q", name)
	}
	f, err := excelize.OpenReader(&buf)
	must(t, err)
	defer func() { _ = f.Close() }()
	got, err := f.GetRows("sla")
	must(t, err)
	if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Errorf("xlsx rows\n%v\nwant\n%v", got, want)
	}
}
