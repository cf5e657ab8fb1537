package reports

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
	"github.com/redress/redress/services/internal/notify/smtptest"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/workflows/calendar"
	wf "github.com/redress/redress/workflows/reports"
)

func TestMonthlyReportIsStoredOnceAndMailedOnce(t *testing.T) {
	db := pgtest.Open(t)
	seedFixtures(t, db, springFestival)
	db = pgtest.As(t, db, "redress_reporting_app") // the worker makes documents as reporting's role
	sqlDB, err := db.DB()
	must(t, err)
	cals, err := calendar.LoadEmbedded()
	must(t, err)
	mail := smtptest.Start(t)
	d := &Documents{Exporter: &Exporter{DB: sqlDB, Calendars: cals}, DB: db, Operator: "Example Telecom",
		SMTPAddr: mail.Addr(), From: "Redress <redress@operator.example>", To: []string{"compliance@operator.example"}}
	ctx := context.Background()
	p := wf.MonthlyPeriod(time.Date(2026, 3, 1, 1, 0, 0, 0, calendar.Shanghai()), time.Time{})

	id, err := d.Generate(ctx, p)
	must(t, err)
	again, err := d.Generate(ctx, p) // a retried activity
	must(t, err)
	if again != id {
		t.Fatalf("second run stored another document: %s vs %s", again, id)
	}
	var doc Document
	must(t, db.Where("id = ?", id).Take(&doc).Error)
	if doc.FileName != "monthly_summary_20260201_20260228.pdf" || !strings.HasPrefix(string(doc.Content), "%PDF-") {
		t.Errorf("stored %s, %d bytes", doc.FileName, len(doc.Content))
	}
	var audited int64
	must(t, db.Raw(`SELECT count(*) FROM audit_entries WHERE action = 'report.generated' AND object_id = ?`, id).Scan(&audited).Error)
	if audited != 1 {
		t.Errorf("%d audit entries for the generation", audited)
	}

	must(t, d.Email(ctx, id))
	must(t, d.Email(ctx, id)) // retried: not sent twice
	msgs := mail.WaitCount(t, 1, 10*time.Second)
	if len(msgs) != 1 || msgs[0].To[0] != "compliance@operator.example" ||
		!strings.Contains(string(msgs[0].Raw), `filename="monthly_summary_20260201_20260228.pdf"`) {
		t.Fatalf("mail: %d messages; %+v", len(msgs), msgs)
	}
	time.Sleep(200 * time.Millisecond) // a second message would have arrived by now
	if n := len(mail.Messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

func TestYearlyStatisticsDocument(t *testing.T) {
	db := pgtest.Open(t)
	seedFixtures(t, db, springFestival)
	db = pgtest.As(t, db, "redress_reporting_app") // the worker makes documents as reporting's role
	sqlDB, err := db.DB()
	must(t, err)
	cals, err := calendar.LoadEmbedded()
	must(t, err)
	d := &Documents{Exporter: &Exporter{DB: sqlDB, Calendars: cals, Now: func() time.Time { return sh(t, "2026-03-20 12:00") }}, DB: db}
	id, err := d.Generate(context.Background(), wf.YearlyPeriod(time.Date(2027, 1, 1, 2, 0, 0, 0, calendar.Shanghai()), time.Time{}))
	must(t, err)
	var doc Document
	must(t, db.Where("id = ?", id).Take(&doc).Error)
	csv := string(doc.Content)
	for _, want := range []string{
		// A, B, C, G, H and those of 20 January and 1 March (merged I left out).
		"cases_by_category,spam_sms,cases,7\n",
		// February's 5 on time and 3 late, plus 20 January on time and 1 March late (met 10:00 on 2 March, due 00:30).
		"cases_by_category,total,ack_on_time_rate,0.6000\n",
		"cases_by_state,merged,count,1\n",
	} {
		if !strings.Contains(csv, want) {
			t.Errorf("yearly statistics lack %q:\n%s", want, csv)
		}
	}
}

func TestStoredDocumentsAreListedAndDownloaded(t *testing.T) {
	db := pgtest.Open(t)
	db = pgtest.As(t, db, "redress_reporting_app") // the worker makes documents as reporting's role
	sqlDB, err := db.DB()
	must(t, err)
	cals, err := calendar.LoadEmbedded()
	must(t, err)
	d := &Documents{Exporter: &Exporter{DB: sqlDB, Calendars: cals}, DB: db}
	id, err := d.Generate(context.Background(), wf.MonthlyPeriod(time.Date(2026, 3, 1, 1, 0, 0, 0, calendar.Shanghai()), time.Time{}))
	must(t, err)
	c := reportingClient(t, db, time.Now())
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-redress-actor", "officer-1")
	list, err := c.ListDocuments(ctx, &reportingv1.ListDocumentsRequest{})
	must(t, err)
	if len(list.GetDocuments()) != 1 || list.GetDocuments()[0].GetId() != id || list.GetDocuments()[0].GetSizeBytes() == 0 {
		t.Fatalf("list %v", list)
	}
	stream, err := c.DownloadDocument(ctx, &reportingv1.DownloadDocumentRequest{Id: id})
	must(t, err)
	var buf bytes.Buffer
	name, err := Receive(stream, &buf)
	must(t, err)
	sum := sha256.Sum256(buf.Bytes())
	if name != "monthly_summary_20260201_20260228.pdf" || hex.EncodeToString(sum[:]) != list.GetDocuments()[0].GetSha256() {
		t.Errorf("download %q, %d bytes", name, buf.Len())
	}
	if _, err := c.ListDocuments(ctx, &reportingv1.ListDocumentsRequest{Kind: "weekly"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("bad kind: %v", err)
	}
}
