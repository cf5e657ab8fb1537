package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/db"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/pgtest"
)

// withStdin runs f with s as standard input (the CLI reads passwords there).
func withStdin(t *testing.T, s string, f func() error) error {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old; _ = r.Close() }()
	go func() { _, _ = w.WriteString(s); _ = w.Close() }() // a failed write shows as the command reading a wrong answer
	return f()
}

func TestUserCommand(t *testing.T) {
	ctx := context.Background()
	cfg := config.Config{DatabaseURL: pgtest.URL(t)}
	run := func(args ...string) error { return runUser(ctx, cfg, args) }
	if err := withStdin(t, "first admin password\n", func() error { return run("add", "root.admin", "-role", "admin", "-name", "First Admin") }); err != nil {
		t.Fatal(err)
	}
	if err := withStdin(t, "x\n", func() error { return run("add", "Bad Name", "-role", "agent") }); err == nil {
		t.Fatal("bad username accepted")
	}
	if err := run("role", "root.admin", "root"); err == nil {
		t.Fatal("unknown role accepted")
	}
	// A role that reveals, approves or administers waits for a second person.
	if err := run("role", "root.admin", "supervisor"); err != nil {
		t.Fatal(err)
	}
	// The CLI is nobody's own account: it mints credentials for automation
	// and console accounts only, within their role.
	if err := run("token", "root.admin"); err == nil || !strings.Contains(err.Error(), "only for yourself or for service accounts") {
		t.Fatalf("a credential for a person from the CLI: %v", err)
	}
	if err := withStdin(t, "", func() error { return run("add", "partner.feed", "-role", "automation") }); err != nil {
		t.Fatal(err)
	}
	if err := run("token", "partner.feed", "-scopes", "user.admin"); err == nil || !strings.Contains(err.Error(), "does not hold") {
		t.Fatalf("scope beyond the role: %v", err)
	}
	if err := run("token", "partner.feed"); err != nil {
		t.Fatalf("a credential for an automation account: %v", err)
	}
	if err := run("disable", "root.admin"); err != nil {
		t.Fatal(err)
	}
	gdb, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	st := &identity.Store{DB: gdb}
	u, err := st.User(ctx, "root.admin")
	if err != nil || u.Role != "admin" || !u.Disabled || u.DisplayName != "First Admin" {
		t.Fatalf("user after the commands: %+v %v", u, err)
	}
	if _, err := st.SignIn(ctx, "root.admin", "first admin password"); err == nil {
		t.Fatal("a disabled account signed in")
	}
	recs, err := audit.ForObject(ctx, gdb, "user", "root.admin")
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Action)
	}
	if err != nil || len(recs) == 0 || !strings.HasPrefix(recs[0].Actor, "cli:") ||
		!strings.Contains(strings.Join(actions, " "), "role.grant.requested") {
		t.Fatalf("audit: %v %+v %v", actions, recs, err)
	}
}

// A partner's credential issued without scopes carries what its job needs
// (submit, read status), not everything the automation role may be given:
// vouching for identities must be asked for by name.
func TestAutomationTokenDefaultScopes(t *testing.T) {
	ctx := context.Background()
	cfg := config.Config{DatabaseURL: pgtest.URL(t)}
	run := func(args ...string) error { return runUser(ctx, cfg, args) }
	if err := withStdin(t, "\n", func() error { return run("add", "partner.one", "-role", "automation") }); err != nil {
		t.Fatal(err)
	}
	if err := run("token", "partner.one"); err != nil {
		t.Fatal(err)
	}
	if err := run("token", "partner.one", "-name", "pipeline", "-scopes", "deletion.submit,deletion.attest"); err != nil {
		t.Fatal(err)
	}
	gdb, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	scopes := func(name string) string {
		var s string
		if err := gdb.Raw(`SELECT array_to_string(scopes, ',') FROM api_tokens WHERE name = ?`, name).Scan(&s).Error; err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got := scopes("cli"); got != "case.submit,case.read,deletion.submit,deletion.read" {
		t.Errorf("default automation credential scopes %q", got)
	}
	if got := scopes("pipeline"); got != "deletion.submit,deletion.attest" {
		t.Errorf("explicit scopes %q", got)
	}
}
