package deletion

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
)

func (f *fakeActs) RecordExtension(ctx context.Context, id string, a Action) (Snapshot, error) {
	f.snap.DueAt, f.snap.Extended = a.NewDueAt, true
	return f.snap, nil
}

// An extended request is not breached at its old due date but at the new
// one; a second extension is refused.
func TestWorkflowExtendedDeadlineMovesTheBreach(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	start := env.Now()
	f := &fakeActs{snap: Snapshot{Status: StatusAwaitingIdentity, DueAt: start.Add(48 * time.Hour)}, applied: map[string]int{}}
	register(t, env, f)
	env.RegisterDelayedCallback(func() {
		update(t, env, UpdateExtendDeadline, "x1", updateCB{t: t, want: true, name: "extend"},
			Action{Actor: "boss", ReasonCode: "complexity", ReasonTextID: "7d0c3c8e-1f55-4c86-9d2f-2a0f3f0e9b10", NewDueAt: start.Add(96 * time.Hour), NewDueRule: "test/X5"})
	}, 24*time.Hour)
	env.RegisterDelayedCallback(func() {
		update(t, env, UpdateExtendDeadline, "x2", updateCB{t: t, want: false, name: "second extension"},
			Action{Actor: "boss", ReasonCode: "complexity", NewDueAt: start.Add(200 * time.Hour)})
	}, 25*time.Hour)
	env.RegisterDelayedCallback(func() {
		if f.breaches != 0 {
			t.Errorf("breached at the old due date after the extension (breaches %d)", f.breaches)
		}
	}, 72*time.Hour)
	env.RegisterDelayedCallback(func() {
		if f.breaches != 1 {
			t.Errorf("breaches %d after the new due date, want 1", f.breaches)
		}
		update(t, env, UpdateCancel, "c", updateCB{t: t, want: true, name: "cancel"}, Action{Actor: "agent"})
	}, 100*time.Hour)
	env.ExecuteWorkflow(WorkflowName, Input{DeletionID: "x"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if !f.snap.DueAt.Equal(start.Add(96*time.Hour)) || len(f.notices) != 1 || f.notices[0] != NoticeExtended {
		t.Fatalf("due %v, notices %v", f.snap.DueAt, f.notices)
	}
}

// No extension once the due date passed (the breach stands), nor without a
// reason code, nor to an earlier date.
func TestWorkflowExtensionRefusedAfterDueOrWithoutReason(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	start := env.Now()
	f := &fakeActs{snap: Snapshot{Status: StatusAwaitingIdentity, DueAt: start.Add(48 * time.Hour)}, applied: map[string]int{}}
	register(t, env, f)
	env.RegisterDelayedCallback(func() {
		update(t, env, UpdateExtendDeadline, "n", updateCB{t: t, want: false, name: "no reason code"},
			Action{Actor: "boss", NewDueAt: start.Add(96 * time.Hour)})
		update(t, env, UpdateExtendDeadline, "e", updateCB{t: t, want: false, name: "earlier date"},
			Action{Actor: "boss", ReasonCode: "other", NewDueAt: start.Add(40 * time.Hour)})
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		update(t, env, UpdateExtendDeadline, "late", updateCB{t: t, want: false, name: "after due"},
			Action{Actor: "boss", ReasonCode: "complexity", NewDueAt: start.Add(96 * time.Hour)})
	}, 50*time.Hour)
	env.RegisterDelayedCallback(func() {
		update(t, env, UpdateCancel, "c", updateCB{t: t, want: true, name: "cancel"}, Action{Actor: "agent"})
	}, 51*time.Hour)
	env.ExecuteWorkflow(WorkflowName, Input{DeletionID: "x"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if f.snap.Extended || f.breaches != 1 || len(f.notices) != 0 {
		t.Fatalf("extended %v, breaches %d, notices %v", f.snap.Extended, f.breaches, f.notices)
	}
}
