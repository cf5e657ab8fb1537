package console

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/audit"
)

func TestAdministration(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	agent := e.client(t)
	agent.signIn("agent.li", testPassword)
	if code, body := agent.get("/admin/users"); code != http.StatusForbidden || strings.Contains(body, `id="users"`) {
		t.Fatalf("agent on the admin page: %d", code)
	}
	admin := e.client(t)
	_, page := admin.signIn("admin", testPassword)
	if !strings.Contains(page, `id="nav-admin"`) {
		t.Fatal("no admin link for an administrator")
	}
	_, page = admin.get("/admin/users")
	csrf := csrfOf(t, page)
	// An automation account (a person's account waits for a second person:
	// see TestAdministratorCannotBecomeAnyone).
	if code, _ := admin.post("/admin/users", url.Values{"csrf": {csrf}, "username": {"new.agent"}, "name": {"New Feed"},
		"role": {"automation"}}); code != http.StatusOK {
		t.Fatalf("add user: %d", code)
	}
	if code, body := admin.post("/admin/users", url.Values{"csrf": {csrf}, "username": {"x y"}, "role": {"root"}}); code != http.StatusBadRequest || !strings.Contains(body, "username") {
		t.Fatalf("bad user accepted: %d", code)
	}
	// A credential is shown once and works against the services at once.
	_, issued := admin.post("/admin/users/new.agent/token", url.Values{"csrf": {csrf}, "label": {"cli"}, "ttl": {"24h"}})
	secret := regexp.MustCompile(`id="token-secret">(rdt_[A-Za-z0-9_-]+)<`).FindStringSubmatch(issued)
	if secret == nil {
		t.Fatalf("no credential shown:\n%s", issued)
	}
	call := func() codes.Code {
		c := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+secret[1])
		_, err := e.API.GetCase(c, &intakev1.GetCaseRequest{CaseId: uuid.NewString()})
		return status.Code(err)
	}
	if c := call(); c != codes.NotFound {
		t.Fatalf("issued credential: %v", c)
	}
	toks, _ := e.Store.Tokens(ctx, "new.agent")
	if code, _ := admin.post("/admin/tokens/"+toks[0].ID.String()+"/revoke", url.Values{"csrf": {csrf}}); code != http.StatusOK {
		t.Fatalf("revoke: %d", code)
	}
	if c := call(); c != codes.Unauthenticated {
		t.Fatalf("revoked credential: %v", c)
	}
	if code, _ := admin.post("/admin/users/admin/disable", url.Values{"csrf": {csrf}}); code != http.StatusBadRequest {
		t.Fatalf("disabling oneself: %d", code)
	}
	if code, _ := admin.post("/admin/users/new.agent/disable", url.Values{"csrf": {csrf}}); code != http.StatusOK {
		t.Fatalf("disable: %d", code)
	}
	recs, err := audit.ForObject(ctx, e.DB, "user", "new.agent")
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, r := range recs {
		if r.Actor != "admin" {
			t.Errorf("%s by %q, want admin", r.Action, r.Actor)
		}
		acts = append(acts, r.Action)
	}
	if strings.Join(acts, ",") != "user.add,token.issue,token.revoke,user.disable" {
		t.Fatalf("audit trail %v", acts)
	}
	// Without the CSRF token nothing changes.
	if code, _ := admin.post("/admin/users/new.agent/enable", url.Values{}); code != http.StatusForbidden {
		t.Fatalf("enable without CSRF: %d", code)
	}
}
