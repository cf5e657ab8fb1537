package identity

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/identity/oidcclient"
	"github.com/redress/redress/services/internal/identity/oidctest"
)

// flow is both halves of single sign-on: the console's (authorization
// request and code exchange) and the identity service's (the ID token's
// checks and the account).
type flow struct {
	*oidcclient.Client
	o *OIDC
}

func newFlow(ctx context.Context, s *Store, issuer string) (*flow, error) {
	c, err := oidcclient.New(ctx, issuer, "redress-console", "s3cret", "http://127.0.0.1:1/signin/oidc/callback")
	if err != nil {
		return nil, err
	}
	o, err := NewOIDC(ctx, s, issuer, "redress-console")
	return &flow{Client: c, o: o}, err
}

// Exchange trades the code for the ID token and signs in with it.
func (f *flow) Exchange(ctx context.Context, code, nonce, verifier string) (User, error) {
	raw, err := f.Client.Exchange(ctx, code, verifier)
	if err != nil {
		return User{}, err
	}
	return f.o.SignIn(ctx, raw, nonce)
}

// authorize walks the browser's part of the flow: to the provider and back
// with a code.
func authorize(t *testing.T, o *flow, state, nonce string) (code string) {
	t.Helper()
	return authorizeURL(t, o.AuthURL(state, nonce, verifier(nonce)), state)
}

// verifier is the PKCE verifier the tests use for a nonce.
func verifier(nonce string) string {
	return "verifier-of-" + nonce + "-padded-to-forty-three-characters"
}

func authorizeURL(t *testing.T, authURL, state string) (code string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
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
	o, err := newFlow(ctx, s, is.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUser(ctx, "admin", NewUser{Username: "li.na", Email: "Li.Na@operator.example", Role: access.Agent}); err != nil {
		t.Fatal(err)
	}

	// Nobody here by that name: refused.
	is.SignInAs(oidctest.Identity{Subject: "sub-stranger", PreferredUsername: "stranger"})
	if _, err := o.Exchange(ctx, authorize(t, o, "st1", "n1"), "n1", verifier("n1")); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("stranger: %v", err)
	}
	// An unverified email does not link.
	is.SignInAs(oidctest.Identity{Subject: "sub-li", Email: "li.na@operator.example"})
	if _, err := o.Exchange(ctx, authorize(t, o, "st2", "n2"), "n2", verifier("n2")); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("unverified email: %v", err)
	}
	// First sign-in links by verified email; later ones follow the subject.
	is.SignInAs(oidctest.Identity{Subject: "sub-li", Email: "li.na@operator.example", EmailVerified: true})
	u, err := o.Exchange(ctx, authorize(t, o, "st3", "n3"), "n3", verifier("n3"))
	if err != nil || u.Username != "li.na" || u.Role != "agent" {
		t.Fatalf("first sign-in: %+v %v", u, err)
	}
	is.SignInAs(oidctest.Identity{Subject: "sub-li", PreferredUsername: "renamed"})
	if u, err := o.Exchange(ctx, authorize(t, o, "st4", "n4"), "n4", verifier("n4")); err != nil || u.Username != "li.na" {
		t.Fatalf("by subject: %+v %v", u, err)
	}
	// A replayed code, or a nonce from another browser, is refused.
	code := authorize(t, o, "st5", "n5")
	if _, err := o.Exchange(ctx, code, "other-nonce", verifier("n5")); err == nil {
		t.Fatal("nonce mismatch accepted")
	}
	if _, err := o.Exchange(ctx, code, "n5", verifier("n5")); err == nil {
		t.Fatal("replayed code accepted")
	}
	// A disabled account does not sign in.
	if err := s.SetDisabled(ctx, "admin", "li.na", true); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Exchange(ctx, authorize(t, o, "st6", "n6"), "n6", verifier("n6")); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("disabled: %v", err)
	}
}

// Single sign-on never takes over an account by the name the provider
// reports: only an (issuer, subject) an administrator set, or a verified
// email equal to the account's, and the latter never for administrators or
// supervisors.
func TestOIDCLinksOnlyWhatAnAdministratorSet(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	is := oidctest.Start(t, "redress-console", "s3cret")
	o, err := newFlow(ctx, s, is.URL)
	if err != nil {
		t.Fatal(err)
	}
	addUsers(t, s, NewUser{Username: "admin", Role: access.Admin, Email: "admin@operator.example"},
		NewUser{Username: "sup.wang", Role: access.Supervisor, Email: "wang@operator.example"},
		NewUser{Username: "agent.li", Role: access.Agent, Email: "li@operator.example"},
		NewUser{Username: "comp.zhao", Role: access.ComplianceOfficer, OIDCIssuer: is.URL, OIDCSubject: "idp-zhao"})
	signIn := func(who oidctest.Identity, n string) (User, error) {
		is.SignInAs(who)
		return o.Exchange(ctx, authorize(t, o, "s-"+n, n), n, verifier(n))
	}
	// A name the user chose at the provider links nothing.
	for i, name := range []string{"admin", "sup.wang", "agent.li"} {
		if u, err := signIn(oidctest.Identity{Subject: "idp-x" + name, PreferredUsername: name}, "p"+strconv.Itoa(i)); !errors.Is(err, ErrNoAccount) {
			t.Fatalf("preferred_username %s signed in as %+v (%v)", name, u.Username, err)
		}
	}
	// A verified email never links an administrator or a supervisor.
	for i, email := range []string{"admin@operator.example", "wang@operator.example"} {
		if u, err := signIn(oidctest.Identity{Subject: "idp-e" + email, Email: email, EmailVerified: true}, "e"+strconv.Itoa(i)); !errors.Is(err, ErrNoAccount) {
			t.Fatalf("verified %s signed in as %+v (%v)", email, u.Username, err)
		}
	}
	// An unverified email links nothing; a verified one links an agent.
	if _, err := signIn(oidctest.Identity{Subject: "idp-li", Email: "li@operator.example"}, "u1"); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("unverified email: %v", err)
	}
	if u, err := signIn(oidctest.Identity{Subject: "idp-li", Email: "LI@operator.example", EmailVerified: true}, "v1"); err != nil || u.Username != "agent.li" {
		t.Fatalf("verified email: %+v %v", u, err)
	}
	// The (issuer, subject) an administrator set signs in, whatever the names say.
	if u, err := signIn(oidctest.Identity{Subject: "idp-zhao", PreferredUsername: "admin"}, "z1"); err != nil || u.Username != "comp.zhao" {
		t.Fatalf("administrator-set subject: %+v %v", u, err)
	}
	if got := actions(t, s, "admin"); strings.Contains(got, "oidc") {
		t.Fatalf("admin linked: %s", got)
	}
}

// The provider refuses an authorization request without a PKCE challenge
// and a token request whose verifier does not match it.
func TestOIDCUsesPKCE(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	is := oidctest.Start(t, "redress-console", "s3cret")
	o, err := newFlow(ctx, s, is.URL)
	if err != nil {
		t.Fatal(err)
	}
	addUsers(t, s, NewUser{Username: "agent.li", Role: access.Agent, OIDCIssuer: is.URL, OIDCSubject: "idp-li"})
	is.SignInAs(oidctest.Identity{Subject: "idp-li"})
	u, _ := url.Parse(o.AuthURL("st", "n1", verifier("n1")))
	if q := u.Query(); q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		t.Fatalf("no S256 challenge in %s", u)
	}
	q := u.Query()
	q.Del("code_challenge")
	q.Del("code_challenge_method")
	u.RawQuery = q.Encode()
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("authorization without PKCE: %d", resp.StatusCode)
	}
	code := authorize(t, o, "st2", "n2")
	if _, err := o.Exchange(ctx, code, "n2", verifier("other")); err == nil {
		t.Fatal("wrong verifier accepted")
	}
	if u, err := o.Exchange(ctx, authorize(t, o, "st3", "n3"), "n3", verifier("n3")); err != nil || u.Username != "agent.li" {
		t.Fatalf("right verifier: %+v %v", u, err)
	}
}

// The single sign-on identity an administrator sets on an account waits for
// a second person: one administrator alone cannot point someone else's
// account at their own identity at the provider.
func TestSSOIdentityNeedsSecondPerson(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	is := oidctest.Start(t, "redress-console", "s3cret")
	o, err := newFlow(ctx, s, is.URL)
	if err != nil {
		t.Fatal(err)
	}
	addUsers(t, s, NewUser{Username: "admin", Role: access.Admin}, NewUser{Username: "admin.two", Role: access.Admin},
		NewUser{Username: "sup.wang", Role: access.Supervisor})
	if _, err := s.RequestSSO(ctx, "admin", "sup.wang", "", is.URL, ""); err == nil {
		t.Fatal("issuer without subject accepted")
	}
	g, err := s.RequestSSO(ctx, "admin", "sup.wang", "wang@operator.example", is.URL, "idp-admin-own")
	if err != nil {
		t.Fatal(err)
	}
	is.SignInAs(oidctest.Identity{Subject: "idp-admin-own"})
	if _, err := o.Exchange(ctx, authorize(t, o, "s1", "k1"), "k1", verifier("k1")); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("before confirmation: %v", err)
	}
	if err := s.ConfirmGrant(ctx, "admin", g.ID); !errors.Is(err, ErrRefused) {
		t.Fatalf("requester confirming: %v", err)
	}
	if err := s.ConfirmGrant(ctx, "sup.wang", g.ID); !errors.Is(err, ErrRefused) {
		t.Fatalf("owner confirming: %v", err)
	}
	if err := s.ConfirmGrant(ctx, "admin.two", g.ID); err != nil {
		t.Fatal(err)
	}
	if u, err := o.Exchange(ctx, authorize(t, o, "s2", "k2"), "k2", verifier("k2")); err != nil || u.Username != "sup.wang" {
		t.Fatalf("after confirmation: %+v %v", u, err)
	}
	if got := actions(t, s, "sup.wang"); !strings.Contains(got, "role.grant.requested:admin") || !strings.Contains(got, "user.sso:admin.two") {
		t.Fatalf("audit: %s", got)
	}
}
