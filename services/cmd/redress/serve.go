package main

import (
	"context"
	"fmt"
	"log/slog"

	"golang.org/x/sync/errgroup"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/db"
	"github.com/redress/redress/services/worker"
)

func runServe(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("serve: name one of intake, worker, console, public, checkpoints, all")
	}
	what := args[0]
	if what == "checkpoints" { // needs the database and the checkpoint key only: no master key, no Temporal
		if cfg.DatabaseURL == "" {
			return fmt.Errorf("DATABASE_URL is not set")
		}
		gdb, err := db.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return err
		}
		if cfg.CheckpointKeyFile == "" {
			return fmt.Errorf("serve checkpoints: REDRESS_CHECKPOINT_KEY_FILE is not set")
		}
		log.Info("signing audit checkpoints", "every", cfg.CheckpointEvery, "interval", cfg.CheckpointInterval,
			"dir", cfg.CheckpointDir, "metrics", cfg.MetricsAddr)
		st := &stack{cfg: cfg, log: log, db: gdb}
		g, ctx := errgroup.WithContext(ctx)
		g.Go(func() error { return st.runCheckpoints(ctx) })
		g.Go(func() error { return st.runWorkerProbes(ctx) })
		return g.Wait()
	}
	st, err := openStack(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.close()
	if what != "console" {
		if err := st.requireCommandKey(); err != nil {
			return err
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	if what == "intake" || what == "all" {
		srv, starter := st.intakeServer()
		g.Go(func() error { return st.runIntake(ctx, srv, starter) })
		log.Info("intake serving", "grpc", cfg.IntakeAddr, "metrics", cfg.MetricsAddr)
	}
	if what == "worker" || what == "all" {
		g.Go(func() error { return worker.Run(ctx, st.temporal, st.activities(), st.commands) })
		g.Go(func() error { return st.runEscalationWorker(ctx) })
		g.Go(func() error { return st.runDeletionWorker(ctx) })
		g.Go(func() error { return st.runReportsWorker(ctx) })
		if what == "worker" { // "all" serves the probes with intake
			g.Go(func() error { return st.runWorkerProbes(ctx) })
		}
		log.Info("worker polling", "temporal", cfg.TemporalAddress)
	}
	if what == "intake" || what == "worker" || what == "console" || what == "all" {
		// Refused calls, refused account changes and rejected callbacks are
		// counted per minute; any number of processes may write the counts
		// to the chain.
		g.Go(func() error { return audit.RunCountFlusher(ctx, st.db, log) })
	}
	if what == "all" {
		g.Go(func() error { return st.runCheckpoints(ctx) })
	}
	if what == "console" || what == "all" {
		g.Go(func() error { return st.runConsole(ctx) })
		log.Info("console serving", "http", cfg.ConsoleAddr)
	}
	if what == "public" || what == "all" {
		g.Go(func() error { return st.runPublic(ctx, nil) })
		log.Info("public pages serving", "http", cfg.PublicAddr)
	}
	if what != "intake" && what != "worker" && what != "console" && what != "public" && what != "all" {
		return fmt.Errorf("serve: unknown service %q (intake, worker, console, public, checkpoints, all)", what)
	}
	return g.Wait()
}

func runMigrate(ctx context.Context, cfg config.Config) error {
	if cfg.OwnerDatabaseURL() == "" {
		return fmt.Errorf("REDRESS_MIGRATE_DATABASE_URL (the owner of the tables) is not set")
	}
	gdb, err := db.Open(ctx, cfg.OwnerDatabaseURL())
	if err != nil {
		return err
	}
	sqlDB, _ := gdb.DB()
	defer func() { _ = sqlDB.Close() }()
	if err := db.Migrate(ctx, sqlDB); err != nil {
		return err
	}
	v, err := db.Version(ctx, sqlDB)
	if err != nil {
		return err
	}
	fmt.Printf("database at schema version %d\n", v)
	return nil
}
