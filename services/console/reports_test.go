package console

import (
	"context"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/inspection"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/services/internal/reports"
	"github.com/redress/redress/workflows/calendar"
	"github.com/redress/redress/workflows/policy"
	wf "github.com/redress/redress/workflows/reports"
)

// withReporting serves the real ReportingService (exports, inspection
// packages, stored documents) behind the production access guard on its own
// gRPC socket, and gives the console its client.
func withReporting(t testing.TB, exp **reports.Exporter) func(e *Env, c *Config) {
	return func(e *Env, c *Config) {
		sqlDB, err := e.DB.DB()
		if err != nil {
			t.Fatal(err)
		}
		*exp = &reports.Exporter{DB: sqlDB, Calendars: c.Calendars}
		srv := &reports.Server{Exporter: *exp, DB: e.DB, Log: c.Log,
			Packages: &inspection.Builder{Exporter: *exp, DB: e.DB, Calendars: c.Calendars, Policy: policy.New(c.Calendars)}}
		gs := grpcserver.New(c.Log, grpcserver.NewMetrics(), access.Guard{Auth: e.Store})
		reportingv1.RegisterReportingServiceServer(gs.GRPC, srv)
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		go func() { _ = gs.Serve(ctx, lis) }()
		conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		c.Reporting = reportingv1.NewReportingServiceClient(conn)
	}
}

// download POSTs a form (or GETs when form is nil) and answers status,
// headers and body.
func (c *client) download(path string, form url.Values) (int, http.Header, []byte) {
	c.t.Helper()
	var resp *http.Response
	var err error
	if form == nil {
		resp, err = c.http.Get(c.base + path)
	} else {
		resp, err = c.http.PostForm(c.base+path, form)
	}
	if err != nil {
		c.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s: body: %v", path, err)
	}
	c.seen.Write(b)
	return resp.StatusCode, resp.Header, b
}

func attachmentName(t *testing.T, h http.Header) string {
	t.Helper()
	disp, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err != nil || disp != "attachment" {
		t.Fatalf("Content-Disposition %q: %v", h.Get("Content-Disposition"), err)
	}
	return params["filename"]
}

// A compliance officer finds the reports page in the navigation, downloads
// the case register (CSV and XLSX), a stored monthly summary and an
// inspection package, and sees bad ranges refused on the page; an agent has
// no link and gets 403 forcing the URLs.
func TestReportsPage(t *testing.T) {
	var exp *reports.Exporter
	gdb := pgtest.Open(t)
	e := newEnvOn(t, gdb, withReporting(t, &exp))
	ctx := context.Background()
	if _, err := e.Store.AddUser(ctx, "test", identity.NewUser{Username: "comp.zhao", Role: access.ComplianceOfficer, Password: testPassword}); err != nil && !errors.Is(err, identity.ErrExists) {
		t.Fatal(err)
	}
	cs := e.Submit(t, "console-report-0001", "Loan spam again")
	today := calendar.DateOf(time.Now(), calendar.Shanghai()).String()

	// A stored monthly summary, produced as the schedule does.
	docs := &reports.Documents{Exporter: exp, DB: e.DB, Operator: "Test Operator"}
	docID, err := docs.Generate(ctx, wf.MonthlyPeriod(time.Now(), time.Time{}))
	if err != nil {
		t.Fatal(err)
	}

	officer := e.client(t)
	officer.signIn("comp.zhao", testPassword)
	code, page := officer.get("/reports")
	if code != http.StatusOK || !strings.Contains(page, `id="nav-reports"`) || !strings.Contains(page, `href="/reports/documents/`+docID+`"`) {
		t.Fatalf("reports page: %d\n%s", code, page)
	}
	csrf := csrfOf(t, page)

	code, hdr, body := officer.download("/reports/documents/"+docID, nil)
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(string(body), "%PDF") ||
		!strings.HasPrefix(attachmentName(t, hdr), "monthly_summary_") {
		t.Fatalf("document: %d %q %q", code, hdr.Get("Content-Type"), hdr.Get("Content-Disposition"))
	}

	form := url.Values{"csrf": {csrf}, "report": {"cases"}, "format": {"csv"}, "from": {today}, "to": {today}, "group_by": {"category"}}
	code, hdr, body = officer.download("/reports/export", form)
	if code != http.StatusOK || hdr.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("CSV export: %d %q\n%s", code, hdr.Get("Content-Type"), body)
	}
	span := strings.ReplaceAll(today, "-", "")
	if name := attachmentName(t, hdr); name != "cases_"+span+"_"+span+".csv" {
		t.Fatalf("file name %q", name)
	}
	lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(string(body), "\ufeff")), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "case_number,kind,category,channel,") ||
		!strings.HasPrefix(lines[1], cs.GetCaseNumber()+",") || !strings.Contains(lines[1], "spam_sms") {
		t.Fatalf("CSV export (case %s):\n%s", cs.GetCaseNumber(), body)
	}

	form.Set("format", "xlsx")
	form.Set("report", "sla")
	code, hdr, body = officer.download("/reports/export", form)
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" || !strings.HasPrefix(string(body), "PK") {
		t.Fatalf("XLSX export: %d %q", code, hdr.Get("Content-Type"))
	}

	code, hdr, body = officer.download("/reports/inspection", url.Values{"csrf": {csrf}, "from": {today}, "to": {today}})
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/zip" || !strings.HasPrefix(string(body), "PK") ||
		!strings.HasPrefix(attachmentName(t, hdr), "inspection_") {
		t.Fatalf("inspection package: %d %q\n%.300s", code, hdr.Get("Content-Type"), body)
	}

	// Refused input is shown on the page, with the values sent kept.
	form = url.Values{"csrf": {csrf}, "report": {"cases"}, "format": {"csv"}, "from": {"2026-03-10"}, "to": {"2026-03-01"}}
	code, page = officer.post("/reports/export", form)
	if code != http.StatusBadRequest || !strings.Contains(page, `id="error"`) || !strings.Contains(page, "to: must be after from") ||
		!strings.Contains(page, `id="export-form"`) || !strings.Contains(page, `value="2026-03-10"`) {
		t.Fatalf("from after to: %d\n%s", code, page)
	}
	form.Set("from", "10/03/2026")
	if code, page = officer.post("/reports/export", form); code != http.StatusBadRequest || !strings.Contains(page, "YYYY-MM-DD") {
		t.Fatalf("bad date: %d\n%s", code, page)
	}
	form.Set("from", "2026-03-01")
	form.Set("format", "pdf")
	if code, page = officer.post("/reports/export", form); code != http.StatusBadRequest || !strings.Contains(page, "format: must be CSV or XLSX") {
		t.Fatalf("bad format: %d\n%s", code, page)
	}
	form.Set("format", "csv")
	form.Del("csrf")
	if code, _ = officer.post("/reports/export", form); code != http.StatusForbidden {
		t.Fatalf("export without CSRF token: %d", code)
	}
	for _, p := range seeded {
		if strings.Contains(officer.seen.String(), p) {
			t.Fatalf("personal data %q in a report response", p)
		}
	}

	agent := e.client(t)
	agent.signIn("agent.li", testPassword)
	_, queue := agent.get("/queue")
	if strings.Contains(queue, `id="nav-reports"`) {
		t.Fatal("an agent sees the reports link")
	}
	if code, _ := agent.get("/reports"); code != http.StatusForbidden {
		t.Fatalf("agent forcing /reports: %d", code)
	}
	if code, _, _ := agent.download("/reports/documents/"+docID, nil); code != http.StatusForbidden {
		t.Fatalf("agent downloading a document: %d", code)
	}
	form = url.Values{"csrf": {csrfOf(t, queue)}, "report": {"cases"}, "format": {"csv"}, "from": {today}, "to": {today}}
	if code, _, body := agent.download("/reports/export", form); code != http.StatusForbidden || strings.Contains(string(body), cs.GetCaseNumber()) {
		t.Fatalf("agent exporting: %d", code)
	}
	if code, _, _ := agent.download("/reports/inspection", form); code != http.StatusForbidden {
		t.Fatalf("agent building an inspection package: %d", code)
	}
}
