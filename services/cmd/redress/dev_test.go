//go:build dev

package main

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redress/redress/services/internal/config"
)

// `redress dev` runs the embedded Temporal server on PostgreSQL unless
// REDRESS_TEMPORAL_STORE=sqlite, and says what is missing rather than
// falling back to another store.
func TestEmbeddedTemporalStore(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := config.Config{DataDir: t.TempDir(), TemporalStore: "postgres"}
	if _, _, err := embeddedTemporal(cfg, log); err == nil || !strings.Contains(err.Error(), "REDRESS_TEMPORAL_DATABASE_URL") {
		t.Fatalf("postgres without a URL: err = %v, want one naming REDRESS_TEMPORAL_DATABASE_URL", err)
	}
	cfg.TemporalDatabaseURL = "postgres://temporal:secret@127.0.0.1:55432/temporal?sslmode=disable"
	o, where, err := embeddedTemporal(cfg, log)
	if err != nil || o.PostgresURL != cfg.TemporalDatabaseURL || o.DatabaseFile != "" {
		t.Fatalf("postgres: %+v, %v", o, err)
	}
	if strings.Contains(where, "secret") {
		t.Fatalf("the banner's store %q shows the password", where)
	}
	cfg.TemporalStore = "sqlite"
	if o, _, err = embeddedTemporal(cfg, log); err != nil || o.PostgresURL != "" || o.DatabaseFile != filepath.Join(cfg.DataDir, "temporal.db") {
		t.Fatalf("sqlite: %+v, %v", o, err)
	}
	cfg.TemporalStore = "cassandra"
	if _, _, err = embeddedTemporal(cfg, log); err == nil {
		t.Fatal("an unknown store: no error")
	}
}
