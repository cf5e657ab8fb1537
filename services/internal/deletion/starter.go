package deletion

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	wf "github.com/redress/redress/workflows/deletion"
)

// Starter starts request workflows from the record: right after commit
// through a bounded queue, and by a recovery loop for any request whose
// workflow has not started (engine down, queue full, crash after commit).
type Starter struct {
	temporal client.Client
	db       *gorm.DB
	log      *slog.Logger
	queue    chan string
	// Grace is how old an unstarted request must be before recovery takes it.
	Grace time.Duration
	// Every is the recovery loop's period.
	Every   time.Duration
	workers int
}

// NewStarter builds a starter.
func NewStarter(tc client.Client, db *gorm.DB, log *slog.Logger) *Starter {
	return &Starter{temporal: tc, db: db, log: log, queue: make(chan string, 16384),
		Grace: 10 * time.Second, Every: 5 * time.Second, workers: 16}
}

// Enqueue asks for a start without waiting; a full queue leaves it to recovery.
func (s *Starter) Enqueue(id string) {
	select {
	case s.queue <- id:
	default:
	}
}

// Run starts queued requests and runs recovery until ctx ends.
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
						s.log.Warn("deletion workflow start failed; recovery will retry", "deletion_id", id, "err", err)
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
			if _, err := s.Recover(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("deletion recovery pass failed", "err", err)
			}
		}
	}
}

// Start starts one request's workflow; an already running one counts as started.
func (s *Starter) Start(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: wf.WorkflowID(id), TaskQueue: wf.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, wf.WorkflowName, wf.Input{DeletionID: id})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return err
	}
	return s.db.WithContext(ctx).Model(&Request{}).Where("id = ? AND workflow_started_at IS NULL", id).
		Update("workflow_started_at", time.Now().UTC()).Error
}

// Recover starts every request older than Grace whose workflow has not started.
func (s *Starter) Recover(ctx context.Context) (int, error) {
	n := 0
	for {
		var ids []string
		err := s.db.WithContext(ctx).Model(&Request{}).
			Where("workflow_started_at IS NULL AND created_at < ?", time.Now().Add(-s.Grace)).
			Order("created_at").Limit(200).Pluck("id", &ids).Error
		if err != nil || len(ids) == 0 {
			return n, err
		}
		for _, id := range ids {
			if err := s.Start(ctx, id); err != nil {
				return n, err
			}
			n++
		}
	}
}
