package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"gorm.io/gorm/clause"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/connectors"
	"github.com/redress/redress/services/internal/deletion"
	esc "github.com/redress/redress/services/internal/escalation"
	"github.com/redress/redress/services/internal/periodic"
	"github.com/redress/redress/services/worker"
	deletionworker "github.com/redress/redress/services/worker/deletion"
)

// serveDeletion runs the deletion process: DeletionService on its own
// address and the requests' workflow starter with its recovery loop. Rows
// from before fingerprints were keyed and texts sealed are brought up to
// date first, so no request is served against a plain fingerprint.
func (s *stack) serveDeletion(ctx context.Context) error {
	if n, err := deletion.RekeyIdempotency(ctx, s.db, s.keys); err != nil {
		s.log.Error("deletion: plain idempotency fingerprints not rekeyed", "err", err)
	} else if n > 0 {
		s.log.Info("deletion: idempotency fingerprints rekeyed", "rows", n)
	}
	if n, err := deletion.SealClearTexts(ctx, s.db, s.keys); err != nil {
		s.log.Error("deletion: clear reason and note texts not sealed", "err", err)
	} else if n > 0 {
		s.log.Info("deletion: clear reason and note texts sealed", "rows", n)
	}
	erasure, err := s.erasureClient(ctx)
	if err != nil {
		return err
	}
	srv, starters := s.deletionServer(erasure)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return s.serveGRPC(ctx, "deletion", s.cfg.DeletionAddr, s.cfg.DeletionMetricsAddr,
			func(gs *grpc.Server) {
				deletionv1.RegisterDeletionServiceServer(gs, srv)
				deletionv1.RegisterDeletionFactsServiceServer(gs, &deletion.Facts{DB: s.db, Keys: s.keys})
			})
	})
	for _, st := range starters {
		g.Go(func() error { st.Run(ctx); return nil })
	}
	g.Go(func() error { s.recomputeDeletionsLoop(ctx, srv); return nil })
	return g.Wait()
}

// recomputeDeletionsLoop brings open requests' due dates in line with the
// calendars in force: a calendar confirmed (through the intake process) is
// read here and the requests it moves are recomputed through their
// workflows, within a minute.
func (s *stack) recomputeDeletionsLoop(ctx context.Context, srv *deletion.Server) {
	periodic.Run(ctx, time.Minute, func(ctx context.Context) error {
		if s.calendars != nil {
			if err := s.calendars.Refresh(ctx); err != nil {
				return fmt.Errorf("calendars not refreshed: %w", err)
			}
		}
		sent, failed, err := srv.RecomputeDue(ctx)
		if err != nil {
			return fmt.Errorf("due dates not recomputed: %w", err)
		}
		if sent+failed > 0 {
			s.log.Info("deletion: due dates recomputed on a confirmed calendar", "recomputed", sent, "failed", failed)
		}
		return nil
	}, func(err error) { s.log.Error("deletion: recomputation pass failed", "err", err) })
}

// deletionServer builds DeletionService and its workflow starters, the
// requests' and the bulk batches' (its connector test erases through
// intake's ErasureService); the caller runs the starters.
func (s *stack) deletionServer(erasure intakev1.ErasureServiceClient) (*deletion.Server, []*deletion.Starter) {
	starter := deletion.NewStarter(s.temporal, s.db, s.log)
	batches := deletion.NewBatchStarter(s.temporal, s.db, s.log)
	return deletion.New(deletion.Config{DB: s.db, Keys: s.keys, Policy: s.policy, Temporal: s.temporal,
		Starter: starter, Batches: batches, Commands: s.signer, Sender: s.sender(), Log: s.log,
		CheckMapping: func(raw []byte) error { _, err := connectors.ParseMapping(raw); return err },
		Tester:       (&deletionworker.Activities{DB: s.db, Keys: s.keys, Erasure: erasure}).TestConnector}), []*deletion.Starter{starter, batches}
}

// runDeletionWorker runs the deletion workflows and their connectors. Redress's
// own data is always a connector; others are registered in
// deletion_connectors. REDRESS_DELETION_CALLBACK_ADDR, when set, serves the
// signed webhook callbacks at /deletion/callback/<connector>.
func (s *stack) runDeletionWorker(ctx context.Context) error {
	now := time.Now().UTC()
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&deletion.Connector{
		Name: "redress", Kind: "redress", Config: "{}", Enabled: true, MaxConcurrency: 8, CreatedAt: now, UpdatedAt: now}).Error
	if err != nil {
		s.log.Warn("deletion: own-data connector not registered", "err", err)
	}
	conn, err := s.deletionConn(ctx)
	if err != nil {
		return err
	}
	acts := &deletionworker.Activities{DB: s.db, Keys: s.keys, Sender: s.sender(), Log: s.log, Auto: deletionworker.DefaultAutoApproval,
		Escalations: esc.Command{Temporal: s.temporal}, Erasure: intakev1.NewErasureServiceClient(conn), Policy: s.policy,
		Calendars: s.calendars, Alerts: remoteAlerts(conn)}
	var loops []worker.Loop
	if addr := os.Getenv("REDRESS_DELETION_CALLBACK_ADDR"); addr != "" {
		lis, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		loops = append(loops, worker.HTTPLoop("deletion callbacks", &http.Server{Handler: acts.CallbackHandler(), ReadHeaderTimeout: 10 * time.Second}, lis))
	}
	return deletionworker.Run(ctx, s.temporal, acts, s.commands, loops...)
}
