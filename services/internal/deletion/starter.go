package deletion

import (
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/workflowstart"
	wf "github.com/redress/redress/workflows/deletion"
)

// Starter starts request workflows from the record: right after commit
// through a bounded queue, and by a recovery loop for any request whose
// workflow has not started (engine down, queue full, crash after commit).
type Starter = workflowstart.Starter

// NewStarter builds the deletion workflows' starter (a deep queue: bulk
// submissions enqueue thousands at once).
func NewStarter(tc client.Client, db *gorm.DB, log *slog.Logger) *Starter {
	return newStarter(tc, db, log, workflowstart.Kind{
		Name: "deletion request", Table: Request{}.TableName(), CreatedColumn: "created_at",
		WorkflowID: wf.WorkflowID, TaskQueue: wf.TaskQueue, Workflow: wf.WorkflowName,
		Input: func(id string) any { return wf.Input{DeletionID: id} },
	}, 16384, 16)
}

// NewBatchStarter builds the starter of the batch workflows (one per bulk
// pipeline submission), with the same recovery as the requests'.
func NewBatchStarter(tc client.Client, db *gorm.DB, log *slog.Logger) *Starter {
	return newStarter(tc, db, log, workflowstart.Kind{
		Name: "deletion batch", Table: Batch{}.TableName(), CreatedColumn: "created_at",
		WorkflowID: wf.BatchWorkflowID, TaskQueue: wf.TaskQueue, Workflow: wf.BatchWorkflowName,
		Input: func(id string) any { return wf.BatchInput{BatchID: id} },
	}, 256, 4)
}

// newStarter gives a start attempt 10 s: a start queued behind a bulk
// submission's thousand others takes longer than the default.
func newStarter(tc client.Client, db *gorm.DB, log *slog.Logger, k workflowstart.Kind, queue, workers int) *Starter {
	s := workflowstart.New(tc, db, log, k, queue, workers)
	s.StartTimeout = 10 * time.Second
	return s
}
