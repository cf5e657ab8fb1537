package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/pgtest"
)

// `redress serve checkpoints` answers /healthz and /readyz on
// REDRESS_CHECKPOINTS_METRICS_ADDR, so an orchestrator can probe the signer like the
// other processes, and stops cleanly when told to.
func TestServeCheckpointsServesProbes(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	keyFile := filepath.Join(t.TempDir(), "checkpoint.key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(key.Seed())), 0o600); err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	cfg := config.Config{DatabaseURL: pgtest.URL(t), CheckpointKeyFile: keyFile, CheckpointsMetricsAddr: addr,
		CheckpointEvery: 1000, CheckpointInterval: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), []string{"checkpoints"})
	}()

	get := func(path string) int {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	// Wait for the listener (the process starting); a process that never
	// serves probes fails here instead of hanging the test binary.
	giveUp := time.After(30 * time.Second)
	for get("/healthz") != http.StatusOK {
		select {
		case err := <-done:
			t.Fatalf("serve checkpoints ended before answering /healthz: %v", err)
		case <-giveUp:
			t.Fatal("serve checkpoints never answered /healthz")
		case <-time.After(50 * time.Millisecond):
		}
	}
	if code := get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz: %d, want 200 (the database answers)", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve checkpoints after cancel: %v", err)
	}
}
