package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/intake"
	"github.com/redress/redress/services/internal/pgtest"
)

// The escalation service reaches intake's CaseFactsService through the
// guard with its own account's credential, issued once and reused; a
// credential given in REDRESS_ESCALATION_SERVICE_TOKEN is used as it is.
func TestCaseFactsClientCallsAsTheEscalationService(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gdb := pgtest.Open(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := &stack{cfg: config.Config{IntakeAddr: lis.Addr().String()}, log: log, db: gdb}
	guard, err := s.guard(ctx, "intake")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpcserver.New(log, grpcserver.NewMetrics(), guard)
	intakev1.RegisterCaseFactsServiceServer(gs.GRPC, &intake.CaseFacts{DB: gdb})
	go func() { _ = gs.Serve(ctx, lis) }()

	// Only a process that hosts intake (serve all) may go without the
	// credential, its account issuing itself one.
	if _, err := s.caseFactsClient(ctx); err == nil || !strings.Contains(err.Error(), "REDRESS_ESCALATION_SERVICE_TOKEN") {
		t.Fatalf("escalation process without its credential: %v, want refused naming REDRESS_ESCALATION_SERVICE_TOKEN", err)
	}
	s.hostsIntake = true
	c, err := s.caseFactsClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req := &intakev1.ListLeakComplaintsRequest{ReceivedAfter: timestamppb.New(time.Now().Add(-time.Hour))}
	for range 2 {
		if res, err := c.ListLeakComplaints(ctx, req); err != nil || len(res.GetComplaints()) != 0 {
			t.Fatalf("list as the escalation service: %v %v", res, err)
		}
	}
	var role string
	var tokens int64
	gdb.Raw("SELECT role FROM users WHERE username = ?", escalationAccount).Scan(&role)
	gdb.Raw("SELECT count(*) FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.username = ?", escalationAccount).Scan(&tokens)
	if role != "escalation_service" || tokens != 1 {
		t.Fatalf("account role %q with %d credentials; want escalation_service with 1", role, tokens)
	}

	s.cfg.EscalationServiceToken = "rdt_not-a-credential"
	if c, err = s.caseFactsClient(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListLeakComplaints(ctx, req); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("with a given credential that is not valid: %v, want Unauthenticated", err)
	}
}
