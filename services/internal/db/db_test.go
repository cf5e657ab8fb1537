package db_test

import (
	"context"
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
