package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"time"

	"gorm.io/gorm/clause"

	"github.com/redress/redress/services/internal/connectors"
	"github.com/redress/redress/services/internal/deletion"
	deletionworker "github.com/redress/redress/services/worker/deletion"
)

// deletionServer builds DeletionService and runs its workflow starter
// (with the recovery loop) until ctx ends.
func (s *stack) deletionServer(ctx context.Context) *deletion.Server {
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
	starter := deletion.NewStarter(s.temporal, s.db, s.log)
	go starter.Run(ctx)
	return deletion.New(deletion.Config{DB: s.db, Keys: s.keys, Policy: s.policy, Temporal: s.temporal,
		Starter: starter, Commands: s.signer, Sender: s.sender(), Log: s.log,
		CheckMapping: func(raw []byte) error { _, err := connectors.ParseMapping(raw); return err },
		Tester:       (&deletionworker.Activities{DB: s.db, Keys: s.keys}).TestConnector})
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
	acts := &deletionworker.Activities{DB: s.db, Keys: s.keys, Sender: s.sender(), Log: s.log, Auto: deletionworker.DefaultAutoApproval}
	if addr := os.Getenv("REDRESS_DELETION_CALLBACK_ADDR"); addr != "" {
		lis, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: acts.CallbackHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			<-ctx.Done()
			_ = srv.Close()
		}()
		go func() {
			if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("deletion callbacks", "err", err)
			}
		}()
	}
	return deletionworker.Run(ctx, s.temporal, acts, s.commands)
}
