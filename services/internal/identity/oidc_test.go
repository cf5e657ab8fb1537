package identity

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/identity/oidctest"
)

// authorize walks the browser's part of the flow: to the provider and back
// with a code.
func authorize(t *testing.T, o *OIDC, state, nonce string) (code string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(o.AuthURL(state, nonce))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || back.Query().Get("state") != state {
		t.Fatalf("provider redirect %q", resp.Header.Get("Location"))
	}
	return back.Query().Get("code")
}

func TestOIDCSignIn(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	is := oidctest.Start(t, "redress-console", "s3cret")
	o, err := NewOIDC(ctx, s, is.URL, "redress-console", "s3cret", "http://127.0.0.1:1/signin/oidc/callback")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUser(ctx, "admin", NewUser{Username: "li.na@operator.example", Role: access.Agent}); err != nil {
		t.Fatal(err)
	}

	// Nobody here by that name: refused.
	is.SignInAs(oidctest.Identity{Subject: "sub-stranger", PreferredUsername: "stranger"})
	if _, err := o.Exchange(ctx, authorize(t, o, "st1", "n1"), "n1"); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("stranger: %v", err)
	}
	// An unverified email does not link.
	is.SignInAs(oidctest.Identity{Subject: "sub-li", Email: "li.na@operator.example"})
	if _, err := o.Exchange(ctx, authorize(t, o, "st2", "n2"), "n2"); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("unverified email: %v", err)
	}
	// First sign-in links by verified email; later ones follow the subject.
	is.SignInAs(oidctest.Identity{Subject: "sub-li", Email: "li.na@operator.example", EmailVerified: true})
	u, err := o.Exchange(ctx, authorize(t, o, "st3", "n3"), "n3")
	if err != nil || u.Username != "li.na@operator.example" || u.Role != "agent" {
		t.Fatalf("first sign-in: %+v %v", u, err)
	}
	is.SignInAs(oidctest.Identity{Subject: "sub-li", PreferredUsername: "renamed"})
	if u, err := o.Exchange(ctx, authorize(t, o, "st4", "n4"), "n4"); err != nil || u.Username != "li.na@operator.example" {
		t.Fatalf("by subject: %+v %v", u, err)
	}
	// A replayed code, or a nonce from another browser, is refused.
	code := authorize(t, o, "st5", "n5")
	if _, err := o.Exchange(ctx, code, "other-nonce"); err == nil {
		t.Fatal("nonce mismatch accepted")
	}
	if _, err := o.Exchange(ctx, code, "n5"); err == nil {
		t.Fatal("replayed code accepted")
	}
	// A disabled account does not sign in.
	if err := s.SetDisabled(ctx, "admin", "li.na@operator.example", true); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Exchange(ctx, authorize(t, o, "st6", "n6"), "n6"); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("disabled: %v", err)
	}
}
