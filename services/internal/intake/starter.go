package intake

import (
	"log/slog"

	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/workflowstart"
	"github.com/redress/redress/workflows/complaint"
)

// Starter starts case workflows from the record. The worker process runs
// one (NewStarter, Eager, RunNotified on NewCasesChannel): each submission's
// commit notifies it, and it starts the new cases' workflows with their first
// workflow task handed straight to its own worker. Its periodic pass starts
// any case left without a workflow (engine down, worker stopped), so a slow
// or absent workflow engine never loses a complaint. The intake keeps one
// only to start, on demand, the workflow of a case acted on before its start.
type Starter = workflowstart.Starter

// NewCasesChannel is the PostgreSQL notification channel a submission's
// transaction notifies at its commit.
const NewCasesChannel = "redress_new_cases"

// NewStarter builds the case workflows' starter. It has no queue: nothing
// enqueues cases (the worker's starts come from its passes, the intake's on
// demand); eight starts at once in a pass.
func NewStarter(tc client.Client, db *gorm.DB, log *slog.Logger) *Starter {
	return workflowstart.New(tc, db, log, workflowstart.Kind{
		Name: "case", Table: "cases", CreatedColumn: "received_at",
		WorkflowID: complaint.WorkflowID, TaskQueue: complaint.TaskQueue, Workflow: complaint.WorkflowName,
		Input: func(id string) any { return complaint.Input{CaseID: id, Start: complaint.CurrentStart} },
	}, 0, 8)
}

// NewWorkerStarter is the worker process's starter: tc must be the client
// its complaint worker runs on, so that starts are eager.
func NewWorkerStarter(tc client.Client, db *gorm.DB, log *slog.Logger) *Starter {
	s := NewStarter(tc, db, log)
	s.Eager, s.Grace = true, 0
	return s
}
