package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	sdkworker "go.temporal.io/sdk/worker"
	"golang.org/x/sync/errgroup"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/db"
	"github.com/redress/redress/services/internal/intake"
	"github.com/redress/redress/services/worker"
)

// process is one `redress serve` process: what it opens and what it runs.
type process struct {
	needs needs
	// flushes: the process refuses calls or account changes, which are
	// counted per minute and written to the audit chain (see
	// audit.RunCountFlusher); any number of processes may flush.
	flushes bool
	run     func(s *stack, ctx context.Context) error
}

// processNames lists every process in the order `redress dev` starts them
// and its banner shows them.
var processNames = []string{"intake", "deletion", "escalation", "reporting", "worker", "checkpoints", "console", "public", "inbound"}

var processes = map[string]process{
	"intake":     {needs: needDB | needTemporal | needMasterKey | needCommandKey, flushes: true, run: (*stack).serveIntake},
	"deletion":   {needs: needDB | needTemporal | needMasterKey | needCommandKey, flushes: true, run: (*stack).serveDeletion},
	"escalation": {needs: needDB | needTemporal | needMasterKey | needCommandKey, flushes: true, run: (*stack).serveEscalation},
	"reporting":  {needs: needDB, flushes: true, run: (*stack).serveReporting},
	"worker":     {needs: needDB | needTemporal | needMasterKey | needCommandKey, flushes: true, run: (*stack).serveWorker},
	// The checkpoint signer reads the chain and its own key file only.
	"checkpoints": {needs: needDB, run: (*stack).serveCheckpoints},
	// The console and the public pages reach the services over gRPC only,
	// each with its own credential (and the console with each signed-in
	// person's session): no database, no keys, no Temporal.
	"console": {run: (*stack).runConsole},
	"public":  {run: (*stack).runPublic},
	// The inbound gateway reads the complaints mailbox and takes the SMS
	// gateway's messages, and hands them to intake over gRPC with its own
	// credential: no database, no keys, no Temporal.
	"inbound": {run: (*stack).serveInbound},
}

func runServe(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	names := "one of " + strings.Join(processNames, ", ") + ", all"
	if len(args) != 1 {
		return fmt.Errorf("serve: name %s", names)
	}
	run := []string{args[0]}
	if args[0] == "all" {
		run = processNames
		if cfg.CheckpointKeyFile == "" { // a small install may go without signed checkpoints
			log.Warn("audit checkpoints are off: REDRESS_CHECKPOINT_KEY_FILE is not set")
			run = slices.DeleteFunc(slices.Clone(run), func(n string) bool { return n == "checkpoints" })
		}
	} else if _, ok := processes[args[0]]; !ok {
		return fmt.Errorf("serve: unknown service %q (%s)", args[0], names)
	}
	var n needs
	flush := false
	for _, name := range run {
		n |= processes[name].needs
		flush = flush || processes[name].flushes
	}
	st, err := openStack(ctx, cfg, log, n)
	if err != nil {
		return fmt.Errorf("serve %s: %w", args[0], err)
	}
	defer st.close()
	st.hostsIntake = slices.Contains(run, "intake")
	if slices.ContainsFunc(run, func(n string) bool { return n != "checkpoints" && processes[n].needs&needDB != 0 }) {
		st.openCalendars(ctx) // the checkpoint signer's role reads no calendars: it counts no days
	}
	g, ctx := errgroup.WithContext(ctx)
	for _, name := range run {
		p := processes[name]
		g.Go(func() error {
			if err := p.run(st, ctx); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			return nil
		})
	}
	if flush {
		g.Go(func() error { return audit.RunCountFlusher(ctx, st.db, log) })
	}
	if st.calendars != nil {
		// A calendar confirmed through the intake process is counted here
		// within a minute, without a restart.
		g.Go(func() error { st.calendars.Watch(ctx, time.Minute); return nil })
	}
	return g.Wait()
}

// serveWorker runs the Temporal workers of every task queue (complaints,
// deletions, escalations, reports) and their probes. The complaint,
// deletion, escalation and report activities each run on a pool of their
// service's database role when one is configured (asService).
func (s *stack) serveWorker(ctx context.Context) error {
	var own [4]*stack
	for i, service := range []string{"intake", "deletion", "reporting", "escalation"} {
		var err error
		if own[i], err = s.asService(ctx, service); err != nil {
			return err
		}
	}
	complaints, deletions, reporting, escalations := own[0], own[1], own[2], own[3]
	sdkworker.SetStickyWorkflowCacheSize(s.cfg.WorkerWorkflowCache) // process-wide, before any worker starts
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		// The same client runs the complaint worker and starts the cases'
		// workflows: their first tasks come back eagerly to that worker.
		starter := intake.NewWorkerStarter(s.temporal, complaints.db, s.log)
		return worker.Run(ctx, s.temporal, complaints.activities(), s.commands, complaints.calendarCheckLoop(),
			worker.LoopFunc("case starter", func(ctx context.Context) { starter.RunNotified(ctx, intake.NewCasesChannel) }))
	})
	g.Go(func() error { return escalations.runEscalationWorker(ctx) })
	g.Go(func() error { return deletions.runDeletionWorker(ctx) })
	g.Go(func() error { return reporting.runReportsWorker(ctx) })
	g.Go(func() error { return s.runProbes(ctx, s.cfg.WorkerMetricsAddr, true) })
	s.log.Info("worker polling", "temporal", s.cfg.TemporalAddress, "metrics", s.cfg.WorkerMetricsAddr)
	return g.Wait()
}

// serveCheckpoints signs the audit chain head and serves its probes.
func (s *stack) serveCheckpoints(ctx context.Context) error {
	if s.cfg.CheckpointKeyFile == "" {
		return errors.New("REDRESS_CHECKPOINT_KEY_FILE is not set")
	}
	s.log.Info("signing audit checkpoints", "every", s.cfg.CheckpointEvery, "interval", s.cfg.CheckpointInterval,
		"dir", s.cfg.CheckpointDir, "metrics", s.cfg.CheckpointsMetricsAddr)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.runCheckpoints(ctx) })
	g.Go(func() error { return s.runProbes(ctx, s.cfg.CheckpointsMetricsAddr, false) })
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
