package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/intake"
	"github.com/redress/redress/services/internal/pgtest"
)

// The deletion service reaches intake's ErasureService through the guard
// with the credential given in REDRESS_DELETION_SERVICE_TOKEN, used as it
// is; without one it refuses to start, unless the process hosts intake too
// (`serve all`): then its own account's credential is issued once and reused.
func TestErasureClientCallsAsTheDeletionService(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gdb := pgtest.Open(t)
	master, _ := crypto.ParseMasterKey(crypto.GenerateMasterKey())
	keys, err := crypto.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := &stack{cfg: config.Config{IntakeAddr: lis.Addr().String()}, log: log, db: gdb, keys: keys}
	if _, err := s.erasureClient(ctx); err == nil || !strings.Contains(err.Error(), "REDRESS_DELETION_SERVICE_TOKEN") {
		t.Fatalf("without a credential, intake elsewhere: %v, want refused naming REDRESS_DELETION_SERVICE_TOKEN", err)
	}
	s.hostsIntake = true
	guard, _ := s.guard(ctx, "intake") // reads the identity tables itself
	gs := grpcserver.New(log, grpcserver.NewMetrics(), guard)
	intakev1.RegisterErasureServiceServer(gs.GRPC, &intake.Erasure{DB: gdb, Keys: keys})
	go func() { _ = gs.Serve(ctx, lis) }()

	c, err := s.erasureClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req := &intakev1.LocateRequest{Subject: &intakev1.ErasureSubject{DeletionRequestId: "0f3b5f8e-8f44-4e8e-9c1a-2b1f4d1c9a01",
		EmailIndex: keys.EmailIndex("nobody@example.com")}}
	for range 2 {
		if found, err := c.Locate(ctx, req); err != nil || len(found.GetItems()) != 0 {
			t.Fatalf("locate as the deletion service: %v %v", found, err)
		}
	}
	var role string
	var tokens int64
	gdb.Raw("SELECT role FROM users WHERE username = ?", deletionAccount).Scan(&role)
	gdb.Raw("SELECT count(*) FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.username = ?", deletionAccount).Scan(&tokens)
	if role != "deletion_service" || tokens != 1 {
		t.Fatalf("account role %q with %d credentials; want deletion_service with 1", role, tokens)
	}

	s.cfg.DeletionServiceToken = "rdt_not-a-credential"
	c, err = s.erasureClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Locate(ctx, req); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("with a given credential that is not valid: %v, want Unauthenticated", err)
	}
}
