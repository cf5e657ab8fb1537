package db_test

import (
	"context"
	"strings"
	"testing"

	"github.com/redress/redress/services/internal/db"
	"github.com/redress/redress/services/internal/pgtest"
)

func TestMigrationsApplyAndAreCurrent(t *testing.T) {
	gdb := pgtest.OpenURL(t, pgtest.OwnerURL(pgtest.URL(t))) // migrations run as the owner
	sqlDB, _ := gdb.DB()
	// Applying again is a no-op: the template is already at the latest version.
	if err := db.Migrate(context.Background(), sqlDB); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	v, err := db.Version(context.Background(), sqlDB)
	if err != nil || v < 1 {
		t.Fatalf("version = %d, %v; want >= 1", v, err)
	}
	var n int
	if err := gdb.Raw("SELECT count(*) FROM audit_head").Scan(&n).Error; err != nil || n != 1 {
		t.Fatalf("audit_head rows = %d, %v; want 1", n, err)
	}
}

// A table a later migration creates (as the owner) is readable and writable
// by the services' runtime role without a grant of its own.
func TestRuntimeRoleReachesLaterTables(t *testing.T) {
	url := pgtest.URL(t)
	owner := pgtest.OpenURL(t, pgtest.OwnerURL(url))
	if err := owner.Exec("CREATE TABLE later_table (id bigserial PRIMARY KEY, v text)").Error; err != nil {
		t.Fatal(err)
	}
	runtime := pgtest.OpenURL(t, url)
	for _, s := range []string{"INSERT INTO later_table (v) VALUES ('a')", "UPDATE later_table SET v = 'b'", "DELETE FROM later_table"} {
		if err := runtime.Exec(s).Error; err != nil {
			t.Errorf("%s as the runtime role: %v", s, err)
		}
	}
	if err := runtime.Exec("DROP TABLE later_table").Error; err == nil {
		t.Error("the runtime role dropped a table")
	}
}

// Every table of the migrated schema has its owning service in db.Owners,
// and db.Owners names no table that does not exist.
func TestEveryTableHasOneOwner(t *testing.T) {
	gdb := pgtest.Open(t)
	var tables []string
	if err := gdb.Raw(`SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`).Scan(&tables).Error; err != nil {
		t.Fatal(err)
	}
	if len(tables) == 0 {
		t.Fatal("no tables in the migrated schema")
	}
	seen := map[string]bool{}
	for _, tb := range tables {
		seen[tb] = true
		if _, ok := db.Owners[tb]; !ok {
			t.Errorf("table %s has no owner: name its service in db.Owners (services/internal/db/owners.go)", tb)
		}
	}
	for tb := range db.Owners {
		if !seen[tb] {
			t.Errorf("db.Owners names %s, which the schema does not have", tb)
		}
	}
}

// serviceRoles are the database roles of the services (migration 00019).
var serviceRoles = map[db.Service]string{
	db.Intake: "redress_intake", db.Deletion: "redress_deletion", db.Escalation: "redress_escalation",
	db.Reporting: "redress_reporting", db.Identity: "redress_identity",
}

// shared is what a service's role may do on tables it does not own: append
// to the audit chain, keep the subject keys of the people whose data it owns,
// and read the signed checkpoints (escalation's filing packages and
// reporting's inspection packages carry them), and, for reporting, read its
// read model.
func shared(svc db.Service, table, priv string) bool {
	switch table {
	case "audit_entries":
		return priv == "SELECT" || priv == "INSERT"
	case "audit_head":
		return priv == "SELECT"
	case "audit_counts":
		return true
	case "audit_checkpoints": // filing and inspection packages carry the checkpoints covering their entries
		return (svc == db.Escalation || svc == db.Reporting) && priv == "SELECT"
	case "subject_keys":
		return (svc == db.Intake || svc == db.Deletion) && priv != "DELETE"
	case "cases", "deadlines", "deletion_requests", "escalations", "escalation_breaches":
		return svc == db.Reporting && priv == "SELECT"
	case "calendar_loads": // every service that counts working days reads the calendars in force
		return priv == "SELECT" && (svc == db.Deletion || svc == db.Escalation || svc == db.Reporting)
	}
	return false
}

// Each service's role reaches its own tables and nothing of another's but
// the shared exceptions: checked for every table and privilege, then shown
// in practice — the deletion role can neither read nor change complainants,
// the escalation role cannot write a notice to a complainant.
func TestServiceRolesReachOnlyTheirTables(t *testing.T) {
	owner := pgtest.OpenURL(t, pgtest.OwnerURL(pgtest.URL(t)))
	for table, ownerSvc := range db.Owners {
		if ownerSvc == db.Migrations {
			continue
		}
		for svc, role := range serviceRoles {
			for _, priv := range []string{"SELECT", "INSERT", "UPDATE", "DELETE"} {
				var has bool
				if err := owner.Raw("SELECT has_table_privilege(?, ?, ?)", role, table, priv).Scan(&has).Error; err != nil {
					t.Fatal(err)
				}
				if want := svc == ownerSvc || shared(svc, table, priv); has != want {
					t.Errorf("%s %s on %s (owned by %s): %v, want %v", role, priv, table, ownerSvc, has, want)
				}
			}
		}
	}
	as := func(role, stmt string) error {
		tx := owner.Begin()
		defer tx.Rollback()
		if err := tx.Exec("SET LOCAL ROLE " + role).Error; err != nil {
			t.Fatal(err)
		}
		return tx.Exec(stmt).Error
	}
	denied := func(err error) bool { return err != nil && strings.Contains(err.Error(), "42501") }
	for _, c := range []struct{ role, stmt string }{
		{"redress_deletion", "SELECT count(*) FROM complainants"},
		{"redress_deletion", "UPDATE complainants SET phone_index = NULL"},
		{"redress_deletion", "UPDATE cases SET leak_source = ''"},
		{"redress_escalation", `INSERT INTO notifications (id, case_id, kind, dedupe_key, status, created_at)
			VALUES (gen_random_uuid(), gen_random_uuid(), 'incident', 'x', 'pending', now())`},
		{"redress_intake", "INSERT INTO escalations (id, kind, status, reason, dedupe_key, created_at) VALUES (gen_random_uuid(), 'manual', 'open', 'x', 'x', now())"},
		{"redress_reporting", "UPDATE cases SET overdue = true"},
		{"redress_escalation", "DELETE FROM audit_entries"},
	} {
		if err := as(c.role, c.stmt); !denied(err) {
			t.Errorf("as %s, %q: %v; want permission denied", c.role, c.stmt, err)
		}
	}
	// The checkpoint signer's role reads the chain and stores checkpoints only.
	for _, table := range []string{"audit_entries", "audit_head", "audit_counts", "audit_checkpoints", "cases", "users"} {
		for _, priv := range []string{"SELECT", "INSERT", "UPDATE", "DELETE"} {
			var has bool
			if err := owner.Raw("SELECT has_table_privilege('redress_checkpoints', ?, ?)", table, priv).Scan(&has).Error; err != nil {
				t.Fatal(err)
			}
			want := (priv == "SELECT" && table != "cases" && table != "users" && table != "audit_counts") ||
				(priv == "INSERT" && table == "audit_checkpoints")
			if has != want {
				t.Errorf("redress_checkpoints %s on %s: %v, want %v", priv, table, has, want)
			}
		}
	}
	for _, c := range []struct{ role, stmt string }{
		{"redress_deletion", "SELECT count(*) FROM deletion_requests"},
		{"redress_escalation", "SELECT count(*) FROM escalations"},
		{"redress_reporting", "SELECT count(*) FROM cases"},
		{"redress_intake", "SELECT * FROM audit_lock_head()"},
	} {
		if err := as(c.role, c.stmt); err != nil {
			t.Errorf("as %s, %q: %v", c.role, c.stmt, err)
		}
	}
}
