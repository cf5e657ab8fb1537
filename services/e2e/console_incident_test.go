package e2e

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	escalationv1 "github.com/redress/redress/proto/redress/escalation/v1"
	"github.com/redress/redress/services/console"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/workflows/calendar"
	wf "github.com/redress/redress/workflows/escalation"
)

// incidentClient is a signed-in console user (cookies, CSRF token of the
// last page seen).
type incidentClient struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

var (
	incidentCSRF  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	incidentError = regexp.MustCompile(`id="error" role="alert">([^<]*)<`)
)

// pageError is the error message a page shows ("" when none).
func pageError(page string) string {
	if m := incidentError.FindStringSubmatch(page); m != nil {
		return m[1]
	}
	return ""
}

func (ic *incidentClient) do(req *http.Request) (int, string, *url.URL) {
	ic.t.Helper()
	resp, err := ic.c.Do(req)
	if err != nil {
		ic.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	if m := incidentCSRF.FindStringSubmatch(string(b)); m != nil {
		ic.csrf = m[1]
	}
	return resp.StatusCode, string(b), resp.Request.URL
}

func (ic *incidentClient) get(path string) (int, string) {
	ic.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ic.base+path, nil)
	code, body, _ := ic.do(req)
	return code, body
}

// post sends a form with the CSRF token unless the form brings its own.
func (ic *incidentClient) post(path string, form url.Values) (int, string, *url.URL) {
	ic.t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", ic.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, ic.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return ic.do(req)
}

// incidentConsole serves the console in front of the harness's intake and
// the real EscalationService behind the access guard (the console's calls
// carry session credentials, checked by role), with the escalation worker.
func incidentConsole(t *testing.T) (*harness, *escalationEnv, string) {
	h := newHarness(t, options{noWorker: true})
	e := startEscalation(h, escOptions{})
	gs := grpcserver.New(h.log, grpcserver.NewMetrics(), access.Guard{Auth: h.identity, TrustActorHeader: true})
	escalationv1.RegisterEscalationServiceServer(gs.GRPC, e.srv)
	glis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(h.ctx, glis) }()
	conn, err := grpc.NewClient(glis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	base := serveConsole(t, h, console.Config{Escalation: escalationv1.NewEscalationServiceClient(conn)})
	return h, e, base
}

// The incident pages against the real EscalationService behind the access
// guard, its workflow and PostgreSQL: a compliance officer opens an
// incident from the console, links cases, grades it and records the
// notification decision; refused input comes back on the page and changes
// nothing; an agent sees the incident but has no forms and is refused when
// forcing them.
func TestConsoleIncidentPages(t *testing.T) {
	h, e, base := incidentConsole(t)
	signIn := func(user string, role access.Role) *incidentClient {
		t.Helper()
		if _, err := h.identity.AddUser(h.ctx, "test", identity.NewUser{Username: user, Role: role, Password: browserPassword}); err != nil {
			t.Fatal(err)
		}
		jar, _ := cookiejar.New(nil)
		ic := &incidentClient{t: t, base: base, c: &http.Client{Jar: jar}}
		ic.get("/signin")
		if code, _, _ := ic.post("/signin", url.Values{"username": {user}, "password": {browserPassword}}); code != http.StatusOK {
			t.Fatalf("sign in %s: %d", user, code)
		}
		return ic
	}
	var ids []string
	for _, key := range []string{"console-inc-0001", "console-inc-0002", "console-inc-0003"} {
		sub, err := h.api.SubmitComplaint(h.as("feed"), submission(key))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sub.GetCase().GetId())
	}

	officer := signIn("comp.zhao", access.ComplianceOfficer)
	code, list := officer.get("/incidents")
	if code != http.StatusOK || !strings.Contains(list, `id="nav-incidents"`) || !strings.Contains(list, `id="open-incident"`) {
		t.Fatalf("incidents list: %d\n%s", code, list)
	}
	// Opening without a reason is refused on the page, the values kept.
	open := url.Values{"leaked_data_type": {"phone_number"}, "leak_source": {"billing export to a partner"}, "case_ids": {ids[0]},
		"severity": {wf.SeverityRelativelySerious}}
	code, page, _ := officer.post("/incidents", open)
	if code != http.StatusBadRequest || !strings.Contains(pageError(page), "reason") ||
		!strings.Contains(page, `value="billing export to a partner"`) {
		t.Fatalf("open without reason: %d\n%s", code, page)
	}
	open.Set("reason", "partner reported a misdirected billing export")
	code, page, at := officer.post("/incidents", open)
	if code != http.StatusOK || !strings.Contains(page, `id="flash"`) || !strings.HasPrefix(at.Path, "/incidents/") {
		t.Fatalf("open incident: %d %s\n%s", code, at, page)
	}
	id := strings.TrimPrefix(at.Path, "/incidents/")
	inc := e.waitFor(h, id, "workflow running", func(x *escalationv1.Escalation) bool { return len(x.GetFilings()) == 1 })
	if inc.GetKind() != wf.KindIncident || inc.GetOperatorClass() != wf.ClassOther || len(inc.GetCaseIds()) != 1 {
		t.Fatalf("opened incident %+v", inc)
	}
	_, list = officer.get("/incidents")
	if !strings.Contains(list, `href="/incidents/`+id+`"`) || !strings.Contains(list, "billing export to a partner") {
		t.Fatalf("list lacks the incident:\n%s", list)
	}
	if inc.GetStatus() == "open" && !strings.Contains(list, `class="countdown" data-due="`) {
		t.Fatalf("open incident without its countdown:\n%s", list)
	}

	// Link: a case already in the incident is refused, the typed ids kept.
	code, page, _ = officer.post("/incidents/"+id+"/link", url.Values{"case_ids": {ids[1] + "\n" + ids[0]}})
	if code != http.StatusBadRequest || !strings.Contains(pageError(page), "already belongs to incident") || !strings.Contains(page, `id="link-form"`) {
		t.Fatalf("link a linked case: %d\n%s", code, page)
	}
	if got := e.get(h, id).GetCaseIds(); len(got) != 1 {
		t.Fatalf("refused link changed the incident: %v", got)
	}
	if code, page, _ = officer.post("/incidents/"+id+"/link", url.Values{"case_ids": {ids[1] + ", " + ids[2]}}); code != http.StatusOK || !strings.Contains(page, `id="flash"`) {
		t.Fatalf("link: %d\n%s", code, page)
	}
	if got := e.get(h, id).GetCaseIds(); len(got) != 3 || !strings.Contains(page, `href="/cases/`+ids[2]+`"`) {
		t.Fatalf("linked cases %v", got)
	}

	// Grade: an unknown class or no severity is refused; a real one moves the deadline.
	if code, page, _ = officer.post("/incidents/"+id+"/grade", url.Values{"operator_class": {"huge"}, "severity": {wf.SeveritySerious}}); code != http.StatusBadRequest || !strings.Contains(pageError(page), "operator_class") {
		t.Fatalf("bad grade: %d\n%s", code, page)
	}
	if code, page, _ = officer.post("/incidents/"+id+"/grade", url.Values{"operator_class": {wf.ClassOther}}); code != http.StatusBadRequest || !strings.Contains(pageError(page), "severity") {
		t.Fatalf("grade without severity: %d\n%s", code, page)
	}
	before := e.get(h, id)
	if code, _, _ = officer.post("/incidents/"+id+"/grade", url.Values{"operator_class": {wf.ClassCriticalInfrastructure}, "severity": {wf.SeveritySerious}}); code != http.StatusOK {
		t.Fatalf("grade: %d", code)
	}
	after := e.get(h, id)
	if after.GetOperatorClass() != wf.ClassCriticalInfrastructure || after.GetDueAt().AsTime().Equal(before.GetDueAt().AsTime()) {
		t.Fatalf("graded %s, due %v → %v", after.GetOperatorClass(), before.GetDueAt().AsTime(), after.GetDueAt().AsTime())
	}
	if after.GetSeverity() != wf.SeveritySerious || after.GetGradedBy() != "comp.zhao" {
		t.Fatalf("severity %q graded by %q", after.GetSeverity(), after.GetGradedBy())
	}

	// Discovery: a time in the future is refused on the page and changes
	// nothing; an earlier one (Beijing time) moves the deadline with it.
	bj := func(t time.Time) string { return t.In(calendar.Shanghai()).Format("2006-01-02T15:04") }
	code, page, _ = officer.post("/incidents/"+id+"/discovery", url.Values{"discovered_at": {bj(time.Now().Add(time.Hour))}})
	if code != http.StatusBadRequest || !strings.Contains(pageError(page), "discovered_at") || !strings.Contains(pageError(page), "future") {
		t.Fatalf("future discovery: %d\n%s", code, page)
	}
	if x := e.get(h, id); !x.GetDiscoveredAt().AsTime().Equal(after.GetDiscoveredAt().AsTime()) {
		t.Fatalf("a refused discovery changed it: %v", x.GetDiscoveredAt().AsTime())
	}
	earlier := after.GetDiscoveredAt().AsTime().Add(-2 * time.Hour).Truncate(time.Minute)
	if code, page, _ = officer.post("/incidents/"+id+"/discovery", url.Values{"discovered_at": {bj(earlier)}}); code != http.StatusOK ||
		!strings.Contains(page, `id="incident-discovered"`) {
		t.Fatalf("set discovery: %d\n%s", code, page)
	}
	if x := e.get(h, id); !x.GetDiscoveredAt().AsTime().Equal(earlier) || !x.GetDueAt().AsTime().Equal(earlier.Add(time.Hour)) {
		t.Fatalf("discovered %v due %v, want %v and an hour later", x.GetDiscoveredAt().AsTime(), x.GetDueAt().AsTime(), earlier)
	}

	// Notification decision: not notifying needs a documented reason.
	code, page, _ = officer.post("/incidents/"+id+"/notify", url.Values{"decision": {"not_notify"}, "reason": {"  "}})
	if code != http.StatusBadRequest || !strings.Contains(pageError(page), "reason") || e.get(h, id).GetNotifyDecision() != "" {
		t.Fatalf("not_notify without reason: %d\n%s", code, page)
	}
	why := "the exported numbers were encrypted; no risk to the individuals"
	if code, page, _ = officer.post("/incidents/"+id+"/notify", url.Values{"decision": {"not_notify"}, "reason": {why}}); code != http.StatusOK ||
		!strings.Contains(page, why) || strings.Contains(page, `id="notify-form"`) {
		t.Fatalf("record decision: %d\n%s", code, page)
	}
	if x := e.get(h, id); x.GetNotifyDecision() != "not_notify" || x.GetNotifyReason() != why {
		t.Fatalf("decision %q reason %q", x.GetNotifyDecision(), x.GetNotifyReason())
	}
	if code, _, _ = officer.post("/incidents/"+id+"/grade", url.Values{"operator_class": {wf.ClassOther}, "csrf": {"forged"}}); code != http.StatusForbidden {
		t.Fatalf("POST with a wrong CSRF token: %d", code)
	}

	officer.get("/lang/zh")
	if _, page = officer.get("/incidents/" + id); !strings.Contains(page, "关键信息基础设施运营者") || !strings.Contains(page, "不告知（须记录理由）") {
		t.Fatalf("incident page in Chinese:\n%s", page)
	}

	// An agent reads incidents but may not change them.
	agent := signIn("agent.li", access.Agent)
	code, page = agent.get("/incidents/" + id)
	if code != http.StatusOK || strings.Contains(page, `id="link-form"`) || strings.Contains(page, `id="grade-form"`) {
		t.Fatalf("agent's incident page: %d\n%s", code, page)
	}
	if _, list = agent.get("/incidents"); strings.Contains(list, `id="open-incident"`) {
		t.Fatal("an agent is offered the open-incident form")
	}
	if code, _, _ = agent.post("/incidents/"+id+"/grade", url.Values{"operator_class": {wf.ClassOther}}); code != http.StatusForbidden {
		t.Fatalf("agent forcing the grade form: %d", code)
	}
	open.Set("case_ids", "")
	if code, _, _ = agent.post("/incidents", open); code != http.StatusForbidden {
		t.Fatalf("agent forcing the open-incident form: %d", code)
	}
	if x := e.get(h, id); x.GetOperatorClass() != wf.ClassCriticalInfrastructure {
		t.Fatalf("a refused grade changed the incident: %s", x.GetOperatorClass())
	}
}

// In a real browser: the officer goes from the navigation to the incident,
// the report deadline counts down (the page's script), a "do not notify"
// without a reason is refused with the message on the page, and with one it
// is recorded.
func TestConsoleIncidentInBrowser(t *testing.T) {
	h, e, base := incidentConsole(t)
	if _, err := h.identity.AddUser(h.ctx, "test", identity.NewUser{Username: "comp.zhao", Role: access.ComplianceOfficer, Password: browserPassword}); err != nil {
		t.Fatal(err)
	}
	sub, err := h.api.SubmitComplaint(h.as("feed"), submission("console-inc-br-0001"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.api.OpenIncident(h.as("comp.zhao"), &escalationv1.OpenIncidentRequest{LeakedDataType: "email_address",
		LeakSource: "newsletter tool", CaseIds: []string{sub.GetCase().GetId()}, Reason: "mailing list exposed", Severity: wf.SeveritySerious})
	if err != nil {
		t.Fatal(err)
	}
	id := r.GetEscalation().GetId()
	e.waitFor(h, id, "workflow running", func(x *escalationv1.Escalation) bool { return len(x.GetFilings()) == 1 })

	ctx := consoleBrowser(t, h, base)
	consoleSignIn(t, ctx, base, "comp.zhao")
	crun(t, ctx, "open the incident from the list",
		chromedp.Click(chromedp.ID("nav-incidents")),
		chromedp.WaitVisible(chromedp.ID("incidents")),
		chromedp.Click(`a[href="/incidents/`+id+`"]`),
		chromedp.WaitVisible(chromedp.ID("notify-form")),
	)
	if e.get(h, id).GetStatus() == "open" {
		left := cget(t, ctx, "countdown", chromedp.Text(chromedp.ID("incident-countdown")))
		if !regexp.MustCompile(`^-?\d+h \d+m$`).MatchString(left) {
			t.Fatalf("countdown %q", left)
		}
	}
	crun(t, ctx, "not notify without a reason",
		chromedp.SetValue(chromedp.ID("decision"), "not_notify"),
		chromedp.Click(chromedp.ID("record-decision")),
		chromedp.WaitVisible(chromedp.ID("error")),
	)
	if msg := cget(t, ctx, "error", chromedp.Text(chromedp.ID("error"))); !strings.Contains(msg, "reason") {
		t.Fatalf("error shown: %q", msg)
	}
	why := "addresses only, no passwords; the tool vendor confirmed deletion"
	crun(t, ctx, "not notify with a reason",
		chromedp.SetValue(chromedp.ID("decision"), "not_notify"),
		chromedp.SendKeys(chromedp.ID("notify-reason"), why),
		chromedp.Click(chromedp.ID("record-decision")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	if got := cget(t, ctx, "decision", chromedp.Text(chromedp.ID("incident-decision"))); !strings.Contains(got, why) {
		t.Fatalf("decision shown: %q", got)
	}
	if x := e.get(h, id); x.GetNotifyDecision() != "not_notify" || x.GetNotifyReason() != why {
		t.Fatalf("decision %q reason %q", x.GetNotifyDecision(), x.GetNotifyReason())
	}
}
