package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"
	"gorm.io/gorm"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	escalationv1 "github.com/redress/redress/proto/redress/escalation/v1"
	identityv1 "github.com/redress/redress/proto/redress/identity/v1"
	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
	"github.com/redress/redress/services/console"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/identity/oidcclient"
	"github.com/redress/redress/services/internal/mtls"
	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/workflows/calendar"
)

// identity is the account store every service authenticates against.
func (s *stack) identity() *identity.Store { return identityStore(s.cfg, s.db, s.log) }

// identityStore is the account store, mailing grants of power to the
// compliance officers when mail is configured.
func identityStore(cfg config.Config, gdb *gorm.DB, log *slog.Logger) *identity.Store {
	st := &identity.Store{DB: gdb, Log: log, ComplianceEmails: cfg.ComplianceEmails}
	if cfg.SMTPAddr != "" {
		st.Mail = &notify.SMTPSender{Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, Username: cfg.SMTPUser, Password: cfg.SMTPPassword, Timeout: 20 * time.Second}
	}
	return st
}

// identityServer is IdentityService over the account store; with single
// sign-on configured it checks the ID tokens the console brings back.
func (s *stack) identityServer(ctx context.Context) (*identity.Server, error) {
	srv := &identity.Server{Store: s.identity(), Log: s.log}
	if s.cfg.OIDCIssuer != "" {
		var err error
		if srv.OIDC, err = identity.NewOIDC(ctx, srv.Store, s.cfg.OIDCIssuer, s.cfg.OIDCClientID); err != nil {
			return nil, err
		}
	}
	return srv, nil
}

// guard authenticates the RPCs of process name with bearer credentials (API
// tokens and console sessions) and checks access.Table against the caller's
// role. Intake hosts IdentityService and reads identity's tables itself;
// every other service asks IdentityService at REDRESS_INTAKE_ADDR
// (identity.Remote, which remembers an answer for identity.RemoteCacheTTL).
// Refusals are counted in the audit chain, which every service appends to.
func (s *stack) guard(ctx context.Context, name string) (access.Guard, error) {
	g := access.Guard{Refused: access.AuditRefusals(s.db, s.log)}
	if name == "intake" {
		g.Auth = s.identity()
		return g, nil
	}
	transport, err := mtls.DialOption(s.tlsFiles(), s.cfg.TLSServerName)
	if err != nil {
		return g, err
	}
	conn, err := grpc.NewClient(s.cfg.IntakeAddr, transport)
	if err != nil {
		return g, err
	}
	context.AfterFunc(ctx, func() { _ = conn.Close() })
	g.Auth = &identity.Remote{Client: identityv1.NewIdentityServiceClient(conn)}
	return g, nil
}

// runConsole serves the web console; it reaches each service over gRPC at
// its own address like any other client, signing people in with its own credential
// (REDRESS_CONSOLE_TOKEN) and acting with each signed-in person's session.
func (s *stack) runConsole(ctx context.Context) error {
	transport, err := mtls.DialOption(s.tlsFiles(), s.cfg.TLSServerName)
	if err != nil {
		return err
	}
	// One client per service, each at its own address; accounts live with
	// the intake service.
	conns := make([]*grpc.ClientConn, 4)
	for i, addr := range []string{s.cfg.IntakeAddr, s.cfg.DeletionAddr, s.cfg.EscalationAddr, s.cfg.ReportingAddr} {
		if conns[i], err = grpc.NewClient(addr, transport); err != nil {
			return err
		}
		defer func() { _ = conns[i].Close() }()
	}
	cc := console.Config{Identity: identityv1.NewIdentityServiceClient(conns[0]), ConsoleToken: s.cfg.ConsoleToken,
		Intake: intakev1.NewIntakeServiceClient(conns[0]), CaseFile: intakev1.NewCaseFileServiceClient(conns[0]),
		Alerts:   identityv1.NewAlertServiceClient(conns[0]),
		Deletion: deletionv1.NewDeletionServiceClient(conns[1]), Escalation: escalationv1.NewEscalationServiceClient(conns[2]),
		Reporting: reportingv1.NewReportingServiceClient(conns[3]), Log: s.log, SecureCookies: s.cfg.ConsoleTLS}
	if cc.TrustedProxies, err = s.cfg.Proxies(); err != nil {
		return err
	}
	if cc.Calendars, err = calendar.LoadEmbedded(); err != nil {
		return err
	}
	cc.Policy, cc.OperatorClass = s.policy, s.cfg.OperatorClass
	if s.cfg.OIDCIssuer != "" {
		if cc.OIDC, err = oidcclient.New(ctx, s.cfg.OIDCIssuer, s.cfg.OIDCClientID, s.cfg.OIDCClientSecret, s.cfg.OIDCRedirectURL); err != nil {
			return err
		}
	}
	srv, err := console.New(cc)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", s.cfg.ConsoleAddr)
	if err != nil {
		return fmt.Errorf("console listen: %w", err)
	}
	return grpcserver.ServeHTTP(ctx, lis, srv.Handler())
}

// tlsFiles are this process's mutual-TLS files (none: plaintext).
func (s *stack) tlsFiles() mtls.Files {
	return mtls.Files{Cert: s.cfg.TLSCert, Key: s.cfg.TLSKey, CA: s.cfg.TLSCA}
}
