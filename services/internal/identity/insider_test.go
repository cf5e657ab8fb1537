package identity

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
)

func addUsers(t *testing.T, s *Store, us ...NewUser) {
	t.Helper()
	for _, nu := range us {
		if _, err := s.AddUser(context.Background(), "cli:root", nu); err != nil {
			t.Fatal(err)
		}
	}
}

func actions(t *testing.T, s *Store, username string) string {
	t.Helper()
	recs, err := audit.ForObject(context.Background(), s.DB, "user", username)
	if err != nil {
		t.Fatal(err)
	}
	var as []string
	for _, r := range recs {
		as = append(as, r.Action+":"+r.Actor)
	}
	return strings.Join(as, " ")
}

// counted flushes the counted events and answers actor's counted refusals
// on the chain as "kind:sample" words (each kind of an entry paired with
// each object it names).
func counted(t *testing.T, s *Store, actor string) string {
	t.Helper()
	if _, err := audit.FlushCounts(context.Background(), s.DB, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var words []string
	s.DB.Raw(`SELECT b.key || ':' || x.sample FROM audit_entries e, jsonb_each(e.details::jsonb -> 'by') b,
		jsonb_array_elements_text(e.details::jsonb -> 'samples') x(sample)
		WHERE e.action = 'access.refused' AND e.actor = ? AND e.object_type = 'principal' AND e.object_id = ?`, actor, actor).Scan(&words)
	return strings.Join(words, " ")
}

// Credentials are minted only for oneself and for service accounts.
func TestCredentialsOnlyForSelfOrAutomation(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	addUsers(t, s, NewUser{Username: "admin", Role: access.Admin, Password: pw},
		NewUser{Username: "sup.wang", Role: access.Supervisor, Password: pw},
		NewUser{Username: "partner.feed", Role: access.Automation})
	if _, _, err := s.IssueToken(ctx, "admin", "sup.wang", "x", nil, time.Hour); !errors.Is(err, ErrRefused) {
		t.Fatalf("admin minting for sup.wang: %v", err)
	}
	if _, _, err := s.IssueToken(ctx, "cli:root", "sup.wang", "x", nil, time.Hour); !errors.Is(err, ErrRefused) {
		t.Fatalf("CLI minting for sup.wang: %v", err)
	}
	if ts, _ := s.Tokens(ctx, "sup.wang"); len(ts) != 0 {
		t.Fatalf("minted: %+v", ts)
	}
	if _, _, err := s.IssueToken(ctx, "sup.wang", "sup.wang", "mine", nil, time.Hour); err != nil {
		t.Fatalf("own credential: %v", err)
	}
	if _, _, err := s.IssueToken(ctx, "admin", "partner.feed", "feed", nil, time.Hour); err != nil {
		t.Fatalf("automation credential: %v", err)
	}
	// The public site's account is a service account too: its credential is
	// minted for it (by the operator, or the development stack at start).
	addUsers(t, s, NewUser{Username: "public-web", Role: access.PublicSite})
	if _, _, err := s.IssueToken(ctx, "cli:root", "public-web", "site", nil, time.Hour); err != nil {
		t.Fatalf("public site credential: %v", err)
	}
	// Issued without scopes (the console's form), a partner credential
	// carries what the job needs, not the power to vouch for identities.
	if ts, _ := s.Tokens(ctx, "partner.feed"); len(ts) != 1 || slices.Contains(ts[0].Scopes, string(access.DeletionAttest)) || len(ts[0].Scopes) == 0 {
		t.Fatalf("default partner credential: %+v", ts)
	}
	// Refusals are counted per actor and minute, naming the account tried.
	if got := actions(t, s, "sup.wang"); strings.Contains(got, "access.refused") || !strings.Contains(got, "token.issue:sup.wang") {
		t.Fatalf("audit: %s", got)
	}
	if got := counted(t, s, "admin"); !strings.Contains(got, "token.issue:user:sup.wang") {
		t.Fatalf("counted refusals of admin: %s", got)
	}
}

// An administrator's password reset of another account ends its sessions
// and revokes its credentials: whoever held them must sign in again.
func TestPasswordResetEndsSessionsAndCredentials(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	addUsers(t, s, NewUser{Username: "agent.li", Role: access.Agent, Password: pw})
	u, _ := s.User(ctx, "agent.li")
	sess, err := s.NewSession(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := s.IssueToken(ctx, "agent.li", "agent.li", "mine", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, "admin", "agent.li", "a brand new password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionFor(ctx, sess.Token); !errors.Is(err, access.ErrUnauthenticated) {
		t.Fatalf("session after reset: %v", err)
	}
	if _, err := s.Authenticate(ctx, secret); !errors.Is(err, access.ErrUnauthenticated) {
		t.Fatalf("credential after reset: %v", err)
	}
	if got := actions(t, s, "agent.li"); !strings.Contains(got, "user.password.set:admin") {
		t.Fatalf("audit: %s", got)
	}
}

// Roles that reveal personal data, approve deletions or administer wait
// for a second person; nobody changes their own role; a person's account
// never becomes a service account; a role change revokes the account's
// credentials.
func TestRoleGrantsNeedSecondPerson(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	addUsers(t, s, NewUser{Username: "admin", Role: access.Admin, Password: pw},
		NewUser{Username: "admin.two", Role: access.Admin, Password: pw},
		NewUser{Username: "comp.zhao", Role: access.ComplianceOfficer, Password: pw},
		NewUser{Username: "agent.li", Role: access.Agent, Password: pw},
		NewUser{Username: "partner.feed", Role: access.Automation})
	role := func(name string) string {
		u, err := s.User(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return u.Role
	}
	if _, err := s.SetRole(ctx, "admin", "admin", access.ComplianceOfficer); !errors.Is(err, ErrRefused) {
		t.Fatalf("own role: %v", err)
	}
	if _, err := s.SetRole(ctx, "admin", "agent.li", access.Automation); !errors.Is(err, ErrRefused) {
		t.Fatalf("person to automation: %v", err)
	}
	if _, err := s.SetRole(ctx, "admin", "partner.feed", access.Agent); !errors.Is(err, ErrRefused) {
		t.Fatalf("automation to person: %v", err)
	}
	if _, err := s.SetRole(ctx, "admin", "agent.li", access.PublicSite); !errors.Is(err, ErrRefused) {
		t.Fatalf("person to public site: %v", err)
	}
	secret, _, err := s.IssueToken(ctx, "agent.li", "agent.li", "mine", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.SetRole(ctx, "admin", "agent.li", access.Supervisor)
	if err != nil || g == nil || role("agent.li") != "agent" {
		t.Fatalf("grant: %+v %v, role %s", g, err, role("agent.li"))
	}
	if _, err := s.SetRole(ctx, "admin.two", "agent.li", access.Admin); !errors.Is(err, ErrPendingExists) {
		t.Fatalf("second pending grant: %v", err)
	}
	for _, who := range []string{"admin", "agent.li", "partner.feed", "nobody"} {
		if err := s.ConfirmGrant(ctx, who, g.ID); !errors.Is(err, ErrRefused) {
			t.Fatalf("confirm by %s: %v", who, err)
		}
	}
	if err := s.ConfirmGrant(ctx, "comp.zhao", g.ID); err != nil || role("agent.li") != "supervisor" {
		t.Fatalf("confirm by compliance officer: %v, role %s", err, role("agent.li"))
	}
	if err := s.ConfirmGrant(ctx, "admin.two", g.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("confirmed twice: %v", err)
	}
	if _, err := s.Authenticate(ctx, secret); !errors.Is(err, access.ErrUnauthenticated) {
		t.Fatalf("credential survived a role change: %v", err)
	}
	// An administrator grant: compliance officers may not confirm it.
	g, err = s.SetRole(ctx, "admin", "agent.li", access.Admin)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ConfirmGrant(ctx, "comp.zhao", g.ID); !errors.Is(err, ErrRefused) {
		t.Fatalf("officer confirming admin: %v", err)
	}
	if err := s.RejectGrant(ctx, "comp.zhao", g.ID); err != nil || role("agent.li") != "supervisor" {
		t.Fatalf("reject: %v, role %s", err, role("agent.li"))
	}
	got := actions(t, s, "agent.li")
	for _, want := range []string{"role.grant.requested:admin", "access.refused:admin", "role.grant.confirmed:comp.zhao", "user.role:comp.zhao", "role.grant.rejected:comp.zhao"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit: no %s in %s", want, got)
		}
	}
}

// Fifty refused mints for another person's account are each refused, and
// become one access.refused entry with count 50 after a flush, not fifty.
func TestRepeatedAccountRefusalsAreCounted(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	addUsers(t, s, NewUser{Username: "admin", Role: access.Admin, Password: pw},
		NewUser{Username: "sup.wang", Role: access.Supervisor, Password: pw})
	var before int64
	s.DB.Table("audit_entries").Count(&before)
	for range 50 {
		if _, _, err := s.IssueToken(ctx, "admin", "sup.wang", "x", nil, time.Hour); !errors.Is(err, ErrRefused) {
			t.Fatalf("admin minting for sup.wang: %v", err)
		}
	}
	if _, err := audit.FlushCounts(ctx, s.DB, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var after int64
	s.DB.Table("audit_entries").Count(&after)
	var counts []int64
	s.DB.Raw(`SELECT (details::jsonb ->> 'count')::bigint FROM audit_entries
		WHERE action = 'access.refused' AND actor = 'admin' AND object_type = 'principal' AND object_id = 'admin'`).Scan(&counts)
	if after-before != 1 || len(counts) != 1 || counts[0] != 50 {
		t.Fatalf("50 refusals: %d new chain entries, counts %v; want 1 entry with count 50", after-before, counts)
	}
}
