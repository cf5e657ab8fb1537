package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.temporal.io/sdk/client"

	"github.com/redress/redress/services/internal/reports"
	"github.com/redress/redress/services/public"
	"github.com/redress/redress/workflows/calendar"
	wfreports "github.com/redress/redress/workflows/reports"
)

// noScriptBrowser is headless Chromium with JavaScript switched off.
func noScriptBrowser(t *testing.T) context.Context {
	t.Helper()
	exec := "/usr/bin/chromium"
	if _, err := os.Stat(exec); err != nil {
		t.Skip("chromium is not installed (apt-get install -y chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exec), chromedp.NoSandbox, chromedp.Headless,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("blink-settings", "scriptEnabled=false"))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancel3)
	return ctx
}

func TestPublicComplaintFormWithoutJavaScript(t *testing.T) {
	h := newHarness(t, options{})
	site := publicSite(t, h)
	ctx := noScriptBrowser(t)

	// Scripts are off in this browser: a page script could not change the title.
	// The browser really runs no page scripts.
	probe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>scripts off</title><p id="p">x</p><script>document.title = "scripts on"</script>`)
	}))
	defer probe.Close()
	mustNot(t, chromedp.Do(ctx, chromedp.Navigate(probe.URL), chromedp.WaitVisible("#p")))
	if title, err := chromedp.Run(ctx, chromedp.Title()); err != nil || title != "scripts off" {
		t.Fatalf("JavaScript is not disabled in the test browser: title %q, %v", title, err)
	}

	// The pages are Chinese first; this walk reads them in English, chosen
	// with the switch's link (remembered for the following pages).
	mustNot(t, chromedp.Do(ctx, chromedp.Navigate(site.URL+"/?lang=en"), chromedp.WaitVisible("#limits")))
	if lang, err := chromedp.Run(ctx, chromedp.EvaluateAsDevTools[string](`document.documentElement.lang`)); err != nil || lang != "en" {
		t.Fatalf("page language %q after the switch: %v", lang, err)
	}
	scripts, err := chromedp.Run(ctx, chromedp.EvaluateAsDevTools[int](`document.querySelectorAll('script').length`))
	mustNot(t, err)
	if scripts > 0 {
		t.Fatal("the channels page carries a script")
	}
	limits := pageText(t, ctx, "#limits")
	if stats := pageText(t, ctx, "#stats"); !strings.Contains(stats, "acknowledged on time") {
		t.Errorf("published statistics: %q", stats)
	}
	if !strings.Contains(limits, "15 working days") || !strings.Contains(limits, "Art.") {
		t.Errorf("channels page lacks the policy's limits: %q", limits)
	}

	err = chromedp.Do(ctx,
		chromedp.Navigate(site.URL+"/complaint"),
		chromedp.WaitVisible("#submit"),
		chromedp.SetValue("#category", "personal_information_leak"),
		chromedp.SendKeys("#description", "My phone number and ID number leaked from an app; I now get loan calls daily."),
		chromedp.SendKeys("#email", "wang.fang@example.com"),
		chromedp.Click("#consent"),
		chromedp.Click("#submit"),
		chromedp.WaitVisible("#case-number"),
	)
	if err != nil {
		t.Fatal(err)
	}
	caseNumber, code, due := pageText(t, ctx, "#case-number"), pageText(t, ctx, "#lookup-code"), pageText(t, ctx, "#resolution-due")
	if !strings.HasPrefix(caseNumber, "C-") || len(code) < 6 || !strings.Contains(due, " 24:00") {
		t.Fatalf("answer: case %q code %q due %q", caseNumber, code, due)
	}
	// Same path as the API: web_form channel, audited as the public site, workflow started.
	var row struct {
		Channel string
		Started bool
		Audited int64
	}
	h.eventually("workflow started", 30*time.Second, func() bool {
		h.db.Raw(`SELECT channel, workflow_started_at IS NOT NULL AS started,
			(SELECT count(*) FROM audit_entries a WHERE a.object_id = c.id::text AND a.actor = ?) AS audited
			FROM cases c WHERE case_number = ?`, public.Actor, caseNumber).Scan(&row)
		return row.Started
	})
	if row.Channel != "web_form" || row.Audited == 0 {
		t.Errorf("case row %+v", row)
	}

	// Lookup with the code shows the state and deadlines.
	err = chromedp.Do(ctx,
		chromedp.Navigate(site.URL+"/status"),
		chromedp.WaitVisible("#lookup"),
		chromedp.SendKeys("#case_number", caseNumber),
		chromedp.SendKeys("#code", code),
		chromedp.Click("#lookup"),
		chromedp.WaitVisible("#state"),
	)
	if err != nil {
		t.Fatal(err)
	}
	state, page := pageText(t, ctx, "#state"), pageText(t, ctx, "main")
	if state == "" || !strings.Contains(page, "resolution") || strings.Contains(page, "wang.fang") || strings.Contains(page, "loan calls") {
		t.Errorf("status page: state %q, page %q", state, page)
	}

	// A wrong code reveals nothing: the same answer as an unknown number.
	var wrong, unknown string
	for _, try := range []struct {
		number, code string
		out          *string
	}{{caseNumber, "WRONGCODE", &wrong}, {"C-2099-999999", code, &unknown}} {
		err = chromedp.Do(ctx,
			chromedp.Navigate(site.URL+"/status"),
			chromedp.WaitVisible("#lookup"),
			chromedp.SendKeys("#case_number", try.number),
			chromedp.SendKeys("#code", try.code),
			chromedp.Click("#lookup"),
			chromedp.WaitVisible("#message-title"),
		)
		if err != nil {
			t.Fatal(err)
		}
		*try.out = pageText(t, ctx, "main")
	}
	if wrong != unknown || strings.Contains(wrong, state) || !strings.Contains(wrong, "No case matches") {
		t.Errorf("wrong code answered %q; unknown number answered %q", wrong, unknown)
	}

	// 29 more submissions from this address in the minute are accepted; the
	// 31st is refused with a clear message.
	for i := 2; i <= 30; i++ {
		if code := postComplaint(t, site.URL, i); code != http.StatusOK {
			t.Fatalf("submission %d: HTTP %d", i, code)
		}
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(site.URL+"/complaint"),
		chromedp.WaitVisible("#submit"),
		chromedp.SetValue("#category", "spam_sms"),
		chromedp.SendKeys("#description", "Spam SMS every morning from the same sender."),
		chromedp.SendKeys("#email", "li.lei@example.com"),
		chromedp.Click("#consent"),
		chromedp.Click("#submit"),
		chromedp.WaitVisible("#message-title"),
	)
	if err != nil {
		t.Fatal(err)
	}
	refused := pageText(t, ctx, "#message-title")
	if refused != "Too many submissions" {
		t.Errorf("31st submission: %q", refused)
	}
	var n int64
	h.db.Raw(`SELECT count(*) FROM cases WHERE channel = 'web_form'`).Scan(&n)
	if n != 30 {
		t.Errorf("%d cases recorded, want 30", n)
	}
}

func pageText(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("%s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// postComplaint sends the form as a browser without scripts would.
func postComplaint(t *testing.T, base string, i int) int {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{
		"key": fmt.Sprintf("web-test-%04d-%d", i, time.Now().UnixNano()), "kind": "complaint", "category": "spam_sms",
		"description": fmt.Sprintf("Spam message number %d from the same sender.", i),
		"email":       fmt.Sprintf("user%d@example.com", i), "prefer": "email", "consent": "yes",
	} {
		mustNot(t, mw.WriteField(k, v))
	}
	mustNot(t, mw.Close())
	resp, err := http.Post(base+"/complaint", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func mustNot(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The reports worker puts the monthly and yearly schedules in place on the
// real workflow engine; triggering the monthly one stores last month's PDF,
// the yearly one last year's statistics.
func TestMonthlyReportSchedule(t *testing.T) {
	h := newHarness(t, options{noWorker: true})
	sqlDB, err := h.db.DB()
	mustNot(t, err)
	cals, err := calendar.LoadEmbedded()
	mustNot(t, err)
	docs := &reports.Documents{Exporter: &reports.Exporter{DB: sqlDB, Calendars: cals}, DB: h.db, Operator: "Example Telecom", Log: h.log}
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- reports.Run(ctx, h.tc, docs) }()
	t.Cleanup(func() { cancel(); mustNot(t, <-done) })

	handle := h.tc.ScheduleClient().GetHandle(h.ctx, wfreports.MonthlyScheduleID)
	var desc *client.ScheduleDescription
	h.eventually("monthly schedule created", 30*time.Second, func() bool {
		desc, err = handle.Describe(h.ctx)
		return err == nil
	})
	spec := desc.Schedule.Spec
	if len(spec.CronExpressions) != 1 && len(spec.Calendars) == 0 || spec.TimeZoneName != "Asia/Shanghai" {
		t.Errorf("schedule spec %+v", spec)
	}
	mustNot(t, handle.Trigger(h.ctx, client.ScheduleTriggerOptions{}))
	var name string
	h.eventually("monthly summary stored", 60*time.Second, func() bool {
		h.db.Raw(`SELECT file_name FROM report_documents WHERE kind = 'monthly_summary'`).Scan(&name)
		return name != ""
	})
	if !strings.HasPrefix(name, "monthly_summary_") || !strings.HasSuffix(name, ".pdf") {
		t.Errorf("stored %q", name)
	}
	// The yearly schedule, triggered, runs its workflow to the end and
	// stores last year's statistics.
	yearly := h.tc.ScheduleClient().GetHandle(h.ctx, wfreports.YearlyScheduleID)
	mustNot(t, yearly.Trigger(h.ctx, client.ScheduleTriggerOptions{}))
	var started *client.ScheduleWorkflowExecution
	h.eventually("yearly statistics started", 30*time.Second, func() bool {
		d, err := yearly.Describe(h.ctx)
		if err == nil && len(d.Info.RecentActions) > 0 {
			started = d.Info.RecentActions[0].StartWorkflowResult
		}
		return started != nil
	})
	var res wfreports.Result
	ctx, cancelGet := context.WithTimeout(h.ctx, 60*time.Second)
	defer cancelGet()
	mustNot(t, h.tc.GetWorkflow(ctx, started.WorkflowID, started.FirstExecutionRunID).Get(ctx, &res))
	var kind string
	h.db.Raw(`SELECT kind FROM report_documents WHERE id = ?`, res.DocumentID).Scan(&kind)
	if kind != wfreports.YearlyStatistics || res.Period.Kind != wfreports.YearlyStatistics {
		t.Errorf("yearly run stored %q (%+v)", kind, res)
	}
}

// Abusive or broken input is refused with a message that says what to fix.
func TestPublicFormRefusesBadInput(t *testing.T) {
	h := newHarness(t, options{noWorker: true})
	site := publicSite(t, h)
	post := func(fields map[string]string, fileName, fileType string, content []byte) (int, string) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for k, v := range fields {
			mustNot(t, mw.WriteField(k, v))
		}
		if fileName != "" {
			hdr := make(textproto.MIMEHeader)
			hdr.Set("Content-Disposition", fmt.Sprintf(`form-data; name="evidence"; filename=%q`, fileName))
			hdr.Set("Content-Type", fileType)
			part, err := mw.CreatePart(hdr)
			mustNot(t, err)
			_, err = part.Write(content)
			mustNot(t, err)
		}
		mustNot(t, mw.Close())
		resp, err := http.Post(site.URL+"/complaint", mw.FormDataContentType(), &body)
		mustNot(t, err)
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	good := func() map[string]string {
		return map[string]string{"key": fmt.Sprintf("web-bad-%d", time.Now().UnixNano()), "kind": "complaint",
			"category": "spam_sms", "description": "Spam every day.", "email": "a@example.com", "consent": "yes"}
	}
	// An executable declared as a picture.
	code, page := post(good(), "photo.png", "image/png", append([]byte("MZ\x90\x00"), bytes.Repeat([]byte{0}, 200)...))
	if code != http.StatusBadRequest || !strings.Contains(page, "证据文件1无法接收") {
		t.Errorf("disguised executable: %d %s", code, page)
	}
	// Far too large.
	code, page = post(good(), "scan.pdf", "application/pdf", append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), 10<<20)...))
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(page, "最多9 MB") {
		t.Errorf("oversized upload: %d", code)
	}
	// No consent, no contact.
	f := good()
	delete(f, "consent")
	if code, page = post(f, "", "", nil); code != http.StatusBadRequest || !strings.Contains(page, "请同意") {
		t.Errorf("no consent: %d", code)
	}
	f = good()
	delete(f, "email")
	if code, page = post(f, "", "", nil); code != http.StatusBadRequest || !strings.Contains(page, "手机号或电子邮箱") {
		t.Errorf("no contact: %d %s", code, page)
	}
	var n int64
	h.db.Raw(`SELECT count(*) FROM cases`).Scan(&n)
	if n != 0 {
		t.Errorf("%d cases recorded from refused submissions", n)
	}
}
