package identity

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	identityv1 "github.com/redress/redress/proto/redress/identity/v1"
	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/identity/oidcclient"
	"github.com/redress/redress/services/internal/identity/oidctest"
	"github.com/redress/redress/services/internal/intake"
)

// identityRig is IdentityService and IntakeService behind the production
// guard on a real socket, as `redress serve intake` runs them.
type identityRig struct {
	srv      *Server
	store    *Store
	clk      *clock
	accounts identityv1.IdentityServiceClient
	cases    intakev1.IntakeServiceClient
	console  string // the console's own credential
}

func newIdentityRig(t *testing.T) *identityRig {
	t.Helper()
	s, clk := newStore(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	gs := grpcserver.New(log, grpcserver.NewMetrics(), access.Guard{Auth: s})
	srv := &Server{Store: s, Log: log}
	identityv1.RegisterIdentityServiceServer(gs.GRPC, srv)
	intakev1.RegisterIntakeServiceServer(gs.GRPC, intake.New(intake.Config{DB: s.DB, Log: log}))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = gs.Serve(ctx, lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	r := &identityRig{srv: srv, store: s, clk: clk, accounts: identityv1.NewIdentityServiceClient(conn), cases: intakev1.NewIntakeServiceClient(conn)}
	addUsers(t, s, NewUser{Username: "agent.li", Role: access.Agent, Password: pw}, NewUser{Username: "admin", Role: access.Admin, Password: pw})
	if r.console, err = s.ServiceCredential(ctx, "test", "console", "Console", access.Console, "console", time.Hour); err != nil {
		t.Fatal(err)
	}
	return r
}

func as(bearer string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+bearer)
}

// signIn signs a person in with the console's credential.
func (r *identityRig) signIn(t *testing.T, username string) string {
	t.Helper()
	resp, err := r.accounts.SignIn(as(r.console), &identityv1.SignInRequest{Username: username, Password: pw})
	if err != nil {
		t.Fatalf("sign-in of %s: %v", username, err)
	}
	return resp.GetSessionToken()
}

// Only a holder of identity.session (the console's account) creates
// sessions; the session it gets is the person's, not the console's.
func TestSignInNeedsIdentitySession(t *testing.T) {
	r := newIdentityRig(t)
	agent := r.signIn(t, "agent.li")
	ownToken, err := r.accounts.IssueOwnToken(as(agent), &identityv1.IssueOwnTokenRequest{Name: "mine"})
	if err != nil {
		t.Fatal(err)
	}
	for who, bearer := range map[string]string{"an agent's session": agent, "an agent's credential": ownToken.GetSecret(), "an administrator's session": r.signIn(t, "admin")} {
		_, err := r.accounts.SignIn(as(bearer), &identityv1.SignInRequest{Username: "agent.li", Password: pw})
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("SignIn as %s: %v, want PermissionDenied", who, err)
		}
		_, err = r.accounts.SignInWithIDToken(as(bearer), &identityv1.SignInWithIDTokenRequest{IdToken: "x.y.z", Nonce: "n"})
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("SignInWithIDToken as %s: %v, want PermissionDenied", who, err)
		}
	}
	if _, err := r.accounts.SignIn(context.Background(), &identityv1.SignInRequest{Username: "agent.li", Password: pw}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("SignIn without a credential: %v", err)
	}
	// A wrong password: UNAUTHENTICATED with its reason (the console's own
	// credential is fine).
	_, err = r.accounts.SignIn(as(r.console), &identityv1.SignInRequest{Username: "agent.li", Password: "not the password"})
	if reason(err) != ReasonBadCredentials {
		t.Errorf("wrong password: %v", err)
	}
	me, err := r.accounts.WhoAmI(as(agent), &identityv1.WhoAmIRequest{})
	if err != nil || me.GetUser().GetUsername() != "agent.li" || me.GetUser().GetRole() != "agent" || me.GetSession().GetCsrfToken() == "" {
		t.Fatalf("WhoAmI: %v %v", me, err)
	}
}

// The console's credential signs people in and does nothing else: it
// lists no accounts, issues and changes nothing, and reads no case.
func TestConsoleCredentialIsNarrow(t *testing.T) {
	r := newIdentityRig(t)
	ctx := as(r.console)
	denied := map[string]error{}
	_, denied["ListUsers"] = r.accounts.ListUsers(ctx, &identityv1.ListUsersRequest{})
	_, denied["ListPendingGrants"] = r.accounts.ListPendingGrants(ctx, &identityv1.ListPendingGrantsRequest{})
	_, denied["IssueOwnToken"] = r.accounts.IssueOwnToken(ctx, &identityv1.IssueOwnTokenRequest{})
	_, denied["IssueToken"] = r.accounts.IssueToken(ctx, &identityv1.IssueTokenRequest{Username: "console"})
	_, denied["SetRole"] = r.accounts.SetRole(ctx, &identityv1.SetRoleRequest{Username: "agent.li", Role: "admin"})
	_, denied["CreateAccount"] = r.accounts.CreateAccount(ctx, &identityv1.CreateAccountRequest{Username: "x.y", Role: "agent"})
	_, denied["ListCases"] = r.cases.ListCases(ctx, &intakev1.ListCasesRequest{})
	_, denied["GetCase"] = r.cases.GetCase(ctx, &intakev1.GetCaseRequest{CaseId: uuid.NewString()})
	_, denied["SubmitComplaint"] = r.cases.SubmitComplaint(ctx, &intakev1.SubmitComplaintRequest{})
	for rpc, err := range denied {
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s with the console's credential: %v, want PermissionDenied", rpc, err)
		}
	}
	// Nor is it a person whose word counts, nor linkable by single sign-on.
	if access.Console.Holds(access.CaseRead) || !access.Console.IsService() {
		t.Error("the console role reads cases or is a person's")
	}
	// Its account is not changed into a person's.
	admin := r.signIn(t, "admin")
	if _, err := r.accounts.SetRole(as(admin), &identityv1.SetRoleRequest{Username: "console", Role: "admin"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("console account made admin: %v", err)
	}
}

// A session that ended, was cut off by a password reset, or whose account
// was disabled is UNAUTHENTICATED at once: nothing outlives revocation.
func TestWhoAmIOfEndedSession(t *testing.T) {
	r := newIdentityRig(t)
	ctx := context.Background()
	whoami := func(bearer string) codes.Code {
		_, err := r.accounts.WhoAmI(as(bearer), &identityv1.WhoAmIRequest{})
		return status.Code(err)
	}
	signedOut := r.signIn(t, "agent.li")
	if c := whoami(signedOut); c != codes.OK {
		t.Fatalf("live session: %v", c)
	}
	if _, err := r.accounts.EndSession(as(signedOut), &identityv1.EndSessionRequest{}); err != nil {
		t.Fatal(err)
	}
	if c := whoami(signedOut); c != codes.Unauthenticated {
		t.Errorf("ended session: %v", c)
	}
	reset := r.signIn(t, "agent.li")
	// Reset by someone else (to the same value, so the rig still signs in):
	// the account's sessions end.
	if err := r.store.SetPassword(ctx, "admin", "agent.li", pw); err != nil {
		t.Fatal(err)
	}
	if c := whoami(reset); c != codes.Unauthenticated {
		t.Errorf("session after a password reset: %v", c)
	}
	disabled := r.signIn(t, "admin")
	if err := r.store.SetDisabled(ctx, "test", "admin", true); err != nil {
		t.Fatal(err)
	}
	if c := whoami(disabled); c != codes.Unauthenticated {
		t.Errorf("disabled account's session: %v", c)
	}
	idle := r.signIn(t, "agent.li")
	r.clk.t = r.clk.t.Add(2 * time.Hour)
	if c := whoami(idle); c != codes.Unauthenticated {
		t.Errorf("idle session: %v", c)
	}
}

// Bad input is INVALID_ARGUMENT naming the field, before the store is asked.
func TestIdentityBadInput(t *testing.T) {
	r := newIdentityRig(t)
	admin, agent := as(r.signIn(t, "admin")), as(r.signIn(t, "agent.li"))
	cases := []struct {
		field string
		call  func() error
	}{
		{"username", func() error {
			_, err := r.accounts.SignIn(as(r.console), &identityv1.SignInRequest{Password: pw})
			return err
		}},
		{"password", func() error {
			_, err := r.accounts.SignIn(as(r.console), &identityv1.SignInRequest{Username: "agent.li", Password: strings.Repeat("x", 2000)})
			return err
		}},
		{"id_token", func() error {
			_, err := r.accounts.SignInWithIDToken(as(r.console), &identityv1.SignInWithIDTokenRequest{Nonce: "n"})
			return err
		}},
		{"new_password", func() error {
			_, err := r.accounts.ChangePassword(agent, &identityv1.ChangePasswordRequest{OldPassword: pw, NewPassword: "short"})
			return err
		}},
		{"ttl_seconds", func() error {
			_, err := r.accounts.IssueOwnToken(agent, &identityv1.IssueOwnTokenRequest{TtlSeconds: -5})
			return err
		}},
		{"role", func() error {
			_, err := r.accounts.CreateAccount(admin, &identityv1.CreateAccountRequest{Username: "new.one", Role: "root"})
			return err
		}},
		{"username", func() error {
			_, err := r.accounts.SetRole(admin, &identityv1.SetRoleRequest{Username: "Not A Name", Role: "agent"})
			return err
		}},
		{"email", func() error {
			_, err := r.accounts.RequestSSOLink(admin, &identityv1.RequestSSOLinkRequest{Username: "agent.li", Email: "not an address"})
			return err
		}},
		{"oidc_subject", func() error {
			_, err := r.accounts.RequestSSOLink(admin, &identityv1.RequestSSOLinkRequest{Username: "agent.li", OidcIssuer: "https://idp.example"})
			return err
		}},
		{"scopes", func() error {
			_, err := r.accounts.IssueToken(admin, &identityv1.IssueTokenRequest{Username: "admin", Scopes: []string{"case.reveal"}})
			return err
		}},
		{"token_id", func() error {
			_, err := r.accounts.RevokeToken(admin, &identityv1.RevokeTokenRequest{TokenId: "42"})
			return err
		}},
		{"grant_id", func() error {
			_, err := r.accounts.ConfirmGrant(admin, &identityv1.ConfirmGrantRequest{})
			return err
		}},
		{"username", func() error {
			_, err := r.accounts.SetDisabled(admin, &identityv1.SetDisabledRequest{Username: "admin", Disabled: true})
			return err
		}},
	}
	for i, c := range cases {
		err := c.call()
		if status.Code(err) != codes.InvalidArgument || !names(err, c.field) {
			t.Errorf("case %d: %v, want INVALID_ARGUMENT naming %s", i, err, c.field)
		}
	}
	// A well-formed request for an account that is not there: NOT_FOUND.
	if _, err := r.accounts.SetRole(admin, &identityv1.SetRoleRequest{Username: "nobody", Role: "agent"}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown account: %v", err)
	}
}

// names reports whether a status names field in its BadRequest details.
func names(err error, field string) bool {
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return true
				}
			}
		}
	}
	return false
}

func reason(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// The identity service, not the console, checks an ID token: the
// provider's signature, the audience (the console's client id) and the
// browser's nonce. The console's credential cannot sign in with a token it
// altered, one for another client, or one bound to another browser.
func TestSignInWithIDTokenChecksTheToken(t *testing.T) {
	r := newIdentityRig(t)
	ctx := context.Background()
	is := oidctest.Start(t, "redress-console", "s3cret")
	addUsers(t, r.store, NewUser{Username: "li.na", Role: access.Agent, OIDCIssuer: is.URL, OIDCSubject: "idp-li"})
	browser, err := oidcclient.New(ctx, is.URL, "redress-console", "s3cret", "http://127.0.0.1:1/signin/oidc/callback")
	if err != nil {
		t.Fatal(err)
	}
	if r.srv.OIDC, err = NewOIDC(ctx, r.store, is.URL, "redress-console"); err != nil {
		t.Fatal(err)
	}
	is.SignInAs(oidctest.Identity{Subject: "idp-li"})
	idToken := func(nonce string) string {
		raw, err := browser.Exchange(ctx, authorizeURL(t, browser.AuthURL("st-"+nonce, nonce, verifier(nonce)), "st-"+nonce), verifier(nonce))
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	signIn := func(raw, nonce string) (*identityv1.SignInWithIDTokenResponse, error) {
		return r.accounts.SignInWithIDToken(as(r.console), &identityv1.SignInWithIDTokenRequest{IdToken: raw, Nonce: nonce})
	}
	resp, err := signIn(idToken("n1"), "n1")
	if err != nil || resp.GetUser().GetUsername() != "li.na" || resp.GetSessionToken() == "" {
		t.Fatalf("sign-in: %v %v", resp, err)
	}
	if me, err := r.accounts.WhoAmI(as(resp.GetSessionToken()), &identityv1.WhoAmIRequest{}); err != nil || me.GetUser().GetUsername() != "li.na" {
		t.Fatalf("WhoAmI of the new session: %v %v", me, err)
	}
	if _, err := signIn(idToken("n2"), "another-browser"); reason(err) != ReasonIDTokenRejected {
		t.Errorf("nonce of another browser: %v", err)
	}
	raw := idToken("n3")
	dot := strings.LastIndex(raw, ".")
	forged := raw[:dot+1] + strings.Repeat("A", len(raw)-dot-1) // the console's own "signature"
	if _, err := signIn(forged, "n3"); reason(err) != ReasonIDTokenRejected {
		t.Errorf("altered token: %v", err)
	}
	is.SignInAs(oidctest.Identity{Subject: "idp-stranger"})
	if _, err := signIn(idToken("n4"), "n4"); reason(err) != ReasonNoAccount {
		t.Errorf("someone without an account: %v", err)
	}
	is.SignInAs(oidctest.Identity{Subject: "idp-li"})
	if r.srv.OIDC, err = NewOIDC(ctx, r.store, is.URL, "another-client"); err != nil {
		t.Fatal(err)
	}
	if _, err := signIn(idToken("n5"), "n5"); reason(err) != ReasonIDTokenRejected {
		t.Errorf("token for another client: %v", err)
	}
}
