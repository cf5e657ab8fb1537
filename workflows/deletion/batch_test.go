package deletion

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
)

// fakeBatch plays a batch's record: remaining passes with data left, then
// a retention floor, then done.
type fakeBatch struct {
	now        func() time.Time
	remaining  int // passes that still find data after verify
	floor      time.Time
	due        time.Time
	steps      []BatchStepInput
	stepTimes  []time.Time
	breachedAt []time.Time
}

func (f *fakeBatch) BatchStep(ctx context.Context, in BatchStepInput) (BatchProgress, error) {
	f.steps, f.stepTimes = append(f.steps, in), append(f.stepTimes, f.now())
	if f.remaining > 0 && !in.Escalate {
		f.remaining--
		return BatchProgress{Remaining: 1}, nil
	}
	if !f.floor.IsZero() && f.now().Before(f.floor) {
		return BatchProgress{Done: 1, NextDeferred: &f.floor}, nil
	}
	return BatchProgress{Done: 1}, nil
}

func (f *fakeBatch) BatchNextDue(ctx context.Context, batchID string) (*time.Time, error) {
	if len(f.breachedAt) > 0 || f.due.IsZero() {
		return nil, nil
	}
	return &f.due, nil
}

func (f *fakeBatch) BatchBreaches(ctx context.Context, batchID string) (int, error) {
	f.breachedAt = append(f.breachedAt, f.now())
	return 1, nil
}

func batchEnv(t *testing.T, f *fakeBatch) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f.now = env.Now
	RegisterBatch(env, f)
	return env
}

// Data still there after verify is re-verified with backoff; after the
// rounds DeletionWorkflow's retries would allow, the pass escalates.
func TestBatchReverifiesThenEscalates(t *testing.T) {
	f := &fakeBatch{remaining: 100}
	env := batchEnv(t, f)
	env.ExecuteWorkflow(BatchWorkflowName, BatchInput{BatchID: "b1"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(f.steps) != verifyRounds {
		t.Fatalf("%d passes, want %d", len(f.steps), verifyRounds)
	}
	for i, s := range f.steps {
		if s.Escalate != (i == verifyRounds-1) {
			t.Fatalf("pass %d escalate=%v", i, s.Escalate)
		}
	}
	if gap := f.stepTimes[3].Sub(f.stepTimes[2]); gap < 4*time.Second {
		t.Fatalf("re-verify after %v: no backoff", gap)
	}
}

// A restricted request is taken up again when its retention floor ends.
func TestBatchWakesAtTheRetentionFloor(t *testing.T) {
	f := &fakeBatch{}
	env := batchEnv(t, f)
	f.floor = env.Now().Add(180 * 24 * time.Hour)
	env.ExecuteWorkflow(BatchWorkflowName, BatchInput{BatchID: "b1"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(f.steps) != 2 || f.stepTimes[1].Before(f.floor) {
		t.Fatalf("passes at %v, floor %v", f.stepTimes, f.floor)
	}
}

// Requests still unanswered at their due date are recorded as breached;
// answered in time, nothing is.
func TestBatchRecordsBreachesAtTheDueDate(t *testing.T) {
	f := &fakeBatch{remaining: 6}
	env := batchEnv(t, f)
	f.due = env.Now().Add(30 * time.Second) // the re-verify rounds run past it
	env.ExecuteWorkflow(BatchWorkflowName, BatchInput{BatchID: "b1"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(f.breachedAt) != 1 || f.breachedAt[0].Before(f.due) {
		t.Fatalf("breaches at %v, due %v", f.breachedAt, f.due)
	}

	f = &fakeBatch{}
	env = batchEnv(t, f)
	f.due = env.Now().Add(time.Hour)
	env.ExecuteWorkflow(BatchWorkflowName, BatchInput{BatchID: "b2"})
	if err := env.GetWorkflowError(); err != nil || len(f.breachedAt) != 0 {
		t.Fatalf("answered in time: breaches %v, %v", f.breachedAt, err)
	}
}
