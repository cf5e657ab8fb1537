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
	"gorm.io/gorm"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	escalationv1 "github.com/redress/redress/proto/redress/escalation/v1"
	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/db"
	"github.com/redress/redress/services/internal/grpcserver"
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
}

func openStack(ctx context.Context, cfg config.Config, log *slog.Logger) (*stack, error) {
	if cfg.DatabaseURL == "" {
		return nil, errors.New("DATABASE_URL is not set")
	}
	if cfg.TemporalAddress == "" {
		return nil, errors.New("TEMPORAL_ADDRESS is not set")
	}
	if cfg.MasterKey == "" {
		return nil, errors.New("REDRESS_MASTER_KEY is not set (base64 of 32 random bytes)")
	}
	keys, err := cfg.Keyring()
	if err != nil {
		return nil, err
	}
	// The console acts through the intake service and holds no command
	// key; every other process needs one (see requireCommandKey).
	var signer *signing.Signer
	var verifier *command.Verifier
	if cfg.CommandKey != "" {
		commandKey, err := signing.ParseKey(cfg.CommandKey)
		if err != nil {
			return nil, fmt.Errorf("REDRESS_COMMAND_KEY: %w", err)
		}
		if signer, err = signing.NewSigner(commandKey, nil); err != nil {
			return nil, err
		}
		if verifier, err = command.NewVerifier(commandKey); err != nil {
			return nil, err
		}
	}
	gdb, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	cals, err := calendar.LoadEmbedded()
	if err != nil {
		return nil, err
	}
	if !policy.ValidProviderType(cfg.ProviderType) {
		return nil, fmt.Errorf("REDRESS_PROVIDER_TYPE %q: one of %s, %s, %s", cfg.ProviderType,
			policy.ProviderTelecom, policy.ProviderInternetInfo, policy.ProviderAppOperator)
	}
	tc, err := temporalclient.Dial(cfg.TemporalAddress, cfg.Namespace, temporalclient.Security{
		CertFile: cfg.TemporalTLSCert, KeyFile: cfg.TemporalTLSKey, CAFile: cfg.TemporalTLSCA,
		ServerName: cfg.TemporalTLSServerName, APIKey: cfg.TemporalAPIKey,
	})
	if err != nil {
		return nil, err
	}
	return &stack{cfg: cfg, log: log, db: gdb, keys: keys, policy: policy.New(cals, policy.WithProvider(cfg.ProviderType)), temporal: tc,
		signer: signer, commands: verifier}, nil
}

// requireCommandKey refuses to run a process that sends or executes human
// actions without the command key: its actions would all be refused.
func (s *stack) requireCommandKey() error {
	if s.signer == nil {
		return errors.New("REDRESS_COMMAND_KEY is not set (base64 of 32 random bytes, shared by the services and the workers)")
	}
	return nil
}

func (s *stack) close() {
	s.temporal.Close()
	if sqlDB, err := s.db.DB(); err == nil {
		_ = sqlDB.Close()
	}
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
	return &worker.Activities{DB: s.db, Keys: s.keys, Policy: s.policy, Sender: s.sender(), Log: s.log}
}

// runIntake serves IntakeService and the metrics/probe endpoints, and runs
// the workflow starter with its recovery loop.
func (s *stack) runIntake(ctx context.Context, srv *intake.Server, starter *intake.Starter) error {
	tlsOpts, err := mtls.ServerOptions(s.tlsFiles())
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", s.cfg.IntakeAddr)
	if err != nil {
		return fmt.Errorf("intake listen: %w", err)
	}
	mlis, err := net.Listen("tcp", s.cfg.MetricsAddr)
	if err != nil {
		_ = lis.Close()
		return fmt.Errorf("metrics listen: %w", err)
	}
	gs := grpcserver.New(s.log, grpcserver.NewMetrics(), s.guard(), tlsOpts...)
	intakev1.RegisterIntakeServiceServer(gs.GRPC, srv)
	reporting, err := s.reportingServer()
	if err != nil {
		_ = lis.Close()
		_ = mlis.Close()
		return err
	}
	reportingv1.RegisterReportingServiceServer(gs.GRPC, reporting)
	escalationv1.RegisterEscalationServiceServer(gs.GRPC, s.escalationServer())
	deletionv1.RegisterDeletionServiceServer(gs.GRPC, s.deletionServer(ctx))
	ready := func(ctx context.Context) error {
		sqlDB, err := s.db.DB()
		if err != nil {
			return err
		}
		return sqlDB.PingContext(ctx)
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return gs.Serve(ctx, lis) })
	g.Go(func() error { return grpcserver.ServeHTTP(ctx, mlis, grpcserver.HTTPHandler(gs.Metrics, ready)) })
	g.Go(func() error { starter.Run(ctx); return nil })
	return g.Wait()
}

func (s *stack) intakeServer() (*intake.Server, *intake.Starter) {
	starter := intake.NewStarter(s.temporal, s.db, s.log)
	go func() { // online: cases written before their texts were sealed
		if n, err := intake.SealClearTexts(context.Background(), s.db, s.keys); err != nil {
			s.log.Error("intake: clear case texts not sealed", "err", err)
		} else if n > 0 {
			s.log.Info("intake: clear case texts sealed", "rows", n)
		}
	}()
	return intake.New(intake.Config{
		DB: s.db, Keys: s.keys, Policy: s.policy, Temporal: s.temporal, Starter: starter, Commands: s.signer, Log: s.log,
	}), starter
}
