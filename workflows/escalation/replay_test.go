package escalation

import (
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/redress/redress/workflows/command"
)

// A workflow that ran before the duty timers (its history recorded from the
// earlier code: submission, acknowledgement reminder, supervisor alert, a
// follow-up overdue, close) replays on the current code without a
// non-determinism error: the new timers and the wait for an incident's grade
// are behind workflow.GetVersion.
func TestReplayHistoryFromBeforeDutyTimers(t *testing.T) {
	v, err := command.NewVerifier(testKey)
	if err != nil {
		t.Fatal(err)
	}
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(Workflow(v), workflow.RegisterOptions{Name: WorkflowName})
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, "testdata/history_before_duty_timers.json"); err != nil {
		t.Fatal(err)
	}
}
