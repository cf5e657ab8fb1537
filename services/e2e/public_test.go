package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/public"
)

// publicToken is a credential of the public site's account (public.Actor,
// role public_site), made on first use.
func (h *harness) publicToken() string {
	h.t.Helper()
	_, err := h.identity.AddUser(h.ctx, "test", identity.NewUser{Username: public.Actor, Role: access.PublicSite})
	if err != nil && !errors.Is(err, identity.ErrExists) {
		h.t.Fatal(err)
	}
	// A service account's credential is minted for it, as `redress dev` does.
	token, _, err := h.identity.IssueToken(h.ctx, "test", public.Actor, "test", nil, time.Hour)
	if err != nil {
		h.t.Fatal(err)
	}
	return token
}

// publicSite serves the public pages over a real HTTP socket as `serve
// public` runs them: without database or keys (public.Config has no place
// for them), reaching the harness's services over its gRPC socket with the
// public site's own credential.
func publicSite(t *testing.T, h *harness) *httptest.Server {
	return publicSiteWith(t, h, public.Config{})
}

// publicSiteWith is publicSite with cfg's limits and clock.
func publicSiteWith(t *testing.T, h *harness, cfg public.Config) *httptest.Server {
	t.Helper()
	cfg.Intake, cfg.Status = h.api, intakev1.NewPublicStatusServiceClient(h.conn)
	cfg.Stats, cfg.Token = reportingv1.NewReportingServiceClient(h.conn), h.publicToken()
	cfg.Policy, cfg.Log = h.policy, h.log
	cfg.Contacts = public.Contacts{Operator: "Example Telecom", Phone: "10000", Email: "complaints@operator.example"}
	site, err := public.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(site)
	t.Cleanup(ts.Close)
	return ts
}

// The public site runs on gRPC alone: the channels page with the published
// figures, the form, a submission and a status lookup all work; a wrong code
// and an unknown case number get the same page; the lookup limit per client
// address still holds.
func TestPublicSiteOverGRPCOnly(t *testing.T) {
	h := newHarness(t, options{noTemporal: true, noWorker: true})
	site := publicSiteWith(t, h, public.Config{LookupLimit: public.NewLimiter(4, time.Minute)})
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(site.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// A browser sends the complaint form as multipart (it carries files),
	// the lookup form URL-encoded.
	post := func(path string, form url.Values) (int, string) {
		t.Helper()
		var body bytes.Buffer
		ct := "application/x-www-form-urlencoded"
		if strings.HasPrefix(path, "/complaint") {
			mw := multipart.NewWriter(&body)
			for k, vs := range form {
				_ = mw.WriteField(k, vs[0])
			}
			_ = mw.Close()
			ct = mw.FormDataContentType()
		} else {
			body.WriteString(form.Encode())
		}
		resp, err := http.Post(site.URL+path, ct, &body)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// A client that asks for no language gets the Chinese pages.
	if code, page := get("/"); code != http.StatusOK || !strings.Contains(page, `id="stats"`) || !strings.Contains(page, "按时受理") {
		t.Fatalf("channels page: %d\n%s", code, page)
	}
	code, page := get("/complaint")
	key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(page)
	if code != http.StatusOK || key == nil {
		t.Fatalf("form: %d\n%s", code, page)
	}
	form := url.Values{"key": {key[1]}, "kind": {"complaint"}, "category": {"spam_sms"}, "consent": {"yes"},
		"description": {"Loan offers by SMS every day since my number leaked."}, "email": {"wang.fang@example.com"}}
	code, page = post("/complaint", form)
	number := regexp.MustCompile(`id="case-number">([^<]+)<`).FindStringSubmatch(page)
	lookup := regexp.MustCompile(`id="lookup-code">([^<]+)<`).FindStringSubmatch(page)
	if code != http.StatusOK || number == nil || lookup == nil {
		t.Fatalf("submission: %d\n%s", code, page)
	}
	// The same form again answers the same case (idempotency, per the site's account).
	if code, again := post("/complaint", form); code != http.StatusOK || !strings.Contains(again, number[1]) || !strings.Contains(again, `id="replayed"`) {
		t.Fatalf("resubmission: %d\n%s", code, again)
	}
	var submittedBy string
	h.db.Raw(`SELECT submitted_by FROM cases WHERE case_number = ?`, number[1]).Scan(&submittedBy)
	if submittedBy != public.Actor {
		t.Errorf("case recorded as submitted by %q, want the site's account %q", submittedBy, public.Actor)
	}
	// The form was filled in Chinese: the complainant is answered in Chinese;
	// one filled in on the English page, in English.
	var language string
	h.db.Raw(`SELECT language FROM cases WHERE case_number = ?`, number[1]).Scan(&language)
	if language != "zh" {
		t.Errorf("case from the Chinese form recorded in %q, want zh", language)
	}
	_, page = get("/complaint?lang=en")
	enForm := url.Values{"kind": {"complaint"}, "category": {"spam_sms"}, "consent": {"yes"},
		"description": {"Calls every evening since my number leaked."}, "email": {"li.na@example.com"},
		"key": {regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(page)[1]}}
	_, page = post("/complaint?lang=en", enForm)
	enNumber := regexp.MustCompile(`id="case-number">([^<]+)<`).FindStringSubmatch(page)
	if enNumber == nil {
		t.Fatalf("English submission:\n%s", page)
	}
	h.db.Raw(`SELECT language FROM cases WHERE case_number = ?`, enNumber[1]).Scan(&language)
	if language != "en" {
		t.Errorf("case from the English form recorded in %q, want en", language)
	}

	// The code is case-insensitive, as printed or typed in lower case.
	code, page = post("/status", url.Values{"case_number": {number[1]}, "code": {strings.ToLower(lookup[1])}})
	if code != http.StatusOK || !strings.Contains(page, `id="state">已接收<`) || !strings.Contains(page, "<td>处理</td>") ||
		strings.Contains(page, "wang.fang") || strings.Contains(page, "Loan offers") {
		t.Fatalf("status page: %d\n%s", code, page)
	}
	wrongCode, wrong := post("/status", url.Values{"case_number": {number[1]}, "code": {"WRONGCODE"}})
	unknownCode, unknown := post("/status", url.Values{"case_number": {"C-2099-999999"}, "code": {lookup[1]}})
	if wrongCode != http.StatusNotFound || wrongCode != unknownCode || wrong != unknown || !strings.Contains(wrong, "没有与此案件编号和查询码相符的案件") {
		t.Errorf("wrong code: %d\n%s\nunknown number: %d\n%s", wrongCode, wrong, unknownCode, unknown)
	}
	// A code that is not UTF-8 cannot go on the wire: it matches no case either.
	if code, page := post("/status", url.Values{"case_number": {number[1]}, "code": {"\xff\xfe"}}); code != http.StatusNotFound || page != wrong {
		t.Errorf("code not UTF-8: %d\n%s", code, page)
	}
	// Four lookups a minute from this address: the fifth is refused.
	if code, page := post("/status", url.Values{"case_number": {number[1]}, "code": {lookup[1]}}); code != http.StatusTooManyRequests {
		t.Fatalf("fifth lookup in a minute: %d\n%s", code, page)
	}
}

// The public site's credential submits web-form complaints, looks a case up
// by number and code, and reads the published figures; it reads no case
// (not even the one it submitted), lists none, looks nothing up without a
// code, and submits on no other channel. No other role looks cases up.
func TestPublicCredentialIsNarrow(t *testing.T) {
	h := newHarness(t, options{noTemporal: true, noWorker: true})
	site := metadata.AppendToOutgoingContext(h.ctx, "authorization", "Bearer "+h.publicToken())
	lookups := intakev1.NewPublicStatusServiceClient(h.conn)
	reporting := reportingv1.NewReportingServiceClient(h.conn)

	sub, err := h.api.SubmitComplaint(site, submission("public-narrow-0001"))
	if err != nil {
		t.Fatal(err)
	}
	number, lookup := sub.GetCase().GetCaseNumber(), sub.GetLookupCode()
	got, err := lookups.LookupStatus(site, &intakev1.LookupStatusRequest{CaseNumber: number, LookupCode: lookup})
	if err != nil || got.GetState() != intakev1.CaseState_CASE_STATE_RECEIVED || got.GetResolution().GetDueAt() == nil || got.GetCaseNumber() != number {
		t.Fatalf("lookup: %v %v", got, err)
	}

	for name, call := range map[string]func(context.Context) error{
		"GetCase": func(ctx context.Context) error {
			_, err := h.api.GetCase(ctx, &intakev1.GetCaseRequest{CaseId: sub.GetCase().GetId()})
			return err
		},
		"ListCases": func(ctx context.Context) error {
			_, err := h.api.ListCases(ctx, &intakev1.ListCasesRequest{})
			return err
		},
		"AddNote": func(ctx context.Context) error {
			_, err := h.api.AddNote(ctx, &intakev1.AddNoteRequest{CaseId: sub.GetCase().GetId(), Body: "x"})
			return err
		},
		"Export": func(ctx context.Context) error {
			stream, err := reporting.Export(ctx, &reportingv1.ExportRequest{})
			if err == nil {
				_, err = stream.Recv()
			}
			return err
		},
	} {
		if err := call(site); status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s with the public credential: %v, want PermissionDenied", name, err)
		}
	}
	other := submission("public-narrow-0002")
	other.Channel = intakev1.Channel_CHANNEL_API
	if _, err := h.api.SubmitComplaint(site, other); status.Code(err) != codes.PermissionDenied {
		t.Errorf("API-channel submission with the public credential: %v, want PermissionDenied", err)
	}

	if _, err := lookups.LookupStatus(site, &intakev1.LookupStatusRequest{CaseNumber: number}); status.Code(err) != codes.InvalidArgument ||
		!strings.Contains(err.Error(), "lookup_code") {
		t.Errorf("lookup without a code: %v, want InvalidArgument naming lookup_code", err)
	}
	_, wrong := lookups.LookupStatus(site, &intakev1.LookupStatusRequest{CaseNumber: number, LookupCode: "WRONGCODE"})
	_, unknown := lookups.LookupStatus(site, &intakev1.LookupStatusRequest{CaseNumber: "C-2099-999999", LookupCode: lookup})
	if status.Code(wrong) != codes.NotFound || wrong.Error() != unknown.Error() {
		t.Errorf("wrong code: %v; unknown number: %v; want the same NotFound", wrong, unknown)
	}

	stats, err := reporting.GetPublishedStatistics(site, &reportingv1.GetPublishedStatisticsRequest{})
	if err != nil || stats.GetPeriodStart() == nil || !stats.GetPeriodEnd().AsTime().After(stats.GetPeriodStart().AsTime()) {
		t.Errorf("published statistics: %v %v", stats, err)
	}

	partner := h.bearer("partner.feed", access.Automation)
	if _, err := lookups.LookupStatus(partner, &intakev1.LookupStatusRequest{CaseNumber: number, LookupCode: lookup}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("lookup with a partner's credential: %v, want PermissionDenied", err)
	}
}
