package e2e

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/console"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/connectors/customertest"
	"github.com/redress/redress/services/internal/deletion"
	"github.com/redress/redress/services/internal/identity"
	deletionworker "github.com/redress/redress/services/worker/deletion"
)

// browser is a signed-in console session.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// consoleAs starts the console on the rig's services and signs in a new user of role.
func (r *deletionRig) consoleAs(username string, role access.Role) *browser {
	t := r.t
	base := serveConsole(t, r.harness, console.Config{Deletion: r.api})
	if _, err := r.identity.AddUser(r.ctx, "test", identity.NewUser{Username: username, Role: role, Password: browserPassword}); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, base: base, c: &http.Client{Jar: jar}}
	_, page := b.get("/signin")
	b.post("/signin", page, url.Values{"username": {username}, "password": {browserPassword}})
	return b
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// post submits a form with the CSRF token of page.
func (b *browser) post(path, page string, form url.Values) (int, string) {
	b.t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no CSRF token on the page before POST %s", path)
	}
	form.Set("csrf", m[1])
	resp, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// The connectors page's Test button runs the real check and shows its answer.
func TestConsoleConnectorTestButton(t *testing.T) {
	r := newDeletionRig(t, 2, func(r *deletionRig, c *deletion.Config) {
		c.Tester = (&deletionworker.Activities{DB: c.DB, Keys: c.Keys, Erasure: r.erasure}).TestConnector
	})
	b := r.consoleAs("admin.zhao", access.Admin)
	code, page := b.get("/connectors")
	if code != http.StatusOK || !strings.Contains(page, `name="test"`) {
		t.Fatalf("connectors page: %d, no Test button\n%s", code, page)
	}
	code, page = b.post("/connectors/customer-db", page, url.Values{"test": {"1"}})
	if code != http.StatusOK || !regexp.MustCompile(`id="flash">customer-db: check passed \(\d+ ms\)`).MatchString(page) {
		t.Fatalf("after Test: %d\n%s", code, page)
	}
	if r.audited("customer-db", "deletion.connector_tested") != 1 {
		t.Fatal("the console's check is not in the audit chain")
	}
}

// The deletion page's "Extend deadline" form (under a test policy that
// allows an extension): the request shows the original due date and the
// reason afterwards, and the form is gone (once only).
func TestConsoleExtendDeadlineForm(t *testing.T) {
	r := newDeletionRig(t, 2, testExtensionPolicy(t))
	resp, err := r.api.SubmitDeletion(r.as("agent.li"), &deletionv1.SubmitDeletionRequest{IdempotencyKey: "console-extend-01", Type: deletionv1.RequestType_REQUEST_TYPE_ERASURE,
		Source: deletionv1.Source_SOURCE_AGENT, Email: customertest.Email(1), Language: "zh"})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetDeletion().GetId()
	b := r.consoleAs("sup.wang", access.Supervisor)
	code, page := b.get("/deletions/" + id)
	if code != http.StatusOK || !strings.Contains(page, `id="extend-deadline"`) || !strings.Contains(page, `value="complexity"`) {
		t.Fatalf("deletion page: %d, no extend form\n%s", code, page)
	}
	code, page = b.post("/deletions/"+id+"/extend", page, url.Values{"reason": {"number_of_requests"}, "text": {"Month-end backlog of 400 requests."}})
	if code != http.StatusOK || !strings.Contains(page, `id="extended"`) || !strings.Contains(page, "Month-end backlog") ||
		strings.Contains(page, `id="extend-deadline"`) {
		t.Fatalf("after extending: %d\n%s", code, page)
	}
	got, err := r.api.GetDeletion(r.as("agent.li"), &deletionv1.GetDeletionRequest{DeletionId: id})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetDeletion().GetExtensionReason() != deletionv1.ExtensionReason_EXTENSION_REASON_NUMBER_OF_REQUESTS || r.audited(id, "deletion.deadline_extended") != 1 {
		t.Fatalf("after the form: %+v", got.GetDeletion())
	}
}
