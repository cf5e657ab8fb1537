package e2e

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	escalationv1 "github.com/redress/redress/proto/redress/escalation/v1"
	"github.com/redress/redress/services/console"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/connectors/customertest"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/pdffont/pdftest"
	delwf "github.com/redress/redress/workflows/deletion"
)

// The console's escalation pages against the real EscalationService and its
// workflow: the list, the case page's link, the detail page and the filing
// package download.
func TestConsoleEscalationPages(t *testing.T) {
	h := newHarness(t, options{})
	e := startEscalation(h, escOptions{})
	base := serveConsole(t, h, console.Config{Escalation: e.api})
	if _, err := h.identity.AddUser(h.ctx, "test", identity.NewUser{Username: "sup.wang", Role: access.Supervisor, Password: browserPassword}); err != nil {
		t.Fatal(err)
	}

	sub, err := h.api.SubmitComplaint(h.as("feed"), submission("console-esc-0001"))
	if err != nil {
		t.Fatal(err)
	}
	caseID := sub.GetCase().GetId()
	r, err := e.api.EscalateManually(h.as("sup.wang"), &escalationv1.EscalateManuallyRequest{CaseId: caseID, Reason: "complainant threatens to go to the regulator"})
	if err != nil {
		t.Fatal(err)
	}
	id := r.GetEscalation().GetId()
	e.waitFor(h, id, "filing package", func(x *escalationv1.Escalation) bool { return x.GetPackageSha256() != "" })

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(path string) (int, string, http.Header) {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	_, page, _ := get("/signin")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
	resp, err := c.PostForm(base+"/signin", url.Values{"csrf": {csrf}, "username": {"sup.wang"}, "password": {browserPassword}})
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()

	if code, list, _ := get("/escalations"); code != http.StatusOK || !strings.Contains(list, "/escalations/"+id) {
		t.Fatalf("escalations list: %d", code)
	}
	if _, cp, _ := get("/cases/" + caseID); !strings.Contains(cp, `id="linked"`) || !strings.Contains(cp, "/escalations/"+id) {
		t.Fatal("case page lacks the linked escalation")
	}
	if code, detail, _ := get("/escalations/" + id); code != http.StatusOK || !strings.Contains(detail, "complainant threatens") {
		t.Fatalf("escalation page: %d", code)
	}
	code, zip, hdr := get("/escalations/" + id + "/package")
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/zip" || !strings.HasPrefix(zip, "PK") {
		t.Fatalf("filing package: %d %s", code, hdr.Get("Content-Type"))
	}

	// The officer's forms: filed by hand, acknowledged, closed.
	_, detail, _ := get("/escalations/" + id)
	csrf = regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(detail)[1]
	post := func(action string, form url.Values) {
		t.Helper()
		form.Set("csrf", csrf)
		resp, err := c.PostForm(base+"/escalations/"+id+"/"+action, form)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `id="flash"`) {
			t.Fatalf("%s: %d\n%s", action, resp.StatusCode, b)
		}
	}
	post("filing", url.Values{"reference": {"MIIT-2026-0042"}})
	post("ack", url.Values{"reference": {"ACK-0042"}})
	if strings.Contains(detail, `action="/escalations/`+id+`/step"`) {
		t.Fatal("a manual escalation offers the mandatory-report steps")
	}
	post("close", url.Values{})
	if got := e.get(h, id); got.GetStatus() != "closed" || got.GetFilingReference() != "MIIT-2026-0042" || got.GetAckReference() != "ACK-0042" {
		t.Fatalf("after the forms: %s / %q / %q", got.GetStatus(), got.GetFilingReference(), got.GetAckReference())
	}
}

// The console's deletion pages against the real DeletionService, workflow
// and PostgreSQL connector: the plan shows per system and a supervisor
// approves exactly that plan from the page.
func TestConsoleDeletionApproval(t *testing.T) {
	r := newDeletionRig(t, 10)
	const who = 3
	agent := r.as("agent.li")
	resp, err := r.api.SubmitDeletion(agent, &deletionv1.SubmitDeletionRequest{IdempotencyKey: "console-del-0003", Type: deletionv1.RequestType_REQUEST_TYPE_ERASURE,
		Source: deletionv1.Source_SOURCE_AGENT, Email: customertest.Email(who), Language: "en",
		Phone: &deletionv1.PhoneIdentifier{Number: "+86" + customertest.Phone(who), HeldFrom: timestamppb.New(time.Now().AddDate(-1, 0, 0))}})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetDeletion().GetId()
	if _, err := r.api.AttestIdentity(agent, &deletionv1.AttestIdentityRequest{DeletionId: id, Reason: "Requester came to the shop with ID card; account checked"}); err != nil {
		t.Fatal(err)
	}
	r.waitStatus(id, delwf.StatusAwaitingApproval)

	base := serveConsole(t, r.harness, console.Config{Deletion: r.api})
	if _, err := r.identity.AddUser(r.ctx, "test", identity.NewUser{Username: "sup.wang", Role: access.Supervisor, Password: browserPassword}); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, page := get("/signin")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
	if resp, err := c.PostForm(base+"/signin", url.Values{"csrf": {csrf}, "username": {"sup.wang"}, "password": {browserPassword}}); err != nil {
		t.Fatal(err)
	} else {
		_ = resp.Body.Close()
	}
	if code, list := get("/deletions"); code != http.StatusOK || !strings.Contains(list, "/deletions/"+id) {
		t.Fatalf("deletions list: %d", code)
	}
	code, detail := get("/deletions/" + id)
	if code != http.StatusOK || !strings.Contains(detail, `id="plan"`) || !strings.Contains(detail, "customer-db") || !strings.Contains(detail, `id="approve-plan"`) {
		t.Fatalf("deletion page: %d\n%s", code, detail)
	}
	if strings.Contains(detail, customertest.Email(who)) {
		t.Fatal("the requester's email unmasked on the deletion page")
	}
	digest := regexp.MustCompile(`name="digest" value="([0-9a-f]+)"`).FindStringSubmatch(detail)
	sessionCSRF := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(detail)[1]
	resp2, err := c.PostForm(base+"/deletions/"+id+"/approve", url.Values{"csrf": {sessionCSRF}, "digest": {digest[1]}})
	if err != nil {
		t.Fatal(err)
	}
	_ = resp2.Body.Close()
	if resp2.StatusCode != http.StatusOK {
		t.Fatalf("approve: %d", resp2.StatusCode)
	}
	// Approved: the workflow goes on to apply the plan (restricting what a
	// retention duty still holds, deleting the rest).
	r.eventually("plan applied", 60*time.Second, func() bool {
		st := r.status(id)
		return st == delwf.StatusRestricted || st == delwf.StatusCompleted
	})
	if _, detail := get("/deletions/" + id); !strings.Contains(detail, `id="evidence"`) || strings.Contains(detail, `id="approve-plan"`) {
		t.Fatalf("after approval: no evidence, or still an approve button:\n%s", detail)
	}
	// The printable certificate speaks the requester's language (English here).
	code, pdf := get("/deletions/" + id + "/certificate.pdf")
	if code != http.StatusOK || !strings.HasPrefix(pdf, "%PDF-") {
		t.Fatalf("certificate PDF: %d", code)
	}
	if text := pdftest.Text(t, []byte(pdf)); !strings.Contains(text, "Certificate of deletion") || !strings.Contains(text, "customer-db") {
		t.Fatalf("certificate PDF says:\n%s", text)
	}
}
