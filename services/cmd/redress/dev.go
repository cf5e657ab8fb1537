//go:build dev

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/devmail"
	"github.com/redress/redress/services/internal/inbound"
	"github.com/redress/redress/services/internal/intake"
	"github.com/redress/redress/services/internal/temporaldev"
)

// runDev runs the whole stack on this machine against the PostgreSQL that
// deploy/dev/run.sh started (or DATABASE_URL): it migrates, makes the dev
// keys, runs an embedded Temporal server keeping its state in the data
// folder (unless TEMPORAL_ADDRESS is set), loads the demo accounts and
// cases, and then runs every service as its own process (see supervisor).
func runDev(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	t0 := time.Now()
	if s, err := strconv.ParseInt(os.Getenv("REDRESS_DEV_STARTED_AT"), 10, 64); err == nil { // run.sh's start, build included
		t0 = time.Unix(s, 0)
	}
	if cfg.DatabaseURL == "" {
		return errors.New("DATABASE_URL is not set (use `make run`, which starts PostgreSQL)")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	if cfg.MasterKey == "" {
		key, err := devMasterKey(filepath.Join(cfg.DataDir, "master.key"))
		if err != nil {
			return err
		}
		cfg.MasterKey = key
	}
	if cfg.CommandKey == "" { // same shape: base64 of 32 random bytes
		key, err := devMasterKey(filepath.Join(cfg.DataDir, "command.key"))
		if err != nil {
			return err
		}
		cfg.CommandKey = key
	}
	if cfg.CheckpointKeyFile == "" { // an Ed25519 seed: also base64 of 32 random bytes
		cfg.CheckpointKeyFile = filepath.Join(cfg.DataDir, "checkpoint.key")
		if _, err := devMasterKey(cfg.CheckpointKeyFile); err != nil {
			return err
		}
	}
	if cfg.CheckpointDir == "" {
		cfg.CheckpointDir = filepath.Join(cfg.DataDir, "checkpoints")
	}
	if err := runMigrate(ctx, cfg); err != nil {
		return err
	}
	uiAddr, store := "(external Temporal: its own UI)", "(external Temporal: its own)"
	if cfg.TemporalAddress == "" {
		o, where, err := embeddedTemporal(cfg, log)
		if err != nil {
			return err
		}
		store = where
		ts, err := temporaldev.Start(ctx, o)
		if err != nil {
			return fmt.Errorf("embedded Temporal: %w", err)
		}
		defer func() {
			if err := ts.Stop(); err != nil {
				log.Warn("embedded Temporal did not stop cleanly", "err", err)
			}
		}()
		cfg.TemporalAddress = ts.FrontendAddress()
		uiAddr = "http://" + ts.UIAddress()
	}
	if os.Getenv("REDRESS_CONSOLE_TLS") == "" {
		cfg.ConsoleTLS = false // plain HTTP on loopback
	}
	mailbox, err := startDevMail(&cfg, log)
	if err != nil {
		return err
	}
	if mailbox != nil {
		defer func() { _ = mailbox.Close() }()
	}
	cases, apiToken, err := loadDemo(ctx, &cfg, log)
	if err != nil {
		return err
	}

	bin, err := os.Executable()
	if err != nil {
		return err
	}
	sv := &supervisor{bin: bin, pids: map[string]int{},
		env: func(name string) []string { return childEnv(os.Environ(), cfg, name) },
		out: &lockedWriter{w: os.Stdout}, err: &lockedWriter{w: os.Stderr}}
	g, gctx := errgroup.WithContext(ctx)
	for _, name := range processNames {
		g.Go(func() error { return sv.run(gctx, name) })
	}
	g.Go(func() error {
		if err := waitReady(gctx, cfg, processNames); err != nil {
			return nil // stopping
		}
		var procs strings.Builder
		for _, name := range processNames {
			addr := grpcAddr(cfg, name)
			switch {
			case addr != "":
				addr = "gRPC " + addr
			case name == "console":
				addr = "http://" + cfg.ConsoleAddr
			case name == "public":
				addr = "http://" + cfg.PublicAddr + "   (channels, complaint form, status lookup; no sign-in)"
			case name == "inbound":
				addr = "http://" + cfg.InboundAddr + inbound.SMSPath + "   (the SMS gateway's webhook; reads the complaints mailbox)"
			}
			probes := ""
			if m := metricsAddr(cfg, name); m != "" {
				probes = "http://" + m + "/metrics /healthz /readyz"
			}
			fmt.Fprintf(&procs, "  %-12s pid %-8d %-26s %s\n", name, sv.pid(name), addr, probes)
		}
		fmt.Printf(`
Redress is running, one process per service (Ctrl-C stops everything; the next 'make run' resumes with the same data).

%s  %-12s pid %-8d embedded Temporal and this supervisor

  Temporal frontend  %s
  Temporal Web UI    %s
  Temporal store     %s
  PostgreSQL         %s
  Demo cases         %d on record (submitted as principal "demo")
  Audit checkpoints  %s   (signed with %s; redress audit verify -checkpoints <that folder>)
%s
Try:
  grpcurl -plaintext %s list
  grpcurl -plaintext -H 'authorization: Bearer %s' -d '{"idempotency_key":"try-0001","kind":"CASE_KIND_COMPLAINT","category":"CATEGORY_SPAM_SMS","channel":"CHANNEL_WEB_FORM","complainant":{"name":"Zhang San","phone":"+8613800138000","email":"zhang.san@example.com"},"description":"Spam SMS every day since my data leaked"}' %s redress.intake.v1.IntakeService/SubmitComplaint

%s`, procs.String(), "dev", os.Getpid(), cfg.TemporalAddress, uiAddr, store, redactURL(cfg.DatabaseURL), cases,
			cfg.CheckpointDir, cfg.CheckpointKeyFile, mailBanner(mailbox, cfg), cfg.IntakeAddr, apiToken, cfg.IntakeAddr, demoSignIns())
		fmt.Fprintf(os.Stderr, "ready: started in %ds (the first run on a machine downloads and compiles; later runs take seconds)\n",
			int(time.Since(t0).Seconds()))
		return nil
	})
	return g.Wait()
}

// embeddedTemporal answers the embedded Temporal server's options for the
// store cfg names (REDRESS_TEMPORAL_STORE), and where that store keeps the
// server's state, for the banner.
func embeddedTemporal(cfg config.Config, log *slog.Logger) (temporaldev.Options, string, error) {
	o := temporaldev.Options{FrontendPort: cfg.TemporalPort, UIPort: cfg.TemporalUI, Namespace: cfg.Namespace, Logger: log}
	sqlite := filepath.Join(cfg.DataDir, "temporal.db")
	switch cfg.TemporalStore {
	case "postgres":
		if cfg.TemporalDatabaseURL == "" {
			return o, "", errors.New("REDRESS_TEMPORAL_DATABASE_URL is not set: the embedded Temporal server keeps its state " +
				"in PostgreSQL (make run sets it to the local cluster's databases temporal and temporal_visibility; " +
				"REDRESS_TEMPORAL_STORE=sqlite keeps it in the data folder instead)")
		}
		if _, err := os.Stat(sqlite); err == nil {
			log.Warn("the embedded Temporal server now keeps its state in PostgreSQL; workflows in the SQLite file stay there "+
				"(REDRESS_TEMPORAL_STORE=sqlite runs on it; delete the file once done with it)", "file", sqlite)
		}
		o.PostgresURL = cfg.TemporalDatabaseURL
		return o, "PostgreSQL " + redactURL(cfg.TemporalDatabaseURL) + " (and its _visibility database)", nil
	case "sqlite":
		o.DatabaseFile = sqlite
		return o, "SQLite " + sqlite, nil
	}
	return o, "", fmt.Errorf("REDRESS_TEMPORAL_STORE=%q: want postgres or sqlite", cfg.TemporalStore)
}

// loadDemo creates the demo accounts and cases before the services start,
// through the intake service's own code in this process, and starts the
// demo cases' workflows (the worker runs them once it polls). It answers
// the number of cases on record and the automation account's credential,
// and sets the public site's, the console's and the deletion service's
// credentials in cfg.
func loadDemo(ctx context.Context, cfg *config.Config, log *slog.Logger) (int, string, error) {
	st, err := openStack(ctx, *cfg, log, needDB|needTemporal|needMasterKey|needCommandKey)
	if err != nil {
		return 0, "", err
	}
	defer st.close()
	srv, starter := st.intakeServer()
	defer srv.Close()
	n, err := seedDemo(ctx, srv)
	if err != nil {
		log.Warn("demo cases not loaded", "err", err)
	}
	starter.Grace = 0
	if _, err := starter.Recover(ctx); err != nil {
		log.Warn("demo cases' workflows not started yet; the intake service's recovery will", "err", err)
	}
	apiToken, err := seedDemoUsers(ctx, st.identity())
	if err != nil {
		return 0, "", fmt.Errorf("demo users: %w", err)
	}
	if cfg.PublicToken, err = devPublicCredential(ctx, st.identity()); err != nil {
		return 0, "", fmt.Errorf("public site credential: %w", err)
	}
	if cfg.DeletionServiceToken == "" {
		if cfg.DeletionServiceToken, err = devDeletionCredential(ctx, st.identity()); err != nil {
			return 0, "", fmt.Errorf("deletion service credential: %w", err)
		}
	}
	if cfg.ConsoleToken == "" { // the console's own credential
		if cfg.ConsoleToken, err = consoleCredential(ctx, st.identity()); err != nil {
			return 0, "", fmt.Errorf("console credential: %w", err)
		}
	}
	if cfg.InboundServiceToken == "" { // the inbound gateway's
		if cfg.InboundServiceToken, err = devServiceCredential(ctx, st.identity(), inboundAccount, "Inbound gateway",
			access.InboundGateway); err != nil {
			return 0, "", fmt.Errorf("inbound gateway credential: %w", err)
		}
	}
	if cfg.EscalationServiceToken == "" { // the escalation service's, for intake's case facts
		if cfg.EscalationServiceToken, err = st.identity().ServiceCredential(ctx, "demo", escalationAccount, "Escalation service",
			access.EscalationService, "redress dev", 24*time.Hour); err != nil {
			return 0, "", fmt.Errorf("escalation service credential: %w", err)
		}
	}
	return n, apiToken, nil
}

// devMasterKey reads a dev key (master or command key), creating it on first start.
func devMasterKey(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	key := crypto.GenerateMasterKey()
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", err
	}
	return key, nil
}

func redactURL(u string) string {
	if at := strings.LastIndex(u, "@"); at > 0 {
		if scheme := strings.Index(u, "://"); scheme > 0 {
			return u[:scheme+3] + "…@" + u[at+1:]
		}
	}
	return u
}

// seedDemo submits a few demo cases; fixed idempotency keys make it a no-op
// on the next start. It answers the number of cases on record.
func seedDemo(ctx context.Context, srv *intake.Server) (int, error) {
	ctx = access.WithActor(ctx, "demo")
	type demo struct {
		cat     intakev1.Category
		channel intakev1.Channel
		body    intakev1.ReferringBody
		name    string
		phone   string
		email   string
		subject string
		text    string
	}
	demos := []demo{
		{intakev1.Category_CATEGORY_SPAM_SMS, intakev1.Channel_CHANNEL_WEB_FORM, 0, "Zhang San", "+8613800138000", "zhang.san@example.com",
			"+8610690000001", "Daily loan-offer SMS since my mobile number leaked from a shopping app."},
		{intakev1.Category_CATEGORY_HARASSING_CALL, intakev1.Channel_CHANNEL_PHONE, 0, "李四", "+8613900139000", "",
			"+8602112345678", "每天接到多个推销电话，对方知道我的姓名和住址。"},
		{intakev1.Category_CATEGORY_IDENTITY_MISUSE, intakev1.Channel_CHANNEL_EMAIL, 0, "Wang Wu", "", "wang.wu@example.com",
			"", "A credit card was opened in my name after the leak; I need my data deleted."},
		{intakev1.Category_CATEGORY_SERVICE_QUALITY, intakev1.Channel_CHANNEL_API, 0, "Zhao Liu", "+8613700137000", "zhao.liu@example.com",
			"", "Broadband down for three days; no answer from the hotline."},
		{intakev1.Category_CATEGORY_SPAM_SMS, intakev1.Channel_CHANNEL_REGULATOR_REFERRAL, intakev1.ReferringBody_REFERRING_BODY_12321,
			"Chen Qi", "+8613600136000", "", "+8610690000002", "Referred by 12321: repeated spam from a short code."},
	}
	for i, d := range demos {
		req := &intakev1.SubmitComplaintRequest{
			IdempotencyKey: fmt.Sprintf("demo-case-%04d", i+1), Kind: intakev1.CaseKind_CASE_KIND_COMPLAINT,
			Category: d.cat, Channel: d.channel, ReferringBody: d.body, Description: d.text,
			Complainant: &intakev1.Complainant{Name: d.name, Phone: d.phone, Email: d.email},
		}
		if d.subject != "" {
			req.Subject = &intakev1.Subject{Type: intakev1.SubjectType_SUBJECT_TYPE_PHONE_NUMBER, Value: d.subject, LeakedDataType: "phone"}
		}
		if _, err := srv.SubmitComplaint(ctx, req); err != nil {
			return i, err
		}
	}
	resp, err := srv.ListCases(ctx, &intakev1.ListCasesRequest{PageSize: 500})
	if err != nil {
		return 0, err
	}
	return len(resp.Cases), nil
}

// startDevMail starts the development mailbox (see devmail) unless a real
// mail server is configured (REDRESS_SMTP_ADDR or REDRESS_IMAP_ADDR): the
// notices are sent to it, from its complaints address, and the inbound
// gateway reads its complaints mailbox. The SMS webhook's secret is made in
// the data folder. A nil server: a real one is configured.
func startDevMail(cfg *config.Config, log *slog.Logger) (*devmail.Server, error) {
	if cfg.SMSWebhookSecret == "" {
		secret, err := devMasterKey(filepath.Join(cfg.DataDir, "sms-webhook.key"))
		if err != nil {
			return nil, err
		}
		cfg.SMSWebhookSecret = secret
	}
	if cfg.SMTPAddr != "" || cfg.IMAPAddr != "" {
		return nil, nil
	}
	password := crypto.GenerateMasterKey() // a fresh one each start: the mailboxes live in memory
	mb, err := devmail.Start(devmail.Config{SMTPAddr: cfg.DevMailSMTPAddr, IMAPAddr: cfg.DevMailIMAPAddr,
		PageAddr: cfg.DevMailPageAddr, Password: password, Log: log})
	if err != nil {
		return nil, err
	}
	cfg.SMTPAddr, cfg.SMTPFrom = mb.SMTPAddr(), "Redress <"+mb.ComplaintsAddress()+">"
	cfg.IMAPAddr, cfg.IMAPUser, cfg.IMAPPassword, cfg.IMAPSecurity = mb.IMAPAddr(), mb.ComplaintsAddress(), password, "none"
	cfg.IMAPPoll = 5 * time.Second
	return mb, nil
}

// mailBanner is the banner's lines about mail.
func mailBanner(mb *devmail.Server, cfg config.Config) string {
	sms := fmt.Sprintf("  SMS webhook        http://%s%s   (secret in %s)\n", cfg.InboundAddr, inbound.SMSPath,
		filepath.Join(cfg.DataDir, "sms-webhook.key"))
	if mb == nil {
		return fmt.Sprintf("  Mail               SMTP %s, complaints mailbox IMAP %s (configured)\n", cfg.SMTPAddr, cfg.IMAPAddr) + sms
	}
	return fmt.Sprintf(`  Complaints address %s   (mail it a complaint: it becomes a case)
  Mail SMTP          %s   (every notice is delivered here)
  Mail IMAP          %s   (users %s and %s, password in this process only)
  Delivered mail     %s
`, mb.ComplaintsAddress(), mb.SMTPAddr(), mb.IMAPAddr(), mb.ComplaintsAddress(), devmail.CatchAllUser, mb.PageURL()) + sms
}
