package console

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/identity/oidcclient"
	"github.com/redress/redress/services/internal/identity/oidctest"
)

// Single sign-on through a real (test) OpenID provider over HTTP: the
// browser goes there and back; the console checks state and nonce and
// proves the code is its own (PKCE, which the provider checks).
func TestSingleSignOn(t *testing.T) {
	is := oidctest.Start(t, "console", "secret")
	e := newEnv(t, func(e *Env, c *Config) {
		var err error
		if c.OIDC, err = oidcclient.New(context.Background(), is.URL, "console", "secret", e.URL+"/signin/oidc/callback"); err != nil {
			t.Fatal(err)
		}
		if e.Identity.OIDC, err = identity.NewOIDC(context.Background(), e.Store, is.URL, "console"); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := e.Store.AddUser(context.Background(), "test", identity.NewUser{Username: "wang.fang", Role: access.Supervisor,
		OIDCIssuer: is.URL, OIDCSubject: "idp-77"}); err != nil {
		t.Fatal(err)
	}
	c := e.client(t)
	if _, page := c.get("/signin"); !strings.Contains(page, `id="sso"`) {
		t.Fatal("no single sign-on link")
	}
	is.SignInAs(oidctest.Identity{Subject: "idp-77", PreferredUsername: "wang.fang"})
	if code, page := c.get("/signin/oidc"); code != http.StatusOK || !strings.Contains(page, "wang.fang") || !strings.Contains(page, `id="queue"`) && !strings.Contains(page, `id="empty"`) {
		t.Fatalf("sign-on: %d\n%s", code, page)
	}
	// A name chosen at the provider takes over nothing, not even "admin".
	is.SignInAs(oidctest.Identity{Subject: "idp-98", PreferredUsername: "admin"})
	if code, page := e.client(t).get("/signin/oidc"); code != http.StatusUnauthorized || strings.Contains(page, `id="who"`) {
		t.Fatalf("preferred_username admin: %d", code)
	}
	// Someone the provider knows but Redress does not: refused.
	other := e.client(t)
	is.SignInAs(oidctest.Identity{Subject: "idp-99", PreferredUsername: "intruder"})
	if code, _ := other.get("/signin/oidc"); code != http.StatusUnauthorized {
		t.Fatalf("unknown identity: %d", code)
	}
	// A callback that did not start here (no state cookie) is refused.
	if code, _ := e.client(t).get("/signin/oidc/callback?code=x&state=y"); code != http.StatusForbidden {
		t.Fatalf("forged callback: %d", code)
	}
}
