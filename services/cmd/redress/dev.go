package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sync/errgroup"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/intake"
	"github.com/redress/redress/services/internal/temporaldev"
	"github.com/redress/redress/services/worker"
)

// runDev runs the whole stack in one process against the PostgreSQL that
// deploy/dev/run.sh started (or DATABASE_URL), with an embedded Temporal
// server keeping its state in the data folder unless TEMPORAL_ADDRESS is set.
func runDev(ctx context.Context, cfg config.Config, log *slog.Logger) error {
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
	uiAddr := "(external Temporal: its own UI)"
	if cfg.TemporalAddress == "" {
		ts, err := temporaldev.Start(ctx, temporaldev.Options{
			DatabaseFile: filepath.Join(cfg.DataDir, "temporal.db"),
			FrontendPort: cfg.TemporalPort, UIPort: cfg.TemporalUI, Namespace: cfg.Namespace, Logger: log,
		})
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
	st, err := openStack(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.close()
	srv, starter := st.intakeServer()

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return st.runIntake(gctx, srv, starter) })
	g.Go(func() error { return worker.Run(gctx, st.temporal, st.activities(), st.commands) })
	g.Go(func() error { return st.runEscalationWorker(gctx) })
	g.Go(func() error { return st.runDeletionWorker(gctx) })
	g.Go(func() error { return st.runReportsWorker(gctx) })
	g.Go(func() error { return st.runConsole(gctx) })
	g.Go(func() error { return st.runPublic(gctx, srv) })
	g.Go(func() error { return audit.RunCountFlusher(gctx, st.db, log) })
	g.Go(func() error { return st.runCheckpoints(gctx) })
	n, err := seedDemo(gctx, srv)
	if err != nil {
		log.Warn("demo cases not loaded", "err", err)
	}
	apiToken, err := seedDemoUsers(gctx, st.identity())
	if err != nil {
		return fmt.Errorf("demo users: %w", err)
	}
	fmt.Printf(`
Redress is running (Ctrl-C stops everything; the next 'make run' resumes with the same data).

  Console            http://%s
  Public pages       http://%s   (channels, complaint form, status lookup; no sign-in)
  Intake gRPC        %s        grpcurl -plaintext %s list
  Metrics / probes   http://%s/metrics   /healthz   /readyz
  Temporal frontend  %s
  Temporal Web UI    %s
  PostgreSQL         %s
  Demo cases         %d on record (submitted as principal "demo")
  Audit checkpoints  %s   (signed with %s; redress audit verify -checkpoints <that folder>)

Try:
  grpcurl -plaintext -H 'authorization: Bearer %s' -d '{"idempotency_key":"try-0001","kind":"CASE_KIND_COMPLAINT","category":"CATEGORY_SPAM_SMS","channel":"CHANNEL_WEB_FORM","complainant":{"name":"Zhang San","phone":"+8613800138000","email":"zhang.san@example.com"},"description":"Spam SMS every day since my data leaked"}' %s redress.intake.v1.IntakeService/SubmitComplaint

%s`, cfg.ConsoleAddr, cfg.PublicAddr, cfg.IntakeAddr, cfg.IntakeAddr, cfg.MetricsAddr, cfg.TemporalAddress, uiAddr, redactURL(cfg.DatabaseURL), n, cfg.CheckpointDir, cfg.CheckpointKeyFile, apiToken, cfg.IntakeAddr, demoSignIns())
	return g.Wait()
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
