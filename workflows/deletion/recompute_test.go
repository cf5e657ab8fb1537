package deletion

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
)

// RecomputeDue of the fake: the due date moves to f.recomputedTo.
func (f *fakeActs) RecomputeDue(ctx context.Context, id string, a Action) (Snapshot, error) {
	f.snap.DueAt = f.recomputedTo
	return f.snap, nil
}

// A confirmed calendar brings the due date forward: the breach comes at the
// new date, not the old one.
func TestWorkflowRecomputedDueMovesTheBreach(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	start := env.Now()
	f := &fakeActs{snap: Snapshot{Status: StatusAwaitingIdentity, DueAt: start.Add(96 * time.Hour)}, applied: map[string]int{},
		recomputedTo: start.Add(48 * time.Hour)}
	register(t, env, f)
	env.RegisterDelayedCallback(func() {
		update(t, env, UpdateRecomputeDue, "r1", updateCB{t: t, want: true, name: "recompute"}, Action{Actor: "system:calendar"})
	}, 24*time.Hour)
	env.RegisterDelayedCallback(func() {
		if f.breaches != 1 {
			t.Errorf("breaches %d just after the recomputed due date, want 1", f.breaches)
		}
		update(t, env, UpdateCancel, "c", updateCB{t: t, want: true, name: "cancel"}, Action{Actor: "agent"})
	}, 49*time.Hour)
	env.ExecuteWorkflow(WorkflowName, Input{DeletionID: "x"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if !f.snap.DueAt.Equal(start.Add(48 * time.Hour)) {
		t.Fatalf("due %v", f.snap.DueAt)
	}
}
