package escalation

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/escalation/store"
	"github.com/redress/redress/services/internal/periodic"
	wf "github.com/redress/redress/workflows/escalation"
)

// Starter starts the workflows of escalations the escalation service wrote
// itself (officers' escalations and incidents, the triggers' openings) right
// after commit, and finds any whose start did not happen (the engine was
// down) and starts it. Other services never write escalations: they call
// Open. The workflow id is derived from the escalation id, so a second start
// is harmless.
type Starter struct {
	Temporal client.Client
	DB       *gorm.DB
	Log      *slog.Logger
	Timing   wf.Timing
	Every    time.Duration // recovery period; 2 s when zero
}

// Run starts pending workflows every period until ctx ends.
func (s *Starter) Run(ctx context.Context) {
	every := s.Every
	if every <= 0 {
		every = 2 * time.Second
	}
	periodic.Run(ctx, every, func(ctx context.Context) error { _, err := s.StartPending(ctx); return err },
		func(err error) { s.Log.Warn("escalation workflow start pass failed; will retry", "err", err) })
}

// StartPending starts every escalation whose workflow has not started.
func (s *Starter) StartPending(ctx context.Context) (int, error) {
	var ids []string
	if err := s.DB.WithContext(ctx).Model(&store.Escalation{}).Where("workflow_started_at IS NULL").
		Order("created_at").Limit(500).Pluck("id", &ids).Error; err != nil {
		return 0, err
	}
	for i, id := range ids {
		if err := s.Start(ctx, id); err != nil {
			return i, err
		}
	}
	return len(ids), nil
}

// Start starts the workflow of an escalation on record (already started
// counts as done) and notes on the record that it runs.
func (s *Starter) Start(ctx context.Context, id string) error {
	if err := start(ctx, s.Temporal, wf.Input{EscalationID: id, Timing: s.Timing}); err != nil {
		return err
	}
	return s.DB.WithContext(ctx).Model(&store.Escalation{}).Where("id = ? AND workflow_started_at IS NULL", id).
		Update("workflow_started_at", time.Now().UTC()).Error
}
