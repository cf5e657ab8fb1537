package db_test

import (
	"context"
	"testing"

	"github.com/redress/redress/services/internal/db"
	"github.com/redress/redress/services/internal/pgtest"
)

func TestMigrationsApplyAndAreCurrent(t *testing.T) {
	gdb := pgtest.Open(t)
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
