package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/db"
	"github.com/redress/redress/services/internal/identity"
)

const userUsage = `usage:
  redress user add <username> -role <role> [-name "Display Name"]   (password read from stdin; empty line = OIDC-only)
  redress user disable|enable <username>
  redress user role <username> <role>                                (roles that reveal personal data, approve deletions
                                                                      or administer wait for a second person in the console)
  redress user password <username>                                   (new password read from stdin; ends the account's
                                                                      sessions and revokes its API credentials)
  redress user token <username> [-name n] [-ttl 720h] [-scopes case.submit,case.read]
                                                                     (service accounts only: a person issues their own)
  redress user revoke <token-id>
  redress user list
roles: agent, supervisor, compliance_officer, admin, automation, public_site (the public pages' own account),
       console (the web console's own account: signs people in, nothing else)
`

// runUser manages accounts from the command line (the first administrator
// is made here: "add" sets the role at once, as the operator holding the
// database may). Changes are audited with the actor "cli:<os user>". Role
// changes and credentials go through the same store rules as the console:
// powerful roles wait for a second person, and credentials are minted only
// for service accounts (the command line is nobody's own account).
func runUser(ctx context.Context, cfg config.Config, args []string) error {
	if len(args) < 1 {
		return errors.New(userUsage) //nolint:staticcheck // ST1005: the usage text is printed as is
	}
	if cfg.DatabaseURL == "" {
		return errors.New("DATABASE_URL is not set")
	}
	gdb, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	if sqlDB, err := gdb.DB(); err == nil {
		defer func() { _ = sqlDB.Close() }()
	}
	st := identityStore(cfg, gdb, nil)
	actor := "cli:" + os.Getenv("USER")
	cmd, rest := args[0], args[1:]
	// Flags may follow the username: pull the positional arguments out first.
	var pos []string
	for len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		pos, rest = append(pos, rest[0]), rest[1:]
	}
	fs := flag.NewFlagSet("user "+cmd, flag.ContinueOnError)
	role := fs.String("role", "", "role")
	name := fs.String("name", "", "display name / credential name")
	ttl := fs.Duration("ttl", 30*24*time.Hour, "credential lifetime")
	scopes := fs.String("scopes", "", "comma-separated permissions (default: what the role's job needs, see access.DefaultScopes)")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	pos = append(pos, fs.Args()...)
	need := func(n int) error {
		if len(pos) != n {
			return errors.New(userUsage) //nolint:staticcheck // ST1005: the usage text is printed as is
		}
		return nil
	}
	switch cmd {
	case "add":
		if err := need(1); err != nil {
			return err
		}
		pw, err := readSecret("password (empty = OIDC only): ")
		if err != nil {
			return err
		}
		u, err := st.AddUser(ctx, actor, identity.NewUser{Username: pos[0], DisplayName: *name, Role: access.Role(*role), Password: pw})
		if err != nil {
			return err
		}
		fmt.Printf("user %s added with role %s\n", u.Username, u.Role)
	case "disable", "enable":
		if err := need(1); err != nil {
			return err
		}
		if err := st.SetDisabled(ctx, actor, pos[0], cmd == "disable"); err != nil {
			return err
		}
		fmt.Printf("user %s %sd\n", pos[0], cmd)
	case "role":
		if err := need(2); err != nil {
			return err
		}
		g, err := st.SetRole(ctx, actor, pos[0], access.Role(pos[1]))
		if err != nil {
			return err
		}
		if g != nil {
			fmt.Printf("role %s for %s waits for a second person: grant %s, to confirm in the console (Pending grants)\n", pos[1], pos[0], g.ID)
			return nil
		}
		fmt.Printf("user %s now has role %s\n", pos[0], pos[1])
	case "password":
		if err := need(1); err != nil {
			return err
		}
		pw, err := readSecret("new password: ")
		if err != nil {
			return err
		}
		if err := st.SetPassword(ctx, actor, pos[0], pw); err != nil {
			return err
		}
		fmt.Printf("password of %s set\n", pos[0])
	case "token":
		if err := need(1); err != nil {
			return err
		}
		var perms []access.Permission
		for _, s := range strings.Split(*scopes, ",") {
			if s = strings.TrimSpace(s); s != "" {
				perms = append(perms, access.Permission(s))
			}
		}
		n := *name
		if n == "" {
			n = "cli"
		}
		secret, t, err := st.IssueToken(ctx, actor, pos[0], n, perms, *ttl)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "credential %s for %s expires %s; shown once:\n", t.ID, pos[0], t.ExpiresAt.Format(time.RFC3339))
		fmt.Println(secret)
	case "revoke":
		if err := need(1); err != nil {
			return err
		}
		id, err := uuid.Parse(pos[0])
		if err != nil {
			return fmt.Errorf("token id: %w", err)
		}
		if err := st.RevokeToken(ctx, actor, id); err != nil {
			return err
		}
		fmt.Printf("credential %s revoked\n", id)
	case "list":
		us, err := st.Users(ctx)
		if err != nil {
			return err
		}
		for _, u := range us {
			state := "active"
			if u.Disabled {
				state = "disabled"
			}
			fmt.Printf("%-24s %-20s %-8s %s\n", u.Username, u.Role, state, u.DisplayName)
		}
	default:
		return errors.New(userUsage) //nolint:staticcheck // ST1005: the usage text is printed as is
	}
	return nil
}

// readSecret reads one line from stdin (a prompt goes to stderr when stdin
// is a terminal; echo is not suppressed, so prefer piping it in).
func readSecret(prompt string) (string, error) {
	if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		fmt.Fprint(os.Stderr, prompt)
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
