// Package replay guards the workflows against incompatible change: its test
// replays the recorded event histories of every workflow type (under
// <package>/testdata/histories, captured from the end-to-end tests with
// `make record-histories`) against the current code, and fails on any
// non-determinism. See docs/workflows.md for the rule it enforces.
package replay

import (
	"go.temporal.io/sdk/worker"

	"github.com/redress/redress/workflows/command"
	"github.com/redress/redress/workflows/complaint"
	"github.com/redress/redress/workflows/deletion"
	"github.com/redress/redress/workflows/escalation"
	"github.com/redress/redress/workflows/reports"
)

// Domains are the workflow packages, each holding its recorded histories
// under testdata/histories.
var Domains = []string{"complaint", "deletion", "escalation", "reports"}

// WorkflowTypes maps every registered workflow type to its package.
var WorkflowTypes = map[string]string{
	complaint.WorkflowName:      "complaint",
	deletion.WorkflowName:       "deletion",
	deletion.BatchWorkflowName:  "deletion",
	escalation.WorkflowName:     "escalation",
	reports.MonthlyWorkflowName: "reports",
	reports.YearlyWorkflowName:  "reports",
}

// RegisterAll registers every workflow type the way the workers do (the
// same Register functions), with commands verifying Update seals.
func RegisterAll(w worker.WorkflowRegistry, commands *command.Verifier) {
	complaint.RegisterWorkflow(w, commands)
	deletion.RegisterWorkflow(w, commands)
	deletion.RegisterBatchWorkflow(w)
	escalation.RegisterWorkflow(w, commands)
	reports.RegisterWorkflows(w)
}
