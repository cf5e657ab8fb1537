package public

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
	"github.com/redress/redress/services/internal/i18n"
	"github.com/redress/redress/services/internal/validation"
	"github.com/redress/redress/workflows/policy"
)

const (
	testNumber = "C-2026-000042"
	testCode   = "KQXZ7HWM"
	citation   = "App PI Violation Identification Method (2019) §6"
)

// fakeIntake answers as intake does: a case, or bad fields for a
// description of "bad".
type fakeIntake struct{ calls atomic.Int32 }

func (f *fakeIntake) SubmitComplaint(_ context.Context, in *intakev1.SubmitComplaintRequest, _ ...grpc.CallOption) (*intakev1.SubmitComplaintResponse, error) {
	f.calls.Add(1)
	if in.GetDescription() == "bad" {
		var v validation.Errors
		v.Add("description", "must be at least 10 characters")
		v.Add("complainant", "needs a phone number or an email address to answer to")
		v.Add("attachments[0].content", "does not look like image/png")
		v.Add("subject.leaked_data_type", "something intake may add one day")
		return nil, v.Err()
	}
	due := endOf17
	return &intakev1.SubmitComplaintResponse{LookupCode: testCode, Case: &intakev1.Case{CaseNumber: testNumber,
		Acknowledgement: &intakev1.Deadline{DueAt: due}, Resolution: &intakev1.Deadline{DueAt: due, Citation: citation}}}, nil
}

// fakeStatus answers one case, whose complainant reads lang.
type fakeStatus struct{ lang string }

func (f fakeStatus) LookupStatus(_ context.Context, in *intakev1.LookupStatusRequest, _ ...grpc.CallOption) (*intakev1.LookupStatusResponse, error) {
	if in.GetCaseNumber() != testNumber || in.GetLookupCode() != testCode {
		return nil, status.Error(codes.NotFound, "no such case")
	}
	at := timestamppb.New(time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC))
	return &intakev1.LookupStatusResponse{CaseNumber: testNumber, State: intakev1.CaseState_CASE_STATE_AWAITING_COMPLAINANT, ReceivedAt: at,
		Acknowledgement: &intakev1.Deadline{DueAt: at, Status: "met", MetAt: at},
		Resolution:      &intakev1.Deadline{DueAt: endOf17, Status: "open"}, Language: f.lang}, nil
}

// GetConversation answers the status above with a request for information
// and the complainant's earlier message.
func (f fakeStatus) GetConversation(ctx context.Context, in *intakev1.GetConversationRequest, _ ...grpc.CallOption) (*intakev1.GetConversationResponse, error) {
	st, err := f.LookupStatus(ctx, &intakev1.LookupStatusRequest{CaseNumber: in.GetCaseNumber(), LookupCode: in.GetLookupCode()})
	if err != nil {
		return nil, err
	}
	at := timestamppb.New(time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC))
	return &intakev1.GetConversationResponse{Status: st, Messages: []*intakev1.ConversationMessage{
		{Kind: "complainant_response", CreatedAt: at, Body: "I got another SMS <b>today</b>."},
		{Kind: "information_request", CreatedAt: at, Body: "请提供短信截图。"},
	}}, nil
}

// AnswerCase refuses an empty body as intake does.
func (f fakeStatus) AnswerCase(ctx context.Context, in *intakev1.AnswerCaseRequest, _ ...grpc.CallOption) (*intakev1.AnswerCaseResponse, error) {
	if _, err := f.LookupStatus(ctx, &intakev1.LookupStatusRequest{CaseNumber: in.GetCaseNumber(), LookupCode: in.GetLookupCode()}); err != nil {
		return nil, err
	}
	return &intakev1.AnswerCaseResponse{State: intakev1.CaseState_CASE_STATE_IN_PROGRESS}, nil
}

// AddEvidence refuses a declared PNG that is not one, as intake does.
func (f fakeStatus) AddEvidence(ctx context.Context, in *intakev1.AddEvidenceRequest, _ ...grpc.CallOption) (*intakev1.AddEvidenceResponse, error) {
	if _, err := f.LookupStatus(ctx, &intakev1.LookupStatusRequest{CaseNumber: in.GetCaseNumber(), LookupCode: in.GetLookupCode()}); err != nil {
		return nil, err
	}
	for i, a := range in.GetAttachments() {
		if a.GetContentType() == "image/png" && !bytes.HasPrefix(a.GetContent(), []byte("\x89PNG")) {
			var v validation.Errors
			v.Addf(fmt.Sprintf("attachments[%d].content", i), "does not look like image/png")
			return nil, v.Err()
		}
	}
	return &intakev1.AddEvidenceResponse{}, nil
}

// endOf17 is 24:00 on 17 December 2026, Beijing time.
var endOf17 = timestamppb.New(time.Date(2026, 12, 17, 16, 0, 0, 0, time.UTC))

type fakeStats struct{}

func (fakeStats) GetPublishedStatistics(context.Context, *reportingv1.GetPublishedStatisticsRequest, ...grpc.CallOption) (*reportingv1.GetPublishedStatisticsResponse, error) {
	rate, median, p90 := 0.965, 3.5, int64(9)
	return &reportingv1.GetPublishedStatisticsResponse{PeriodStart: timestamppb.New(time.Date(2026, 10, 31, 16, 0, 0, 0, time.UTC)),
		PeriodEnd: timestamppb.New(time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC)), CasesReceived: 12,
		AcknowledgedOnTime: &rate, ResolvedOnTime: &rate, MedianHandlingDays: &median, P90HandlingDays: &p90}, nil
}

func testSite(t *testing.T) (*httptest.Server, *fakeIntake) {
	t.Helper()
	return caseSite(t, fakeStatus{})
}

// caseSite is the site in front of the status service st.
func caseSite(t *testing.T, st fakeStatus) (*httptest.Server, *fakeIntake) {
	t.Helper()
	intake := &fakeIntake{}
	site, err := New(Config{Intake: intake, Status: st, Stats: fakeStats{}, Policy: policy.New(nil),
		Now:      func() time.Time { return time.Date(2026, 12, 14, 12, 0, 0, 0, time.UTC) },
		Contacts: Contacts{Operator: "Example Telecom", Phone: "10000", Email: "complaints@operator.example"}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(site)
	t.Cleanup(ts.Close)
	return ts, intake
}

// do sends a request with header h (name, value pairs); a form with files
// goes as multipart, other forms URL-encoded.
func do(t *testing.T, method, target string, form url.Values, h ...string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	ct := ""
	switch {
	case form != nil && (strings.HasSuffix(target, "/complaint") || strings.HasSuffix(target, "/evidence")):
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for k, vs := range form {
			if err := mw.WriteField(k, vs[0]); err != nil {
				t.Fatal(err)
			}
		}
		if err := mw.Close(); err != nil {
			t.Fatal(err)
		}
		body, ct = &b, mw.FormDataContentType()
	case form != nil:
		body, ct = strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(h); i += 2 {
		req.Header.Set(h[i], h[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

var (
	notProse    = regexp.MustCompile(`(?s)<style>.*?</style>|<cite>.*?</cite>|<textarea[^>]*>.*?</textarea>|<blockquote>.*?</blockquote>`)
	tag         = regexp.MustCompile(`(?s)<[^>]*>`)
	emailOrHost = regexp.MustCompile(`[\w.+-]+@[\w.-]+|(?:[a-z0-9-]+\.)+(?:cn|example|com)\b`)
	latinRun    = regexp.MustCompile(`[A-Za-z]{3,}`)
	han         = regexp.MustCompile(`\p{Han}+`)
)

// zhAllowed are the Latin words a Chinese page may show: file types, the
// encoding, the English switch, and this test's operator, case number and
// lookup code.
var zhAllowed = []string{"PNG", "JPEG", "PDF", "UTF-8", "English", "Example Telecom", testNumber, testCode}

// pageText is what a reader sees of page, without citations (references,
// as the law names them), what the complainant and the agents wrote, and
// addresses.
func pageText(page string) string {
	s := notProse.ReplaceAllString(page, " ")
	s = html.UnescapeString(tag.ReplaceAllString(s, " "))
	return emailOrHost.ReplaceAllString(s, " ")
}

// checkLanguage fails when page is not all in l: the html lang attribute,
// the switch to the other language, no untranslated key, and no word of
// the other script.
func checkLanguage(t *testing.T, name string, l i18n.Lang, page string) {
	t.Helper()
	if !strings.Contains(page, `<html lang="`+l.Tag()+`">`) {
		t.Errorf("%s (%s): html lang is not %s", name, l, l.Tag())
	}
	sw := regexp.MustCompile(`id="lang-switch"[^>]*(?:href="\?lang=|value=")` + string(l.Other()) + `"`)
	if !sw.MatchString(page) {
		t.Errorf("%s (%s): no switch to %s", name, l, l.Other())
	}
	if strings.Contains(page, "[missing") {
		t.Errorf("%s (%s): untranslated key: %s", name, l, page)
	}
	text := pageText(page)
	switch l {
	case i18n.ZH:
		for _, a := range zhAllowed {
			text = strings.ReplaceAll(text, a, " ")
		}
		if words := latinRun.FindAllString(text, -1); len(words) > 0 {
			t.Errorf("%s (zh): English words %q in\n%s", name, words, text)
		}
	case i18n.EN:
		text = strings.ReplaceAll(text, "中文", " ") // the switch back
		if words := han.FindAllString(text, -1); len(words) > 0 {
			t.Errorf("%s (en): Chinese %q in\n%s", name, words, text)
		}
	}
}

// Every public page, in Chinese and in English, speaks that language only.
func TestPagesSpeakOneLanguage(t *testing.T) {
	site, _ := testSite(t)
	good := url.Values{"key": {"web-test-0001"}, "kind": {"complaint"}, "category": {"spam_sms"}, "consent": {"yes"},
		"description": {"Loan offers by SMS every day."}, "email": {"a@example.com"}}
	bad := url.Values{"key": {"web-test-0002"}, "kind": {"complaint"}, "category": {"spam_sms"}, "consent": {"yes"}, "description": {"bad"}}
	pages := []struct {
		name, method, path string
		form               url.Values
		code               int
		has                string // an element the page must have
	}{
		{"channels", "GET", "/", nil, 200, `id="stats"`},
		{"form", "GET", "/complaint", nil, 200, `id="submit"`},
		{"submitted", "POST", "/complaint", good, 200, `id="lookup-code"`},
		{"form refusing", "POST", "/complaint", url.Values{"key": {"web-test-0003"}}, 400, `id="errors"`},
		{"intake's bad fields", "POST", "/complaint", bad, 400, `id="errors"`},
		{"lookup form", "GET", "/status", nil, 200, `id="lookup"`},
		{"status", "POST", "/status", url.Values{"case_number": {testNumber}, "code": {testCode}}, 200, `id="state"`},
		{"answered", "POST", "/status/answer", url.Values{"case_number": {testNumber}, "code": {testCode}, "body": {"截图已上传"}}, 200, `id="notice"`},
		{"empty answer", "POST", "/status/answer", url.Values{"case_number": {testNumber}, "code": {testCode}, "body": {" "}}, 400, `id="errors"`},
		{"evidence without a file", "POST", "/status/evidence", url.Values{"case_number": {testNumber}, "code": {testCode}}, 400, `id="errors"`},
		{"no matching case", "POST", "/status", url.Values{"case_number": {testNumber}, "code": {"WRONG"}}, 404, `id="message-title"`},
		{"no such page", "GET", "/nowhere", nil, 404, `id="message-title"`},
	}
	for _, l := range i18n.Langs {
		for _, p := range pages {
			// Chinese for a browser that asks for nothing in particular; English for one that asks for it.
			var h []string
			if l == i18n.EN {
				h = []string{"Accept-Language", "en-GB,en;q=0.9"}
			}
			resp, page := do(t, p.method, site.URL+p.path, p.form, h...)
			if resp.StatusCode != p.code || !strings.Contains(page, p.has) {
				t.Errorf("%s (%s): %d, want %d with %s\n%s", p.name, l, resp.StatusCode, p.code, p.has, page)
				continue
			}
			checkLanguage(t, p.name, l, page)
		}
	}
}

// Intake's field problems reach the complainant as sentences of the
// catalogue, each naming what to fix; a field the site does not know still
// gets a sentence in the page's language.
func TestFieldProblemsInPageLanguage(t *testing.T) {
	site, _ := testSite(t)
	bad := url.Values{"key": {"web-test-0004"}, "kind": {"complaint"}, "category": {"spam_sms"}, "consent": {"yes"}, "description": {"bad"}}
	for _, l := range i18n.Langs {
		_, page := do(t, "POST", site.URL+"/complaint", bad, "Cookie", "lang="+string(l))
		for _, want := range []string{messages.T(l, "field.description"), messages.T(l, "field.complainant"),
			messages.T(l, "field.attachment.content", 1), messages.T(l, "error.invalid")} {
			if !strings.Contains(html.UnescapeString(page), want) {
				t.Errorf("%s: %q missing", l, want)
			}
		}
	}
}

// ?lang= switches and is remembered over Accept-Language; a cookie naming
// no language is ignored.
func TestLanguageSwitchRemembered(t *testing.T) {
	site, _ := testSite(t)
	resp, page := do(t, "GET", site.URL+"/status?lang=en", nil)
	checkLanguage(t, "switched", i18n.EN, page)
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "lang" {
			cookie = c
		}
	}
	if cookie == nil || cookie.Value != "en" || cookie.Path != "/" || !cookie.HttpOnly {
		t.Fatalf("switch cookie %v", cookie)
	}
	_, page = do(t, "GET", site.URL+"/", nil, "Cookie", "lang=en", "Accept-Language", "zh-CN")
	checkLanguage(t, "remembered", i18n.EN, page)
	_, page = do(t, "GET", site.URL+"/", nil, "Cookie", "lang=fr", "Accept-Language", "zh-CN")
	checkLanguage(t, "unknown cookie", i18n.ZH, page)
	_, page = do(t, "GET", site.URL+"/?lang=zh", nil, "Cookie", "lang=en")
	checkLanguage(t, "switched back", i18n.ZH, page)
}

// The switch on the form posts it: it comes back in the other language
// with what was typed and the same idempotency key, and nothing is filed.
func TestFormKeepsValuesAcrossSwitch(t *testing.T) {
	site, intake := testSite(t)
	form := url.Values{"key": {"web-test-0005"}, "kind": {"report"}, "category": {"junk_email"},
		"description": {"每天收到垃圾邮件 <b>"}, "email": {"a@example.com"}, "prefer": {"email"}, "lang": {"en"}}
	resp, page := do(t, "POST", site.URL+"/complaint", form)
	if resp.StatusCode != http.StatusOK || intake.calls.Load() != 0 {
		t.Fatalf("switch: %d, %d submissions\n%s", resp.StatusCode, intake.calls.Load(), page)
	}
	for _, want := range []string{`<html lang="en">`, `name="key" value="web-test-0005"`, `value="report" checked`,
		`value="junk_email" selected`, `>每天收到垃圾邮件 &lt;b&gt;</textarea>`, `value="a@example.com"`, `value="zh"`} {
		if !strings.Contains(page, want) {
			t.Errorf("switched form lacks %s\n%s", want, page)
		}
	}
	if strings.Contains(page, `id="errors"`) {
		t.Error("switching the language reported errors")
	}
}

// Both languages have every key, with the same arguments.
func TestCatalogueComplete(t *testing.T) {
	if problems := messages.Check(); len(problems) > 0 {
		t.Errorf("catalogue: %q", problems)
	}
	if !slices.Equal(i18n.Langs, []i18n.Lang{i18n.ZH, i18n.EN}) {
		t.Errorf("languages %v: Chinese first, then English", i18n.Langs)
	}
}

// The status page is the conversation: what was written to the complainant
// and by them, each body as text, and the forms to answer and add evidence.
// Number and code travel only in the forms' bodies, never in a URL.
func TestStatusPageIsAConversation(t *testing.T) {
	site, _ := testSite(t)
	lookup := url.Values{"case_number": {testNumber}, "code": {testCode}}
	_, page := do(t, "POST", site.URL+"/status", lookup)
	for _, want := range []string{`id="conversation"`, messages.T(i18n.ZH, "said.information_request"), "请提供短信截图。",
		"I got another SMS &lt;b&gt;today&lt;/b&gt;.", messages.T(i18n.ZH, "answer.heading.awaiting"),
		`action="/status/answer"`, `action="/status/evidence" enctype="multipart/form-data"`} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %s\n%s", want, page)
		}
	}
	if strings.Contains(page, "?code=") || regexp.MustCompile(`(?:href|action)="[^"]*`+testCode).MatchString(page) {
		t.Errorf("the lookup code is in a URL:\n%s", page)
	}
	if n := strings.Count(page, `name="code" value="`+testCode+`"`); n != 3 {
		t.Errorf("the code goes with %d forms, want 3 (answer, evidence, language switch)", n)
	}
}

// A file that is not what it claims to be is refused with the catalogue's
// sentence naming the file, on the status page in its language.
func TestEvidenceRefusedReadably(t *testing.T) {
	site, _ := testSite(t)
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range map[string]string{"case_number": testNumber, "code": testCode} {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", `form-data; name="evidence"; filename="shot.png"`)
	h.Set("Content-Type", "image/png")
	fw, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write([]byte("not a picture"))
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	for _, l := range i18n.Langs {
		req, _ := http.NewRequest("POST", site.URL+"/status/evidence", bytes.NewReader(b.Bytes()))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Cookie", "lang="+string(l))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if want := messages.T(l, "field.attachment.content", 1); resp.StatusCode != http.StatusBadRequest ||
			!strings.Contains(html.UnescapeString(string(page)), want) || !strings.Contains(string(page), `id="conversation"`) {
			t.Errorf("%s: %d, want 400 with %q on the status page\n%s", l, resp.StatusCode, want, page)
		}
	}
}

// A legal deadline reads as the end of its day in Beijing time, with the
// time left beside it while it runs; it read "2026年12月18日 00:00".
func TestDeadlinesReadAsEndOfDay(t *testing.T) {
	site, _ := testSite(t)
	lookup := url.Values{"case_number": {testNumber}, "code": {testCode}}
	for _, c := range []struct {
		h    []string
		want []string
	}{
		{nil, []string{"2026-12-17 24:00（北京时间）", "还剩3天4小时", "2026年12月1日 10:00（北京时间）"}},
		{[]string{"Accept-Language", "en"}, []string{"2026-12-17 24:00 (Beijing time)", "3 days 4 hours left", "2026-12-01 10:00 (Beijing time)"}},
	} {
		_, page := do(t, "POST", site.URL+"/status", lookup, c.h...)
		for _, w := range c.want {
			if !strings.Contains(page, w) {
				t.Errorf("status page lacks %q:\n%s", w, page)
			}
		}
		_, page = do(t, "POST", site.URL+"/complaint", url.Values{"key": {"web-test-0009"}, "kind": {"complaint"}, "category": {"spam_sms"},
			"consent": {"yes"}, "description": {"Loan offers by SMS every day."}, "email": {"a@example.com"}}, c.h...)
		if !strings.Contains(page, c.want[0]) {
			t.Errorf("answer to a complaint lacks %q:\n%s", c.want[0], page)
		}
	}
}

// After the lookup the status page speaks the case's language, and its
// forms keep it; the visitor's switch (now or remembered) wins over it.
func TestStatusPageSpeaksCaseLanguage(t *testing.T) {
	site, _ := caseSite(t, fakeStatus{lang: "en"})
	lookup := url.Values{"case_number": {testNumber}, "code": {testCode}}
	_, page := do(t, "POST", site.URL+"/status", lookup, "Accept-Language", "zh-CN")
	checkLanguage(t, "looked up", i18n.EN, page)
	answer := url.Values{"case_number": {testNumber}, "code": {testCode}, "shown": {"en"}, "body": {"Here is the screenshot."}}
	_, page = do(t, "POST", site.URL+"/status/answer", answer)
	checkLanguage(t, "answered", i18n.EN, page)
	if !strings.Contains(page, html.EscapeString(messages.T(i18n.EN, "answer.sent"))) {
		t.Errorf("the answer's notice is not in English:\n%s", page)
	}
	_, page = do(t, "POST", site.URL+"/status", lookup, "Cookie", "lang=zh")
	checkLanguage(t, "chosen before", i18n.ZH, page)
	switchTo := url.Values{"case_number": {testNumber}, "code": {testCode}, "shown": {"en"}, "lang": {"zh"}}
	_, page = do(t, "POST", site.URL+"/status", switchTo)
	checkLanguage(t, "switched", i18n.ZH, page)
	// Before the lookup the pages are Chinese first, as ever.
	_, page = do(t, "GET", site.URL+"/status", nil)
	checkLanguage(t, "lookup form", i18n.ZH, page)
}
