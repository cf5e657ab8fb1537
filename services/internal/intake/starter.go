package intake

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/workflows/complaint"
)

// Starter starts case workflows from the record. Submissions enqueue their
// case right after commit (a start "inline when possible", without holding
// the answer); the recovery loop starts any case whose workflow has not
// started, so a slow or absent workflow engine never loses a complaint. The
// workflow id is derived from the case id: a second start is refused by
// Temporal and counts as done.
type Starter struct {
	temporal client.Client
	db       *gorm.DB
	log      *slog.Logger
	queue    chan string
	// Grace is how old an unstarted case must be before the recovery loop
	// takes it (younger ones are still in the queue).
	Grace time.Duration
	// Every is the recovery loop's period.
	Every time.Duration
	// StartTimeout bounds one start attempt.
	StartTimeout time.Duration
	workers      int
}

// NewStarter builds a starter with a bounded queue.
func NewStarter(tc client.Client, db *gorm.DB, log *slog.Logger) *Starter {
	return &Starter{
		temporal: tc, db: db, log: log, queue: make(chan string, 4096),
		Grace: 10 * time.Second, Every: 5 * time.Second, StartTimeout: 5 * time.Second, workers: 8,
	}
}

// Enqueue asks for a start without waiting. A full queue drops the request:
// the case is on record and the recovery loop will start it.
func (s *Starter) Enqueue(caseID string) {
	select {
	case s.queue <- caseID:
	default:
	}
}

// Run starts queued cases and runs the recovery loop until ctx ends.
func (s *Starter) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case id := <-s.queue:
					if err := s.Start(ctx, id); err != nil && ctx.Err() == nil {
						s.log.Warn("workflow start failed; recovery will retry", "case_id", id, "err", err)
					}
				}
			}
		}()
	}
	t := time.NewTicker(s.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-t.C:
			n, err := s.Recover(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("workflow recovery pass failed", "err", err, "started", n)
			} else if n > 0 {
				s.log.Info("workflow recovery started cases", "count", n)
			}
		}
	}
}

// Recover starts the workflow of every case on record that has none yet and
// is older than Grace. It answers how many it started.
func (s *Starter) Recover(ctx context.Context) (int, error) {
	started := 0
	for {
		var ids []string
		err := s.db.WithContext(ctx).Model(&records.Case{}).
			Where("workflow_started_at IS NULL AND received_at < ?", time.Now().Add(-s.Grace)).
			Order("received_at").Limit(200).Pluck("id", &ids).Error
		if err != nil {
			return started, err
		}
		for _, id := range ids {
			if err := s.Start(ctx, id); err != nil {
				return started, err
			}
			started++
		}
		if len(ids) < 200 {
			return started, nil
		}
	}
}

// Start starts the case's workflow (already started counts as success) and
// notes on the record that it runs.
func (s *Starter) Start(ctx context.Context, caseID string) error {
	ctx, cancel := context.WithTimeout(ctx, s.StartTimeout)
	defer cancel()
	_, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    complaint.WorkflowID(caseID),
		TaskQueue:             complaint.TaskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, complaint.WorkflowName, complaint.Input{CaseID: caseID})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &already) {
		return err
	}
	return s.db.WithContext(ctx).Model(&records.Case{}).
		Where("id = ? AND workflow_started_at IS NULL", caseID).
		Update("workflow_started_at", time.Now().UTC()).Error
}
