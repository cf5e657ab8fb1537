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

	escalationv1 "github.com/redress/redress/proto/redress/escalation/v1"
	"github.com/redress/redress/services/console"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/identity"
)

// The console's escalation pages against the real EscalationService and its
// workflow: the list, the case page's link, the detail page and the filing
// package download.
func TestConsoleEscalationPages(t *testing.T) {
	h := newHarness(t, options{})
	e := startEscalation(h, escOptions{})
	srv, err := console.New(console.Config{Identity: h.identity, Intake: h.api, Escalation: e.api, DB: h.db, Keys: h.keys, Log: h.log})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go grpcserver.ServeHTTP(h.ctx, lis, srv.Handler())
	base := "http://" + lis.Addr().String()
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
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	_, page, _ := get("/signin")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
	resp, err := c.PostForm(base+"/signin", url.Values{"csrf": {csrf}, "username": {"sup.wang"}, "password": {browserPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

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
}
