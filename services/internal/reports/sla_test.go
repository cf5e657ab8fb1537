package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gorm.io/gorm"

	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/pdffont/pdftest"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/workflows/calendar"
)

// Cases around Spring Festival 2026 (off Feb 15–23; make-up working days
// Sat Feb 14 and Sat Feb 28). Handling times in working days, day of receipt
// not counted, worked out by hand from the State Council notice:
//
//	A Thu 02-12 → Wed 02-25: 13, 14, 24, 25                 = 4
//	B Fri 02-13 → Mon 03-02: 14, 24, 25, 26, 27, 28, 03-02  = 7
//	C Sat 02-14 → Tue 02-24: 24                             = 1
//	D Mon 02-16 → Tue 03-03: 24, 25, 26, 27, 28, 03-02, 03  = 7
//	E Fri 02-20 → Mon 03-02: 24, 25, 26, 27, 28, 03-02      = 6
var springFestival = []fixture{
	// A: acknowledged and resolved on time.
	{category: "spam_sms", channel: "web_form", state: "resolved", received: "2026-02-12 10:00",
		ackDue: "2026-02-13 10:00", ackMet: "2026-02-12 15:00", resDue: "2026-03-06 23:59", resMet: "2026-02-25 10:00"},
	// B: acknowledged an hour late (on the make-up Saturday), resolved on time.
	{category: "spam_sms", channel: "phone", state: "resolved", received: "2026-02-13 09:00",
		ackDue: "2026-02-14 09:00", ackMet: "2026-02-14 10:00", resDue: "2026-03-05 23:59", resMet: "2026-03-02 11:00"},
	// C: received on the make-up Saturday, resolved on the first day back.
	{category: "spam_sms", channel: "web_form", state: "closed", received: "2026-02-14 11:00",
		ackDue: "2026-02-15 11:00", ackMet: "2026-02-14 12:00", resDue: "2026-03-09 23:59", resMet: "2026-02-24 09:00"},
	// D: received in the holiday, acknowledged late after it, resolved on time.
	{category: "personal_information_leak", channel: "web_form", state: "resolved", received: "2026-02-16 08:00",
		ackDue: "2026-02-17 08:00", ackMet: "2026-02-24 09:00", resDue: "2026-03-16 23:59", resMet: "2026-03-03 15:00"},
	// E: acknowledged on time, resolved after its deadline.
	{category: "personal_information_leak", channel: "phone", state: "resolved", received: "2026-02-20 14:00",
		ackDue: "2026-02-21 14:00", ackMet: "2026-02-20 16:00", resDue: "2026-02-27 23:59", resMet: "2026-03-02 10:00"},
	// F: resolution still open and not yet due at the "as of" instant: pending.
	{category: "personal_information_leak", channel: "web_form", state: "in_progress", received: "2026-02-25 10:00",
		ackDue: "2026-02-26 10:00", ackMet: "2026-02-25 11:00", resDue: "2026-04-01 00:00"},
	// G: acknowledgement breached, resolution open past its due time: both late.
	{category: "spam_sms", channel: "web_form", state: "received", received: "2026-02-26 10:00",
		ackDue: "2026-02-27 10:00", ackStatus: "breached", resDue: "2026-03-19 23:59"},
	// H: rejected on time: counts for acknowledgement only.
	{category: "spam_sms", channel: "web_form", state: "rejected", received: "2026-02-10 09:00",
		ackDue: "2026-02-11 09:00", ackMet: "2026-02-10 17:00", resDue: "2026-03-03 23:59"},
	// I: merged into another case: left out of the statistics.
	{category: "spam_sms", channel: "web_form", state: "merged", received: "2026-02-11 09:00",
		ackDue: "2026-02-12 09:00", resDue: "2026-03-04 23:59"},
	// Outside [Feb 1, Mar 1) Shanghai time: Jan 20, and 00:30 on Mar 1 (still Feb 28 in UTC).
	{category: "spam_sms", channel: "web_form", state: "resolved", received: "2026-01-20 09:00",
		ackDue: "2026-01-21 09:00", ackMet: "2026-01-20 10:00", resDue: "2026-02-10 23:59", resMet: "2026-01-22 10:00"},
	{category: "spam_sms", channel: "web_form", state: "resolved", received: "2026-03-01 00:30",
		ackDue: "2026-03-02 00:30", ackMet: "2026-03-02 10:00", resDue: "2026-03-20 23:59", resMet: "2026-03-02 10:00"},
}

// reportingClient serves ReportingService over a real TCP socket.
func reportingClient(t *testing.T, db *gorm.DB, asOf time.Time) reportingv1.ReportingServiceClient {
	t.Helper()
	// The service connects as the reporting service's own database role
	// (its tables and its read model only), as `redress dev` runs it; the
	// tests seed the other services' tables through db.
	db = pgtest.As(t, db, "redress_reporting_app")
	sqlDB, err := db.DB()
	must(t, err)
	cals, err := calendar.LoadEmbedded()
	must(t, err)
	log := slog.New(slog.DiscardHandler)
	// The caller names itself in metadata here; credentials and the
	// permission table are the access package's tests.
	gs := grpc.NewServer(grpc.StreamInterceptor(actorFromMetadata))
	reportingv1.RegisterReportingServiceServer(gs, &Server{
		Exporter: &Exporter{DB: sqlDB, Calendars: cals, Now: func() time.Time { return asOf }},
		DB:       db, Log: log,
	})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	go func() { _ = gs.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	must(t, err)
	t.Cleanup(func() { _ = conn.Close(); gs.Stop() })
	return reportingv1.NewReportingServiceClient(conn)
}

type actorStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s actorStream) Context() context.Context { return s.ctx }

func actorFromMetadata(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx := ss.Context()
	if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get("x-redress-actor")) > 0 {
		ctx = access.WithActor(ctx, md.Get("x-redress-actor")[0])
	}
	return handler(srv, actorStream{ss, ctx})
}

func export(t *testing.T, c reportingv1.ReportingServiceClient, in *reportingv1.ExportRequest) (string, [][]string) {
	t.Helper()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-redress-actor", "officer-1")
	stream, err := c.Export(ctx, in)
	must(t, err)
	var buf bytes.Buffer
	name, err := Receive(stream, &buf)
	must(t, err)
	rows, err := csv.NewReader(&buf).ReadAll()
	must(t, err)
	return name, rows
}

func february(t *testing.T, report reportingv1.Report, by reportingv1.GroupBy) *reportingv1.ExportRequest {
	return &reportingv1.ExportRequest{Report: report, Format: reportingv1.Format_FORMAT_CSV, GroupBy: by,
		From: timestamppb.New(sh(t, "2026-02-01 00:00")), To: timestamppb.New(sh(t, "2026-03-01 00:00"))}
}

func TestSLAStatisticsAcrossSpringFestival(t *testing.T) {
	db := pgtest.Open(t)
	seedFixtures(t, db, springFestival)
	c := reportingClient(t, db, sh(t, "2026-03-20 12:00"))

	header := strings.Join(slaColumns, ",")
	for _, tc := range []struct {
		by   reportingv1.GroupBy
		want []string
	}{
		{reportingv1.GroupBy_GROUP_BY_CATEGORY, []string{
			"category,personal_information_leak,3,2,1,0,0.6667,1,1,1,0.5000,2,6.5,7",
			"category,spam_sms,5,3,2,0,0.6000,3,1,0,0.7500,3,4,7",
			"category,total,8,5,3,0,0.6250,4,2,1,0.6667,5,6,7",
		}},
		{reportingv1.GroupBy_GROUP_BY_CHANNEL, []string{
			"channel,phone,2,1,1,0,0.5000,1,1,0,0.5000,2,6.5,7",
			"channel,web_form,6,4,2,0,0.6667,3,1,1,0.7500,3,4,7",
			"channel,total,8,5,3,0,0.6250,4,2,1,0.6667,5,6,7",
		}},
		{reportingv1.GroupBy_GROUP_BY_MONTH, []string{
			"month,2026-02,8,5,3,0,0.6250,4,2,1,0.6667,5,6,7",
			"month,total,8,5,3,0,0.6250,4,2,1,0.6667,5,6,7",
		}},
	} {
		name, rows := export(t, c, february(t, reportingv1.Report_REPORT_SLA_STATISTICS, tc.by))
		if name != "sla_20260201_20260228.csv" {
			t.Errorf("file name %q", name)
		}
		got := make([]string, len(rows))
		for i, r := range rows {
			got[i] = strings.Join(r, ",")
		}
		want := append([]string{header}, tc.want...)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("group by %v:\n got %s\nwant %s", tc.by, strings.Join(got, "\n    "), strings.Join(want, "\n    "))
		}
	}
}

func TestCaseRegisterStreamsEveryCaseWithoutPersonalData(t *testing.T) {
	db := pgtest.Open(t)
	seedFixtures(t, db, springFestival)
	c := reportingClient(t, db, sh(t, "2026-03-20 12:00"))
	_, rows := export(t, c, february(t, reportingv1.Report_REPORT_CASE_REGISTER, 0))
	if len(rows) != 1+9 { // A–I; the two outside the range are left out
		t.Fatalf("%d rows, want header + 9", len(rows))
	}
	if strings.Join(rows[0], ",") != strings.Join(caseRegisterColumns, ",") {
		t.Errorf("header %v", rows[0])
	}
	// Oldest first: H (02-10), then I (02-11), then A.
	first := rows[1]
	if first[0] != "C-2026-T00008" || first[5] != "rejected" || first[7] != "2026-02-10T09:00:00+08:00" ||
		first[10] != "met" || first[15] != "open" {
		t.Errorf("first row %v", first)
	}
	for _, r := range rows {
		for _, cell := range r {
			if cell == "seeded" {
				t.Fatalf("the description reached the register: %v", r)
			}
		}
	}
	// The export is an audit entry naming who exported what.
	var n int64
	must(t, db.Raw(`SELECT count(*) FROM audit_entries WHERE action = 'report.exported' AND actor = 'officer-1'
		AND object_id = 'cases'`).Scan(&n).Error)
	if n != 1 {
		t.Errorf("%d audit entries for the export, want 1", n)
	}
}

func TestExportRefusesBadRequests(t *testing.T) {
	db := pgtest.Open(t)
	c := reportingClient(t, db, time.Now())
	for field, in := range map[string]*reportingv1.ExportRequest{
		"report": {Format: reportingv1.Format_FORMAT_CSV, From: timestamppb.Now(), To: timestamppb.New(time.Now().Add(time.Hour))},
		"format": {Report: reportingv1.Report_REPORT_CASE_REGISTER, From: timestamppb.Now(), To: timestamppb.New(time.Now().Add(time.Hour))},
		"from":   {Report: reportingv1.Report_REPORT_CASE_REGISTER, Format: reportingv1.Format_FORMAT_CSV, To: timestamppb.Now()},
		"to":     {Report: reportingv1.Report_REPORT_CASE_REGISTER, Format: reportingv1.Format_FORMAT_CSV, From: timestamppb.Now(), To: timestamppb.New(time.Now().Add(-time.Hour))},
	} {
		stream, err := c.Export(context.Background(), in)
		if err == nil {
			_, err = stream.Recv()
		}
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), field+":") {
			t.Errorf("%s: got %v, want INVALID_ARGUMENT naming %s", field, err, field)
		}
	}
}

func TestMonthlySummaryPDF(t *testing.T) {
	db := pgtest.Open(t)
	seedFixtures(t, db, springFestival)
	sqlDB, err := db.DB()
	must(t, err)
	cals, err := calendar.LoadEmbedded()
	must(t, err)
	e := &Exporter{DB: sqlDB, Calendars: cals, Now: func() time.Time { return sh(t, "2026-03-01 00:05") }}
	var buf bytes.Buffer
	must(t, e.MonthlySummary(context.Background(), sh(t, "2026-02-15 00:00"), "Example Telecom", &buf))
	b := buf.Bytes()
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("not a PDF (%d bytes): %q", len(b), b[:min(len(b), 200)])
	}
	// In Chinese, which printed as "?" in the core fonts: title, groups by
	// name, figures, and the production time in the operator's zone.
	text := strings.ReplaceAll(pdftest.Text(t, b), "\n", "") // a paragraph's lines joined
	for _, want := range []string{"月度合规摘要 2026年2月", "Example Telecom", "2026年2月1日至2026年2月28日", "垃圾短信", "合计", "按时办结",
		"生成于2026-03-01 00:05（北京时间）。按时：", "处理用时按国务院公布的节假日安排以工作日计，收到当日不计。"} {
		if !strings.Contains(text, want) {
			t.Errorf("%q not in the summary:\n%s", want, text)
		}
	}
}
