// Package e2e drives Redress end to end: a real PostgreSQL database, a real
// Temporal server (the embedded one `make run` uses), the intake service over
// a real gRPC socket, the real worker, and a real SMTP server for notices.
package e2e

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"gorm.io/gorm"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	identityv1 "github.com/redress/redress/proto/redress/identity/v1"
	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/alerts"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/deletion"
	esc "github.com/redress/redress/services/internal/escalation"
	"github.com/redress/redress/services/internal/freeport"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/intake"
	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/notify/smtptest"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/services/internal/reports"
	"github.com/redress/redress/services/internal/signing"
	"github.com/redress/redress/services/internal/temporalclient"
	"github.com/redress/redress/services/internal/temporaldev"
	"github.com/redress/redress/services/worker"
	"github.com/redress/redress/workflows/calendar"
	"github.com/redress/redress/workflows/command"
	"github.com/redress/redress/workflows/policy"
)

type harness struct {
	t        *testing.T
	ctx      context.Context
	db       *gorm.DB
	keys     *crypto.Keyring
	policy   *policy.Engine
	log      *slog.Logger
	tfile    string
	tport    int
	temporal *temporaldev.Server
	tc       client.Client
	starter  *intake.Starter
	api      intakev1.IntakeServiceClient
	caseFile intakev1.CaseFileServiceClient
	// conn reaches every service the harness serves (IntakeService,
	// PublicStatusService, ReportingService, IdentityService) on its one
	// gRPC socket; intakeConn is the same connection.
	conn       *grpc.ClientConn
	intakeConn *grpc.ClientConn
	// accounts is IdentityService on the same socket, as the console reaches it.
	accounts identityv1.IdentityServiceClient
	// erasure reaches the intake listener's ErasureService with the
	// deletion service's credential (issued on first use).
	erasure      intakev1.ErasureServiceClient
	erasureOnce  sync.Once
	erasureToken string
	erasureErr   error
	// facts reaches the intake listener's CaseFactsService with the
	// escalation service's credential (issued on first use): the escalation
	// service and worker reach intake's cases only through it.
	facts     intakev1.CaseFactsServiceClient
	factsCred serviceCredential
	// delFacts reaches DeletionFactsService (served on the same socket) with
	// the escalation service's credential.
	delFacts deletionv1.DeletionFactsServiceClient
	smtp     *smtptest.Server
	stopWork context.CancelFunc
	workDone chan struct{}
	identity *identity.Store
	// signer seals the services' actions; commands verifies them in the
	// workers (one command key per test, as REDRESS_COMMAND_KEY).
	signer   *signing.Signer
	commands *command.Verifier

	// alerts keeps the staff's alerts; AlertService serves it on the same
	// socket, and escAlerts raises on it with the escalation service's
	// credential, as the escalation worker does.
	alerts    *alerts.Store
	escAlerts alerts.Raiser
}

type options struct {
	noTemporal bool // start with the workflow engine down
	noWorker   bool
	now        func() time.Time
}

func newHarness(t *testing.T, o options) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h := &harness{t: t, ctx: ctx, db: pgtest.Open(t), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var err error
	if h.keys, err = crypto.NewKeyring(mustMaster(t)); err != nil {
		t.Fatal(err)
	}
	cals, err := calendar.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	h.policy = policy.New(cals)
	h.signer, h.commands = mustCommandKey(t)
	h.tfile = filepath.Join(t.TempDir(), "temporal.db")
	h.tport = freePort(t)
	if !o.noTemporal {
		h.startTemporal()
	}
	h.tc, err = temporalclient.Dial(net.JoinHostPort("127.0.0.1", strconv.Itoa(h.tport)), "default", temporalclient.Security{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.tc.Close)
	t.Cleanup(h.recordHistories) // before the client closes and Temporal stops

	h.smtp = smtptest.Start(t)
	h.starter = intake.NewStarter(h.tc, h.db, h.log)
	h.starter.StartTimeout = 2 * time.Second
	srv := intake.New(intake.Config{DB: h.db, Keys: h.keys, Policy: h.policy, Temporal: h.tc, Starter: h.starter, Commands: h.signer, Log: h.log, Now: o.now})
	// The services' behaviour is under test here: the test-only guard lets
	// calls without a credential through as their x-redress-actor; calls with
	// a bearer credential (the console's) are checked against their role.
	h.identity = &identity.Store{DB: h.db}
	gs := grpcserver.New(h.log, grpcserver.NewMetrics(), access.Guard{Auth: h.identity, TrustActorHeader: true})
	intakev1.RegisterIntakeServiceServer(gs.GRPC, srv)
	intakev1.RegisterCaseFileServiceServer(gs.GRPC, srv.CaseFile())
	intakev1.RegisterPublicStatusServiceServer(gs.GRPC, srv.PublicStatus())
	intakev1.RegisterInboundServiceServer(gs.GRPC, srv.Inbound())
	sqlDB, err := h.db.DB()
	if err != nil {
		t.Fatal(err)
	}
	reportingv1.RegisterReportingServiceServer(gs.GRPC, &reports.Server{
		Exporter: &reports.Exporter{DB: sqlDB, Calendars: cals}, DB: h.db, Log: h.log})
	identityv1.RegisterIdentityServiceServer(gs.GRPC, &identity.Server{Store: h.identity, Log: h.log})
	h.alerts = &alerts.Store{DB: pgtest.As(t, h.db, "redress_intake_app"), Log: h.log}
	identityv1.RegisterAlertServiceServer(gs.GRPC, &alerts.Server{Store: h.alerts})
	intakev1.RegisterErasureServiceServer(gs.GRPC, &intake.Erasure{DB: h.db, Keys: h.keys})
	intakev1.RegisterCaseFactsServiceServer(gs.GRPC, &intake.CaseFacts{DB: h.db, Keys: h.keys,
		Sender: &notify.SMTPSender{Addr: h.smtp.Addr(), From: "redress@operator.example", Timeout: 5 * time.Second}})
	deletionv1.RegisterDeletionFactsServiceServer(gs.GRPC, &deletion.Facts{DB: pgtest.As(t, h.db, "redress_deletion_app"), Keys: h.keys})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(ctx, lis) }()
	// New cases' workflows are started as the worker process starts them:
	// told by the submission's commit, eagerly on the client the worker
	// runs on (startWorker).
	cases := intake.NewWorkerStarter(h.tc, pgtest.As(t, h.db, "redress_intake_app"), h.log)
	cases.Every, cases.StartTimeout = 200*time.Millisecond, 2*time.Second
	go cases.RunNotified(ctx, intake.NewCasesChannel)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	h.conn, h.api = conn, intakev1.NewIntakeServiceClient(conn)
	h.caseFile = intakev1.NewCaseFileServiceClient(conn)
	h.accounts = identityv1.NewIdentityServiceClient(conn)
	h.intakeConn = conn
	erasureConn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(access.Bearer{Token: h.deletionServiceCredential}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = erasureConn.Close() })
	h.erasure = intakev1.NewErasureServiceClient(erasureConn)
	factsConn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(access.Bearer{Token: func(ctx context.Context) (string, error) {
			return h.factsCred.get(ctx, h.identity, "svc.escalation", access.EscalationService)
		}}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = factsConn.Close() })
	h.facts = intakev1.NewCaseFactsServiceClient(factsConn)
	h.delFacts = deletionv1.NewDeletionFactsServiceClient(factsConn)
	h.escAlerts = alerts.Remote{Client: identityv1.NewAlertServiceClient(factsConn)}
	if !o.noWorker {
		h.startWorker()
	}
	return h
}

// deletionServiceCredential is the deletion service's credential: its own
// account (role deletion_service) issues it on first use.
func (h *harness) deletionServiceCredential(ctx context.Context) (string, error) {
	h.erasureOnce.Do(func() {
		if _, h.erasureErr = h.identity.AddUser(ctx, "system:test", identity.NewUser{Username: "svc.deletion",
			DisplayName: "Deletion service", Role: access.DeletionService}); h.erasureErr != nil {
			return
		}
		h.erasureToken, _, h.erasureErr = h.identity.IssueToken(ctx, "svc.deletion", "svc.deletion", "erasure", nil, time.Hour)
	})
	return h.erasureToken, h.erasureErr
}

// serviceCredential is a service account's credential, issued by the
// account (created with its role) on first use.
type serviceCredential struct {
	once  sync.Once
	token string
	err   error
}

func (c *serviceCredential) get(ctx context.Context, ids *identity.Store, account string, role access.Role) (string, error) {
	c.once.Do(func() {
		if _, c.err = ids.AddUser(ctx, "system:test", identity.NewUser{Username: account, DisplayName: account, Role: role}); c.err != nil {
			return
		}
		c.token, _, c.err = ids.IssueToken(ctx, account, account, "service", nil, time.Hour)
	})
	return c.token, c.err
}

func (h *harness) startTemporal() {
	h.t.Helper()
	o := temporaldev.Options{DatabaseFile: h.tfile, FrontendPort: h.tport, LogLevel: "error", LogOutput: io.Discard}
	if url := os.Getenv("REDRESS_E2E_TEMPORAL_DATABASE_URL"); url != "" { // make bench-deletion: the production engine's store
		o = temporaldev.Options{PostgresURL: url, FrontendPort: h.tport, LogLevel: "error", LogOutput: io.Discard}
	}
	ts, err := temporaldev.Start(h.ctx, o)
	if err != nil {
		h.t.Fatalf("start Temporal: %v", err)
	}
	h.temporal = ts
	h.t.Cleanup(func() { _ = ts.Stop() })
}

func (h *harness) stopTemporal() {
	h.t.Helper()
	if err := h.temporal.Stop(); err != nil {
		h.t.Fatalf("stop Temporal: %v", err)
	}
}

func (h *harness) startWorker() {
	ctx, cancel := context.WithCancel(h.ctx)
	h.stopWork, h.workDone = cancel, make(chan struct{})
	acts := &worker.Activities{DB: pgtest.As(h.t, h.db, "redress_intake_app"), Keys: h.keys, Policy: h.policy, Log: h.log, Escalations: esc.Command{Temporal: h.tc},
		Sender: &notify.SMTPSender{Addr: h.smtp.Addr(), From: "redress@operator.example", Timeout: 5 * time.Second}}
	go func() {
		defer close(h.workDone)
		if err := worker.Run(ctx, h.tc, acts, h.commands); err != nil {
			h.t.Errorf("worker: %v", err)
		}
	}()
	h.t.Cleanup(h.stopWorker)
}

func (h *harness) stopWorker() {
	if h.stopWork != nil {
		h.stopWork()
		<-h.workDone
		h.stopWork = nil
	}
}

// as returns a context whose calls come from the named principal.
func (h *harness) as(actor string) context.Context {
	return metadata.AppendToOutgoingContext(h.ctx, "x-redress-actor", actor)
}

// eventually polls cond until it holds or the time is up.
func (h *harness) eventually(what string, limit time.Duration, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mustMaster(t *testing.T) []byte {
	k, err := crypto.ParseMasterKey(crypto.GenerateMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// mustCommandKey makes a command key and the services' signer and the
// workers' verifier that share it.
func mustCommandKey(t *testing.T) (*signing.Signer, *command.Verifier) {
	key, err := signing.ParseKey(crypto.GenerateMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	s, err := signing.NewSigner(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := command.NewVerifier(key)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := freeport.Pick("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}
