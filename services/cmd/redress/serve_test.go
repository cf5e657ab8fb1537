package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/db"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/pgtest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lis.Close() }()
	return lis.Addr().String()
}

// `redress serve deletion` alone answers DeletionService (and, to the
// escalation service only, DeletionFactsService), gRPC health and
// its /readyz on its own addresses, and serves nothing of the other
// services; it authenticates its callers through IdentityService, served
// by `redress serve intake`; it stops cleanly when told to.
func TestServeDeletionAlone(t *testing.T) {
	url := pgtest.URL(t)
	cfg, err := config.Load() // the defaults, then this test's addresses
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL, cfg.MasterKey, cfg.CommandKey = url, crypto.GenerateMasterKey(), crypto.GenerateMasterKey()
	cfg.TemporalAddress = freeAddr(t) // nothing listens: DeletionService reads without it
	cfg.DeletionAddr, cfg.DeletionMetricsAddr = freeAddr(t), freeAddr(t)
	cfg.IntakeAddr, cfg.IntakeMetricsAddr = freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gdb, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	ids := &identity.Store{DB: gdb}
	if _, err := ids.AddUser(ctx, "test", identity.NewUser{Username: "feed", DisplayName: "Feed", Role: access.Automation}); err != nil {
		t.Fatal(err)
	}
	token, _, err := ids.IssueToken(ctx, "test", "feed", "test", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DeletionServiceToken, err = ids.ServiceCredential(ctx, "test", deletionAccount, "Deletion service", access.DeletionService, "test", time.Hour); err != nil {
		t.Fatal(err)
	}
	// Each process connects as its own service's database role.
	done := make(chan error, 1)
	deletionCfg := cfg
	deletionCfg.DatabaseURL = pgtest.LoginURL(url, "redress_deletion_app")
	go func() {
		done <- runServe(ctx, deletionCfg, slog.New(slog.NewTextHandler(io.Discard, nil)), []string{"deletion"})
	}()
	intakeDone := make(chan error, 1)
	intakeCfg := cfg
	intakeCfg.DatabaseURL = pgtest.LoginURL(url, "redress_intake_app")
	go func() {
		intakeDone <- runServe(ctx, intakeCfg, slog.New(slog.NewTextHandler(io.Discard, nil)), []string{"intake"})
	}()

	conn, err := grpc.NewClient(cfg.DeletionAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	giveUp := time.Now().Add(30 * time.Second)
	for {
		cctx, ccancel := context.WithTimeout(ctx, time.Second)
		resp, err := healthpb.NewHealthClient(conn).Check(cctx, &healthpb.HealthCheckRequest{})
		ccancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve deletion ended before its health check answered: %v", err)
		default:
		}
		if time.Now().After(giveUp) {
			t.Fatalf("serve deletion's health check did not answer SERVING on %s: %v", cfg.DeletionAddr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r, err := http.Get("http://" + cfg.DeletionMetricsAddr + "/readyz")
	if err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("deletion /readyz on %s: %v %v, want 200", cfg.DeletionMetricsAddr, r, err)
	}
	_ = r.Body.Close()

	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	if _, err := deletionv1.NewDeletionServiceClient(conn).ListDeletions(authed, &deletionv1.ListDeletionsRequest{}); err != nil {
		t.Errorf("ListDeletions on the deletion process: %v", err)
	}
	_, err = intakev1.NewIntakeServiceClient(conn).ListCases(authed, &intakev1.ListCasesRequest{})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("IntakeService on the deletion address: %v, want Unimplemented (served by the intake process only)", err)
	}
	if _, err := deletionv1.NewDeletionServiceClient(conn).ListDeletions(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer rdt_unknown"),
		&deletionv1.ListDeletionsRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("ListDeletions with an unknown credential: %v, want Unauthenticated", err)
	}
	// DeletionFactsService answers the escalation service's credential, as
	// the escalation process dials it, and nobody else.
	escCfg := cfg
	if escCfg.EscalationServiceToken, err = ids.ServiceCredential(ctx, "test", escalationAccount, "Escalation service", access.EscalationService, "test", time.Hour); err != nil {
		t.Fatal(err)
	}
	facts, err := (&stack{cfg: escCfg}).deletionFactsClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	unknown := &deletionv1.GetDeletionFactsRequest{RequestId: "6d0c3a52-5b0e-4c55-9f43-0a7c1b8e2f10"}
	if _, err := facts.GetDeletionFacts(ctx, unknown); status.Code(err) != codes.NotFound {
		t.Errorf("GetDeletionFacts as the escalation service: %v, want NotFound", err)
	}
	if _, err := deletionv1.NewDeletionFactsServiceClient(conn).GetDeletionFacts(authed, unknown); status.Code(err) != codes.PermissionDenied {
		t.Errorf("GetDeletionFacts as an automation account: %v, want PermissionDenied", err)
	}
	cancel()
	if err := <-intakeDone; err != nil {
		t.Errorf("serve intake after cancel: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve deletion after cancel: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve deletion did not stop within 30 s")
	}
}

// Each process is refused a start without what it uses, and needs nothing
// more: reporting runs without Temporal and keys, the console without any
// key, the public pages without the database, Temporal or keys.
func TestServeNeedsOnlyWhatItUses(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	base := config.Config{DatabaseURL: "postgres://nobody@127.0.0.1:1/none", ProviderType: "app_operator"}
	for _, name := range []string{"intake", "deletion", "escalation", "worker"} {
		cfg := base
		cfg.TemporalAddress, cfg.MasterKey = "127.0.0.1:1", crypto.GenerateMasterKey()
		err := runServe(context.Background(), cfg, log, []string{name})
		if err == nil || !strings.Contains(err.Error(), "REDRESS_COMMAND_KEY") {
			t.Errorf("serve %s without the command key: %v, want refused naming REDRESS_COMMAND_KEY", name, err)
		}
	}
	for name, n := range map[string]needs{"reporting": needDB, "checkpoints": needDB, "console": 0, "public": 0, "inbound": 0} {
		if got := processes[name].needs; got != n {
			t.Errorf("serve %s needs %04b, want %04b", name, got, n)
		}
	}
	if err := runServe(context.Background(), config.Config{}, log, []string{"inbound"}); err == nil ||
		!strings.Contains(err.Error(), "REDRESS_INBOUND_SERVICE_TOKEN") {
		t.Errorf("serve inbound without its credential: %v, want refused naming REDRESS_INBOUND_SERVICE_TOKEN", err)
	}
	if err := runServe(context.Background(), base, log, []string{"nonsense"}); err == nil || !strings.Contains(err.Error(), "intake, deletion") {
		t.Errorf("serve nonsense: %v, want the list of processes", err)
	}
}

// The one metrics address every process once shared is refused with the
// names of its replacements, not silently ignored.
func TestSharedMetricsAddressIsRefused(t *testing.T) {
	t.Setenv("REDRESS_METRICS_ADDR", "0.0.0.0:9091")
	if _, err := config.Load(); err == nil || !strings.Contains(err.Error(), "REDRESS_{INTAKE,DELETION,ESCALATION,REPORTING,WORKER,CHECKPOINTS}_METRICS_ADDR") {
		t.Fatalf("config.Load with REDRESS_METRICS_ADDR: %v, want refused naming the per-process addresses", err)
	}
}

// A workflow cache of no workflows is refused at start with the variable's
// name, not handed to the SDK.
func TestEmptyWorkflowCacheIsRefused(t *testing.T) {
	t.Setenv("REDRESS_WORKER_WORKFLOW_CACHE", "0")
	if _, err := config.Load(); err == nil || !strings.Contains(err.Error(), "REDRESS_WORKER_WORKFLOW_CACHE") {
		t.Fatalf("config.Load with REDRESS_WORKER_WORKFLOW_CACHE=0: %v, want refused naming it", err)
	}
}

// The worker runs each service's activities on a pool of that service's
// database role when its URL is given, and on its own pool otherwise; `serve
// all`, hosting intake, keeps one pool.
func TestWorkerPoolsPerServiceRole(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	gdb, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{cfg: config.Config{DatabaseURL: url, DeletionDatabaseURL: pgtest.LoginURL(url, "redress_deletion_app"),
		EscalationDatabaseURL: pgtest.LoginURL(url, "redress_escalation_app")}, db: gdb}
	defer s.close()
	deletions, err := s.asService(ctx, "deletion")
	if err != nil {
		t.Fatal(err)
	}
	var who string
	if err := deletions.db.Raw("SELECT current_user").Scan(&who).Error; err != nil || who != "redress_deletion_app" {
		t.Errorf("the deletion activities' pool connects as %q (%v), want redress_deletion_app", who, err)
	}
	if err := deletions.db.Exec("SELECT count(*) FROM complainants").Error; err == nil || !strings.Contains(err.Error(), "42501") {
		t.Errorf("the deletion activities reading complainants: %v, want permission denied", err)
	}
	escalations, err := s.asService(ctx, "escalation")
	if err != nil {
		t.Fatal(err)
	}
	if err := escalations.db.Raw("SELECT current_user").Scan(&who).Error; err != nil || who != "redress_escalation_app" {
		t.Errorf("the escalation activities' pool connects as %q (%v), want redress_escalation_app", who, err)
	}
	for _, table := range []string{"cases", "deletion_requests", "subject_keys"} {
		if err := escalations.db.Exec("SELECT count(*) FROM " + table).Error; err == nil || !strings.Contains(err.Error(), "42501") {
			t.Errorf("the escalation activities reading %s: %v, want permission denied", table, err)
		}
	}
	if reports, err := s.asService(ctx, "reporting"); err != nil || reports != s {
		t.Errorf("reporting's work without its own URL: %v, want the process's own pool", err)
	}
	s.hostsIntake = true
	if all, err := s.asService(ctx, "deletion"); err != nil || all != s {
		t.Errorf("deletion's work in serve all: %v, want the one pool", err)
	}
}
