package intake

import (
	"log/slog"

	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/workflowstart"
	"github.com/redress/redress/workflows/complaint"
)

// Starter starts case workflows from the record. Submissions enqueue their
// case right after commit (a start "inline when possible", without holding
// the answer); the recovery loop starts any case whose workflow has not
// started, so a slow or absent workflow engine never loses a complaint.
type Starter = workflowstart.Starter

// NewStarter builds the case workflows' starter.
func NewStarter(tc client.Client, db *gorm.DB, log *slog.Logger) *Starter {
	return workflowstart.New(tc, db, log, workflowstart.Kind{
		Name: "case", Table: "cases", CreatedColumn: "received_at",
		WorkflowID: complaint.WorkflowID, TaskQueue: complaint.TaskQueue, Workflow: complaint.WorkflowName,
		Input: func(id string) any { return complaint.Input{CaseID: id} },
	}, 4096, 8)
}
