package escalation

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/escalation/store"
	wf "github.com/redress/redress/workflows/escalation"
)

// Starter starts escalation workflows from the record: whoever creates an
// escalation row (this service, the complaint workflow on an SLA breach, the
// mandatory-report and incident triggers) only writes the row; the starter
// finds rows whose workflow has not started and starts it. The workflow id is
// derived from the escalation id, so a second start is refused by Temporal.
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
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.StartPending(ctx); err != nil && ctx.Err() == nil {
			s.Log.Warn("escalation workflow start pass failed; will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
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

// Start starts one escalation's workflow (already started counts as done)
// and notes on the record that it runs.
func (s *Starter) Start(ctx context.Context, id string) error {
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := s.Temporal.ExecuteWorkflow(sctx, client.StartWorkflowOptions{
		ID:                    wf.WorkflowID(id),
		TaskQueue:             wf.TaskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, wf.WorkflowName, wf.Input{EscalationID: id, Timing: s.Timing})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &already) {
		return err
	}
	return s.DB.WithContext(ctx).Model(&store.Escalation{}).Where("id = ? AND workflow_started_at IS NULL", id).
		Update("workflow_started_at", time.Now().UTC()).Error
}
