//go:build dev

package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/db"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/public"
)

// demoUser is a sign-in `make run` creates and prints.
type demoUser struct {
	Username, Name, Password string
	Role                     access.Role
}

var demoUsers = []demoUser{
	{"agent.li", "Li Na (agent)", "demo-agent-pass", access.Agent},
	{"sup.wang", "Wang Fang (supervisor)", "demo-supervisor-pass", access.Supervisor},
	{"comp.zhao", "Zhao Lei (compliance)", "demo-compliance-pass", access.ComplianceOfficer},
	{"admin", "Administrator", "demo-admin-password", access.Admin},
	{"partner.feed", "Partner feed (automation)", "", access.Automation},
}

// seedDemoUsers creates the demo accounts (once) and issues a fresh one-day
// API credential for the automation account, returned for the banner.
func seedDemoUsers(ctx context.Context, st *identity.Store) (string, error) {
	for _, d := range demoUsers {
		_, err := st.AddUser(ctx, "demo", identity.NewUser{Username: d.Username, DisplayName: d.Name, Role: d.Role, Password: d.Password})
		if err != nil && !errors.Is(err, identity.ErrExists) {
			return "", err
		}
	}
	token, _, err := st.IssueToken(ctx, "demo", "partner.feed", "make run", nil, 24*time.Hour)
	return token, err
}

// benchCredential gives a command-line client of a running stack (bench) a
// one-hour credential of the automation account "bench", made on first use.
func benchCredential(ctx context.Context, databaseURL string) (string, error) {
	gdb, err := db.Open(ctx, databaseURL)
	if err != nil {
		return "", err
	}
	if sqlDB, err := gdb.DB(); err == nil {
		defer func() { _ = sqlDB.Close() }()
	}
	st := &identity.Store{DB: gdb}
	_, err = st.AddUser(ctx, "bench", identity.NewUser{Username: "bench", DisplayName: "Benchmark client", Role: access.Automation})
	if err != nil && !errors.Is(err, identity.ErrExists) {
		return "", err
	}
	token, _, err := st.IssueToken(ctx, "bench", "bench", "bench", nil, time.Hour)
	return token, err
}

// demoSignIns is the banner's list of demo accounts.
func demoSignIns() string {
	var b strings.Builder
	b.WriteString("\nDemo sign-ins (API credentials: people issue their own on the console's account page; automation accounts: `redress user token <username>`):\n")
	for _, d := range demoUsers {
		if d.Password == "" {
			fmt.Fprintf(&b, "  %-20s %-13s API only (the credential above, valid 24 h)\n", string(d.Role), d.Username)
			continue
		}
		fmt.Fprintf(&b, "  %-20s %-13s password %s\n", string(d.Role), d.Username, d.Password)
	}
	return b.String()
}

// consoleCredential makes the console's service account (once) and issues
// it a one-day credential, for the in-process console of `redress dev`.
func consoleCredential(ctx context.Context, st *identity.Store) (string, error) {
	return st.ServiceCredential(ctx, "demo", "console", "Web console (service account)", access.Console, "redress dev", 24*time.Hour)
}

// devPublicCredential is the public site's credential, so the development
// stack runs the public pages as they run in production.
func devPublicCredential(ctx context.Context, st *identity.Store) (string, error) {
	return devServiceCredential(ctx, st, public.Actor, "Public pages", access.PublicSite)
}

// devDeletionCredential is the deletion service's own credential, with
// which the deletion service and the worker erase through intake.
func devDeletionCredential(ctx context.Context, st *identity.Store) (string, error) {
	return devServiceCredential(ctx, st, deletionAccount, "Deletion service", access.DeletionService)
}

// devServiceCredential makes a service account (once) and a fresh 30-day
// credential for it, revoking the ones earlier starts issued.
func devServiceCredential(ctx context.Context, st *identity.Store, username, displayName string, role access.Role) (string, error) {
	_, err := st.AddUser(ctx, "demo", identity.NewUser{Username: username, DisplayName: displayName, Role: role})
	if err != nil && !errors.Is(err, identity.ErrExists) {
		return "", err
	}
	old, err := st.Tokens(ctx, username)
	if err != nil {
		return "", err
	}
	for _, t := range old {
		if t.RevokedAt == nil {
			if err := st.RevokeToken(ctx, "demo", t.ID); err != nil && !errors.Is(err, identity.ErrNotFound) {
				return "", err
			}
		}
	}
	token, _, err := st.IssueToken(ctx, "demo", username, "make run", nil, 30*24*time.Hour)
	return token, err
}
