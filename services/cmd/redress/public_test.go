package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/intake"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/services/public"
	"github.com/redress/redress/workflows/policy"
)

// `redress serve public` runs with no database URL and no master key: it
// serves its pages and reaches the intake service over gRPC with its own
// credential (a lookup of an unknown case answers "no matching case", not
// "not available"); without the credential it does not start.
func TestServePublicWithoutDatabaseOrKeys(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	gdb := pgtest.Open(t)
	keys, err := crypto.NewKeyring(mustKey(t))
	if err != nil {
		t.Fatal(err)
	}
	ids := &identity.Store{DB: gdb}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := ids.AddUser(ctx, "test", identity.NewUser{Username: public.Actor, Role: access.PublicSite}); err != nil {
		t.Fatal(err)
	}
	token, _, err := ids.IssueToken(ctx, "test", public.Actor, "test", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv := intake.New(intake.Config{DB: gdb, Keys: keys, Policy: policy.New(nil), Log: log})
	defer srv.Close()
	gs := grpcserver.New(log, grpcserver.NewMetrics(), access.Guard{Auth: ids})
	intakev1.RegisterPublicStatusServiceServer(gs.GRPC, srv.PublicStatus())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(ctx, lis) }()

	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL, cfg.MigrateDatabaseURL, cfg.MasterKey, cfg.CommandKey, cfg.TemporalAddress = "", "", "", "", ""
	cfg.IntakeAddr, cfg.PublicAddr, cfg.PublicToken = lis.Addr().String(), freeAddr(t), ""
	if err := runServe(ctx, cfg, log, []string{"public"}); err == nil || !strings.Contains(err.Error(), "REDRESS_PUBLIC_TOKEN") {
		t.Fatalf("serve public without its credential: %v", err)
	}
	cfg.PublicToken = token
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, cfg, log, []string{"public"}) }()

	base := "http://" + cfg.PublicAddr
	giveUp := time.After(30 * time.Second)
	for {
		if resp, err := http.Get(base + "/status"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve public ended before serving: %v", err)
		case <-giveUp:
			t.Fatal("serve public never served its pages")
		case <-time.After(50 * time.Millisecond):
		}
	}
	resp, err := http.PostForm(base+"/status?lang=en", url.Values{"case_number": {"C-2099-999999"}, "code": {"ABCD2345"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(page), "No case matches") {
		t.Fatalf("lookup through the intake service: %d\n%s", resp.StatusCode, page)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve public after cancel: %v", err)
	}
}

func mustKey(t *testing.T) []byte {
	k, err := crypto.ParseMasterKey(crypto.GenerateMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	return k
}
