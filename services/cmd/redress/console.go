package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc"
	"gorm.io/gorm"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	escalationv1 "github.com/redress/redress/proto/redress/escalation/v1"
	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
	"github.com/redress/redress/services/console"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/db"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/identity"
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

// guard authenticates RPCs with bearer credentials (API tokens and console
// sessions) and checks access.Table against the caller's role.
func (s *stack) guard() access.Guard {
	return access.Guard{Auth: s.identity(), Refused: access.AuditRefusals(s.db, s.log)}
}

// demoUser is a sign-in `make run` creates and prints.
type demoUser struct {
	Username, Name, Password string
	Role                     access.Role
}

var demoUsers = []demoUser{
	{"agent.li", "Li Na (agent)", "demo-agent-pass", access.Agent},
	{"sup.wang", "Wang Fang (supervisor)", "demo-supervisor-pass", access.Supervisor},
	{"comp.zhao", "Zhao Lei (compliance)", "demo-compliance-pass", access.ComplianceOfficer},
	{"admin", "Administrator", "demo-admin-password", access.Admin},
	{"partner.feed", "Partner feed (automation)", "", access.Automation},
}

// seedDemoUsers creates the demo accounts (once) and issues a fresh one-day
// API credential for the automation account, returned for the banner.
func seedDemoUsers(ctx context.Context, st *identity.Store) (string, error) {
	for _, d := range demoUsers {
		_, err := st.AddUser(ctx, "demo", identity.NewUser{Username: d.Username, DisplayName: d.Name, Role: d.Role, Password: d.Password})
		if err != nil && !errors.Is(err, identity.ErrExists) {
			return "", err
		}
	}
	token, _, err := st.IssueToken(ctx, "demo", "partner.feed", "make run", nil, 24*time.Hour)
	return token, err
}

// benchCredential gives a command-line client of a running stack (bench) a
// one-hour credential of the automation account "bench", made on first use.
func benchCredential(ctx context.Context, databaseURL string) (string, error) {
	gdb, err := db.Open(ctx, databaseURL)
	if err != nil {
		return "", err
	}
	if sqlDB, err := gdb.DB(); err == nil {
		defer func() { _ = sqlDB.Close() }()
	}
	st := &identity.Store{DB: gdb}
	_, err = st.AddUser(ctx, "bench", identity.NewUser{Username: "bench", DisplayName: "Benchmark client", Role: access.Automation})
	if err != nil && !errors.Is(err, identity.ErrExists) {
		return "", err
	}
	token, _, err := st.IssueToken(ctx, "bench", "bench", "bench", nil, time.Hour)
	return token, err
}

// demoSignIns is the banner's list of demo accounts.
func demoSignIns() string {
	var b strings.Builder
	b.WriteString("\nDemo sign-ins (API credentials: people issue their own on the console's account page; automation accounts: `redress user token <username>`):\n")
	for _, d := range demoUsers {
		if d.Password == "" {
			fmt.Fprintf(&b, "  %-20s %-13s API only (the credential above, valid 24 h)\n", string(d.Role), d.Username)
			continue
		}
		fmt.Fprintf(&b, "  %-20s %-13s password %s\n", string(d.Role), d.Username, d.Password)
	}
	return b.String()
}

// runConsole serves the web console; it reaches IntakeService over gRPC like
// any other client, with each signed-in person's session as the credential.
func (s *stack) runConsole(ctx context.Context) error {
	transport, err := mtls.DialOption(s.tlsFiles(), s.cfg.TLSServerName)
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient(s.cfg.IntakeAddr, transport)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	cc := console.Config{Identity: s.identity(), Intake: intakev1.NewIntakeServiceClient(conn),
		Deletion: deletionv1.NewDeletionServiceClient(conn), Escalation: escalationv1.NewEscalationServiceClient(conn),
		Reporting: reportingv1.NewReportingServiceClient(conn), DB: s.db, Keys: s.keys, Log: s.log, SecureCookies: s.cfg.ConsoleTLS}
	if cc.TrustedProxies, err = s.cfg.Proxies(); err != nil {
		return err
	}
	if cc.Calendars, err = calendar.LoadEmbedded(); err != nil {
		return err
	}
	cc.Policy = s.policy
	if s.cfg.OIDCIssuer != "" {
		if cc.OIDC, err = identity.NewOIDC(ctx, cc.Identity, s.cfg.OIDCIssuer, s.cfg.OIDCClientID, s.cfg.OIDCClientSecret, s.cfg.OIDCRedirectURL); err != nil {
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
