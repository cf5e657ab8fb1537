// Package pgtest gives each test its own real PostgreSQL database, cloned
// from a migrated template (CREATE DATABASE ... TEMPLATE is ~20 ms).
//
// The server comes from REDRESS_TEST_DATABASE_URL (set by `make test`); when
// it is unset, the project's deploy/dev/pg.sh starts a throwaway cluster.
// That URL's role owns the tables (it migrates); tests connect as the
// services do, as the runtime login role RuntimeUser (a member of
// redress_runtime, see migration 00012), and take OwnerURL only to do what
// the services cannot (tamper with the audit chain, create a customer schema).
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/db"
)

const templateName = "redress_template"

// RuntimeUser and RuntimePassword are the runtime login role of the test
// server, the same deploy/dev/pg.sh creates for `make run`.
const (
	RuntimeUser     = "redress_app"
	RuntimePassword = "redress_app"
)

// TemporalUser and TemporalPassword are the login role of an embedded
// Temporal server on PostgreSQL, the one deploy/dev/pg.sh creates.
const (
	TemporalUser     = "temporal"
	TemporalPassword = "temporal"
)

// Logins are the login roles of the processes that connect as their own
// service's role (deploy/dev/pg.sh makes the same), each with the NOLOGIN
// roles it is a member of (migrations 00019, 00020); a login's password is
// its name.
var Logins = map[string][]string{
	"redress_intake_app":      {"redress_intake", "redress_identity"},
	"redress_deletion_app":    {"redress_deletion"},
	"redress_reporting_app":   {"redress_reporting"},
	"redress_checkpoints_app": {"redress_checkpoints"},
	"redress_escalation_app":  {"redress_escalation"},
}

var (
	once       sync.Once
	serverURL  string
	prepareErr error
)

// URL returns the connection URL of a fresh, migrated database for this test,
// as the runtime role; the database is dropped when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(prepare)
	if prepareErr != nil {
		t.Fatalf("pgtest: %v", prepareErr)
	}
	name := "t_" + randomHex(8)
	admin := openAdmin(t)
	if _, err := admin.Exec(fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, templateName)); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
		_ = admin.Close()
	})
	return RuntimeURL(withDatabase(serverURL, name))
}

// TemporalURL returns the URL of a fresh, empty pair of databases for an
// embedded Temporal server on PostgreSQL (NAME for persistence and
// NAME_visibility, owned by TemporalUser, as deploy/dev/pg.sh makes them),
// connecting as TemporalUser; both are dropped when the test ends.
func TemporalURL(t testing.TB) string {
	t.Helper()
	once.Do(prepare)
	if prepareErr != nil {
		t.Fatalf("pgtest: %v", prepareErr)
	}
	name := "tt_" + randomHex(8)
	admin := openAdmin(t)
	t.Cleanup(func() { _ = admin.Close() })
	for _, db := range []string{name, name + "_visibility"} {
		if _, err := admin.Exec(fmt.Sprintf("CREATE DATABASE %s OWNER %s", db, TemporalUser)); err != nil {
			t.Fatalf("pgtest: create database: %v", err)
		}
		t.Cleanup(func() { _, _ = admin.Exec(fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", db)) })
	}
	u, err := url.Parse(withDatabase(serverURL, name))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	u.User = url.UserPassword(TemporalUser, TemporalPassword)
	return u.String()
}

// OwnerURL is u (a URL from URL) connecting as the owner of the tables.
func OwnerURL(u string) string {
	once.Do(prepare)
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return withDatabase(serverURL, strings.TrimPrefix(p.Path, "/"))
}

// Owner returns a handle on db's database as the owner of the tables (to do
// what the services cannot, such as get behind the audit trigger), closed
// when the test ends.
func Owner(t testing.TB, db *gorm.DB) *gorm.DB {
	t.Helper()
	var name string
	if err := db.Raw("SELECT current_database()").Scan(&name).Error; err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	once.Do(prepare)
	return OpenURL(t, withDatabase(serverURL, name))
}

// Open returns a GORM handle on a fresh, migrated database for this test,
// connected as the runtime role.
func Open(t testing.TB) *gorm.DB {
	t.Helper()
	return OpenURL(t, URL(t))
}

// OpenURL returns a GORM handle on u, closed when the test ends.
func OpenURL(t testing.TB, u string) *gorm.DB {
	t.Helper()
	gdb, err := db.Open(context.Background(), u)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if sqlDB, err := gdb.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	return gdb
}

func prepare() {
	serverURL = os.Getenv("REDRESS_TEST_DATABASE_URL")
	if serverURL == "" {
		serverURL, prepareErr = startCluster()
		if prepareErr != nil {
			return
		}
	}
	prepareErr = buildTemplate()
}

// buildTemplate migrates a template database once per server. Test binaries
// of several packages run at once, so the work is serialised by an advisory lock.
func buildTemplate() error {
	admin, err := sql.Open("pgx", withDatabase(serverURL, "postgres"))
	if err != nil {
		return err
	}
	defer func() { _ = admin.Close() }()
	ctx := context.Background()
	conn, err := admin.Conn(ctx)
	if err != nil {
		return fmt.Errorf("reach test server: %w", err)
	}
	defer func() { _ = conn.Close() }()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(727274)"); err != nil {
		return err
	}
	// Closing conn (deferred above) ends the session and so releases the lock
	// even when this unlock fails.
	defer func() { _, _ = conn.ExecContext(ctx, "SELECT pg_advisory_unlock(727274)") }()

	// The runtime login role is cluster-wide; its privileges come with each
	// database from the template's migrations.
	if _, err := conn.ExecContext(ctx, `DO $$ BEGIN
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'redress_runtime') THEN CREATE ROLE redress_runtime NOLOGIN; END IF;
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '`+RuntimeUser+`') THEN
			CREATE ROLE `+RuntimeUser+` LOGIN PASSWORD '`+RuntimePassword+`' IN ROLE redress_runtime;
		END IF;
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '`+TemporalUser+`') THEN
			CREATE ROLE `+TemporalUser+` LOGIN PASSWORD '`+TemporalPassword+`';
		END IF;
	END $$`); err != nil {
		return fmt.Errorf("create the runtime and Temporal roles: %w", err)
	}
	for login, roles := range Logins {
		stmt := "DO $$ BEGIN\n"
		for _, r := range roles {
			stmt += "IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" + r + "') THEN CREATE ROLE " + r + " NOLOGIN; END IF;\n"
		}
		stmt += "IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" + login + "') THEN CREATE ROLE " + login +
			" LOGIN PASSWORD '" + login + "'; END IF;\nEND $$; GRANT " + strings.Join(roles, ", ") + " TO " + login
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create the login role %s: %w", login, err)
		}
	}

	// A template is rebuilt by each test run (a new binary may carry new migrations).
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", templateName).Scan(&exists); err != nil {
		return err
	}
	if exists {
		tpl, err := sql.Open("pgx", withDatabase(serverURL, templateName))
		if err != nil {
			return err
		}
		err = db.Migrate(ctx, tpl)
		_ = tpl.Close()
		if err == nil {
			return nil
		}
		// A template migrated by another branch's binary (migrations it has
		// that this one lacks, or out of order) is thrown away and rebuilt.
		if _, err := conn.ExecContext(ctx, "DROP DATABASE "+templateName+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop a stale template: %w", err)
		}
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+templateName); err != nil {
		return fmt.Errorf("create template: %w", err)
	}
	tpl, err := sql.Open("pgx", withDatabase(serverURL, templateName))
	if err != nil {
		return err
	}
	defer func() { _ = tpl.Close() }()
	return db.Migrate(ctx, tpl)
}

func startCluster() (string, error) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	out, err := exec.Command("bash", filepath.Join(root, "deploy", "dev", "pg.sh"), "start",
		filepath.Join(root, ".data", "pgtest"), "55433", "--fast").Output()
	if err != nil {
		return "", fmt.Errorf("start test PostgreSQL with deploy/dev/pg.sh (or set REDRESS_TEST_DATABASE_URL): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

func openAdmin(t testing.TB) *sql.DB {
	admin, err := sql.Open("pgx", withDatabase(serverURL, "postgres"))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return admin
}

func withDatabase(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + name
	return u.String()
}

// RuntimeURL is u with the runtime login role's credentials (pg.sh creates it too).
func RuntimeURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.User = url.UserPassword(RuntimeUser, RuntimePassword)
	return p.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// LoginURL is u (a URL from URL) connecting as login, one of Logins.
func LoginURL(u, login string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.User = url.UserPassword(login, login)
	return p.String()
}

// As returns a handle on db's database as login (one of Logins), closed when
// the test ends: what that process can do, and nothing more.
func As(t testing.TB, db *gorm.DB, login string) *gorm.DB {
	t.Helper()
	var name string
	if err := db.Raw("SELECT current_database()").Scan(&name).Error; err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	once.Do(prepare)
	return OpenURL(t, LoginURL(withDatabase(serverURL, name), login))
}
