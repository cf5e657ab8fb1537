package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"gorm.io/gorm"

	calendarv1 "github.com/redress/redress/proto/redress/calendar/v1"
	identityv1 "github.com/redress/redress/proto/redress/identity/v1"
	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/alerts"
	"github.com/redress/redress/services/internal/calendars"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/db"
	esc "github.com/redress/redress/services/internal/escalation"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/intake"
	"github.com/redress/redress/services/internal/mtls"
	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/signing"
	"github.com/redress/redress/services/internal/temporalclient"
	"github.com/redress/redress/services/worker"
	"github.com/redress/redress/workflows/calendar"
	"github.com/redress/redress/workflows/command"
	"github.com/redress/redress/workflows/policy"
)

// stack holds what the services share: the record, the keys, the policy
// engine and a Temporal client.
type stack struct {
	cfg      config.Config
	log      *slog.Logger
	db       *gorm.DB
	keys     *crypto.Keyring
	policy   *policy.Engine
	temporal client.Client
	// signer seals the actions the services send to workflows; commands
	// verifies them in the workers (one key, REDRESS_COMMAND_KEY).
	signer   *signing.Signer
	commands *command.Verifier
	// hostsIntake: this process serves intake (and with it identity) too.
	hostsIntake bool
	// pools are the extra pools of asService, closed with the stack.
	pools []*gorm.DB
	// cals are the policy engine's calendars; calendars keeps them in line
	// with the confirmed loads (see openCalendars; nil until then).
	cals      *calendar.Set
	calendars *calendars.Store
}

// openCalendars brings the confirmed calendars into the policy engine's set
// (the shipped ones count until they are read) and keeps them refreshed
// while ctx lasts: every process that counts working days runs it.
func (s *stack) openCalendars(ctx context.Context) {
	s.calendars = &calendars.Store{DB: s.db, Set: s.cals, Log: s.log}
	if err := s.calendars.Refresh(ctx); err != nil {
		s.log.Error("confirmed calendars not loaded", "err", err)
	}
}

// needs says what a process opens. Only these are required of its
// configuration, and `redress dev` hands a child only the secrets its
// needs name (see childEnv).
type needs uint8

const (
	needDB         needs = 1 << iota // DATABASE_URL
	needTemporal                     // TEMPORAL_ADDRESS
	needMasterKey                    // REDRESS_MASTER_KEY (and earlier versions)
	needCommandKey                   // REDRESS_COMMAND_KEY: sends or executes human actions
)

func openStack(ctx context.Context, cfg config.Config, log *slog.Logger, n needs) (st *stack, err error) {
	if n&needDB != 0 && cfg.DatabaseURL == "" {
		return nil, errors.New("DATABASE_URL is not set")
	}
	if n&needTemporal != 0 && cfg.TemporalAddress == "" {
		return nil, errors.New("TEMPORAL_ADDRESS is not set")
	}
	if n&needMasterKey != 0 && cfg.MasterKey == "" {
		return nil, errors.New("REDRESS_MASTER_KEY is not set (base64 of 32 random bytes)")
	}
	if n&needCommandKey != 0 && cfg.CommandKey == "" {
		// Its actions would all be refused by the workflows.
		return nil, errors.New("REDRESS_COMMAND_KEY is not set (base64 of 32 random bytes, shared by the services and the workers)")
	}
	if cfg.ProviderType == "" { // a Config not read from the environment
		cfg.ProviderType = policy.DefaultProviderType
	}
	if !policy.ValidProviderType(cfg.ProviderType) {
		return nil, fmt.Errorf("REDRESS_PROVIDER_TYPE %q: one of %s, %s, %s", cfg.ProviderType,
			policy.ProviderTelecom, policy.ProviderInternetInfo, policy.ProviderAppOperator)
	}
	if cfg.OperatorClass, err = operatorClass(cfg.OperatorClass); err != nil {
		return nil, err
	}
	cals, err := calendar.LoadEmbedded()
	if err != nil {
		return nil, err
	}
	rulesOff, err := policy.SwitchOff(cfg.PolicyRulesOff...)
	if err != nil {
		return nil, fmt.Errorf("REDRESS_POLICY_RULES_OFF: %w", err)
	}
	st = &stack{cfg: cfg, log: log, cals: cals, policy: policy.New(cals, policy.WithProvider(cfg.ProviderType), rulesOff)}
	defer func() {
		if err != nil {
			st.close()
		}
	}()
	if n&needMasterKey != 0 {
		if st.keys, err = cfg.Keyring(); err != nil {
			return nil, err
		}
	}
	if n&needCommandKey != 0 {
		commandKey, err := signing.ParseKey(cfg.CommandKey)
		if err != nil {
			return nil, fmt.Errorf("REDRESS_COMMAND_KEY: %w", err)
		}
		if st.signer, err = signing.NewSigner(commandKey, nil); err != nil {
			return nil, err
		}
		if st.commands, err = command.NewVerifier(commandKey); err != nil {
			return nil, err
		}
	}
	if n&needDB != 0 {
		if st.db, err = db.Open(ctx, cfg.DatabaseURL); err != nil {
			return nil, err
		}

	}
	if n&needTemporal != 0 {
		st.temporal, err = temporalclient.Dial(cfg.TemporalAddress, cfg.Namespace, temporalclient.Security{
			CertFile: cfg.TemporalTLSCert, KeyFile: cfg.TemporalTLSKey, CAFile: cfg.TemporalTLSCA,
			ServerName: cfg.TemporalTLSServerName, APIKey: cfg.TemporalAPIKey,
		})
		if err != nil {
			return nil, err
		}
	}
	return st, nil
}

func (s *stack) close() {
	if s.temporal != nil {
		s.temporal.Close()
	}
	for _, p := range s.pools {
		if sqlDB, err := p.DB(); err == nil {
			_ = sqlDB.Close()
		}
	}
	if s.db != nil {
		if sqlDB, err := s.db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	}
}

// asService is s with service's own database pool, for a process that runs
// several services' work (the worker): the pool connects as that service's
// role when its URL is configured (DATABASE_URL_<SERVICE>, see
// config.DatabaseURLOf), else it is the process's own. `serve all`, which
// hosts intake and its accounts, keeps one pool for everything.
func (s *stack) asService(ctx context.Context, service string) (*stack, error) {
	u := s.cfg.DatabaseURLOf(service)
	if s.hostsIntake || u == s.cfg.DatabaseURL {
		return s, nil
	}
	p, err := db.Open(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("%s's database role: %w", service, err)
	}
	s.pools = append(s.pools, p)
	c := *s
	c.db, c.pools = p, nil
	return &c, nil
}

func (s *stack) sender() notify.Sender {
	var email, sms notify.Sender
	if s.cfg.SMTPAddr != "" {
		email = &notify.SMTPSender{Addr: s.cfg.SMTPAddr, From: s.cfg.SMTPFrom, Username: s.cfg.SMTPUser, Password: s.cfg.SMTPPassword,
			PlainText: !s.cfg.SMTPTLS, Timeout: 20 * time.Second}
	}
	if s.cfg.SMSEndpoint != "" {
		sms = &notify.SMSGatewaySender{Endpoint: s.cfg.SMSEndpoint, Token: s.cfg.SMSToken, Timeout: 10 * time.Second}
	}
	if email == nil && sms == nil {
		return &notify.LogSender{Log: s.log}
	}
	return &notify.Router{Email: email, SMS: sms}
}

func (s *stack) activities() *worker.Activities {
	return &worker.Activities{DB: s.db, Keys: s.keys, Policy: s.policy, Sender: s.sender(), Log: s.log,
		Escalations: esc.Command{Temporal: s.temporal}, Alerts: alerts.Local{Store: s.alertStore()}, Calendars: s.calendars}
}

// serveGRPC serves one gRPC service on addr (with health and reflection)
// and its /metrics, /healthz and /readyz (the database answers) on
// metricsAddr, until ctx ends.
func (s *stack) serveGRPC(ctx context.Context, name, addr, metricsAddr string, register func(*grpc.Server)) error {
	tlsOpts, err := mtls.ServerOptions(s.tlsFiles())
	if err != nil {
		return err
	}
	guard, err := s.guard(ctx, name)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s listen: %w", name, err)
	}
	mlis, err := net.Listen("tcp", metricsAddr)
	if err != nil {
		_ = lis.Close()
		return fmt.Errorf("%s metrics listen: %w", name, err)
	}
	gs := grpcserver.New(s.log, grpcserver.NewMetrics(), guard, tlsOpts...)
	register(gs.GRPC)
	s.log.Info(name+" serving", "grpc", addr, "metrics", metricsAddr)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return gs.Serve(ctx, lis) })
	g.Go(func() error { return grpcserver.ServeHTTP(ctx, mlis, grpcserver.HTTPHandler(gs.Metrics, s.dbReady)) })
	return g.Wait()
}

// dbReady is a service's readiness: the database answers.
func (s *stack) dbReady(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// serveIntake runs the intake process: its listener (see registerOnIntake),
// the case workflows' starter with its recovery loop, and the online
// sealing of case texts written before they were sealed.
func (s *stack) serveIntake(ctx context.Context) error {
	ids, err := s.identityServer(ctx)
	if err != nil {
		return err
	}
	srv, _ := s.intakeServer()
	defer srv.Close() // after the listener drained
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return s.serveGRPC(ctx, "intake", s.cfg.IntakeAddr, s.cfg.IntakeMetricsAddr,
			func(gs *grpc.Server) { s.registerOnIntake(gs, srv, ids) })
	})
	// Open cases a confirmed calendar has not reached yet are sent again.
	g.Go(func() error { s.calendarServer().RunSweeps(ctx, 5*time.Minute); return nil })
	g.Go(func() error {
		if n, err := intake.SealClearTexts(ctx, s.db, s.keys); err != nil && ctx.Err() == nil {
			s.log.Error("intake: clear case texts not sealed", "err", err)
		} else if n > 0 {
			s.log.Info("intake: clear case texts sealed", "rows", n)
		}
		return nil
	})
	return g.Wait()
}

// registerOnIntake is the one place naming what the intake listener
// serves: IntakeService and the services that share its address.
func (s *stack) registerOnIntake(gs *grpc.Server, srv *intake.Server, ids *identity.Server) {
	intakev1.RegisterIntakeServiceServer(gs, srv)
	identityv1.RegisterIdentityServiceServer(gs, ids)
	intakev1.RegisterErasureServiceServer(gs, &intake.Erasure{DB: s.db, Keys: s.keys})
	intakev1.RegisterCaseFactsServiceServer(gs, &intake.CaseFacts{DB: s.db, Keys: s.keys, Sender: s.sender()})
	intakev1.RegisterCaseFileServiceServer(gs, srv.CaseFile())
	intakev1.RegisterPublicStatusServiceServer(gs, srv.PublicStatus())
	intakev1.RegisterInboundServiceServer(gs, srv.Inbound())
	identityv1.RegisterAlertServiceServer(gs, &alerts.Server{Store: s.alertStore()})
	calendarv1.RegisterCalendarServiceServer(gs, s.calendarServer())
}

// calendarServer is CalendarService, served on the intake listener.
func (s *stack) calendarServer() *calendars.Server {
	return &calendars.Server{DB: s.db, Store: s.calendars, Temporal: s.temporal, Commands: s.signer, Log: s.log}
}

// intakeServer builds IntakeService and its workflow starter (the worker's
// starts new cases; this one starts a case acted on before it did).
func (s *stack) intakeServer() (*intake.Server, *intake.Starter) {
	starter := intake.NewStarter(s.temporal, s.db, s.log)
	return intake.New(intake.Config{
		DB: s.db, Keys: s.keys, Policy: s.policy, Temporal: s.temporal, Starter: starter, Commands: s.signer, Log: s.log,
		Alerts: alerts.Local{Store: s.alertStore()}, // intake's role includes identity's
	}), starter
}
