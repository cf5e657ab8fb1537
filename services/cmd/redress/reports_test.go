package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/inspection"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/services/internal/reports"
	"github.com/redress/redress/workflows/calendar"
	"github.com/redress/redress/workflows/policy"
)

// `redress audit verify --package` exits 0 on an untouched package and 1
// when one byte of any file changed.
func TestAuditVerifyPackageCommand(t *testing.T) {
	gdb := pgtest.Open(t)
	sqlDB, err := gdb.DB()
	if err != nil {
		t.Fatal(err)
	}
	cals, err := calendar.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	b := &inspection.Builder{Exporter: &reports.Exporter{DB: sqlDB, Calendars: cals}, DB: gdb, Calendars: cals, Policy: policy.New(cals)}
	dir := t.TempDir()
	p := filepath.Join(dir, "package.zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := b.Build(context.Background(), now.Add(-24*time.Hour), now.Add(time.Hour), f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if code := runAudit(context.Background(), config.Config{}, []string{"verify", "--package", p}); code != 0 {
		t.Fatalf("untouched package: exit %d", code)
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// Flip one bit in the first stored file's data (zip local header is 30
	// bytes plus the name): the deflate stream or the digest breaks.
	raw[80] ^= 0x01
	altered := filepath.Join(dir, "altered.zip")
	if err := os.WriteFile(altered, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if code := runAudit(context.Background(), config.Config{}, []string{"verify", "--package", altered}); code == 0 {
		t.Fatal("altered package: exit 0")
	}
}
